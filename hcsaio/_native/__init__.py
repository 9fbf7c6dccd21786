"""hcsaio._native: the bindings layer, the only code that touches ffi/lib.

One thin module per API area (``library``, ``operation``, ``system``,
``process``, ``sync``). Each function converts its arguments (``str`` to
UTF-16, refusing embedded NULs), calls one HCS export through its
NULL-checked ``hb_call_*`` wrapper, and decodes and frees every string HCS
returns (``strings.take``). It returns raw results (HRESULT, document text,
process information): a leaf, importing nothing else of hcsaio. Turning a
failure into the matching ``HcsError``, choosing the backend and waiting
happen above it, in ``hcsaio._core`` (``_result``, ``_hcs_*``, ``_backend``,
``_sync``).

Synchronous exports never run on the caller's thread: ``sync`` hands them
to the bridge's native workers.

Handles (``HCS_SYSTEM``, ``HCS_PROCESS``, ``HCS_OPERATION``) cross this
boundary as opaque ``Handle`` values; nothing above this package knows they
are cffi pointers.
"""
