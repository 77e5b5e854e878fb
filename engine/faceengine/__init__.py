"""faceengine: an offline, CPU-only, landmark-based face swap (MediaPipe models run by OpenCV; no AWS code).

from faceengine import swap, SwapOptions
result = swap(target_bytes, template_bytes, SwapOptions(warp="similarity", blend="seamless"))
"""

from .codec import SUPPORTED_CONTENT_TYPES
from .engine import ENGINE_VERSION, swap
from .errors import ERROR_CODES, FaceSwapError
from .models import ModelsUnavailableError, load_models
from .options import SwapOptions, SwapResult

__all__ = [
    "ENGINE_VERSION",
    "ERROR_CODES",
    "SUPPORTED_CONTENT_TYPES",
    "FaceSwapError",
    "ModelsUnavailableError",
    "SwapOptions",
    "SwapResult",
    "load_models",
    "swap",
]
