# Type stub for the cffi-compiled bridge (built from _cffi_build/).
# cffi objects are dynamic; hcsaio._native is the only importer and wraps
# every call in typed functions.
from typing import Any

ffi: Any
lib: Any
