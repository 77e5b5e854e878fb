"""The synchronous checks AILabTools documents for both images: JPEG/PNG, <= 5 MB, < 4096 px, decodable."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_FORMAT_BY_MAGIC = {JPEG_MAGIC: "JPEG", PNG_MAGIC: "PNG"}
CONTENT_TYPE_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSION_BY_CONTENT_TYPE = {"image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class ImageRejection:
    code: str
    message: str


def sniff_format(content: bytes) -> str | None:
    for magic, image_format in _FORMAT_BY_MAGIC.items():
        if content.startswith(magic):
            return image_format
    return None


def check_image(field: str, content: bytes | None, *, max_bytes: int, max_dimension: int) -> ImageRejection | None:
    """None when the image passes; the provider's code otherwise (checked in the order the provider is cheapest)."""
    if not content:
        return ImageRejection("MISSING_PARAMETERS", f"{field} is required")
    if len(content) > max_bytes:
        return ImageRejection("FILE_SIZE_EXCEEDS_LIMIT", f"{field} is {len(content)} bytes; the limit is {max_bytes}")
    expected_format = sniff_format(content)
    if expected_format is None:
        return ImageRejection("UNSUPPORTED_FILE_TYPES", f"{field}: Only PNG, JPG, JPEG are supported.")
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if image.format != expected_format:
                return ImageRejection("UNSUPPORTED_FILE_TYPES", f"{field}: Only PNG, JPG, JPEG are supported.")
            if width >= max_dimension or height >= max_dimension:
                return ImageRejection(
                    "FILE_RESOLUTION_EXCEEDS_LIMITS",
                    f"{field} is {width}x{height}; it must be less than {max_dimension}x{max_dimension}px",
                )
            image.load()  # a truncated or corrupt body only fails when the pixels are decoded
    except Image.DecompressionBombError:
        return ImageRejection("FILE_RESOLUTION_EXCEEDS_LIMITS", f"{field} has too many pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return ImageRejection("FILE_DECODING_FAILURE", f"{field} could not be decoded: {exc}")
    return None
