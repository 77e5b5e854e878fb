"""The face mask: landmark hull with the forehead capped so hair and hats are not painted over, then feathered."""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE

FOREHEAD_CAP = 2.0  # hull stops this many eye-to-brow heights above the eyes (the mesh top is at the hairline)
SHRINK = 0.98  # pull the hull in a little so the template's face edge (jaw shadow, ears) stays out
FEATHER = 0.06  # feather width as a fraction of the face size


def capped_outline(points: np.ndarray) -> np.ndarray:
    """The convex hull of the landmarks, with points above the forehead cap pulled down to it, shrunk slightly."""
    xy = points[:, :2]
    right_eye, left_eye = xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0)
    eye_centre = (right_eye + left_eye) / 2
    across = (left_eye - right_eye) / max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    up = np.array([across[1], -across[0]])  # perpendicular to the eye line, pointing to the forehead
    heights = (xy - eye_centre) @ up
    brow_height = float(heights[list(RIGHT_BROW) + list(LEFT_BROW)].mean())
    cap = FOREHEAD_CAP * max(brow_height, 1.0)
    excess = np.clip(heights - cap, 0, None)
    capped = xy - excess[:, None] * up
    hull = cv2.convexHull(capped.astype(np.float32)).reshape(-1, 2)
    centre = hull.mean(axis=0)
    return centre + (hull - centre) * SHRINK


def face_size(points: np.ndarray) -> float:
    xy = points[:, :2]
    return float(max(xy.max(axis=0) - xy.min(axis=0)))


def fill_polygon(shape: tuple[int, int], polygon: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A uint8 0/255 mask of the polygon, with sub-pixel vertex precision."""
    mask = np.zeros(shape, np.uint8)
    shift = 4
    vertices = np.round(polygon * scale * (1 << shift)).astype(np.int32)
    cv2.fillPoly(mask, [vertices], 255, lineType=cv2.LINE_8, shift=shift)
    return mask


def feather(binary: np.ndarray, size_px: float) -> np.ndarray:
    """Float32 alpha in 0..1 that is 0 at and outside the mask edge and reaches 1 about size_px inside it."""
    radius = max(1, round(size_px / 2))
    eroded = cv2.erode(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    sigma = max(0.5, size_px / 4)
    alpha = cv2.GaussianBlur(eroded.astype(np.float32) * np.float32(1 / 255), (0, 0), sigma)
    alpha[binary == 0] = 0  # never reach outside the mask
    return alpha
