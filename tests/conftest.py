"""Shared fixtures: repository paths, sample events, and sample photos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
SAMPLES = REPO / ".cache" / "samples"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def sample_photos() -> dict[str, Path]:
    """The public-domain portraits shipped inside the scikit-image and matplotlib wheels (fetched once, cached)."""
    wanted = {
        "astronaut": SAMPLES / "astronaut.png",
        "grace_hopper": SAMPLES / "grace_hopper.jpg",
        "camera": SAMPLES / "camera.png",
    }
    if not all(path.exists() for path in wanted.values()):
        subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_samples.py"), "--dest", str(SAMPLES)], check=True)
    return wanted
