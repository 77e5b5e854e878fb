"""The quality report: what was found, what was used, what to watch out for, in JSON-ready dictionaries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import quality
from .detect import Detection
from .errors import ImageRole
from .geometry import Pose, estimate_pose, eye_distance
from .landmarks import FaceLandmarks
from .resize import shrink, whole_factor

if TYPE_CHECKING:
    from .engine import _Prepared
    from .options import SwapOptions

QUALITY_WORK_SIZE = 200  # quality figures are computed with the face this many pixels across
MAX_YAW, MAX_PITCH, MAX_ROLL = 25.0, 25.0, 45.0  # beyond these the 2-D method visibly distorts the face
MAX_YAW_MISMATCH = 20.0
MAX_UPSCALE = 2.0  # the template face enlarged more than this looks soft


def face_summary(index: int, detection: Detection) -> dict[str, Any]:
    x, y, width, height = detection.box
    return {
        "index": index,
        "box": [round(x), round(y), round(width), round(height)],
        "size_px": round(detection.size),
        "score": round(detection.score, 3),
    }


def pose_warnings(pose: Pose, role: ImageRole) -> list[dict[str, Any]]:
    warnings = []
    for name, value, limit in (
        ("yaw", pose.yaw, MAX_YAW),
        ("pitch", pose.pitch, MAX_PITCH),
        ("roll", pose.roll, MAX_ROLL),
    ):
        if abs(value) > limit:
            warnings.append(
                {
                    "code": f"LARGE_{name.upper()}",
                    "image": role,
                    "message": f"{role} face {name} is {value:.0f} degrees; beyond {limit:.0f} the swap distorts",
                }
            )
    return warnings


def face_quality(swapped: np.ndarray, background: np.ndarray, alpha: np.ndarray, face_px: float) -> dict[str, Any]:
    factor = whole_factor(QUALITY_WORK_SIZE / max(face_px, 1.0))
    swapped, background, alpha = (shrink(image, factor) for image in (swapped, background, alpha))
    scale = 1.0 / factor
    changed = (
        float(np.abs(swapped.astype(np.int16) - background).mean(axis=2)[alpha >= 0.98].mean())
        if (alpha >= 0.98).any()
        else 0.0
    )
    return {
        "seam": quality.seam_score(swapped, background, alpha, face_px * scale),
        "colour_match": quality.colour_match(swapped, background, alpha),
        "face_change": round(changed, 2),
    }


def landmarks_report(marks: FaceLandmarks, role: ImageRole) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    pose = estimate_pose(marks.points)
    warnings = pose_warnings(pose, role)
    if marks.presence < 0.5:
        warnings.append({"code": "LOW_FACE_CONFIDENCE", "image": role, "message": f"{role} face landmarks are unsure"})
    details = {
        "pose": pose.as_dict(),
        "eye_distance_px": round(eye_distance(marks.points), 1),
        "landmark_confidence": round(marks.presence, 3),
    }
    return details, warnings


def swap_warnings(
    target_details: dict[str, Any], template_details: dict[str, Any], face_report: dict[str, Any], options: SwapOptions
) -> list[dict[str, Any]]:
    warnings = []
    mismatch = target_details["pose"]["yaw"] - template_details["pose"]["yaw"]
    if abs(mismatch) > MAX_YAW_MISMATCH:
        warnings.append(
            {"code": "POSE_MISMATCH", "image": None, "message": f"the faces turn {abs(mismatch):.0f} degrees apart"}
        )
    if face_report["scale"] > MAX_UPSCALE:
        warnings.append(
            {
                "code": "TEMPLATE_UPSCALED",
                "image": "template",
                "message": f"the template face is enlarged {face_report['scale']:.1f}x; the result looks soft",
            }
        )
    if face_report["blend_used"] != options.blend:
        warnings.append(
            {"code": "BLEND_FALLBACK", "image": "target", "message": "seamless cloning could not run; alpha used"}
        )
    return warnings


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
        "faces": [face_summary(number, face) for number, face in enumerate(side.faces)],
        "faces_used": side.used,
        "detectors": side.detectors,
        "timings_ms": side.timings,
    }
