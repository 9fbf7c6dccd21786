"""The errors of layer and image storage.

Every one is a ``ValueError``: each says that the input (a tar, an archive, a
path) is not acceptable, and names the entry or blob at fault, so a caller can
report it without parsing the message.
"""

from __future__ import annotations

__all__ = [
    "DigestMismatchError",
    "ImageInUseError",
    "ImageNotFoundError",
    "LayerTarError",
    "TruncatedTarError",
    "UnsafeEntryError",
]


class LayerTarError(ValueError):
    """A layer tar (or a layer folder) cannot be imported or exported.

    ``entry`` is the tar entry name (or layer path) at fault, ``None`` when the
    problem is the stream as a whole."""

    def __init__(self, message: str, entry: str | None = None) -> None:
        super().__init__(f"{entry!r}: {message}" if entry is not None else message)
        self.entry = entry


class UnsafeEntryError(LayerTarError):
    """An entry would write outside the layer (``..``, an absolute path, a path
    through a symlink) or create what is not allowed (a device node without
    root or ``allow_devices``, a hard link to something outside the layer)."""


class TruncatedTarError(LayerTarError):
    """The stream ended inside an entry, inside a header, or without the tar's
    end-of-archive blocks."""


class DigestMismatchError(ValueError):
    """A blob's content does not hash to the digest its manifest names."""

    def __init__(self, blob: str, expected: str, actual: str) -> None:
        super().__init__(f"{blob}: digest mismatch: expected {expected}, content is {actual}")
        self.blob = blob
        self.expected = expected
        self.actual = actual


class ImageNotFoundError(LookupError):
    """No image in the store has this reference (name:tag, id or id prefix)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"no image {ref!r} in the store")
        self.ref = ref


class ImageInUseError(RuntimeError):
    """The image is marked in use (by a container) and cannot be removed."""

    def __init__(self, ref: str, users: list[str]) -> None:
        super().__init__(f"image {ref!r} is in use by {', '.join(users)}")
        self.ref = ref
        self.users = users
