"""The HCS emulator: hcsaio's Linux backend.

Two halves talk over a Unix socket (``_cffi_build/hcsemu/PROTOCOL.md``):

* ``libhcsemu`` (``hcsaio/_hcsemu*.so``), a C library exporting the
  computecore ABI, which hcsaio (or any C program) loads instead of
  ``computecore.dll``;
* the service, ``python -m hcsaio.emulator serve --socket PATH``, which
  keeps HCS's compute systems and processes and runs real processes, on the
  host (``_runtime_host``) or in Linux containers (``_runtime_ns``).

``_launcher`` finds the library and starts a private service on demand.
Nothing is imported here, so loading the launcher stays cheap.
"""
