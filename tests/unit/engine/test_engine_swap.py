"""The swap itself, on real photos: what changed, what did not, and whose geometry won."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from faceengine import SwapOptions, SwapResult, swap
from faceengine.geometry import INNER_FACE, procrustes_distance

from tests.unit.engine.conftest import decode, encode
from tests.unit.engine.helpers import dilated_face_region, inner_hull, landmark_error, largest_landmarks

MODES = [("similarity", "seamless"), ("similarity", "alpha"), ("delaunay", "seamless"), ("delaunay", "alpha")]


@pytest.fixture(scope="module")
def results(astronaut: bytes, hopper: bytes) -> dict[tuple[str, str], SwapResult]:
    return {(warp, blend): swap(astronaut, hopper, SwapOptions(warp=warp, blend=blend)) for warp, blend in MODES}


@pytest.fixture(scope="module")
def target_points(astronaut: bytes) -> np.ndarray:
    return largest_landmarks(decode(astronaut))


@pytest.mark.parametrize("mode", MODES, ids=["-".join(mode) for mode in MODES])
def test_background_is_byte_identical_outside_the_dilated_face(results, mode, astronaut, target_points) -> None:
    result, original = decode(results[mode].image), decode(astronaut)
    assert result.shape == original.shape
    outside = ~dilated_face_region(target_points, original.shape, 0.12)
    assert int(np.abs(result.astype(int) - original)[outside].max()) == 0


@pytest.mark.parametrize("mode", MODES, ids=["-".join(mode) for mode in MODES])
def test_face_region_changed_and_is_still_a_face_in_place(results, mode, astronaut, target_points) -> None:
    result, original = decode(results[mode].image), decode(astronaut)
    inside = inner_hull(target_points, original.shape)
    assert float(np.abs(result.astype(int) - original)[inside].mean()) > 8  # a no-op gives 0
    result_points = largest_landmarks(result)
    assert landmark_error(result_points, target_points) < 0.15  # the new face sits where the old one was


def test_similarity_warp_keeps_the_template_face_shape(results, hopper, target_points) -> None:
    template_points = largest_landmarks(decode(hopper))
    result_points = largest_landmarks(decode(results[("similarity", "alpha")].image))
    to_template = procrustes_distance(result_points[INNER_FACE], template_points[INNER_FACE])
    to_target = procrustes_distance(result_points[INNER_FACE], target_points[INNER_FACE])
    assert to_template < to_target


def test_delaunay_warp_keeps_the_target_face_shape(results, hopper, target_points) -> None:
    template_points = largest_landmarks(decode(hopper))
    result_points = largest_landmarks(decode(results[("delaunay", "alpha")].image))
    to_template = procrustes_distance(result_points[INNER_FACE], template_points[INNER_FACE])
    to_target = procrustes_distance(result_points[INNER_FACE], target_points[INNER_FACE])
    assert to_target < to_template


def test_report_describes_the_swap(results) -> None:
    result = results[("similarity", "seamless")]
    report = json.loads(json.dumps(result.report))  # JSON-serialisable
    assert result.content_type == "image/png"
    assert report["target"]["faces_found"] == 1 and report["template"]["faces_found"] == 1
    assert report["target"]["faces_used"] == [0] and report["template"]["faces_used"] == [0]
    (face,) = report["swaps"]
    assert face["blend_used"] == "seamless"
    assert abs(face["target"]["pose"]["yaw"]) < 15 and abs(report["template"]["face"]["pose"]["yaw"]) < 15
    assert face["colour_match"]["score"] > 0.6
    assert face["seam"]["score"] < 5  # seamless blending leaves no strong edge
    assert face["face_change"] > 5
    assert report["warnings"] == []
    assert report["timings_ms"]["total_ms"] > 0 and "prepare_ms" in report["timings_ms"]
    assert {"decode_ms", "detect_ms", "landmarks_ms"} <= set(report["target"]["timings_ms"])


def test_colour_transfer_brings_the_face_colour_to_the_target(astronaut, hopper) -> None:
    matched = swap(astronaut, hopper, SwapOptions(blend="alpha")).report["swaps"][0]["colour_match"]["delta_e"]
    raw = swap(astronaut, hopper, SwapOptions(blend="alpha", colour_transfer=False)).report["swaps"][0]
    assert matched < raw["colour_match"]["delta_e"]


def test_jpeg_target_gives_jpeg_at_full_resolution_and_quality_matters(astronaut, hopper) -> None:
    high = swap(hopper, astronaut, SwapOptions(jpeg_quality=95))
    low = swap(hopper, astronaut, SwapOptions(jpeg_quality=40))
    assert high.content_type == "image/jpeg" and high.image.startswith(b"\xff\xd8\xff")
    assert decode(high.image).shape == decode(hopper).shape
    assert len(low.image) < len(high.image)


def test_three_quarter_profile_gets_a_pose_warning_and_grey_stays_grey(cameraman, hopper) -> None:
    result = swap(cameraman, hopper)
    assert decode(result.image).ndim == 2  # grey target, grey result
    codes = {warning["code"] for warning in result.report["warnings"]}
    assert "LARGE_YAW" in codes and "POSE_MISMATCH" in codes


def test_concurrent_swaps_match_sequential_ones(astronaut, hopper, results) -> None:
    expected = results[("similarity", "seamless")].image
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda _: swap(astronaut, hopper).image, range(6)))
    assert all(output == expected for output in outputs)


@pytest.mark.parametrize("warp", ["similarity", "delaunay"])
def test_hat_and_hair_above_the_brows_are_not_painted_over(warp, hopper, astronaut) -> None:
    from faceengine.geometry import LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE

    original = decode(hopper)  # Grace Hopper wears a cap low over her forehead
    target = encode(original)  # PNG, so unchanged pixels stay byte-identical
    result = decode(swap(target, astronaut, SwapOptions(warp=warp, blend="seamless")).image)
    points = largest_landmarks(original)[:, :2]
    right_eye, left_eye = points[list(RIGHT_EYE)].mean(axis=0), points[list(LEFT_EYE)].mean(axis=0)
    centre = (right_eye + left_eye) / 2
    across = (left_eye - right_eye) / np.linalg.norm(left_eye - right_eye)
    up = np.array([across[1], -across[0]])
    brow_height = float(((points[list(RIGHT_BROW) + list(LEFT_BROW)] - centre) @ up).mean())
    ys, xs = np.indices(original.shape[:2])
    height = (xs - centre[0]) * up[0] + (ys - centre[1]) * up[1]
    above = (height > 2.3 * brow_height) & dilated_face_region(largest_landmarks(original), original.shape, 0.3)
    assert above.sum() > 1000  # the hat brim and the hair line are in this region
    assert np.array_equal(result[above], original[above])
