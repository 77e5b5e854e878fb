"""Fixtures for the engine tests: the real sample photos (fetched once from the wheels that ship them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLES = REPO_ROOT / ".cache" / "samples"
NAMES = ("astronaut.png", "camera.png", "grace_hopper.jpg")


@pytest.fixture(scope="session")
def samples() -> Path:
    if not all((SAMPLES / name).is_file() for name in NAMES):
        script = REPO_ROOT / "scripts" / "fetch_samples.py"
        completed = subprocess.run(
            [sys.executable, str(script), "--dest", str(SAMPLES)], capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            pytest.fail(f"could not fetch the sample photos: {completed.stderr[-800:]}")
    return SAMPLES


@pytest.fixture(scope="session")
def astronaut(samples: Path) -> bytes:
    return (samples / "astronaut.png").read_bytes()


@pytest.fixture(scope="session")
def hopper(samples: Path) -> bytes:
    return (samples / "grace_hopper.jpg").read_bytes()


@pytest.fixture(scope="session")
def cameraman(samples: Path) -> bytes:
    return (samples / "camera.png").read_bytes()


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def encode(image: np.ndarray, extension: str = ".png") -> bytes:
    ok, data = cv2.imencode(extension, image)
    assert ok
    return data.tobytes()


@pytest.fixture(scope="session")
def group_photo(astronaut: bytes, hopper: bytes) -> bytes:
    """Two real faces side by side: Grace Hopper on the left, Eileen Collins on the right."""
    left = cv2.resize(decode(hopper)[44:556], (512, 512))
    return encode(cv2.hconcat([left, decode(astronaut)]))
