"""An imperceptible, tiled spread-spectrum watermark in the luminance: 48 payload bits + a 16-bit CRC.

Why not a ready-made library: `invisible-watermark` (dwtDct / dwtDctSvd) lost its payload after a 50 % resize or a
10 % crop in our measurements (bench/watermark_bench.py, figures in the README), imports torch at package import
and needs OpenCV (over 100 MB unpacked for arm64); `trustmark` downloads its models at first use. This design needs
numpy and Pillow only:

- A 128 x 128 pixel tile of 32 x 32 cells (4 x 4 pixels each) repeats over the whole image. A quarter of the cells
  carry a fixed pseudo-random sign pattern (the sync pattern); each of the other 768 cells carries one of the 64 code
  bits (12 cells per bit) times its own pseudo-random sign. The pattern is added to R, G and B alike (luminance only),
  scaled by the local texture so that flat areas (sky, skin) get less of it.
- Detection high-passes the luminance, folds the image onto one tile (sums all tiles), finds the tile's offset by
  circular cross-correlation with the sync pattern (FFT), so any crop is only a shift; then reads each bit as the
  sign of its cells' correlation. A resized copy is scaled back by trying a few factors. A mark is "found" only when
  the sync peak stands out (z-score) and the CRC matches, which keeps false positives rare.

The pattern's seed is public (this is a label anyone may check, not a secret).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from functools import cache

import numpy as np

TILE = 128
CELL = 4
CELLS = TILE // CELL  # per side
PAYLOAD_BITS = 48
CODE_BITS = PAYLOAD_BITS + 16
SYNC_CELLS = CELLS * CELLS // 4  # a quarter finds the offset; the rest carry the bits (12 cells each)
SEED = 0x5EED_FACE
STRENGTH = 3.0  # luminance levels at average texture
# A sync peak this many standard deviations above the correlation map's mean (16384 offsets: noise reaches ~4.5).
SYNC_Z_THRESHOLD = 6.0
# Resize factors tried by the detector, most likely first (1/0.5 undoes a 50 % downscale).
SCALES = (1.0, 2.0, 1.5, 4 / 3, 1.25, 0.8, 0.75, 0.5)
MIN_SIDE = TILE * 2
BAND_ROWS = 256  # a multiple of CELL


@dataclass(frozen=True)
class Detection:
    found: bool
    payload: str | None  # 12 hex characters when found
    sync_z: float  # the strongest sync peak seen, in standard deviations
    scale: float | None  # the resize factor that recovered it


@dataclass(frozen=True)
class _Key:
    sync: np.ndarray  # (CELLS, CELLS) of -1/0/+1: sign on sync cells, 0 elsewhere
    data_sign: np.ndarray  # (CELLS, CELLS) of -1/0/+1: sign on data cells, 0 elsewhere
    data_bit: np.ndarray  # (CELLS, CELLS) int: code bit index on data cells, -1 elsewhere
    sync_pixels_fft: np.ndarray  # conj FFT of the zero-mean sync pattern at pixel resolution


@cache
def _key() -> _Key:
    rng = np.random.default_rng(SEED)
    signs = rng.choice(np.array([-1.0, 1.0]), size=CELLS * CELLS)
    order = rng.permutation(CELLS * CELLS)
    is_sync = np.zeros(CELLS * CELLS, dtype=bool)
    is_sync[order[:SYNC_CELLS]] = True
    data_bit = np.full(CELLS * CELLS, -1, dtype=np.int64)
    data_cells = order[SYNC_CELLS:]
    data_bit[data_cells] = np.arange(data_cells.size) % CODE_BITS
    sync = np.where(is_sync, signs, 0.0).reshape(CELLS, CELLS)
    data_sign = np.where(is_sync, 0.0, signs).reshape(CELLS, CELLS)
    sync_pixels = _cells_to_pixels(sync)
    sync_pixels = sync_pixels - sync_pixels.mean()
    return _Key(sync, data_sign, data_bit.reshape(CELLS, CELLS), np.conj(np.fft.rfft2(sync_pixels)))


def _cells_to_pixels(cells: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(cells, CELL, axis=0), CELL, axis=1)


def payload_for_job(job_id: str) -> str:
    """The 48-bit payload of a job: the first 12 hex digits of its id (job ids are 128 random or hashed bits)."""
    return job_id[: PAYLOAD_BITS // 4].lower()


def _code_bits(payload: str) -> np.ndarray:
    raw = bytes.fromhex(payload)
    if len(raw) * 8 != PAYLOAD_BITS:
        raise ValueError(f"the payload must be {PAYLOAD_BITS // 4} hex digits")
    code = raw + binascii.crc_hqx(raw, 0xFFFF).to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(code, dtype=np.uint8))


def _payload_from_bits(bits: np.ndarray) -> str | None:
    code = np.packbits(bits.astype(np.uint8)).tobytes()
    raw, crc = code[: PAYLOAD_BITS // 8], code[PAYLOAD_BITS // 8 :]
    return raw.hex() if binascii.crc_hqx(raw, 0xFFFF).to_bytes(2, "big") == crc else None


def _box_blur(plane: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window (edges replicated), with cumulative sums: O(pixels) for any radius."""
    size = 2 * radius + 1
    padded = np.pad(plane, radius + 1, mode="edge").astype(np.float64)
    sums = padded.cumsum(axis=0).cumsum(axis=1)
    window = sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    mean: np.ndarray = (window / (size * size))[: plane.shape[0], : plane.shape[1]].astype(np.float32)
    return mean


def _luminance(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    if rgb.ndim == 2:
        return rgb
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def embed(rgb: np.ndarray, payload: str, strength: float = STRENGTH) -> np.ndarray:
    """The image (H x W x 3 uint8, or H x W) with the payload embedded; same shape and dtype.

    Works in bands of rows, so that the memory beyond the input and the output stays small for any image size.
    """
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ValueError(f"the image is smaller than {MIN_SIDE} px on a side; too small to watermark")
    key = _key()
    bits = _code_bits(payload).astype(np.float32) * 2 - 1
    cells = key.sync + key.data_sign * np.where(key.data_bit >= 0, bits[np.maximum(key.data_bit, 0)], 0.0)
    height, width = rgb.shape[:2]
    # Per cell, not per pixel: the texture gain and the pattern are both constant over a 4 x 4 cell, so the
    # arithmetic runs on 1/16 of the pixels and only the final int16 delta of one band is full size.
    gain = _texture_gain(rgb)
    rows, cols = gain.shape
    tiled = np.tile(cells.astype(np.float32), (-(-rows // CELLS), -(-cols // CELLS)))[:rows, :cols]
    delta_cells = np.rint(tiled * gain * strength).astype(np.int16)
    marked = np.empty_like(rgb)
    for top in range(0, height, BAND_ROWS):
        bottom = min(top + BAND_ROWS, height)
        delta = np.repeat(np.repeat(delta_cells[top // CELL : -(-bottom // CELL)], CELL, axis=0), CELL, axis=1)
        delta = delta[: bottom - top, :width]
        band = rgb[top:bottom].astype(np.int16)
        band += delta[..., None] if rgb.ndim == 3 else delta
        np.clip(band, 0, 255, out=band)
        marked[top:bottom] = band
    return marked


def _texture_gain(rgb: np.ndarray) -> np.ndarray:
    """Per cell: more pattern in busy areas, less (never none) in flat ones, where it would show."""
    height, width = rgb.shape[:2]
    rows, cols = -(-height // CELL), -(-width // CELL)
    texture = np.zeros((rows, cols), dtype=np.float32)
    for top in range(0, height, BAND_ROWS):
        band = _luminance(rgb[top : top + BAND_ROWS])
        # Pad to whole cells by repeating the edge, then each cell's standard deviation.
        band = np.pad(band, ((0, -band.shape[0] % CELL), (0, cols * CELL - width)), mode="edge")
        cell_rows = band.shape[0] // CELL
        blocks = band.reshape(cell_rows, CELL, cols, CELL)
        mean = blocks.mean(axis=(1, 3))
        texture[top // CELL : top // CELL + cell_rows] = np.sqrt(
            np.maximum(np.square(blocks).mean(axis=(1, 3)) - np.square(mean), 0.0)
        )
    texture = _box_blur(texture, 1)
    return np.clip(texture / (float(texture.mean()) + 1e-6), 0.5, 2.0).astype(np.float32)


def detect(rgb: np.ndarray) -> Detection:
    """Look for a watermark at each resize factor in SCALES; the first one whose sync and CRC agree wins."""
    from PIL import Image

    luma = _luminance(rgb)
    best_z = 0.0
    source = Image.fromarray(luma.astype(np.float32))  # float32 -> mode "F"
    for scale in SCALES:
        height, width = round(luma.shape[0] * scale), round(luma.shape[1] * scale)
        if min(height, width) < MIN_SIDE:
            continue
        plane = luma if scale == 1.0 else np.asarray(source.resize((width, height), Image.Resampling.BICUBIC))
        payload, z = _detect_at_scale(plane)
        best_z = max(best_z, z)
        if payload is not None:
            return Detection(True, payload, round(z, 2), scale)
    return Detection(False, None, round(best_z, 2), None)


def _detect_at_scale(luma: np.ndarray) -> tuple[str | None, float]:
    key = _key()
    residual = luma - _box_blur(luma, 3)
    # Whitening: every area votes alike, so that edges and busy texture do not drown the pattern elsewhere.
    residual /= _box_blur(np.abs(residual), 4) + 1.0
    # Partial tiles at the edges count too (zero padding): a cropped image keeps every pixel's vote.
    rows, cols = -(-luma.shape[0] // TILE) * TILE, -(-luma.shape[1] // TILE) * TILE
    residual = np.pad(residual, ((0, rows - luma.shape[0]), (0, cols - luma.shape[1])))
    folded = residual.reshape(rows // TILE, TILE, cols // TILE, TILE).sum(axis=(0, 2))
    correlation = np.fft.irfft2(np.fft.rfft2(folded) * key.sync_pixels_fft, s=folded.shape)
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    z = float((correlation[peak] - correlation.mean()) / (correlation.std() + 1e-12))
    if z < SYNC_Z_THRESHOLD:
        return None, z
    aligned = np.roll(folded, (-int(peak[0]), -int(peak[1])), axis=(0, 1))
    cell_values = aligned.reshape(CELLS, CELL, CELLS, CELL).mean(axis=(1, 3))
    mask = key.data_bit >= 0
    soft = np.bincount(key.data_bit[mask], weights=(cell_values * key.data_sign)[mask], minlength=CODE_BITS)
    return _payload_from_bits(soft > 0), z
