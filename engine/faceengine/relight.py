"""Relighting: the new face keeps the template's fine detail but takes the target's shading and colour.

The face is split in two bands in LAB. The low band (a blur of about a tenth of the face size, averaged over skin
only: eyes, brows and mouth are left out and filled in from the skin around them, and nothing outside the face mask
leaks in) carries lighting, shadows and skin tone; the rest carries pores, wrinkles, eyes and lips. The new face is
the template's detail on the target's low band: lightness is scaled by the ratio of the two low bands (so detail in a
shadow gets dimmer, as in a real photo), colour (a*, b*) is the target's low band plus part of the template's detail.
"""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import FEATURES
from .resize import shrink, whole_factor

WORK_FACE_PX = 64  # the low band is computed with the face about this many pixels across (it is smooth anyway)
LOW_BAND_SIGMA = 0.1  # blur width as a fraction of the face size: coarser than eyes and lips, finer than shading
FEATURE_MARGIN = 0.04  # eyes, brows and mouth are left out with this margin (fraction of the face size)
MIN_GAIN, MAX_GAIN = 0.25, 4.0  # a face in near-black or blown-out light must not explode the gain
# How much of the template's own colour variation (a*, b* detail) is kept on the skin: less than all, so coloured
# glasses frames and red wrinkles of one photo do not turn into orange or brown patches under another photo's light.
# Lips, eyes and brows keep all of theirs.
SKIN_CHROMA_DETAIL = 0.6


def skin_mask(mask: np.ndarray, points: np.ndarray, face_px: float) -> np.ndarray:
    """The mask without the eyes, brows and mouth of the face whose landmarks are `points` (same coordinates)."""
    skin = mask.copy()
    thickness = max(1, round(2 * FEATURE_MARGIN * face_px))
    for feature in FEATURES:
        hull = cv2.convexHull(np.round(points[list(feature), :2]).astype(np.int32))
        cv2.fillConvexPoly(skin, hull, 0)
        cv2.polylines(skin, [hull], True, 0, thickness)
    return skin


def _masked_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: a blur that averages only pixels with weight > 0 and fills the holes between them."""
    blurred = cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    return blurred / np.maximum(norm, 1e-4)[..., None]


def low_band(lab: np.ndarray, skin: np.ndarray, face_px: float) -> np.ndarray:
    """The skin's low band (float32, 8-bit LAB scale) at the work size."""
    factor = whole_factor(WORK_FACE_PX / max(face_px, 1.0))
    small = shrink(lab, factor).astype(np.float32)
    weight = (shrink(skin, factor) >= 128).astype(np.float32)
    return _masked_blur(small, weight, max(0.8, LOW_BAND_SIGMA * face_px / factor))


def _chroma_spread_ratio(
    face_lab: np.ndarray, face_skin: np.ndarray, target: np.ndarray, target_skin: np.ndarray
) -> np.ndarray:
    """Per a*/b* channel: the target skin's colour spread over the template skin's, at most 1."""
    target_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    _, face_std = cv2.meanStdDev(face_lab, mask=(face_skin > 0).astype(np.uint8))
    _, target_std = cv2.meanStdDev(target_lab, mask=(target_skin > 0).astype(np.uint8))
    ratio = target_std.reshape(3)[1:] / np.maximum(face_std.reshape(3)[1:], 1.0)
    return np.clip(ratio, 0.0, 1.0).astype(np.float32)


def relight(
    face: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    face_points: np.ndarray,
    target_points: np.ndarray,
    face_px: float,
) -> np.ndarray:
    """The warped template face (BGR, ROI-sized) with the target's low band in place of its own.

    `face_points` and `target_points` are the two faces' landmarks in ROI coordinates."""
    height, width = face.shape[:2]
    face_lab = cv2.cvtColor(face, cv2.COLOR_BGR2LAB)
    face_skin = skin_mask(mask, face_points, face_px)
    face_low = low_band(face_lab, face_skin, face_px)
    target_low = low_band(cv2.cvtColor(target, cv2.COLOR_BGR2LAB), skin_mask(mask, target_points, face_px), face_px)
    correction = np.empty_like(face_low)
    correction[..., 0] = np.clip((target_low[..., 0] + 1.0) / (face_low[..., 0] + 1.0), MIN_GAIN, MAX_GAIN)
    correction[..., 1:] = target_low[..., 1:] - face_low[..., 1:]
    correction = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    face_low_full = cv2.resize(face_low[..., 1:], (width, height), interpolation=cv2.INTER_LINEAR)
    keep = np.where(face_skin > 0, np.float32(SKIN_CHROMA_DETAIL), np.float32(1.0))[..., None]
    # No more colour variation than the target's own skin shows: a grey or washed-out photo gets grey detail.
    keep = keep * _chroma_spread_ratio(face_lab, face_skin, target, skin_mask(mask, target_points, face_px))
    lab = face_lab.astype(np.float32)
    lab[..., 0] *= correction[..., 0]
    # a*b*: the template's low band plus (part of) its detail, moved onto the target's low band.
    lab[..., 1:] = face_low_full + (lab[..., 1:] - face_low_full) * keep + correction[..., 1:]
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
