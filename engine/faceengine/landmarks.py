"""468-point FaceMesh landmarks on an eye-aligned crop around a detected face."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import Detection
from .models import Models

ROI_SCALE = 1.5  # MediaPipe's crop: 1.5x the face box, square
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263  # subject's right eye is on the image's left


@dataclass(frozen=True)
class FaceLandmarks:
    points: np.ndarray  # 468x3 float64: x, y in image pixels, z (relative depth) in pixel units
    presence: float  # the model's face-presence score, 0..1


def _crop_matrix(centre: np.ndarray, size: float, angle: float, out: int) -> np.ndarray:
    """Affine matrix mapping image pixels into an out x out crop, rotated so the eyes are level."""
    matrix = np.asarray(
        cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), math.degrees(angle), out / size), np.float64
    )
    matrix[:, 2] += out / 2 - centre
    return matrix


def _run_mesh(models: Models, bgr: np.ndarray, centre: np.ndarray, size: float, angle: float) -> FaceLandmarks:
    out = models.face_mesh.input_size
    matrix = _crop_matrix(centre, size, angle, out)
    crop = cv2.warpAffine(bgr, matrix, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    crop = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
    mesh, flag = models.face_mesh.run((crop.astype(np.float32) * np.float32(1 / 255))[None])
    local = mesh.reshape(-1, 3).astype(np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    xy = local[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    z = local[:, 2:3] * size / out
    presence = 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, float(flag.reshape(-1)[0])))))
    return FaceLandmarks(np.hstack([xy, z]), presence)


def _eye_angle(right_eye: np.ndarray, left_eye: np.ndarray) -> float:
    return math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])


def find_landmarks(models: Models, bgr: np.ndarray, detection: Detection) -> FaceLandmarks:
    """Landmarks in two passes: a crop from the detector box, then a tighter crop from the first landmarks."""
    x, y, width, height = detection.box
    centre = np.array([x + width / 2, y + height / 2])
    first = _run_mesh(
        models, bgr, centre, max(width, height) * ROI_SCALE, _eye_angle(detection.keypoints[0], detection.keypoints[1])
    )
    points = first.points[:, :2]
    angle = _eye_angle(points[RIGHT_EYE_OUTER], points[LEFT_EYE_OUTER])
    # Measure the extent in the eye-aligned frame so a tilted head does not inflate the crop.
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    aligned = points @ rotation.T
    low, high = aligned.min(axis=0), aligned.max(axis=0)
    centre = ((low + high) / 2) @ rotation
    size = float(max(high - low)) * ROI_SCALE
    return _run_mesh(models, bgr, centre, size, angle)
