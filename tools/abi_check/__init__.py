"""Check hcsaio's C declarations against the Windows SDK headers (mingw-w64).

Modules: ``decls`` reads our headers, ``sdk`` scans the SDK headers, ``absent``
lists what the SDK version at hand does not have (and why), ``emit`` builds
the checks and the C translation unit. Entry point: ``tools/gen_abi_check.py``.
"""
