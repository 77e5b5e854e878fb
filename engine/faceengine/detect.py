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
    model: TfliteModel,
    bgr: np.ndarray,
    anchors_spec: tuple[tuple[int, ...], tuple[int, ...]],
    threshold: float,
    letterbox: bool = True,
) -> _Candidates:
    size = model.input_size
    if letterbox:
        square, scale, pad_x, pad_y = _letterbox(bgr, size)
    else:  # a tile at most size x size: padded at the bottom and right, never rescaled
        height, width = bgr.shape[:2]
        square = cv2.cvtColor(
            cv2.copyMakeBorder(bgr, 0, size - height, 0, size - width, cv2.BORDER_CONSTANT, value=(0, 0, 0)),
            cv2.COLOR_BGR2RGB,
        )
        scale, pad_x, pad_y = 1.0, 0, 0
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

    The whole photo is scanned once at a small size (short- and full-range models); that finds faces down to about a
    twelfth of the photo's long side. Where smaller faces may hide, it is then scanned in overlapping tiles at larger
    sizes, so that every face of MIN_FACE_PX or more is seen at least 16 px across by the full-range model; in a
    photo with a large face the scan stops at a third of that face's size (a portrait's tiny background faces are
    not looked for: that scan would cost more than the whole swap). With thorough=False the full-range model runs
    on the whole photo only when
    the short-range one finds no face or only small ones.
    """
    factor = math.ceil(max(bgr.shape[:2]) / PRESCALE_SIDE)
    faces, detectors = _detect(models, shrink(bgr, factor), thorough)
    faces = [_rescaled(face, factor) for face in faces] if factor > 1 else faces
    # Only a confident face may narrow the search: a false one (a big, weak box) must not hide a group's small faces.
    largest = max((face.size for face in faces if face.score >= SURE_FACE_SCORE), default=0.0)
    smallest_wanted = max(MIN_FACE_PX, largest * SMALLEST_RELATIVE)
    if thorough:
        tiled = _tiled_candidates(models, bgr, smallest_wanted)
        if tiled.scores.size:
            whole = _Candidates(
                np.array([face.box for face in faces], float).reshape(-1, 4),
                np.array([face.keypoints for face in faces], float).reshape(-1, 6, 2),
                np.array([face.score for face in faces], float),
            )
            faces = weighted_nms(_joined(whole, tiled))
            detectors.append("full_range_tiles")
    return sorted(faces, key=lambda d: d.box[0] + d.box[2] / 2), detectors


MIN_FACE_PX = 40  # the smallest face (box side, original pixels) the tiled scan is sized for
SMALLEST_RELATIVE = 1 / 3  # ... or this fraction of the largest face found, when that is larger
SURE_FACE_SCORE = 0.8  # detector score of a face trusted to set that size
TILE_FACE_PX = 16  # the full-range model finds faces from about this size in its 192 px input
TILE_THRESHOLD = 0.6  # stricter than the whole-photo pass: many tiles, many chances for a false face
TILE_OVERLAP = 64  # tile pixels shared by neighbours: a face up to this size lies whole in some tile
TILE_MARGIN = 1.4  # no tiles when the whole-photo pass sees faces nearly as small (it finds most a bit smaller too)


def _joined(first: _Candidates, second: _Candidates) -> _Candidates:
    return _Candidates(
        np.concatenate([first.boxes, second.boxes]),
        np.concatenate([first.keypoints, second.keypoints]),
        np.concatenate([first.scores, second.scores]),
    )


def _tiled_candidates(models: Models, bgr: np.ndarray, smallest: float) -> _Candidates:
    """Full-range detections over overlapping 192 px tiles, at every scale from the one where a `smallest` face is
    TILE_FACE_PX across up to where the whole photo fits the detector's input (each level covers 4x in face size)."""
    size = models.full_range.input_size
    stride = size - TILE_OVERLAP
    found = _Candidates(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))
    scale = TILE_FACE_PX / smallest
    while max(bgr.shape[:2]) * scale > size * TILE_MARGIN:
        height, width = (round(side * scale) for side in bgr.shape[:2])
        level = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
        for y in range(0, max(1, height - TILE_OVERLAP), stride):
            for x in range(0, max(1, width - TILE_OVERLAP), stride):
                tile = level[y : y + size, x : x + size]
                hits = _run_detector(models.full_range, tile, FULL_RANGE_ANCHORS, TILE_THRESHOLD, letterbox=False)
                if hits.scores.size:
                    offset = np.array([x, y], float)
                    hits.boxes[:, :2] += offset
                    hits.keypoints += offset
                    hits.boxes /= scale
                    hits.keypoints /= scale
                    found = _joined(found, hits)
        scale /= 4
    return found


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


def _unrotated(detection: Detection, turns: int, width: int, height: int) -> Detection:
    """A detection made on np.rot90(image, turns) (counter-clockwise), in the original image's coordinates."""

    def back(points: np.ndarray) -> np.ndarray:
        x, y = points[..., 0], points[..., 1]
        if turns == 1:
            return np.stack([width - y, x], axis=-1)
        if turns == 2:
            return np.stack([width - x, height - y], axis=-1)
        return np.stack([y, height - x], axis=-1)

    x, y, w, h = detection.box
    corners = back(np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]]))
    low, high = corners.min(axis=0), corners.max(axis=0)
    box = (float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1]))
    return Detection(box, back(detection.keypoints), detection.score)


def detect_turned_faces(models: Models, bgr: np.ndarray) -> tuple[list[Detection], list[str]]:
    """Faces of a photo held the wrong way: detection on the photo turned 180, 90 and 270 degrees, mapped back and
    merged with the upright detection. The detector finds faces roughly upright only; this finds the rest."""
    height, width = bgr.shape[:2]
    faces, detectors = detect_faces(models, bgr)
    boxes = [face.box for face in faces]
    keypoints = [face.keypoints for face in faces]
    scores = [face.score for face in faces]
    for turns in (2, 1, 3):
        found, _ = detect_faces(models, np.ascontiguousarray(np.rot90(bgr, turns)))
        for face in found:
            back = _unrotated(face, turns, width, height)
            boxes.append(back.box)
            keypoints.append(back.keypoints)
            scores.append(back.score)
    if not scores:
        return [], [*detectors, "turned"]
    # Plain NMS (no averaging): keypoints found in different orientations must not be blended.
    candidates = _Candidates(np.array(boxes, float), np.array(keypoints, float), np.array(scores, float))
    order = np.argsort(-candidates.scores)
    kept: list[Detection] = []
    for number in order:
        box = candidates.boxes[number]
        if kept and _iou_with(box, np.array([face.box for face in kept])).max() > NMS_IOU:
            continue
        x, y, width, height = (float(v) for v in box)
        kept.append(Detection((x, y, width, height), candidates.keypoints[number], float(candidates.scores[number])))
    return sorted(kept, key=lambda d: d.box[0] + d.box[2] / 2), [*detectors, "turned"]
