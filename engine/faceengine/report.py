"""The quality report: what was found, what was used, what to watch out for, in JSON-ready dictionaries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import quality
from .detect import Detection
from .errors import ImageRole
from .geometry import Pose, estimate_pose, eye_distance
from .glasses import glasses_evidence, wears_glasses
from .landmarks import FaceLandmarks
from .relight import skin_mask
from .resize import shrink, whole_factor

if TYPE_CHECKING:
    from .engine import _Prepared
    from .options import SwapOptions

QUALITY_WORK_SIZE = 200  # quality figures are computed with the face this many pixels across
SMOOTH_WORK_SIZE = 100  # ... and the lighting and skin-colour figures with the face about this many
MAX_YAW, MAX_PITCH = 25.0, 25.0  # beyond these the 2-D method visibly distorts the face
MAX_YAW_MISMATCH = 20.0
MAX_UPSCALE = 1.5  # the template face enlarged more than this looks soft, even with its detail restored
# Calibrated on the sample photos and relit copies of them (one side darker, warm and cool casts, a coloured patch
# over one eye): above these a patch or a colour step is visible at full size; below them the results looked even.
MAX_HALF_DELTA_L = 4.0  # lightness change of one half of the face against the other (left/right), LAB L
MAX_TOP_BOTTOM_DELTA_L = 6.0  # the same top against bottom (the face's own relief makes this one noisier)
MAX_SECTOR_DELTA_AB = 8.0  # worst cell-to-cell colour change (a*b*), glasses frames left out
MAX_SKIN_EXCESS = 4.0  # the face's skin against the neck or forehead, beyond the original photo's own difference
MAX_FACE_DELTA_E = 7.0  # the new skin's median colour against the original face's skin


def warning(code: str, image: ImageRole | None, message: str, face: int | None) -> dict[str, Any]:
    """One report warning; `face` is the index of the face it belongs to in `image` (None: the swap as a whole)."""
    return {"code": code, "image": image, "face": face, "message": message}


def face_summary(index: int, detection: Detection) -> dict[str, Any]:
    x, y, width, height = detection.box
    return {
        "index": index,
        "box": [round(x), round(y), round(width), round(height)],
        "size_px": round(detection.size),
        "score": round(detection.score, 3),
    }


def pose_warnings(pose: Pose, role: ImageRole, face: int) -> list[dict[str, Any]]:
    warnings = []
    # No roll limit: the landmark crop and the warp turn with the face, so a face on its side or upside down is
    # swapped like an upright one (the report gives its orientation instead).
    for name, value, limit in (("yaw", pose.yaw, MAX_YAW), ("pitch", pose.pitch, MAX_PITCH)):
        if abs(value) > limit:
            message = f"{role} face {face} {name} is {value:.0f} degrees; beyond {limit:.0f} the swap distorts"
            warnings.append(warning(f"LARGE_{name.upper()}", role, message, face))
    return warnings


def face_quality(
    swapped: np.ndarray,
    background: np.ndarray,
    alpha: np.ndarray,
    points: np.ndarray,
    template_points: np.ndarray,
    face_px: float,
    glasses: tuple[bool, bool] = (False, False),
) -> dict[str, Any]:
    """Quality figures of one swapped face; `points` (target) and `template_points` (the template's landmarks after
    the warp) are in the same ROI coordinates."""
    factor = whole_factor(QUALITY_WORK_SIZE / max(face_px, 1.0))
    swapped, background, alpha = (shrink(image, factor) for image in (swapped, background, alpha))
    scale = 1.0 / factor
    points, template_points = points[:, :2] * scale, template_points[:, :2] * scale
    core = (alpha >= 0.98).astype(np.uint8) * 255
    skin = skin_mask(skin_mask(core, points, face_px * scale, glasses[1]), template_points, face_px * scale, glasses[0])
    changed = (
        float(np.abs(swapped.astype(np.int16) - background).mean(axis=2)[alpha >= 0.98].mean())
        if (alpha >= 0.98).any()
        else 0.0
    )
    swapped_lab, background_lab = quality.lab(swapped), quality.lab(background)
    # The lighting and skin figures look at smooth regions only: half the size is plenty and four times cheaper.
    half = whole_factor(SMOOTH_WORK_SIZE / max(face_px * scale, 1.0))
    smooth_px, smooth_points = face_px * scale / half, points / half
    smooth_result, smooth_target = shrink(swapped_lab, half), shrink(background_lab, half)
    smooth_alpha, smooth_skin = shrink(alpha, half), shrink(skin, half)
    return {
        "seam": quality.seam_score(swapped_lab, background_lab, alpha, face_px * scale),
        "colour_match": {
            **quality.colour_match(swapped_lab, background_lab, alpha),
            "skin_delta_e": quality.skin_colour_delta(smooth_result, smooth_target, smooth_skin),
        },
        "skin_vs_surroundings": quality.skin_reference_delta(
            smooth_result, smooth_target, smooth_alpha, smooth_points, smooth_px
        ),
        "lighting": quality.lighting_match(smooth_result, smooth_target, smooth_skin, smooth_points, smooth_px),
        "face_change": round(changed, 2),
    }


GLASSES_MESSAGES = {
    "template": "wears glasses: the frames come along only inside the face outline and are cut at the temples",
    "target": "wears glasses: inside the face outline they are replaced by the template's eyes; the arms stay",
}


def landmarks_report(
    marks: FaceLandmarks, role: ImageRole, face: int, bgr: np.ndarray
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pose = estimate_pose(marks.points)
    warnings = pose_warnings(pose, role, face)
    if marks.presence < 0.5:
        warnings.append(warning("LOW_FACE_CONFIDENCE", role, f"{role} face {face} landmarks are unsure", face))
    evidence = glasses_evidence(bgr, marks.points)
    glasses = None if evidence is None else wears_glasses(bgr, marks.points)
    if glasses:
        code = f"{role.upper()}_GLASSES"
        warnings.append(warning(code, role, f"{role} face {face} {GLASSES_MESSAGES[role]}", face))
    details = {
        "pose": pose.as_dict(),
        # 0 upright, 90 lying with its top to the image's left, 180 upside down, 270 top to the right
        "orientation_deg": round(-pose.roll / 90) % 4 * 90,
        "eye_distance_px": round(eye_distance(marks.points), 1),
        "landmark_confidence": round(marks.presence, 3),
        "glasses": glasses,  # None: turned too far to tell
        "glasses_evidence": evidence,
    }
    return details, warnings


def colour_warnings(face_report: dict[str, Any], face: int) -> list[dict[str, Any]]:
    """COLOUR_MISMATCH (the new skin against the neck, forehead or the original face) and LIGHTING_MISMATCH (light or
    colour that changes across the face: the template's own lighting showing through)."""
    warnings = []
    surroundings = {name: value for name, value in face_report["skin_vs_surroundings"].items() if value is not None}
    worst_place = max(surroundings, key=lambda name: surroundings[name], default=None)
    face_delta = face_report["colour_match"]["skin_delta_e"]
    if worst_place is not None and surroundings[worst_place] > MAX_SKIN_EXCESS:
        message = (
            f"target face {face}: the new skin differs from the {worst_place} by {surroundings[worst_place]:.1f} "
            "delta-E more than in the original photo"
        )
        warnings.append(warning("COLOUR_MISMATCH", "target", message, face))
    elif face_delta > MAX_FACE_DELTA_E:
        message = f"target face {face}: the new skin is {face_delta:.1f} delta-E from the original face's skin"
        warnings.append(warning("COLOUR_MISMATCH", "target", message, face))
    lighting = face_report["lighting"]
    problems = []
    if abs(lighting["left_right_delta_l"]) > MAX_HALF_DELTA_L:
        problems.append(f"one side is {abs(lighting['left_right_delta_l']):.1f} L lighter than the other")
    if abs(lighting["top_bottom_delta_l"]) > MAX_TOP_BOTTOM_DELTA_L:
        problems.append(f"top and bottom differ by {abs(lighting['top_bottom_delta_l']):.1f} L")
    if lighting["worst_sector_delta_ab"] > MAX_SECTOR_DELTA_AB:
        problems.append(f"a colour patch of {lighting['worst_sector_delta_ab']:.1f} delta-ab")
    if problems:
        message = f"target face {face}: uneven light or colour on the new face ({'; '.join(problems)})"
        warnings.append(warning("LIGHTING_MISMATCH", "target", message, face))
    return warnings


def swap_warnings(
    target_details: dict[str, Any],
    template_details: dict[str, Any],
    face_report: dict[str, Any],
    options: SwapOptions,
    face: int,
    template_face: int,
) -> list[dict[str, Any]]:
    warnings = []
    mismatch = target_details["pose"]["yaw"] - template_details["pose"]["yaw"]
    if abs(mismatch) > MAX_YAW_MISMATCH:
        message = f"target face {face} and template face {template_face} turn {abs(mismatch):.0f} degrees apart"
        warnings.append(warning("POSE_MISMATCH", "target", message, face))
    if face_report["scale"] > MAX_UPSCALE:
        message = (
            f"template face {template_face} is enlarged {face_report['scale']:.1f}x for target face {face}; detail "
            "is sharpened back but it looks softer than the photo around it"
        )
        warnings.append(warning("TEMPLATE_UPSCALED", "template", message, template_face))
    if face_report["blend_used"] != options.blend:
        message = f"target face {face}: seamless cloning could not run; alpha used"
        warnings.append(warning("BLEND_FALLBACK", "target", message, face))
    return warnings + colour_warnings(face_report, face)


def image_report(side: _Prepared) -> dict[str, Any]:
    image = side.image
    return {
        "width": image.width,
        "height": image.height,
        "content_type": image.content_type,
        "grayscale": image.grayscale,
        "has_alpha": image.alpha is not None,
        "exif_rotated": image.exif_rotated,
        "faces_found": len(side.faces),
        "faces": [
            {
                **face_summary(number, face),
                **side.notes.get(number, {}),
                **({"skipped": side.skipped[number]} if number in side.skipped else {}),
            }
            for number, face in enumerate(side.faces)
        ],
        "faces_used": side.used,
        "detectors": side.detectors,
        "timings_ms": side.timings,
    }
