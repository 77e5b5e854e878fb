"""Reinhard colour transfer in LAB: give the template face the target face's mean and spread of colour."""

from __future__ import annotations

import cv2
import numpy as np


def lab_stats(bgr: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per LAB channel (OpenCV 8-bit LAB scale) over mask > 0."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    mean, std = cv2.meanStdDev(lab, mask=(mask > 0).astype(np.uint8))
    return mean.reshape(3), np.maximum(std.reshape(3), 1.0)


def transfer(
    source: np.ndarray, source_mask: np.ndarray, reference: np.ndarray, reference_mask: np.ndarray
) -> np.ndarray:
    """Source recoloured so that its masked region has the reference region's LAB mean and spread."""
    source_mean, source_std = lab_stats(source, source_mask)
    reference_mean, reference_std = lab_stats(reference, reference_mask)
    # A per-channel linear map in 8-bit LAB is a lookup table: much cheaper than float LAB on big faces.
    levels = np.arange(256, dtype=np.float64)[:, None]
    gain = np.clip(reference_std / source_std, 0.25, 4.0)  # a flat or odd region must not blow the colours up
    tables = np.clip((levels - source_mean) * gain + reference_mean, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(source, cv2.COLOR_BGR2LAB)
    mapped = cv2.merge([cv2.LUT(channel, tables[:, index]) for index, channel in enumerate(cv2.split(lab))])
    return cv2.cvtColor(mapped, cv2.COLOR_LAB2BGR)
