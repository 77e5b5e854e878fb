"""Pieces of the engine with known answers: similarity fit, weighted NMS, the seamless fallback."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faceengine import SwapOptions, blend, swap
from faceengine.detect import _Candidates, weighted_nms
from faceengine.geometry import apply_affine, fit_similarity, procrustes_distance

from tests.unit.engine.conftest import decode, encode


def test_similarity_fit_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 100, (50, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * points @ rotation.T + shift
    assert np.allclose(apply_affine(fit_similarity(points, moved), points), moved)
    assert procrustes_distance(points, moved) < 1e-9
    assert procrustes_distance(points, points * np.array([1.0, 2.0])) > 0.1


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces() -> None:
    boxes = np.array([[10, 10, 50, 50], [12, 11, 50, 50], [200, 10, 40, 40]], float)
    candidates = _Candidates(boxes, np.zeros((3, 6, 2)), np.array([0.9, 0.6, 0.8]))
    merged = weighted_nms(candidates)
    assert len(merged) == 2
    assert merged[0].score == 0.9 and 10 < merged[0].box[0] < 12
    assert merged[1].box == (200.0, 10.0, 40.0, 40.0)


def test_poisson_correction_refuses_a_degenerate_mask() -> None:
    face = np.full((40, 40, 3), 90, np.uint8)
    mask = np.zeros((40, 40), np.uint8)
    mask[20, 20] = 255
    with pytest.raises(cv2.error):
        blend.poisson_corrected(face, face, mask, 30.0)


def test_seamless_falls_back_to_alpha_where_it_cannot_run(monkeypatch, astronaut, hopper) -> None:
    def cannot_clone(*args, **kwargs):
        raise cv2.error("seamlessClone failed")

    monkeypatch.setattr(blend, "poisson_corrected", cannot_clone)
    result = swap(astronaut, hopper)
    assert result.report["swaps"][0]["blend_used"] == "alpha"
    assert "BLEND_FALLBACK" in {warning["code"] for warning in result.report["warnings"]}
    assert result.image == swap(astronaut, hopper, SwapOptions(blend="alpha")).image


def test_face_touching_the_image_edge_still_blends_seamlessly(astronaut, hopper) -> None:
    cropped = decode(astronaut)[60:300, 190:400]  # the face's left cheek is at the border
    result = swap(encode(cropped), hopper)
    assert result.report["swaps"][0]["blend_used"] == "seamless"
    assert decode(result.image).shape == cropped.shape
