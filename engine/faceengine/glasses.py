"""Does a face wear glasses? A pixel test on the face brought to a fixed frame (no extra model).

Glasses put a bridge across the nose at eye level and rims under the eyes: strong horizontal edges where bare skin
has soft ones. Both are measured against bare-skin places of the same face (lower nose, cheeks), so light and
contrast cancel out. Calibrated on the sample photos (Grace Hopper wears glasses; Eileen Collins does not) and their
relit, mirrored, greyscale, downscaled and rotated copies; faces turned more than 25 degrees are not judged.
"""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import LEFT_EYE, RIGHT_EYE, estimate_pose

MAX_YAW = 25.0
BRIDGE_RATIO = 0.8  # bridge edges / lower-nose edges: bare faces ~0.4, glasses ~1.1-1.4
RIM_RATIO = 1.2  # under-eye edges / cheek edges: bare faces ~0.4, glasses ~1.6-1.9


def _canonical_edges(bgr: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Vertical-gradient magnitude of the face in a 200x220 frame with the eyes at (50, 60) and (150, 60)."""
    xy = points[:, :2]
    right_eye, left_eye = xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0)
    distance = max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    across = (left_eye - right_eye) / distance
    down = np.array([-across[1], across[0]])
    source = np.array([right_eye, left_eye, right_eye + down * distance], np.float32)
    matrix = cv2.getAffineTransform(source, np.array([[50, 60], [150, 60], [50, 160]], np.float32))
    frame = cv2.warpAffine(bgr, matrix, (200, 220), flags=cv2.INTER_LINEAR)  # small first, then grey: cheap
    frame = (frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)).astype(np.float32)
    return np.abs(cv2.Sobel(frame, cv2.CV_32F, 0, 1, ksize=3))


def glasses_evidence(bgr: np.ndarray, points: np.ndarray) -> dict[str, float] | None:
    """The two edge ratios, or None for a face turned too far to judge."""
    pose = estimate_pose(points)
    if abs(pose.yaw) > MAX_YAW:
        return None
    edges = _canonical_edges(bgr, points)
    bridge = float(edges[45:75, 90:110].mean()) / max(float(edges[100:125, 90:110].mean()), 1.0)
    rims = float(edges[80:100, 25:75].mean() + edges[80:100, 125:175].mean())
    cheeks = float(edges[120:150, 25:75].mean() + edges[120:150, 125:175].mean())
    return {"bridge_ratio": round(bridge, 2), "rim_ratio": round(rims / max(cheeks, 1.0), 2)}


def wears_glasses(bgr: np.ndarray, points: np.ndarray) -> bool | None:
    """True or False; None when the face is turned too far to judge."""
    evidence = glasses_evidence(bgr, points)
    if evidence is None:
        return None
    return evidence["bridge_ratio"] > BRIDGE_RATIO and evidence["rim_ratio"] > RIM_RATIO
