"""The service's side of the wire: the framed protocol, the listening socket,
one session per connected libhcsemu client, requests in flight and replies,
and a small blocking client for the command line."""
