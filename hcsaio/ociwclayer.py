"""Layers to and from their OCI tar form, as hcsshim's ``pkg/ociwclayer``.

``await import_layer_from_tar(source, path, parent_layer_paths)`` -> bytes
written; ``await export_layer_to_tar(dest, path, parent_layer_paths)``.
Source and dest are paths, binary files or anyio byte streams.
"""

import sys

from .storage._errors import LayerTarError, TruncatedTarError, UnsafeEntryError

if sys.platform != "win32":  # POSIX layer folders only, for now
    from .storage._layer_tar import export_layer_to_tar, import_layer_from_tar

__all__ = [
    "LayerTarError",
    "TruncatedTarError",
    "UnsafeEntryError",
    "export_layer_to_tar",
    "import_layer_from_tar",
]
