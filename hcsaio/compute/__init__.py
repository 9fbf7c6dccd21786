"""The HCS v2 compute API: compute systems (``Container``), their processes,
stdio streams, ``run``/``exec``, events and the service-wide calls.

The public names are re-exported by ``hcsaio`` itself; import them from there.
"""
