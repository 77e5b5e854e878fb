"""Face detection with BlazeFace (short- and full-range), merged by weighted non-maximum suppression."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from .models import Models, TfliteModel
from .resize import shrink

SHORT_RANGE_THRESHOLD = 0.5
FULL_RANGE_THRESHOLD = 0.6
NMS_IOU = 0.3
PRESCALE_SIDE = 384  # about twice the largest detector input
PORTRAIT_FACE_FRACTION = 0.15  # a face at least this fraction of the short side: a portrait, no full-range pass


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, width, height in image pixels
    keypoints: np.ndarray  # 6x2: subject's right eye, left eye, nose tip, mouth, right ear, left ear
    score: float

    @property
    def size(self) -> float:
        return max(self.box[2], self.box[3])


@cache
def _anchors(input_size: int, strides: tuple[int, ...], per_cell: tuple[int, ...]) -> np.ndarray:
    """SSD anchor centres (fixed size 1), as MediaPipe's anchor generator builds them for BlazeFace."""
    centres = []
    for stride, count in zip(strides, per_cell, strict=True):
        cells = input_size // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, count, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


SHORT_RANGE_ANCHORS = ((8, 16), (2, 6))  # strides 16,16,16 merge into one 8x8 layer with 6 anchors per cell
FULL_RANGE_ANCHORS = ((4,), (1,))


def _letterbox(bgr: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """Resize into a size x size RGB square with padding; return it and the way back (scale, pad x, pad y)."""
    height, width = bgr.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.cvtColor(cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    square = cv2.copyMakeBorder(
        resized, pad_y, size - new_h - pad_y, pad_x, size - new_w - pad_x, cv2.BORDER_CONSTANT, value=(0, 0, 0)
    )
    return square, scale, pad_x, pad_y


@dataclass
class _Candidates:
    boxes: np.ndarray  # Nx4 x, y, w, h in image pixels
    keypoints: np.ndarray  # Nx6x2
    scores: np.ndarray  # N


def _run_detector(
    model: TfliteModel, bgr: np.ndarray, anchors_spec: tuple[tuple[int, ...], tuple[int, ...]], threshold: float
) -> _Candidates:
    size = model.input_size
    square, scale, pad_x, pad_y = _letterbox(bgr, size)
    batch = (square.astype(np.float32) * np.float32(1 / 127.5) - 1.0)[None]  # BlazeFace wants [-1, 1]
    regressors, classifiers = model.run(batch)
    logits = np.clip(classifiers.reshape(-1).astype(np.float64), -80, 80)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= threshold)
    anchors = _anchors(size, *anchors_spec)[keep]
    raw = regressors.reshape(-1, 16)[keep] / size
    pad = np.array([pad_x, pad_y], np.float32)
    centres = ((raw[:, 0:2] + anchors) * size - pad) / scale
    sizes = raw[:, 2:4] * size / scale
    keypoints = ((raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]) * size - pad) / scale
    boxes = np.concatenate([centres - sizes / 2, sizes], axis=1)
    return _Candidates(boxes.astype(np.float64), keypoints.astype(np.float64), scores[keep])


def _iou_with(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def weighted_nms(candidates: _Candidates, iou_threshold: float = NMS_IOU) -> list[Detection]:
    """MediaPipe-style weighted NMS: overlapping candidates are averaged, weighted by score."""
    order = np.argsort(-candidates.scores)
    boxes, keypoints, scores = candidates.boxes[order], candidates.keypoints[order], candidates.scores[order]
    merged: list[Detection] = []
    while scores.size:
        cluster = _iou_with(boxes[0], boxes) > iou_threshold
        cluster[0] = True
        weights = scores[cluster] / scores[cluster].sum()
        box = tuple(float(v) for v in weights @ boxes[cluster])
        points = np.tensordot(weights, keypoints[cluster], axes=1)
        merged.append(Detection(box, points, float(scores[0])))  # type: ignore[arg-type]
        boxes, keypoints, scores = boxes[~cluster], keypoints[~cluster], scores[~cluster]
    return merged


def detect_faces(models: Models, bgr: np.ndarray, *, thorough: bool = True) -> tuple[list[Detection], list[str]]:
    """Faces in the image, ordered left to right by box centre, and the detectors that ran.

    The full-range model finds the small faces of group photos; it costs about three times the short-range one.
    With thorough=False it runs only when the short-range model finds no face, or only faces small for the frame
    (where smaller ones it cannot see are likely).
    """
    factor = math.ceil(max(bgr.shape[:2]) / PRESCALE_SIDE)
    faces, detectors = _detect(models, shrink(bgr, factor), thorough)
    return [_rescaled(face, factor) for face in faces] if factor > 1 else faces, detectors


def _rescaled(detection: Detection, factor: float) -> Detection:
    box = tuple(value * factor for value in detection.box)
    return Detection(box, detection.keypoints * factor, detection.score)  # type: ignore[arg-type]


def _detect(models: Models, bgr: np.ndarray, thorough: bool) -> tuple[list[Detection], list[str]]:
    candidates = _run_detector(models.short_range, bgr, SHORT_RANGE_ANCHORS, SHORT_RANGE_THRESHOLD)
    detectors = ["short_range"]
    largest = float(candidates.boxes[:, 2:].max()) if candidates.scores.size else 0.0
    if thorough or largest < PORTRAIT_FACE_FRACTION * min(bgr.shape[:2]):
        full = _run_detector(models.full_range, bgr, FULL_RANGE_ANCHORS, FULL_RANGE_THRESHOLD)
        detectors.append("full_range")
        candidates = _Candidates(
            np.concatenate([candidates.boxes, full.boxes]),
            np.concatenate([candidates.keypoints, full.keypoints]),
            np.concatenate([candidates.scores, full.scores]),
        )
    faces = weighted_nms(candidates)
    return sorted(faces, key=lambda d: d.box[0] + d.box[2] / 2), detectors
