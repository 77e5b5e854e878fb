"""Face choice like a person's, detection of every face in large group photos, and faces held the wrong way."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faceengine import FaceSwapError, SwapOptions, landmarks, swap

from bench.quality_variants import mirrored, rotated, tiled_group
from tests.unit.engine.conftest import decode, encode
from tests.unit.engine.helpers import inner_hull, landmark_error, largest_landmarks


def _codes(result) -> set[str]:
    return {warning["code"] for warning in result.report["warnings"]}


def test_default_choice_is_the_most_frontal_large_face_not_the_largest(cameraman, astronaut, hopper) -> None:
    turned = decode(cameraman)  # turned ~50 degrees away, face ~57 px in this photo
    canvas = np.full((512, 800, 3), 128, np.uint8)
    canvas[:, :512] = cv2.cvtColor(turned, cv2.COLOR_GRAY2BGR) if turned.ndim == 2 else turned
    # Eileen Collins, frontal, face ~50 px: smaller, but she faces the camera.
    canvas[120:380, 530:790] = cv2.resize(decode(astronaut), (260, 260), interpolation=cv2.INTER_AREA)
    report = swap(encode(canvas), hopper).report
    readable = [face for face in report["target"]["faces"] if face.get("landmark_confidence", 0) > 0.5]
    assert len(readable) == 2
    turned_face, frontal_face = sorted(readable, key=lambda face: abs(face["yaw"]), reverse=True)
    assert abs(turned_face["yaw"]) > 30 and abs(frontal_face["yaw"]) < 15
    assert turned_face["size_px"] > frontal_face["size_px"]  # the largest readable face is the turned one...
    assert report["target"]["faces_used"] == [frontal_face["index"]]  # ...but the frontal one is chosen
    assert frontal_face["choice_score"] > turned_face["choice_score"]


@pytest.fixture(scope="module")
def wide_group(astronaut, hopper) -> np.ndarray:
    """Six faces of 100-230 px in a 4095 px wide photo: too small for a whole-photo scan at the detector's size."""
    photos = [decode(astronaut), decode(hopper), mirrored(decode(astronaut))] * 2
    return tiled_group(photos, 560, 4095)


def test_every_face_of_40_px_or_more_is_found_in_a_4095_px_group_numbered_left_to_right(wide_group, hopper) -> None:
    report = swap(encode(wide_group), hopper, SwapOptions(all_faces=True)).report
    faces = report["target"]["faces"]
    assert report["target"]["faces_found"] == 6
    centres = [face["box"][0] + face["box"][2] / 2 for face in faces]
    assert centres == sorted(centres) and [face["index"] for face in faces] == list(range(6))
    assert report["target"]["faces_used"] == list(range(6)) and len(report["swaps"]) == 6
    assert "full_range_tiles" in report["target"]["detectors"]


def test_all_faces_reports_each_skipped_face_with_its_index_and_reason(astronaut, hopper) -> None:
    canvas = np.full((700, 1400, 3), 200, np.uint8)
    canvas[100:612, 0:512] = decode(astronaut)
    canvas[400:464, 700:764] = cv2.resize(decode(astronaut), (64, 64), interpolation=cv2.INTER_AREA)  # ~12 px face
    canvas[50:650, 860:1372] = decode(hopper)
    # The tiny face is below the detector's reach or too small to swap; either way it must not be swapped silently.
    result = swap(encode(canvas), hopper, SwapOptions(all_faces=True))
    report = result.report
    found = report["target"]["faces"]
    used = report["target"]["faces_used"]
    skipped = [warning for warning in report["warnings"] if warning["code"] == "FACE_SKIPPED"]
    assert len(used) == 2
    for warning in skipped:
        assert warning["face"] not in used and str(warning["face"]) in warning["message"]
        assert "too small" in warning["message"] and found[warning["face"]]["skipped"].startswith("too small")
    assert len(skipped) == len(found) - 2


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_face_on_its_side_or_upside_down_is_swapped_the_right_way_up(degrees, astronaut, hopper) -> None:
    upright = decode(astronaut)
    result = swap(encode(rotated(upright, degrees)), hopper)
    face = result.report["swaps"][0]
    assert face["target"]["orientation_deg"] == degrees and face["target"]["landmark_confidence"] > 0.9
    assert "LOW_FACE_CONFIDENCE" not in _codes(result)
    back = rotated(decode(result.image), (360 - degrees) % 360)
    expected = decode(swap(astronaut, hopper).image)
    original_points = largest_landmarks(upright)
    # The new face sits where the old one was, the right way up, and looks like the upright swap.
    assert landmark_error(largest_landmarks(back), original_points) < 0.15
    inside = inner_hull(original_points, upright.shape)
    # Compared after a slight blur: a pixel's shift in the warp is not the point, the face the right way up is.
    soft_back, soft_expected, soft_upright = (cv2.GaussianBlur(image, (0, 0), 2).astype(int)
                                              for image in (back, expected, upright))  # fmt: skip
    assert float(np.abs(soft_back - soft_expected)[inside].mean()) < 6
    assert float(np.abs(soft_back - soft_upright)[inside].mean()) > 10


def test_an_upside_down_template_gives_the_same_face(astronaut, hopper) -> None:
    upside_down = encode(rotated(decode(hopper), 180))
    result = swap(astronaut, upside_down)
    assert result.report["template"]["face"]["orientation_deg"] == 180
    inside = inner_hull(largest_landmarks(decode(astronaut)), decode(astronaut).shape)
    expected = cv2.GaussianBlur(decode(swap(astronaut, hopper).image), (0, 0), 2).astype(int)
    assert float(np.abs(cv2.GaussianBlur(decode(result.image), (0, 0), 2).astype(int) - expected)[inside].mean()) < 6


def test_a_face_that_cannot_be_read_in_any_orientation_is_refused(monkeypatch, astronaut, hopper) -> None:
    real = landmarks._run_mesh

    def unsure(*args, **kwargs):
        marks = real(*args, **kwargs)
        return landmarks.FaceLandmarks(marks.points, 0.05)

    monkeypatch.setattr(landmarks, "_run_mesh", unsure)
    with pytest.raises(FaceSwapError) as caught:
        swap(astronaut, hopper)
    assert caught.value.code == "ERROR_FACE_UNRECOGNIZABLE" and caught.value.image == "target"


def test_a_false_big_detection_does_not_hide_the_small_faces_of_a_group(astronaut, hopper) -> None:
    side = 2048
    canvas = np.full((side, side, 3), 120, np.uint8)  # a plain wall: the detector sees a weak, huge "face" in it
    row = tiled_group([decode(astronaut), decode(hopper), mirrored(decode(astronaut))] * 2, 280, side)
    canvas[700 : 700 + row.shape[0]] = row
    report = swap(encode(canvas), hopper, SwapOptions(all_faces=True)).report
    assert len(report["target"]["faces_used"]) == 6  # faces of 52-112 px
    for warning in (w for w in report["warnings"] if w["code"] == "FACE_SKIPPED"):
        assert "not readable" in warning["message"]
