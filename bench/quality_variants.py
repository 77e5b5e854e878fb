"""Generated variants of the sample photos for the engine's quality benchmark and tests: relit copies (light falling
off across the face, warm and cool casts, a coloured patch), rotations, mirror, downscale, greyscale, a tiled group."""

from __future__ import annotations

import cv2
import numpy as np

# Where each sample's face sits left to right (pixels), so the light can fall off across the face itself.
FACE_SPAN_X = {"astronaut.png": (180, 270), "grace_hopper.jpg": (200, 330), "camera.png": (230, 330)}


def one_side_darker(image: np.ndarray, span: tuple[int, int], strength: float = 0.6, flip: bool = False) -> np.ndarray:
    """Light falling off from full to (1 - strength) across the face, left to right (or right to left)."""
    ends = [1.0, 1.0 - strength] if not flip else [1.0 - strength, 1.0]
    ramp = np.interp(np.arange(image.shape[1]), list(span), ends).astype(np.float32)
    return np.clip(image.astype(np.float32) * ramp[None, :, None] + 0.5, 0, 255).astype(np.uint8)


def colour_cast(image: np.ndarray, warm: bool, amount: float = 0.18) -> np.ndarray:
    """A white-balance cast: warm (more red, less blue) or cool."""
    gains = np.array([1 - amount, 1.0, 1 + amount] if warm else [1 + amount, 1.0, 1 - amount], np.float32)  # BGR
    return np.clip(image.astype(np.float32) * gains + 0.5, 0, 255).astype(np.uint8)


def coloured_patch(image: np.ndarray, centre: tuple[int, int], radius: float, gains: tuple[float, ...]) -> np.ndarray:
    """A soft coloured light patch (BGR gains at its centre), like a reflection from a coloured wall over one eye."""
    ys, xs = np.indices(image.shape[:2])
    blob = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * radius**2)).astype(np.float32)
    gain = 1 + blob[..., None] * (np.array(gains, np.float32) - 1)
    return np.clip(image.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def rotated(image: np.ndarray, degrees: int) -> np.ndarray:
    """Rotated counter-clockwise by a multiple of 90 degrees."""
    return np.ascontiguousarray(np.rot90(image, degrees // 90))


def mirrored(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def downscaled(image: np.ndarray, factor: float) -> np.ndarray:
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def greyscale(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def tiled_group(photos: list[np.ndarray], tile: int, canvas_width: int) -> np.ndarray:
    """A synthetic group photo: the photos as square tiles of `tile` px, side by side on a grey canvas."""
    canvas = np.full((tile + 40, canvas_width, 3), 120, np.uint8)
    step = (canvas_width - tile) // max(1, len(photos) - 1)
    for number, photo in enumerate(photos):
        height, width = photo.shape[:2]
        side = min(height, width)
        square = photo[
            (height - side) // 2 : (height - side) // 2 + side, (width - side) // 2 : (width - side) // 2 + side
        ]
        x = number * step
        canvas[20 : 20 + tile, x : x + tile] = cv2.resize(square, (tile, tile), interpolation=cv2.INTER_AREA)
    return canvas
