"""Relighting: the new face takes the target's light and colour; the report measures patches and warns about them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faceengine import SwapOptions, swap
from faceengine.relight import low_band, relight

from bench.quality_variants import FACE_SPAN_X, coloured_patch, one_side_darker
from tests.unit.engine.conftest import decode, encode


def _codes(result) -> set[str]:
    return {warning["code"] for warning in result.report["warnings"]}


@pytest.fixture(scope="module")
def dark_sided_hopper(hopper: bytes) -> bytes:
    return encode(one_side_darker(decode(hopper), FACE_SPAN_X["grace_hopper.jpg"]))


def test_relight_replaces_the_low_band_and_keeps_the_detail() -> None:
    rng = np.random.default_rng(3)
    detail = rng.normal(0, 12, (160, 160, 1)).astype(np.float32)
    ramp = np.linspace(60, 200, 160, dtype=np.float32)[None, :, None]  # light from the right
    template = np.clip(ramp + detail, 0, 255).repeat(3, axis=2).astype(np.uint8)
    target = np.full((160, 160, 3), (90, 120, 170), np.uint8)  # evenly lit, warm skin
    mask = np.zeros((160, 160), np.uint8)
    cv2.circle(mask, (80, 80), 70, 255, -1)
    points = np.zeros((468, 2))  # no feature hulls inside the circle: all of it counts as skin
    result = relight(template, target, mask, points, points, face_px=140.0)
    inside = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0
    lab_result = cv2.cvtColor(result, cv2.COLOR_BGR2LAB).astype(float)
    lab_target = cv2.cvtColor(target, cv2.COLOR_BGR2LAB).astype(float)
    left, right = inside & (np.arange(160) < 60)[None, :], inside & (np.arange(160) > 100)[None, :]
    # The template's left-to-right ramp (about 110 levels of L) is gone; the target's colour came along.
    assert abs(lab_result[..., 0][left].mean() - lab_result[..., 0][right].mean()) < 12
    assert np.abs(lab_result[inside].mean(axis=0) - lab_target[inside].mean(axis=0)).max() < 6
    # The fine detail stayed: the result is not flat.
    assert lab_result[..., 0][inside].std() > 6


def test_low_band_ignores_what_lies_outside_the_mask() -> None:
    lab = np.full((100, 100, 3), 100, np.uint8)
    lab[:, 60:] = 250  # bright background right of the mask
    mask = np.zeros((100, 100), np.uint8)
    mask[:, :55] = 255
    band = low_band(lab, mask, face_px=100.0)
    assert np.abs(band[:, : band.shape[1] // 2] - 100).max() < 1


def test_template_with_one_side_in_shadow_comes_out_evenly_lit(astronaut, dark_sided_hopper) -> None:
    relit = swap(astronaut, dark_sided_hopper)
    face = relit.report["swaps"][0]
    assert abs(face["lighting"]["left_right_delta_l"]) < 3
    assert "LIGHTING_MISMATCH" not in _codes(relit)
    # Without relighting the template's shadow comes along, and the report says so.
    plain = swap(astronaut, dark_sided_hopper, SwapOptions(relight=False))
    assert abs(plain.report["swaps"][0]["lighting"]["left_right_delta_l"]) > 4
    assert "LIGHTING_MISMATCH" in _codes(plain)
    mismatch = next(w for w in plain.report["warnings"] if w["code"] == "LIGHTING_MISMATCH")
    assert mismatch["face"] == 0 and mismatch["image"] == "target" and "lighter" in mismatch["message"]


def test_face_redder_than_the_neck_is_reported_and_relighting_fixes_it(hopper, astronaut) -> None:
    plain = swap(hopper, astronaut, SwapOptions(relight=False))  # the old mean/spread colour match
    assert "COLOUR_MISMATCH" in _codes(plain)
    assert plain.report["swaps"][0]["skin_vs_surroundings"]["neck"] > 4
    relit = swap(hopper, astronaut)
    assert "COLOUR_MISMATCH" not in _codes(relit)
    assert relit.report["swaps"][0]["skin_vs_surroundings"]["neck"] < 3


def test_a_coloured_patch_left_on_the_face_is_never_called_clean(astronaut, hopper) -> None:
    patched = encode(coloured_patch(decode(hopper), (250, 300), 35, (1.5, 0.7, 1.3)))  # lavender light on a cheek
    plain = swap(astronaut, patched, SwapOptions(relight=False))
    assert plain.report["swaps"][0]["lighting"]["worst_sector_delta_ab"] > 8
    assert "LIGHTING_MISMATCH" in _codes(plain)
    relit = swap(astronaut, patched)
    assert relit.report["swaps"][0]["lighting"]["worst_sector_delta_ab"] < 8
    assert "LIGHTING_MISMATCH" not in _codes(relit)


def test_relighting_keeps_the_seam_invisible_and_the_background_untouched(astronaut, hopper) -> None:
    result = swap(astronaut, hopper)
    face = result.report["swaps"][0]
    assert face["seam"]["score"] < 2
    x, y, width, height = face["region"]
    original, output = decode(astronaut), decode(result.image)
    outside = np.ones(original.shape[:2], bool)
    outside[y : y + height, x : x + width] = False
    assert np.array_equal(output[outside], original[outside])


def test_a_grey_photo_stored_in_colour_gets_a_grey_face(astronaut, hopper) -> None:
    grey = encode(cv2.cvtColor(cv2.cvtColor(decode(astronaut), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))  # RGB file
    result = swap(grey, hopper)
    x, y, width, height = result.report["swaps"][0]["region"]
    face = cv2.cvtColor(decode(result.image)[y : y + height, x : x + width], cv2.COLOR_BGR2LAB).reshape(-1, 3)
    assert np.abs(face[:, 1:].astype(int) - 128).max() <= 2  # no colour came with the template's detail


def test_skin_colour_check_ignores_wrinkles_and_teeth_but_not_a_colour_shift(astronaut, hopper) -> None:
    # Delaunay keeps the target's smile; the template brings deep wrinkles: the mean face colour moves, the skin not.
    relit = swap(astronaut, hopper, SwapOptions(warp="delaunay")).report
    assert relit["swaps"][0]["colour_match"]["delta_e"] > 7 > 4 > relit["swaps"][0]["colour_match"]["skin_delta_e"]
    assert "COLOUR_MISMATCH" not in {warning["code"] for warning in relit["warnings"]}
    plain = swap(astronaut, hopper, SwapOptions(warp="delaunay", relight=False)).report
    assert plain["swaps"][0]["colour_match"]["skin_delta_e"] > 7
    assert "COLOUR_MISMATCH" in {warning["code"] for warning in plain["warnings"]}
