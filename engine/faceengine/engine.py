"""swap(): the whole pipeline, from two encoded photos to an encoded result and its quality report."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from . import blend, codec, colour, faithful, relight
from . import report as reporting
from .choose import Choice, choose
from .detect import Detection, detect_faces, detect_turned_faces
from .errors import FACE_UNRECOGNIZABLE, NO_FACE, FaceSwapError, ImageRole
from .landmarks import FaceLandmarks
from .mask import FEATHER, capped_outline, face_size, feather, fill_polygon
from .models import load_models
from .options import SwapOptions, SwapResult
from .warp import Roi, Warped, delaunay_warp, similarity_warp

ENGINE_VERSION = "1.0.0"
RELIT_EDGE_CORRECTION = 0.2  # a relit face needs the seamless correction only this far (of its size) inside the edge
ROI_MARGIN = 0.15  # ROI = the target face's landmark box plus this fraction of the face size on each side


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()
        self._last = self._started

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + (now - self._last) * 1000, 2)
        self._last = now

    def total(self) -> float:
        return round((time.perf_counter() - self._started) * 1000, 2)


def _roi(points: np.ndarray, image_shape: tuple[int, ...]) -> Roi:
    size = face_size(points)
    low = np.floor(points[:, :2].min(axis=0) - ROI_MARGIN * size).astype(int)
    high = np.ceil(points[:, :2].max(axis=0) + ROI_MARGIN * size).astype(int)
    x0, y0 = max(0, low[0]), max(0, low[1])
    x1, y1 = min(image_shape[1], high[0]), min(image_shape[0], high[1])
    return Roi(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _face_mask(warped: Warped, target_local: np.ndarray, roi: Roi) -> np.ndarray:
    shape = (roi.height, roi.width)
    mask = fill_polygon(shape, capped_outline(target_local))
    if warped.mouth_hole is None:
        # Similarity warp: only where both faces are, so the template never paints over the target's hair or ears.
        mask &= fill_polygon(shape, capped_outline(warped.points))
    else:
        mask[fill_polygon(shape, warped.mouth_hole) > 0] = 0  # the target's own mouth opening (teeth) shows
    return mask


def _swap_one(
    result: np.ndarray,
    template: np.ndarray,
    template_marks: FaceLandmarks,
    target_marks: FaceLandmarks,
    options: SwapOptions,
    timer: _Timer,
    glasses: tuple[bool, bool],
) -> dict[str, Any]:
    """Swap one face into `result` (in place); `glasses`: (template, target) wear glasses."""
    roi = _roi(target_marks.points, result.shape)
    target_local = target_marks.points.copy()
    target_local[:, :2] -= roi.offset
    warp = similarity_warp if options.warp == "similarity" else delaunay_warp
    warped = warp(template, template_marks.points, target_marks.points, roi)
    background = roi.slice(result).copy()
    mask = _face_mask(warped, target_local, roi)
    if not mask.any():
        raise FaceSwapError(NO_FACE, "the faces do not overlap after alignment", "target")
    face_px = face_size(target_marks.points)
    if not options.colour_transfer:
        face = warped.pixels
    elif options.relight:
        face = relight.relight(warped.pixels, background, mask, warped.points, target_local, face_px, glasses)
    else:
        face = colour.transfer(warped.pixels, mask, background, mask)
    timer.lap("warp_ms")
    alpha = feather(mask, FEATHER * face_px)
    blend_used = options.blend
    fallback_reason = None
    if options.blend == "seamless":
        try:
            edge_only = RELIT_EDGE_CORRECTION if options.relight and options.colour_transfer else 0.0
            face = blend.poisson_corrected(face, background, mask, face_px, edge_only)
        except cv2.error as error:
            blend_used, fallback_reason = "alpha", str(error).strip().splitlines()[-1][:200]
    swapped = blend.alpha_blend(face, background, alpha)
    roi.slice(result)[:] = swapped
    timer.lap("blend_ms")
    report = reporting.face_quality(swapped, background, alpha, target_local, warped.points, face_px, glasses)
    report.update(
        blend_used=blend_used,
        blend_fallback_reason=fallback_reason,
        region=[roi.x, roi.y, roi.width, roi.height],
        scale=round(face_px / max(face_size(template_marks.points), 1e-6), 3),
    )
    timer.lap("quality_ms")
    return report


@dataclass
class _Prepared:
    """One photo, decoded, with its faces found and the landmarks of the faces that will be used."""

    image: codec.DecodedImage
    faces: list[Detection]
    detectors: list[str]
    used: list[int]
    landmarks: dict[int, FaceLandmarks]
    warnings: list[dict[str, Any]]
    timings: dict[str, float]
    notes: dict[int, dict[str, Any]]  # per face read: landmark confidence, yaw, choice score
    skipped: dict[int, str]  # faces left out, with the reason


# Failures are reported in this order whichever photo's thread finished first, so errors stay deterministic.
_STAGES = ("decode", "detect", "choose")


class _StageFailure(Exception):
    def __init__(self, stage: str, error: FaceSwapError) -> None:
        super().__init__(error.message)
        self.rank = (_STAGES.index(stage), 0 if error.image == "target" else 1)
        self.error = error


def _skipped_warnings(choice: Choice, role: ImageRole) -> list[dict[str, Any]]:
    return [
        reporting.warning("FACE_SKIPPED", role, f"{role} face {number} was not swapped: {reason}", number)
        for number, reason in sorted(choice.skipped.items())
    ]


def _prepare(data: bytes, role: ImageRole, options: SwapOptions) -> _Prepared:
    """Decode, detect, choose and find landmarks for one photo; failures carry the stage they happened in."""
    models = load_models()
    timer = _Timer()
    stage = "decode"
    try:
        image = codec.decode(data, role, min_side=options.min_side, max_side=options.max_side)
        timer.lap("decode_ms")
        stage = "detect"
        # Both detectors on both photos, so the faces the report counts are exactly the ones an index can pick.
        faces, detectors = detect_faces(models, image.bgr)
        if not faces:
            faces, detectors = detect_turned_faces(models, image.bgr)
        if not faces:
            raise FaceSwapError(NO_FACE, f"no face was found in the {role} image", role)
        timer.lap("detect_ms")
        stage = "choose"
        index = options.template_face_index if role == "template" else options.face_index
        all_faces = options.all_faces and role == "target"
        try:
            choice = choose(models, image.bgr, faces, role, index, all_faces, options.min_face_size)
        except FaceSwapError as error:
            if error.code != FACE_UNRECOGNIZABLE or index is not None:
                raise
            # Nothing readable the right way up: the photo may be upside down or on its side.
            faces, detectors = detect_turned_faces(models, image.bgr)
            choice = choose(models, image.bgr, faces, role, index, all_faces, options.min_face_size)
    except FaceSwapError as error:
        raise _StageFailure(stage, error) from error
    timer.lap("landmarks_ms")
    used, landmarks, warnings = choice.used, choice.landmarks, _skipped_warnings(choice, role)
    return _Prepared(image, faces, detectors, used, landmarks, warnings, timer.timings, choice.notes, choice.skipped)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _template_pool() -> ThreadPoolExecutor:
    """Two workers: each swap hands its template photo to one while its own thread does the target photo."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="faceengine")
        return _pool


def _prepare_both(target: bytes, template: bytes, options: SwapOptions) -> tuple[_Prepared, _Prepared]:
    template_future = _template_pool().submit(_prepare, template, "template", options)
    failures: list[_StageFailure] = []
    prepared: list[_Prepared] = []
    for work in (lambda: _prepare(target, "target", options), template_future.result):
        try:
            prepared.append(work())
        except _StageFailure as failure:
            failures.append(failure)
    if failures:
        raise min(failures, key=lambda failure: failure.rank).error
    return prepared[0], prepared[1]


def _changed_box(swaps: list[dict[str, Any]]) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around every swapped region: no pixel outside it changed."""
    if not swaps:
        return None
    boxes = np.array([face["region"] for face in swaps])
    return (
        int(boxes[:, 0].min()),
        int(boxes[:, 1].min()),
        int((boxes[:, 0] + boxes[:, 2]).max()),
        int((boxes[:, 1] + boxes[:, 3]).max()),
    )


def swap(target: bytes, template: bytes, options: SwapOptions | None = None) -> SwapResult:
    """Replace the face in `target` with the face from `template`; see SwapOptions. Raises FaceSwapError.

    Safe to call from several threads; the models are loaded once per process, on the first call.
    """
    options = options or SwapOptions()
    timer = _Timer()
    load_models()
    timer.lap("load_ms")
    target_side, template_side = _prepare_both(target, template, options)
    timer.lap("prepare_ms")
    target_blocks = None
    if codec.keeps_jpeg_blocks(target_side.image, options.jpeg_quality):
        # Read the target file's coefficients on the other thread while this one swaps.
        target_blocks = _template_pool().submit(faithful.read_blocks, target_side.image.source)

    (template_used,) = template_side.used
    template_marks = template_side.landmarks[template_used]
    template_details, template_warnings = reporting.landmarks_report(
        template_marks, "template", template_used, template_side.image.bgr
    )
    warnings = [*target_side.warnings, *template_side.warnings, *template_warnings]
    result = target_side.image.bgr.copy()
    swaps = []
    for number in target_side.used:
        target_marks = target_side.landmarks[number]
        target_details, target_warnings = reporting.landmarks_report(
            target_marks, "target", number, target_side.image.bgr
        )
        glasses = (bool(template_details["glasses"]), bool(target_details["glasses"]))
        face_report = _swap_one(result, template_side.image.bgr, template_marks, target_marks, options, timer, glasses)
        warnings += target_warnings + reporting.swap_warnings(
            target_details, template_details, face_report, options, number, template_used
        )
        swaps.append({"target_face": number, "target": target_details, **face_report})

    encoded, output_notes = codec.encode(
        target_side.image, result, options.jpeg_quality, _changed_box(swaps), target_blocks
    )
    timer.lap("encode_ms")
    report = {
        "engine": {"name": "faceengine", "version": ENGINE_VERSION, "warp": options.warp, "blend": options.blend},
        "target": reporting.image_report(target_side),
        "template": {**reporting.image_report(template_side), "face": template_details},
        "swaps": swaps,
        "warnings": warnings,
        "output": {"content_type": target_side.image.content_type, "bytes": len(encoded), **output_notes},
        "timings_ms": {**timer.timings, "total_ms": timer.total()},
    }
    return SwapResult(encoded, target_side.image.content_type, report)
