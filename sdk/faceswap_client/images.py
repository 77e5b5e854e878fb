"""Local checks of the two input images, so a bad file is refused before any job is created."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from faceswap_client.errors import InvalidImage

MAX_IMAGE_BYTES = 5 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ImageSource = str | os.PathLike[str] | bytes
"""A path to a JPEG or PNG file, or its bytes."""


@dataclass(frozen=True)
class LocalImage:
    """An input image checked locally: its bytes, type (by content) and a name for the upload."""

    name: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def sniff_content_type(head: bytes) -> str | None:
    """The image type by its magic bytes (the service checks content, not file names)."""
    if head.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(PNG_MAGIC):
        return "image/png"
    return None


def _read(path: Path, role: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise InvalidImage(f"{role} image {path}: {size} bytes is over the 5 MiB limit")
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidImage(f"{role} image {path}: no such file") from None
    except IsADirectoryError:
        raise InvalidImage(f"{role} image {path}: is a directory") from None
    except OSError as exc:
        raise InvalidImage(f"{role} image {path}: cannot read it ({exc.strerror})") from None


def load_image(source: ImageSource, role: str) -> LocalImage:
    """Check that `source` (a path or bytes) is a JPEG or PNG of 1 byte to 5 MiB; raise `InvalidImage` otherwise."""
    if isinstance(source, bytes):
        label, name, data, empty = f"{role} image", role, source, "no bytes"
    else:
        path = Path(source)
        label, name, data, empty = f"{role} image {path}", path.name, _read(path, role), "the file is empty"
    if not data:
        raise InvalidImage(f"{label}: {empty}")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"{label}: {len(data)} bytes is over the 5 MiB limit")
    content_type = sniff_content_type(data[: len(PNG_MAGIC)])
    if content_type is None:
        raise InvalidImage(f"{label}: not a JPEG or PNG file (only those are supported)")
    return LocalImage(name=name, content_type=content_type, data=data)
