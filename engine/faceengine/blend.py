"""Putting the warped face into the target: feathered alpha blend, or Poisson (seamless) cloning plus feathering."""

from __future__ import annotations

import cv2
import numpy as np

from .mask import feather
from .resize import shrink, whole_factor

POISSON_WORK_SIZE = 140  # solve the Poisson correction with the face about this many pixels across


def alpha_blend(face: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """face * alpha + background * (1 - alpha); pixels where alpha is 0 stay byte-identical."""
    result = background.copy()
    x, y, width, height = cv2.boundingRect((alpha > 0).astype(np.uint8))
    if width == 0 or height == 0:
        return result
    window = np.s_[y : y + height, x : x + width]
    weight = np.ascontiguousarray(alpha[window], dtype=np.float32)
    result[window] = cv2.blendLinear(face[window], background[window], weight, 1.0 - weight)
    return result


def poisson_corrected(
    face: np.ndarray, background: np.ndarray, binary: np.ndarray, face_px: float, edge_only: float = 0.0
) -> np.ndarray:
    """The face plus the smooth correction that seamless cloning would add (matches the background at the edge).

    The correction is a membrane (a harmonic function), so it is solved at a reduced size and scaled back up:
    the same look as full-size cloning at a fraction of the cost. Only the mask's bounding box is corrected.
    With edge_only > 0 the correction fades out over that fraction of the face size inside the mask edge: for a face
    already relit to the target, where the interior is right and only the edge needs hiding (a full membrane would
    carry edge differences, such as hair or glasses at the temples, into the face as blotches).
    Raises cv2.error where cloning cannot run.
    """
    box_x, box_y, box_w, box_h = cv2.boundingRect(binary)
    # One pixel of background around the mask: the Poisson boundary condition lives there.
    x0, y0 = max(0, box_x - 2), max(0, box_y - 2)
    x1, y1 = min(binary.shape[1], box_x + box_w + 2), min(binary.shape[0], box_y + box_h + 2)
    window = np.s_[y0:y1, x0:x1]
    width, height = x1 - x0, y1 - y0
    factor = whole_factor(POISSON_WORK_SIZE / max(face_px, 1.0))
    small_face = shrink(face[window], factor)
    small_background = shrink(background[window], factor)
    small_mask = np.where(shrink(binary[window], factor) >= 128, 255, 0).astype(np.uint8)
    # seamlessClone fails when the mask touches the border; clear a 1-pixel frame.
    small_mask[[0, -1], :] = 0
    small_mask[:, [0, -1]] = 0
    x, y, mask_w, mask_h = cv2.boundingRect(small_mask)
    if mask_w < 3 or mask_h < 3:
        raise cv2.error("mask too small for seamless cloning")
    centre = (x + mask_w // 2, y + mask_h // 2)  # with equal sizes this keeps the face exactly in place
    cloned = cv2.seamlessClone(small_face, small_background, small_mask.copy(), centre, cv2.NORMAL_CLONE)
    correction = cv2.subtract(cloned, small_face, dtype=cv2.CV_16S)
    if edge_only > 0:  # faded at the small size too: the fade is as smooth as the correction
        inside = feather(small_mask, edge_only * face_px / factor)
        correction = np.round(correction * (1.0 - inside)[..., None]).astype(np.int16)
    if factor > 1:
        correction = cv2.resize(correction.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        correction = np.round(correction).astype(np.int16)
    corrected = face.copy()
    corrected[window] = cv2.add(face[window], correction, dtype=cv2.CV_8U)
    return corrected
