"""The quality figures of the report, computed from pixels only (no extra model)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .geometry import CHIN, LEFT_EYE, RIGHT_EYE

SECTORS = 16  # the seam is compared locally, around the face, so a dark side and a light side do not cancel out
MIN_RING_PIXELS = 4


def lab(bgr: np.ndarray) -> np.ndarray:
    """Float LAB (L 0..100), the scale of every delta-E in the report."""
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
    # result and target: float LAB (see lab())
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
    result_delta = _sector_delta(result, inner, outer, sector)
    baseline = _sector_delta(target, inner, outer, sector)
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
    result_mean = np.array(cv2.mean(result, mask=core)[:3])
    target_mean = np.array(cv2.mean(target, mask=core)[:3])
    delta = float(np.linalg.norm(result_mean - target_mean))
    return {"delta_e": round(delta, 2), "score": round(max(0.0, 1.0 - delta / 25.0), 3)}


def skin_colour_delta(result: np.ndarray, target: np.ndarray, skin: np.ndarray) -> float:
    """Delta-E between the median skin colour of the new face and of the original face (eyes, brows, mouth and
    glasses left out, so a template's wrinkles or a smile's teeth do not count as a colour change)."""
    region = skin > 0
    if int(region.sum()) < MIN_RING_PIXELS:
        return 0.0
    return round(float(np.linalg.norm(np.median(result[region], axis=0) - np.median(target[region], axis=0))), 2)


GRID = 3  # the face skin is cut into GRID x GRID cells for the lighting comparison
MIN_CELL_PIXELS = 30


METRIC_SIGMA = 0.1  # the lighting comparison blurs away detail finer than this fraction of the face size


def _face_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face's centre, its left-to-right unit vector (along the eyes) and its top-to-bottom unit vector."""
    xy = points[:, :2]
    right_eye, left_eye = xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0)
    across = (left_eye - right_eye) / max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    return xy.mean(axis=0), across, np.array([-across[1], across[0]])


def lighting_match(
    result: np.ndarray, target: np.ndarray, skin: np.ndarray, points: np.ndarray, face_px: float
) -> dict[str, float]:
    """Patchiness of the new face's light and colour, on skin only (eyes, brows and mouth of both faces left out).

    Both images are blurred over the skin (pores and wrinkles gone) and the result's LAB minus the target's is the
    local change. A change that is the same everywhere (the whole face a little lighter) is fine; one that differs
    across the face is the template's own light showing through. Reported: the lightness change of one half of the
    face against the other (left/right and top/bottom, in the face's frame), and the worst cell-to-cell difference of
    the change on a 3x3 grid, in colour only (a*b*, casts) and in delta-E."""
    weight = (skin > 0).astype(np.float32)
    ys, xs = np.nonzero(weight)
    empty = {
        "left_right_delta_l": 0.0,
        "top_bottom_delta_l": 0.0,
        "worst_sector_delta_ab": 0.0,
        "worst_sector_delta_e": 0.0,
    }
    if ys.size < MIN_CELL_PIXELS * 4:
        return empty
    sigma = max(1.0, METRIC_SIGMA * face_px)
    norm = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-4)[..., None]
    change = np.zeros((*skin.shape, 3), np.float32)
    for image, sign in ((result, 1.0), (target, -1.0)):
        change += sign * cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma) / norm
    values = change[ys, xs]
    centre, across, down = _face_axes(points)
    offsets = np.stack([xs, ys], axis=1) - centre
    halves = {}
    for name, axis in (("left_right_delta_l", across), ("top_bottom_delta_l", down)):
        side = offsets @ axis
        first, second = values[side < 0, 0], values[side >= 0, 0]
        halves[name] = round(float(second.mean() - first.mean()), 2) if first.size and second.size else 0.0
    column = np.clip(((offsets @ across) / face_px + 0.5) * GRID, 0, GRID - 1).astype(np.int64)
    row = np.clip(((offsets @ down) / face_px + 0.5) * GRID, 0, GRID - 1).astype(np.int64)
    cells = row * GRID + column
    counts = np.bincount(cells, minlength=GRID * GRID)
    sums = np.stack([np.bincount(cells, weights=values[:, channel], minlength=GRID * GRID) for channel in range(3)])
    used = counts >= MIN_CELL_PIXELS
    if used.sum() < 2:
        return {**empty, **halves}
    means = (sums / np.maximum(counts, 1)).T[used]
    pairwise = means[:, None, :] - means[None, :, :]
    return {
        **halves,
        "worst_sector_delta_ab": round(float(np.linalg.norm(pairwise[..., 1:], axis=2).max()), 2),
        "worst_sector_delta_e": round(float(np.linalg.norm(pairwise, axis=2).max()), 2),
    }


SKIN_CHROMA_DELTA = 12.0  # a pixel near the face counts as skin when its a*b* is this close to the face's


def skin_reference_delta(
    result: np.ndarray, target: np.ndarray, alpha: np.ndarray, points: np.ndarray, face_px: float
) -> dict[str, float | None]:
    """How far the new face's skin colour drifted from the target's neck and forehead, beyond the target's own
    difference to them (delta-E; 0 = the same relation as in the original photo; None when the region is not skin
    or not in view). Measured on skin-like pixels just below the chin and just above the mask's top edge."""
    core = alpha >= 0.98
    if not core.any():
        return {"neck": None, "forehead": None}
    result_lab, target_lab = result, target
    result_skin = np.median(result_lab[core], axis=0)
    target_skin = np.median(target_lab[core], axis=0)
    xy = points[:, :2]
    right_eye, left_eye = xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0)
    across = (left_eye - right_eye) / max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    down = np.array([-across[1], across[0]])
    grid = np.dstack(list(np.indices(alpha.shape)[::-1])).astype(np.float32)
    outside = alpha <= 0
    skin_like = np.linalg.norm(target_lab[..., 1:] - target_skin[1:], axis=2) < SKIN_CHROMA_DELTA
    chin = xy[CHIN]
    top_y = float(((xy - chin) @ down).min())  # the highest landmark, as a distance along "down" from the chin
    bands = {
        "neck": (chin, 0.02, 0.15),
        "forehead": (chin + down * top_y, -0.12, 0.12),
    }
    figures: dict[str, float | None] = {}
    for name, (origin, near, far) in bands.items():
        relative = grid - origin
        along = relative @ down.astype(np.float32) / face_px
        side = np.abs(relative @ across.astype(np.float32)) / face_px
        region = outside & skin_like & (along >= near) & (along <= far) & (side <= 0.22)
        if int(region.sum()) < MIN_CELL_PIXELS:
            figures[name] = None
            continue
        reference = np.median(target_lab[region], axis=0)
        excess = np.linalg.norm(result_skin - reference) - np.linalg.norm(target_skin - reference)
        figures[name] = round(float(excess), 2)
    return figures
