"""hcsaio._native: the bindings layer, the only code that touches ffi/lib.

One thin module per API area (``library``, ``operation``, ``system``,
``process``, ``service``). Each function converts its arguments (``str`` to
UTF-16, refusing embedded NULs), calls one HCS export through its
NULL-checked ``hb_call_*`` wrapper, checks the HRESULT, and decodes and frees
every string HCS returns (``strings.take``). Failures become the matching
``HcsError`` subclass with HCS's ``ResultError`` decoded into its fields.

Handles (``HCS_SYSTEM``, ``HCS_PROCESS``, ``HCS_OPERATION``) cross this
boundary as opaque ``Handle`` values; nothing above this package knows they
are cffi pointers.
"""
