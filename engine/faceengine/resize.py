"""Downscaling by whole factors: OpenCV's area resampling has a fast path for them (about 3x faster)."""

from __future__ import annotations

import math

import cv2
import numpy as np


def whole_factor(scale: float) -> int:
    """The largest whole factor that shrinks no further than `scale` (1 means leave as is)."""
    return max(1, math.floor(1.0 / scale + 1e-9)) if scale < 1.0 else 1


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1:
        return image
    height, width = image.shape[:2]
    size = (max(1, width // factor), max(1, height // factor))
    return cv2.resize(image[: size[1] * factor, : size[0] * factor], size, interpolation=cv2.INTER_AREA)
