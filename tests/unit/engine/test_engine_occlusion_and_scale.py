"""Glasses are noticed and reported; a small template enlarged a lot is warned about and its detail restored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faceengine import SwapOptions, swap, warp
from faceengine.glasses import wears_glasses

from bench.quality_variants import colour_cast, downscaled, greyscale, mirrored, one_side_darker
from tests.unit.engine.conftest import decode, encode
from tests.unit.engine.helpers import largest_landmarks


def _warnings(result, code: str) -> list[dict]:
    return [warning for warning in result.report["warnings"] if warning["code"] == code]


@pytest.mark.parametrize(
    "variant",
    [lambda image: image, mirrored, greyscale, lambda image: colour_cast(image, True),
     lambda image: one_side_darker(image, (150, 350)), lambda image: downscaled(image, 0.6)],
    ids=["as-is", "mirrored", "grey", "warm", "one-side-dark", "downscaled"],
)  # fmt: skip
def test_glasses_are_told_apart_from_bare_faces(variant, hopper, astronaut) -> None:
    with_glasses, bare = variant(decode(hopper)), variant(decode(astronaut))
    assert wears_glasses(with_glasses, largest_landmarks(with_glasses)) is True
    assert wears_glasses(bare, largest_landmarks(bare)) is False


def test_template_and_target_glasses_are_warned_about_with_the_face_index(astronaut, hopper, cameraman) -> None:
    template_glasses = swap(astronaut, hopper)
    (warning,) = _warnings(template_glasses, "TEMPLATE_GLASSES")
    assert warning["image"] == "template" and warning["face"] == 0
    assert template_glasses.report["template"]["face"]["glasses"] is True
    assert not _warnings(template_glasses, "TARGET_GLASSES")
    target_glasses = swap(hopper, astronaut)
    assert _warnings(target_glasses, "TARGET_GLASSES") and not _warnings(target_glasses, "TEMPLATE_GLASSES")
    turned = swap(cameraman, astronaut).report["swaps"][0]["target"]
    assert turned["glasses"] is None  # too far turned to judge, and said so


def test_small_template_is_warned_about_and_its_detail_restored(monkeypatch, astronaut, hopper) -> None:
    small = encode(cv2.resize(decode(hopper), (205, 240), interpolation=cv2.INTER_AREA))  # face ~80 px
    big = encode(cv2.resize(decode(astronaut), (1024, 1024), interpolation=cv2.INTER_CUBIC))  # face ~190 px
    restored = swap(big, small, SwapOptions(blend="alpha"))
    face = restored.report["swaps"][0]
    assert face["scale"] > 2
    (warning,) = _warnings(restored, "TEMPLATE_UPSCALED")
    assert warning["face"] == 0 and f"{face['scale']:.1f}x" in warning["message"]
    monkeypatch.setattr(warp, "UPSCALE_DETAIL_FROM", 99.0)  # plain bilinear enlargement, for comparison
    plain = swap(big, small, SwapOptions(blend="alpha"))
    x, y, width, height = face["region"]

    def fine_detail(data: bytes) -> float:
        grey = cv2.cvtColor(decode(data)[y : y + height, x : x + width], cv2.COLOR_BGR2GRAY)
        return float(cv2.Laplacian(grey, cv2.CV_64F).var())

    assert fine_detail(restored.image) > 1.3 * fine_detail(plain.image)


def test_a_template_only_slightly_enlarged_is_not_warned_about(astronaut, hopper) -> None:
    slightly = encode(cv2.resize(decode(hopper), (384, 450), interpolation=cv2.INTER_AREA))
    big = encode(cv2.resize(decode(astronaut), (900, 900), interpolation=cv2.INTER_CUBIC))
    result = swap(big, slightly)
    assert 1.0 < result.report["swaps"][0]["scale"] < 1.5
    assert not _warnings(result, "TEMPLATE_UPSCALED")
    assert np.isfinite(result.report["swaps"][0]["seam"]["score"])
