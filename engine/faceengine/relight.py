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


GLASSES_GROWTH = 1.3  # with glasses, the band across both eyes and brows, grown by this, is not skin (the frames)


def skin_mask(mask: np.ndarray, points: np.ndarray, face_px: float, glasses: bool = False) -> np.ndarray:
    """The mask without the eyes, brows and mouth of the face whose landmarks are `points` (same coordinates); with
    glasses, without the whole band across the eyes where the frames are."""
    skin = mask.copy()
    thickness = max(1, round(2 * FEATURE_MARGIN * face_px))
    features = list(FEATURES)
    if glasses:
        band = points[[*FEATURES[0], *FEATURES[1]], :2]
        centre = band.mean(axis=0)
        features = [FEATURES[2]]
        hull = cv2.convexHull(np.round(centre + (band - centre) * GLASSES_GROWTH).astype(np.int32))
        cv2.fillConvexPoly(skin, hull, 0)
        cv2.polylines(skin, [hull], True, 0, thickness)
    for feature in features:
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
    """The skin's low band (float32, 8-bit LAB scale), at the size of `lab` (a work-size image); face_px is the face
    size at that same scale."""
    weight = (skin >= 128).astype(np.float32)
    return _masked_blur(lab.astype(np.float32), weight, max(0.8, LOW_BAND_SIGMA * face_px))


def _chroma_spread_ratio(
    face_lab: np.ndarray, face_skin: np.ndarray, target_lab: np.ndarray, target_skin: np.ndarray
) -> np.ndarray:
    """Per a*/b* channel: the target skin's colour spread over the template skin's, at most 1."""
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
    glasses: tuple[bool, bool] = (False, False),
) -> np.ndarray:
    """The warped template face (BGR, ROI-sized) with the target's low band in place of its own.

    `face_points` and `target_points` are the two faces' landmarks in ROI coordinates; `glasses` says which of the two
    (template, target) wears glasses, whose frames must not count as skin. Everything smooth is worked
    out at the work size; at full size only three multiply-adds per pixel remain."""
    height, width = face.shape[:2]
    factor = whole_factor(WORK_FACE_PX / max(face_px, 1.0))
    small_px = face_px / factor
    small_mask = np.where(shrink(mask, factor) >= 128, 255, 0).astype(np.uint8)
    face_skin = skin_mask(small_mask, face_points[:, :2] / factor, small_px, glasses[0])
    target_skin = skin_mask(small_mask, target_points[:, :2] / factor, small_px, glasses[1])
    face_small = cv2.cvtColor(shrink(face, factor), cv2.COLOR_BGR2LAB)
    target_small = cv2.cvtColor(shrink(target, factor), cv2.COLOR_BGR2LAB)
    face_low = low_band(face_small, face_skin, small_px)
    target_low = low_band(target_small, target_skin, small_px)
    # No more colour variation than the target's own skin shows: a grey or washed-out photo gets grey detail.
    spread = _chroma_spread_ratio(face_small, face_skin, target_small, target_skin)
    keep = np.where(face_skin > 0, np.float32(SKIN_CHROMA_DETAIL), np.float32(1.0))[..., None] * spread
    fields = np.empty((*face_low.shape[:2], 5), np.float32)
    fields[..., 0] = np.clip((target_low[..., 0] + 1.0) / (face_low[..., 0] + 1.0), MIN_GAIN, MAX_GAIN)
    # a*b* = template a*b* x keep + (target low band - keep x template low band): the template's low band swapped
    # for the target's, and only `keep` of the template's own colour detail on top.
    fields[..., 1:3] = keep
    fields[..., 3:5] = target_low[..., 1:] - keep * face_low[..., 1:]
    fields = cv2.resize(fields, (width, height), interpolation=cv2.INTER_LINEAR)
    lab = cv2.cvtColor(face, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] *= fields[..., 0]
    lab[..., 1:] = lab[..., 1:] * fields[..., 1:3] + fields[..., 3:5]
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
