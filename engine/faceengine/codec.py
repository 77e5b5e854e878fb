"""Decoding and encoding of JPEG/PNG bytes, with limits checked from the header before any pixel is decoded."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import DECODING_FAILURE, RESOLUTION_LIMITS, UNSUPPORTED_TYPE, FaceSwapError, ImageRole

JPEG = "image/jpeg"
PNG = "image/png"
SUPPORTED_CONTENT_TYPES: tuple[str, ...] = (JPEG, PNG)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, ...) carry the dimensions; C4, C8, CC are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


# Level 1 with the "up" filter and run-length strategy: half the time of OpenCV's default, and smaller files on photos.
_PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION, 1,
    cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP,
    cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
]  # fmt: skip


@dataclass
class DecodedImage:
    bgr: np.ndarray  # HxWx3 uint8, EXIF orientation already applied
    alpha: np.ndarray | None  # HxW uint8 when the PNG has transparency
    content_type: str
    grayscale: bool
    exif_rotated: bool

    @property
    def width(self) -> int:
        return int(self.bgr.shape[1])

    @property
    def height(self) -> int:
        return int(self.bgr.shape[0])


def sniff_content_type(data: bytes) -> str | None:
    """The content type by magic bytes, or None when it is neither JPEG nor PNG."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _SOF_MARKERS and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def header_size(data: bytes, content_type: str) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding pixels; None when the header is unreadable."""
    return _png_size(data) if content_type == PNG else _jpeg_size(data)


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint16:
        return (pixels >> 8).astype(np.uint8)
    return pixels.astype(np.uint8, copy=False)


def decode(data: bytes, role: ImageRole, *, min_side: int, max_side: int) -> DecodedImage:
    """Decode JPEG/PNG bytes into BGR (+ alpha), applying EXIF orientation; raise FaceSwapError on bad input."""
    if not data:
        raise FaceSwapError(DECODING_FAILURE, f"the {role} image is empty", role)
    content_type = sniff_content_type(data)
    if content_type is None:
        raise FaceSwapError(UNSUPPORTED_TYPE, f"the {role} image is not a JPEG or PNG file", role)
    size = header_size(data, content_type)
    if size is None:
        raise FaceSwapError(DECODING_FAILURE, f"the {role} image header cannot be read", role)
    width, height = size
    if not (min_side <= width < max_side and min_side <= height < max_side):
        raise FaceSwapError(
            RESOLUTION_LIMITS,
            f"the {role} image is {width}x{height}; each side must be at least {min_side} and below {max_side} px",
            role,
        )
    buffer = np.frombuffer(data, np.uint8)
    if content_type == JPEG:
        return _decode_jpeg(data, buffer, role, (width, height))
    return _decode_png(buffer, role)


def _decoding_failure(role: ImageRole) -> FaceSwapError:
    return FaceSwapError(DECODING_FAILURE, f"the {role} image cannot be decoded (truncated or corrupt)", role)


def _decode_jpeg(data: bytes, buffer: np.ndarray, role: ImageRole, stored_size: tuple[int, int]) -> DecodedImage:
    # IMREAD_COLOR applies the EXIF orientation; comparing with the stored size tells whether it rotated.
    pixels = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if pixels is None or pixels.size == 0:
        raise _decoding_failure(role)
    exif_rotated = (pixels.shape[1], pixels.shape[0]) != stored_size
    return DecodedImage(_to_8bit(pixels), None, JPEG, _jpeg_is_grayscale(data), exif_rotated)


def _decode_png(buffer: np.ndarray, role: ImageRole) -> DecodedImage:
    pixels = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise _decoding_failure(role)
    pixels = _to_8bit(pixels)
    alpha = None
    if pixels.ndim == 3 and pixels.shape[2] == 2:  # grey + alpha, on builds that keep it as two channels
        alpha, pixels = pixels[:, :, 1].copy(), pixels[:, :, 0]
    if pixels.ndim == 2:
        return DecodedImage(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), alpha, PNG, True, False)
    if pixels.shape[2] == 4:
        alpha = pixels[:, :, 3].copy()
        pixels = np.ascontiguousarray(pixels[:, :, :3])
    return DecodedImage(pixels, alpha, PNG, False, False)


def _jpeg_is_grayscale(data: bytes) -> bool:
    """True when the JPEG frame has one component (read from the SOF header)."""
    position = 2
    while position + 4 <= len(data):
        marker = data[position + 1]
        if data[position] != 0xFF:
            return False
        if marker == 0xFF:
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _SOF_MARKERS and position + 10 <= len(data):
            return data[position + 9] == 1
        position += 2 + length
    return False


def encode(image: DecodedImage, bgr: np.ndarray, jpeg_quality: int) -> bytes:
    """Encode the result like the target: same format, grey stays grey, PNG alpha is kept unchanged."""
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if image.grayscale else bgr
    if image.content_type == JPEG:
        ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    else:
        if image.alpha is not None:
            colour = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels
            pixels = np.dstack([colour, image.alpha])
        ok, encoded = cv2.imencode(".png", pixels, _PNG_PARAMS)
    if not ok:
        raise RuntimeError("encoding the result failed")
    return encoded.tobytes()
