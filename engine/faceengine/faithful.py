"""Writing the result the way the target was written: JPEG tables, chroma subsampling, ICC profile, EXIF, PNG depth.

JPEG: the result is encoded with the target's own quantisation tables and subsampling (so "about its quality" is
exactly its quality), then every 8x8 block whose pixels did not change is copied back from the target's file as
coefficients (jpeglib), so those pixels decode exactly as the target's did; the target's markers (EXIF, ICC, comments)
come along untouched. Where that cannot be done (EXIF-rotated photo, jpeglib missing) the result is re-encoded with the
same tables and subsampling, its ICC profile and its EXIF with the orientation set to "upright".
PNG: 16-bit stays 16-bit (the target's 16-bit values plus the change), and the colour chunks (iCCP, sRGB, gAMA, cHRM),
eXIf and pHYs are copied from the target.
"""

from __future__ import annotations

import io
import struct
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin

ORIENTATION_TAG = 0x0112
_SUBSAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
# The IJG (libjpeg) standard luminance table: quality q scales it by 5000/q (q < 50) or 200 - 2q (q >= 50) percent.
_IJG_LUMINANCE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    np.float64,
)  # fmt: skip
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT_CHUNKS = (b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"eXIf", b"pHYs")


@dataclass
class JpegSource:
    """What the target JPEG's header says about how it was written."""

    qtables: list[list[int]]
    subsampling: int  # Pillow's code: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, -1 = other
    quality_estimate: int | None
    icc_profile: bytes | None
    exif: bytes | None
    orientation: int

    def describe(self) -> dict[str, Any]:
        return {
            "quality_estimate": self.quality_estimate,
            "subsampling": _SUBSAMPLING_NAMES.get(self.subsampling, "other"),
            "icc_profile": self.icc_profile is not None,
            "exif": self.exif is not None,
            "exif_orientation": self.orientation,
        }


def estimate_quality(luminance_table: list[int]) -> int | None:
    """The IJG quality (1..100) whose scaled standard table is closest to this luminance table; None if unknown."""
    table = np.asarray(luminance_table, np.float64)
    if table.size != 64:
        return None
    scale = float(np.mean(table / _IJG_LUMINANCE)) * 100  # percent of the standard table
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return int(np.clip(round(quality), 1, 100))


def read_jpeg_source(data: bytes) -> JpegSource | None:
    """The target JPEG's tables, subsampling, ICC profile, EXIF and orientation (header only, no pixel decoding)."""
    try:
        image = Image.open(io.BytesIO(data))
        qtables = [list(table) for _, table in sorted(getattr(image, "quantization", {}).items())]
        subsampling = JpegImagePlugin.get_sampling(image) if image.mode != "L" else 0
        exif = image.info.get("exif")
        orientation = int(image.getexif().get(ORIENTATION_TAG, 1) or 1)
    except (OSError, ValueError, SyntaxError):
        return None
    if not qtables:
        return None
    return JpegSource(
        qtables, subsampling, estimate_quality(qtables[0]), image.info.get("icc_profile"), exif, orientation
    )


def _upright_exif(exif: bytes | None) -> bytes | None:
    """The EXIF block with the orientation tag set to 1 (the pixels are written upright)."""
    if not exif:
        return None
    parsed = Image.Exif()
    parsed.load(exif)
    if ORIENTATION_TAG in parsed:
        parsed[ORIENTATION_TAG] = 1
    return parsed.tobytes()


def encode_jpeg_like(pixels: np.ndarray, source: JpegSource, quality: int | None, keep_exif: bool = True) -> bytes:
    """Encode RGB or grey pixels with the source's tables and subsampling (or at `quality`, subsampling kept)."""
    image = Image.fromarray(pixels)
    options: dict[str, Any] = {"optimize": False}
    if quality is None:
        options["qtables"] = source.qtables
    else:
        options["quality"] = quality
    if image.mode == "RGB" and source.subsampling in _SUBSAMPLING_NAMES:
        options["subsampling"] = source.subsampling
    if source.icc_profile:
        options["icc_profile"] = source.icc_profile
    exif = _upright_exif(source.exif) if keep_exif else None
    if exif:
        options["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _grown(blocks: np.ndarray) -> np.ndarray:
    """The blocks plus their 8 neighbours: chroma upsampling reads the neighbouring samples."""
    grown = blocks.copy()
    grown[1:] |= blocks[:-1]
    grown[:-1] |= blocks[1:]
    wide = grown.copy()
    grown[:, 1:] |= wide[:, :-1]
    grown[:, :-1] |= wide[:, 1:]
    return grown


def _blocks_covering(changed: np.ndarray, block_rows: int, block_cols: int, step: tuple[int, int]) -> np.ndarray:
    """Which blocks (block_rows x block_cols, each step[0] x step[1] pixels) cover a changed pixel."""
    padded = np.zeros((block_rows * step[0], block_cols * step[1]), bool)
    rows, cols = min(padded.shape[0], changed.shape[0]), min(padded.shape[1], changed.shape[1])
    padded[:rows, :cols] = changed[:rows, :cols]
    return np.asarray(padded.reshape(block_rows, step[0], block_cols, step[1]).any(axis=(1, 3)))


_jpeglib_lock = threading.Lock()
_jpeglib_ready = False
JPEGLIB_BACKEND = "turbo210"  # jpeglib bundles several libjpeg builds; libjpeg-turbo is the fastest of them


def _jpeglib() -> Any:
    """jpeglib, set (once) to its libjpeg-turbo build; None when it is not installed."""
    global _jpeglib_ready
    try:
        import jpeglib
    except ImportError:
        return None
    with _jpeglib_lock:
        if not _jpeglib_ready:
            jpeglib.version.set(JPEGLIB_BACKEND)
            _jpeglib_ready = True
    return jpeglib


def read_blocks(data: bytes) -> Any:
    """The JPEG's DCT coefficients and markers (a loaded jpeglib.DCTJPEG), or None without jpeglib."""
    jpeglib = _jpeglib()
    if jpeglib is None:
        return None
    with tempfile.TemporaryDirectory(prefix="faceengine-") as name:
        path = Path(name) / "image.jpg"
        path.write_bytes(data)
        image = jpeglib.read_dct(str(path))
        image.load()  # everything in memory: the file can go
    # Without the file's bytes, writing builds the file from the coefficients and markers in memory instead of
    # decoding the original again (a third faster; same output).
    image.content = None
    return image


def copy_changed_blocks(
    target_blocks: Any, source: JpegSource, result: np.ndarray, changed: np.ndarray, box: tuple[int, int, int, int]
) -> bytes | None:
    """The target JPEG file with only the blocks that cover changed pixels replaced: those are taken from an encoding,
    with the target's tables and subsampling, of a block-aligned crop of the result around the change. Every other
    block keeps its coefficients, so it decodes exactly as before; markers (EXIF, ICC) stay as they were.

    target_blocks: read_blocks() of the target file (it is modified); result: the whole result (BGR or grey);
    changed: bool mask of changed pixels inside box (x0, y0, x1, y1). None when the files do not line up."""
    if target_blocks is None:
        return None
    target = target_blocks
    height, width = result.shape[:2]
    sampling = np.asarray(target.samp_factor, int)  # (vertical, horizontal) per component
    unit_y, unit_x = 8 * int(sampling[:, 0].max()), 8 * int(sampling[:, 1].max())  # the MCU in pixels
    x0, y0, x1, y1 = box
    # The crop: the change, one MCU more on each side, on the MCU grid (so its blocks line up with the file's).
    crop_x0, crop_y0 = max(0, (x0 // unit_x - 1) * unit_x), max(0, (y0 // unit_y - 1) * unit_y)
    crop_x1, crop_y1 = min(width, (-(-x1 // unit_x) + 1) * unit_x), min(height, (-(-y1 // unit_y) + 1) * unit_y)
    crop = result[crop_y0:crop_y1, crop_x0:crop_x1]
    crop = np.ascontiguousarray(crop if crop.ndim == 2 else crop[..., ::-1])  # BGR to RGB, the crop only
    patch = read_blocks(encode_jpeg_like(crop, source, None, keep_exif=False))
    if not np.array_equal(target.qt, patch.qt) or not np.array_equal(sampling, patch.samp_factor):
        return None
    full_changed = np.zeros((crop_y1 - crop_y0, crop_x1 - crop_x0), bool)
    full_changed[y0 - crop_y0 : y1 - crop_y0, x0 - crop_x0 : x1 - crop_x0] = changed
    components = ["Y", "Cb", "Cr"] if target.has_chrominance else ["Y"]
    for index, component in enumerate(components):
        mine, theirs = getattr(target, component), getattr(patch, component)
        step = (unit_y // int(sampling[index, 0]), unit_x // int(sampling[index, 1]))  # pixels per block
        blocks = _grown(_blocks_covering(full_changed, theirs.shape[0], theirs.shape[1], step))
        row0, col0 = crop_y0 // step[0], crop_x0 // step[1]
        rows, cols = min(theirs.shape[0], mine.shape[0] - row0), min(theirs.shape[1], mine.shape[1] - col0)
        region = mine[row0 : row0 + rows, col0 : col0 + cols]
        take = blocks[:rows, :cols]
        region[take] = theirs[:rows, :cols][take]
    with tempfile.TemporaryDirectory(prefix="faceengine-") as name:
        output = Path(name) / "result.jpg"
        target.write_dct(str(output))
        return output.read_bytes()


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
        if kind == b"IEND":
            break
    return chunks


def png_with_source_chunks(encoded: bytes, source: bytes) -> bytes:
    """The encoded PNG with the source's colour, EXIF and density chunks inserted after its header."""
    kept = [(kind, body) for kind, body in _png_chunks(source) if kind in _PNG_KEPT_CHUNKS]
    if not kept or not encoded.startswith(_PNG_SIGNATURE):
        return encoded
    present = {kind for kind, _ in _png_chunks(encoded)}
    extra = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        for kind, body in kept
        if kind not in present and not (kind == b"sRGB" and b"iCCP" in present)
    )
    (header_length,) = struct.unpack(">I", encoded[8:12])
    split = 8 + 12 + header_length  # right after IHDR
    return encoded[:split] + extra + encoded[split:]
