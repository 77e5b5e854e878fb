"""Local checks of the two input images, so a bad file is refused before any job is created."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceswap_client.errors import CliError
from faceswap_client.exit_codes import ExitCode

MAX_IMAGE_BYTES = 5 * 1024 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class LocalImage:
    path: Path
    content_type: str
    size: int


def sniff_content_type(head: bytes) -> str | None:
    """The image type by its magic bytes (the service checks content, not file names)."""
    if head.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(PNG_MAGIC):
        return "image/png"
    return None


def load_local_image(path: Path, role: str) -> LocalImage:
    """Check that `path` is a readable JPEG or PNG of 1 byte to 5 MiB; raise a usage error otherwise."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(len(PNG_MAGIC))
    except FileNotFoundError:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: no such file") from None
    except IsADirectoryError:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: is a directory") from None
    except OSError as exc:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: cannot read it ({exc.strerror})") from None
    if size == 0:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: the file is empty")
    if size > MAX_IMAGE_BYTES:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: {size} bytes is over the 5 MiB limit")
    content_type = sniff_content_type(head)
    if content_type is None:
        raise CliError(ExitCode.USAGE, f"{role} image {path}: not a JPEG or PNG file (only those are supported)")
    return LocalImage(path=path, content_type=content_type, size=size)
