"""Which faces to use: like a person would pick them. By default the most frontal of the large faces (size and pose
together), not simply the largest; with --all-faces every usable face, and a reason for each one left out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .detect import Detection
from .errors import FACE_COUNT_INVALID, FACE_UNRECOGNIZABLE, SMALL_FACE, FaceSwapError, ImageRole
from .geometry import estimate_pose
from .landmarks import PLAUSIBLE_PRESENCE, FaceLandmarks, find_landmarks
from .models import Models

LARGE_FRACTION = 0.6  # faces at least this fraction of the largest readable face count as "large"


@dataclass
class Choice:
    used: list[int]
    landmarks: dict[int, FaceLandmarks]
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)  # per face: confidence, pose, score, skip reason
    skipped: dict[int, str] = field(default_factory=dict)  # face index -> why it was not used


def frontal_score(detection: Detection, marks: FaceLandmarks, largest: float) -> float:
    """Size relative to the largest face, times how squarely the face looks at the camera (1 = frontal)."""
    pose = estimate_pose(marks.points)
    turned = math.cos(math.radians(min(abs(pose.yaw), 89.0))) ** 2 * math.cos(math.radians(min(abs(pose.pitch), 89.0)))
    return detection.size / max(largest, 1e-6) * turned


class _Reader:
    """Landmarks on demand, each face read at most once."""

    def __init__(self, models: Models, bgr: np.ndarray, faces: list[Detection]) -> None:
        self.models, self.bgr, self.faces = models, bgr, faces
        self.found: dict[int, FaceLandmarks] = {}

    def __call__(self, number: int) -> FaceLandmarks:
        if number not in self.found:
            self.found[number] = find_landmarks(self.models, self.bgr, self.faces[number])
        return self.found[number]


def _small(detection: Detection, min_size: int) -> str | None:
    if detection.size < min_size:
        return f"too small: {round(detection.size)} px across, at least {min_size} px needed"
    return None


UNREADABLE = "not readable as a face in any orientation (landmark model unsure)"


def _refuse_small(detection: Detection, min_size: int, role: ImageRole) -> FaceSwapError:
    return FaceSwapError(
        SMALL_FACE, f"the {role} face is {round(detection.size)} px across; at least {min_size} px is needed", role
    )


def _refuse_unreadable(role: ImageRole, number: int | None = None) -> FaceSwapError:
    which = f"face {number}" if number is not None else "no face"
    return FaceSwapError(
        FACE_UNRECOGNIZABLE,
        f"{which} of the {role} image could be read upright, upside down or on its side; it is not swapped",
        role,
    )


def choose(
    models: Models, bgr: np.ndarray, faces: list[Detection], role: ImageRole, index: int | None, all_faces: bool,
    min_size: int,
) -> Choice:  # fmt: skip
    """The faces to use and their landmarks; raises FaceSwapError when none can be used."""
    read = _Reader(models, bgr, faces)
    if index is not None:
        if not 0 <= index < len(faces):
            message = f"face index {index} asked for the {role} image, which has {len(faces)} face(s)"
            raise FaceSwapError(FACE_COUNT_INVALID, message, role)
        if _small(faces[index], min_size):
            raise _refuse_small(faces[index], min_size, role)
        if read(index).presence < PLAUSIBLE_PRESENCE:
            raise _refuse_unreadable(role, index)
        return Choice([index], read.found, _notes(read, faces, {}))
    if all_faces:
        return _choose_all(read, faces, role, min_size)
    return _choose_best(read, faces, role, min_size)


def _choose_all(read: _Reader, faces: list[Detection], role: ImageRole, min_size: int) -> Choice:
    used, skipped = [], {}
    for number, face in enumerate(faces):
        reason = _small(face, min_size) or (UNREADABLE if read(number).presence < PLAUSIBLE_PRESENCE else None)
        if reason:
            skipped[number] = reason
        else:
            used.append(number)
    if not used:
        largest = max(range(len(faces)), key=lambda number: faces[number].size)
        if _small(faces[largest], min_size):
            raise _refuse_small(faces[largest], min_size, role)
        raise _refuse_unreadable(role)
    return Choice(used, {number: read(number) for number in used}, _notes(read, faces, {}), skipped)


def _choose_best(read: _Reader, faces: list[Detection], role: ImageRole, min_size: int) -> Choice:
    largest: float | None = None
    scores: dict[int, float] = {}
    for number in sorted(range(len(faces)), key=lambda n: -faces[n].size):
        face = faces[number]
        if _small(face, min_size) or (largest is not None and face.size < LARGE_FRACTION * largest):
            break  # faces come largest first: every later one is smaller still
        if read(number).presence < PLAUSIBLE_PRESENCE:
            continue
        largest = largest or face.size
        scores[number] = frontal_score(face, read(number), largest)
    if not scores:
        biggest = max(range(len(faces)), key=lambda number: faces[number].size)
        if _small(faces[biggest], min_size):
            raise _refuse_small(faces[biggest], min_size, role)
        raise _refuse_unreadable(role)
    best = max(scores, key=lambda number: scores[number])
    return Choice([best], {best: read(best)}, _notes(read, faces, scores))


def _notes(read: _Reader, faces: list[Detection], scores: dict[int, float]) -> dict[int, dict[str, Any]]:
    notes = {}
    for number, marks in read.found.items():
        pose = estimate_pose(marks.points)
        notes[number] = {"landmark_confidence": round(marks.presence, 3), "yaw": round(pose.yaw, 1)}
        if marks.presence < PLAUSIBLE_PRESENCE:
            notes[number]["readable"] = False
        if number in scores:
            notes[number]["choice_score"] = round(scores[number], 3)
    return notes
