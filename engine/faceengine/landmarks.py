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


PLAUSIBLE_PRESENCE = 0.5  # below this the mesh did not see a face the right way up in the crop
# Crop turns tried, in order, when the detector's eye line gave an implausible mesh: a face upside down or on its
# side fools the detector's keypoints (it reads the mouth as the eyes), not the landmark model once the crop is upright.
TURNS = (0.0, math.pi, math.pi / 2, -math.pi / 2)


def _refined(models: Models, bgr: np.ndarray, marks: FaceLandmarks) -> tuple[FaceLandmarks, float]:
    """One more pass on a crop centred, sized and turned by the previous landmarks; also the angle used."""
    points = marks.points[:, :2]
    angle = _eye_angle(points[RIGHT_EYE_OUTER], points[LEFT_EYE_OUTER])
    # Measure the extent in the eye-aligned frame so a tilted head does not inflate the crop.
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    aligned = points @ rotation.T
    low, high = aligned.min(axis=0), aligned.max(axis=0)
    centre = ((low + high) / 2) @ rotation
    size = float(max(high - low)) * ROI_SCALE
    return _run_mesh(models, bgr, centre, size, angle), angle


MAX_PASSES = 4
SETTLED_DEGREES = 10.0  # passes stop once the crop turns less than this from one pass to the next


def _passes(models: Models, bgr: np.ndarray, detection: Detection, angle: float) -> FaceLandmarks:
    """Landmarks in passes: a crop from the detector box, then tighter crops turned by the landmarks' eye line. Two
    passes settle an upright face; a face on its side, where the detector's keypoints are rough, takes more."""
    x, y, width, height = detection.box
    centre = np.array([x + width / 2, y + height / 2])
    marks = _run_mesh(models, bgr, centre, max(width, height) * ROI_SCALE, angle)
    for _ in range(MAX_PASSES - 1):
        marks, used = _refined(models, bgr, marks)
        turn = math.degrees(abs(math.remainder(used - angle, 2 * math.pi)))
        angle = used
        if turn < SETTLED_DEGREES or marks.presence < PLAUSIBLE_PRESENCE:
            break
    return marks


def find_landmarks(models: Models, bgr: np.ndarray, detection: Detection) -> FaceLandmarks:
    """The face's landmarks, with the crop turned upright by the detector's eye line; when the mesh finds no face
    that way, the crop is turned by 180 and then 90 degrees either way, and the most certain answer is kept."""
    base = _eye_angle(detection.keypoints[0], detection.keypoints[1])
    best: FaceLandmarks | None = None
    for turn in TURNS:
        marks = _passes(models, bgr, detection, base + turn)
        if best is None or marks.presence > best.presence:
            best = marks
        if marks.presence >= PLAUSIBLE_PRESENCE:
            break
    assert best is not None
    return best
