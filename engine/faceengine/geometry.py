"""Landmark index sets, similarity fits, pose estimates and geometry comparisons on FaceMesh points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263  # subject's right eye is on the image's left
RIGHT_CHEEK, LEFT_CHEEK = 234, 454
FOREHEAD_TOP, CHIN = 10, 152
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
INNER_LIPS = frozenset((78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415))
OUTER_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
# Eyes with their brows, and the mouth: what is not skin inside the face (each a convex region).
FEATURES = ((*RIGHT_EYE, *RIGHT_BROW), (*LEFT_EYE, *LEFT_BROW), OUTER_LIPS)
# The points inside the face oval (eyes, brows, nose, mouth): what identity comparisons should look at.
INNER_FACE = np.array(
    sorted(
        {
            *RIGHT_EYE,
            *LEFT_EYE,
            *RIGHT_BROW,
            *LEFT_BROW,
            *INNER_LIPS,
            1,
            2,
            4,
            5,
            6,
            168,
            197,
            195,
            98,
            327,
            61,
            291,
            0,
            17,
            37,
            267,
            84,
            314,
        }
    )
)


@dataclass(frozen=True)
class Pose:
    yaw: float  # degrees, positive when the face turns towards the image's right
    pitch: float
    roll: float

    def as_dict(self) -> dict[str, float]:
        return {"yaw": round(self.yaw, 1), "pitch": round(self.pitch, 1), "roll": round(self.roll, 1)}


def estimate_pose(points: np.ndarray) -> Pose:
    """Rough head pose from the mesh's 3-D points: enough to warn, not to measure."""
    eyes = points[LEFT_EYE_OUTER] - points[RIGHT_EYE_OUTER]
    roll = math.degrees(math.atan2(eyes[1], eyes[0]))
    # Undo the roll so yaw and pitch are measured in the face's own frame.
    cos_r, sin_r = math.cos(math.radians(-roll)), math.sin(math.radians(-roll))
    rotation = np.array([[cos_r, -sin_r, 0], [sin_r, cos_r, 0], [0, 0, 1]])
    upright = points @ rotation.T
    across = upright[LEFT_CHEEK] - upright[RIGHT_CHEEK]
    down = upright[CHIN] - upright[FOREHEAD_TOP]
    yaw = math.degrees(math.atan2(across[2], across[0]))
    pitch = math.degrees(math.atan2(-down[2], down[1]))
    return Pose(yaw, pitch, roll)


def eye_distance(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[LEFT_EYE_OUTER, :2] - points[RIGHT_EYE_OUTER, :2]))


def fit_similarity(source: np.ndarray, destination: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping source 2-D points onto destination; a 2x3 matrix."""
    source_mean, destination_mean = source.mean(axis=0), destination.mean(axis=0)
    source_centred, destination_centred = source - source_mean, destination - destination_mean
    covariance = destination_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / source_centred.var(axis=0).sum())
    translation = destination_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, translation[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points[:, :2] @ matrix[:, :2].T + matrix[:, 2]


def procrustes_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Shape distance between two landmark sets after removing position, scale and rotation (0 = same shape)."""
    aligned = apply_affine(fit_similarity(a[:, :2], b[:, :2]), a)
    reference = b[:, :2] - b[:, :2].mean(axis=0)
    return float(np.sqrt(((aligned - b[:, :2]) ** 2).sum() / (reference**2).sum()))
