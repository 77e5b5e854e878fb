"""Measurements the engine tests share: landmarks of a photo, and the dilated face region."""

from __future__ import annotations

import cv2
import numpy as np
from faceengine.detect import detect_faces
from faceengine.geometry import eye_distance
from faceengine.landmarks import find_landmarks
from faceengine.mask import face_size
from faceengine.models import load_models


def faces_and_landmarks(bgr: np.ndarray) -> list[np.ndarray]:
    models = load_models()
    faces, _ = detect_faces(models, bgr)
    return [find_landmarks(models, bgr, face).points for face in faces]


def largest_landmarks(bgr: np.ndarray) -> np.ndarray:
    found = faces_and_landmarks(bgr)
    assert found, "no face found"
    return max(found, key=face_size)


def dilated_face_region(points: np.ndarray, shape: tuple[int, ...], fraction: float = 0.12) -> np.ndarray:
    """Bool mask: the landmarks' convex hull dilated by `fraction` of the face size."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points[:, :2].astype(np.int32)), 255)
    radius = max(1, round(face_size(points) * fraction))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel) > 0


def inner_hull(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points[:, :2].astype(np.int32)), 255)
    return mask > 0


def landmark_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean landmark distance normalised by the outer eye-corner distance."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean() / eye_distance(b))
