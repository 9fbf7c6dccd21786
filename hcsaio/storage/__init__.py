"""Layer storage: layer folders and their OCI tar form (issue 15, first part).

The computestorage and wclayer calls (which need the bridge's native worker
pool) are still to come; see docs/storage.md.
"""

import sys

from ._errors import (
    DigestMismatchError,
    ImageInUseError,
    ImageNotFoundError,
    LayerTarError,
    TruncatedTarError,
    UnsafeEntryError,
)

if sys.platform != "win32":  # POSIX layer folders only, for now
    from ._layer_tar import export_layer_to_tar, import_layer_from_tar

__all__ = [
    "DigestMismatchError",
    "ImageInUseError",
    "ImageNotFoundError",
    "LayerTarError",
    "TruncatedTarError",
    "UnsafeEntryError",
    "export_layer_to_tar",
    "import_layer_from_tar",
]
