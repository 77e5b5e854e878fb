"""Decoding and encoding of JPEG/PNG bytes, with limits checked from the header before any pixel is decoded."""

from __future__ import annotations

import struct
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from . import faithful
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
    source: bytes = b""  # the file as it came, for writing the result the same way
    jpeg: faithful.JpegSource | None = None  # how the JPEG was written (tables, subsampling, ICC, EXIF)
    deep: np.ndarray | None = None  # the PNG's own 16-bit pixels (BGR, BGRA or grey), when it has 16 bits per sample

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
    image = _decode_jpeg(data, buffer, role, (width, height)) if content_type == JPEG else _decode_png(buffer, role)
    image.source = data
    return image


def _decoding_failure(role: ImageRole) -> FaceSwapError:
    return FaceSwapError(DECODING_FAILURE, f"the {role} image cannot be decoded (truncated or corrupt)", role)


def _decode_jpeg(data: bytes, buffer: np.ndarray, role: ImageRole, stored_size: tuple[int, int]) -> DecodedImage:
    # IMREAD_COLOR applies the EXIF orientation; comparing with the stored size tells whether it rotated.
    pixels = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if pixels is None or pixels.size == 0:
        raise _decoding_failure(role)
    source = faithful.read_jpeg_source(data)
    exif_rotated = (pixels.shape[1], pixels.shape[0]) != stored_size or (source is not None and source.orientation > 1)
    return DecodedImage(_to_8bit(pixels), None, JPEG, _jpeg_is_grayscale(data), exif_rotated, jpeg=source)


def _decode_png(buffer: np.ndarray, role: ImageRole) -> DecodedImage:
    pixels = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise _decoding_failure(role)
    deep = pixels if pixels.dtype == np.uint16 else None
    image = _png_image(_to_8bit(pixels))
    image.deep = deep
    return image


def _png_image(pixels: np.ndarray) -> DecodedImage:
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


def encode(
    image: DecodedImage,
    bgr: np.ndarray,
    jpeg_quality: int | None,
    changed_box: tuple[int, int, int, int] | None,
    target_blocks: Future | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Encode the result like the target: same format, grey stays grey, PNG alpha and 16-bit depth kept, JPEG tables,
    subsampling, ICC and EXIF kept, unchanged JPEG blocks copied. Returns the bytes and what was kept (for the report).
    `jpeg_quality` None means the target's own tables; `changed_box` (x0, y0, x1, y1) bounds every changed pixel;
    `target_blocks` is the target JPEG's coefficients being read (faithful.read_blocks) while the swap ran."""
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if image.grayscale else bgr
    if image.content_type == JPEG:
        return _encode_jpeg(image, bgr, pixels, jpeg_quality, changed_box, target_blocks)
    return _encode_png(image, bgr, pixels)


def keeps_jpeg_blocks(image: DecodedImage, jpeg_quality: int | None) -> bool:
    """Whether the result can be the target's own JPEG file with only the changed blocks replaced: same tables
    (no new quality asked for) and the pixels stored as displayed (no EXIF rotation)."""
    return image.content_type == JPEG and image.jpeg is not None and jpeg_quality is None and not image.exif_rotated


def _encode_jpeg(
    image: DecodedImage,
    bgr: np.ndarray,
    pixels: np.ndarray,
    jpeg_quality: int | None,
    changed_box: tuple[int, int, int, int] | None,
    target_blocks: Future | None,
) -> tuple[bytes, dict[str, Any]]:
    source = image.jpeg
    if source is None:  # a header Pillow cannot read: plain encoding
        ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality or 92)])
        if not ok:
            raise RuntimeError("encoding the result failed")
        return encoded.tobytes(), {"jpeg": None, "unchanged_pixels": "re-encoded"}
    notes: dict[str, Any] = {"jpeg": {**source.describe(), "tables": "target's" if jpeg_quality is None else "new"}}
    if keeps_jpeg_blocks(image, jpeg_quality) and changed_box is not None:
        x0, y0, x1, y1 = changed_box
        changed = np.any(bgr[y0:y1, x0:x1] != image.bgr[y0:y1, x0:x1], axis=2)
        try:
            blocks = target_blocks.result() if target_blocks is not None else faithful.read_blocks(image.source)
            copied = faithful.copy_changed_blocks(blocks, source, pixels, changed, changed_box)
        except (OSError, ValueError, RuntimeError):  # a file libjpeg's coefficient API will not take: re-encode
            copied = None
        if copied is not None:
            return copied, {**notes, "unchanged_pixels": "identical (only the changed blocks were re-encoded)"}
    rgb = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return faithful.encode_jpeg_like(rgb, source, jpeg_quality), {**notes, "unchanged_pixels": "re-encoded"}


def _encode_png(image: DecodedImage, bgr: np.ndarray, pixels: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    bit_depth = 8
    if image.deep is not None:
        # The target's own 16-bit values plus the change: where nothing changed, the file's values come back as
        # they were, not rounded through 8 bits.
        change = pixels.astype(np.int32) - (
            cv2.cvtColor(image.bgr, cv2.COLOR_BGR2GRAY) if image.grayscale else image.bgr
        ).astype(np.int32)
        deep = image.deep
        colour = deep[..., :3] if deep.ndim == 3 and deep.shape[2] == 4 else deep
        if colour.ndim == 3 and colour.shape[2] == 2:  # grey + alpha kept as two channels
            colour = colour[..., 0]
        if colour.shape == change.shape:
            merged = np.clip(colour.astype(np.int32) + change * 257, 0, 65535).astype(np.uint16)
            if deep.ndim == 3 and deep.shape[2] == 4:
                merged = np.dstack([merged, deep[..., 3]])
            elif deep.ndim == 3 and deep.shape[2] == 2:
                merged = np.dstack([merged, deep[..., 1]])
            pixels, bit_depth = merged, 16
    if bit_depth == 8 and image.alpha is not None:
        colour = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels
        pixels = np.dstack([colour, image.alpha])
    ok, encoded = cv2.imencode(".png", pixels, _PNG_PARAMS)
    if not ok:
        raise RuntimeError("encoding the result failed")
    notes = {"bit_depth": bit_depth, "unchanged_pixels": "identical"}
    if image.deep is not None and bit_depth != 16:
        notes["reduced_from_bit_depth"] = 16
    return faithful.png_with_source_chunks(encoded.tobytes(), image.source), notes
