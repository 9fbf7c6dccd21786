"""The HCS compute object model as the service keeps it: compute systems and
processes with their state machines, the request handlers (calls), document
checking, properties, fault injection and the HRESULTs answered."""
