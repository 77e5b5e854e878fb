"""Generate the README's before/after images with the engine itself: target | template | result, side by side.

Usage: python scripts/make_examples.py --out docs/images   (the sample photos come from scripts/fetch_samples.py)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / ".cache" / "samples"
PANEL_HEIGHT = 300
MAX_BYTES = 200_000

if str(REPO_ROOT / "engine") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "engine"))
sys.path.insert(0, str(REPO_ROOT / "scripts"))


@dataclass(frozen=True)
class Example:
    name: str
    target: str
    template: str
    warp: str = "similarity"
    blend: str = "seamless"


EXAMPLES = (
    Example("astronaut_from_hopper", "astronaut.png", "grace_hopper.jpg"),
    Example("hopper_from_astronaut", "grace_hopper.jpg", "astronaut.png"),
    Example("astronaut_from_hopper_delaunay", "astronaut.png", "grace_hopper.jpg", warp="delaunay"),
    Example("cameraman_from_astronaut", "camera.png", "astronaut.png"),
)


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not an image OpenCV can decode")
    return image


def _panel(data: bytes) -> np.ndarray:
    image = _decode(data)
    scale = PANEL_HEIGHT / image.shape[0]
    return cv2.resize(image, (round(image.shape[1] * scale), PANEL_HEIGHT), interpolation=cv2.INTER_AREA)


def _close_up(data: bytes, region: list[int]) -> np.ndarray:
    """A square crop around the swapped face, scaled to the panel height."""
    image = _decode(data)
    x, y, width, height = region
    side = round(max(width, height) * 1.1)
    centre_x, centre_y = x + width // 2, y + height // 2
    x0, y0 = max(0, centre_x - side // 2), max(0, centre_y - side // 2)
    crop = image[y0 : y0 + side, x0 : x0 + side]
    return cv2.resize(crop, (PANEL_HEIGHT, PANEL_HEIGHT), interpolation=cv2.INTER_CUBIC)


def _label(panel: np.ndarray, text: str) -> np.ndarray:
    labelled = panel.copy()
    cv2.rectangle(labelled, (0, 0), (labelled.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(labelled, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return labelled


def _jpeg_under_limit(image: np.ndarray) -> bytes:
    for quality in (88, 80, 70, 60, 50):
        data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
        if len(data) < MAX_BYTES:
            return data
    return data


def make(out: Path) -> list[Path]:
    from faceengine import SwapOptions, swap
    from fetch_samples import fetch

    fetch(SAMPLES)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for example in EXAMPLES:
        target = (SAMPLES / example.target).read_bytes()
        template = (SAMPLES / example.template).read_bytes()
        result = swap(target, template, SwapOptions(warp=example.warp, blend=example.blend))  # type: ignore[arg-type]
        face = result.report["swaps"][0]
        caption = f"{example.warp} + {example.blend}"
        strip = cv2.hconcat(
            [
                _label(_panel(target), "target"),
                _label(_panel(template), "template"),
                _label(_panel(result.image), f"result: {caption}"),
                _label(_close_up(result.image, face["region"]), f"close-up, seam {face['seam']['score']:+.1f}"),
            ]
        )
        path = out / f"{example.name}.jpg"
        path.write_bytes(_jpeg_under_limit(strip))
        if example is EXAMPLES[0]:  # one sample of the quality report, next to its image
            (out / f"{example.name}.report.json").write_text(json.dumps(result.report, indent=1) + "\n")
        written.append(path)
        print(f"wrote {path} ({path.stat().st_size} bytes); warnings: {[w['code'] for w in result.report['warnings']]}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate before/after example images with the engine.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    make(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
