"""The swap the emulator runs after a submit; by default the offline engine, imported lazily."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .images import CONTENT_TYPE_BY_FORMAT, sniff_format

logger = logging.getLogger(__name__)

# (target, template) -> (image bytes, content type). Face errors: raise an exception with `.code` and `.message`.
Swapper = Callable[[bytes, bytes], tuple[bytes, str]]

_warned = threading.Event()


def engine_swapper(target: bytes, template: bytes) -> tuple[bytes, str]:
    """`faceengine.swap`; while the engine is unavailable, the target comes back unchanged (with one warning)."""
    try:
        from faceengine import swap  # lazy: the engine pulls in numpy/opencv/tflite
    except ImportError as exc:
        if not _warned.is_set():
            _warned.set()
            logger.warning("faceengine is not importable (%s): the emulator returns the target unchanged", exc)
        return identity_swapper(target, template)
    result = swap(target, template)
    return result.image, result.content_type


def identity_swapper(target: bytes, template: bytes) -> tuple[bytes, str]:
    image_format = sniff_format(target) or "JPEG"
    return target, CONTENT_TYPE_BY_FORMAT[image_format]
