"""The quality figures of the report, computed from pixels only (no extra model)."""

from __future__ import annotations

import math

import cv2
import numpy as np

SECTORS = 16  # the seam is compared locally, around the face, so a dark side and a light side do not cancel out
MIN_RING_PIXELS = 4


def _lab(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_BGR2LAB)


def _ring(region: np.ndarray, width: int) -> np.ndarray:
    """The pixels of the region within `width` of its edge."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (region > 0) & (cv2.erode(region, kernel) == 0)


def _sector_means(lab: np.ndarray, ring: np.ndarray, sector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = sector[ring]
    counts = np.bincount(labels, minlength=SECTORS)
    sums = np.stack([np.bincount(labels, weights=lab[..., channel][ring], minlength=SECTORS) for channel in range(3)])
    return sums.T / np.maximum(counts, 1)[:, None], counts


def _sector_delta(lab: np.ndarray, inner: np.ndarray, outer: np.ndarray, sector: np.ndarray) -> float:
    inner_means, inner_counts = _sector_means(lab, inner, sector)
    outer_means, outer_counts = _sector_means(lab, outer, sector)
    valid = (inner_counts >= MIN_RING_PIXELS) & (outer_counts >= MIN_RING_PIXELS)
    if not valid.any():
        return 0.0
    return float(np.linalg.norm(inner_means[valid] - outer_means[valid], axis=1).mean())


def seam_score(result: np.ndarray, target: np.ndarray, alpha: np.ndarray, face_px: float) -> dict[str, float]:
    """Seam visibility: mean LAB delta-E between thin rings just inside and just outside the blend edge, per sector
    around the face, on the result minus the same on the target (the target's own edge contrast).
    score near 0 (or below) means no visible seam; above ~5 a seam is usually visible."""
    width = max(2, round(face_px * 0.03))
    inner = _ring((alpha >= 0.98).astype(np.uint8), width)
    outer = _ring((alpha <= 0).astype(np.uint8), width)
    ys, xs = np.nonzero(alpha > 0)
    if ys.size == 0:
        return {"delta_e": 0.0, "baseline_delta_e": 0.0, "score": 0.0}
    grid_y, grid_x = np.indices(alpha.shape, dtype=np.float32)
    angles = np.arctan2(grid_y - ys.mean(), grid_x - xs.mean())
    sector = ((angles + math.pi) * (SECTORS / (2 * math.pi))).astype(np.int64) % SECTORS
    result_delta = _sector_delta(_lab(result), inner, outer, sector)
    baseline = _sector_delta(_lab(target), inner, outer, sector)
    return {
        "delta_e": round(result_delta, 2),
        "baseline_delta_e": round(baseline, 2),
        "score": round(result_delta - baseline, 2),
    }


def colour_match(result: np.ndarray, target: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """How close the new face's colour is to the target face's: delta-E of the mean LAB colour (CIE76), and a
    0..1 score (1 = same mean colour, 0 = delta-E of 25 or more)."""
    core = (alpha >= 0.98).astype(np.uint8)
    if not core.any():
        return {"delta_e": 0.0, "score": 1.0}
    result_mean = np.array(cv2.mean(_lab(result), mask=core)[:3])
    target_mean = np.array(cv2.mean(_lab(target), mask=core)[:3])
    delta = float(np.linalg.norm(result_mean - target_mean))
    return {"delta_e": round(delta, 2), "score": round(max(0.0, 1.0 - delta / 25.0), 3)}
