"""Bringing the template face into the target's frame: a similarity transform or a Delaunay piecewise-affine warp.

Both work on a region of interest (ROI) of the target only, so the cost follows the face size, not the photo size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import INNER_LIPS, apply_affine, fit_similarity


@dataclass(frozen=True)
class Roi:
    x: int
    y: int
    width: int
    height: int

    @property
    def offset(self) -> np.ndarray:
        return np.array([self.x, self.y], np.float64)

    def slice(self, image: np.ndarray) -> np.ndarray:
        return image[self.y : self.y + self.height, self.x : self.x + self.width]


@dataclass
class Warped:
    pixels: np.ndarray  # the template, warped into the ROI (uint8 BGR)
    points: np.ndarray  # the template's landmarks in ROI coordinates after the warp
    mouth_hole: np.ndarray | None  # polygon (ROI coordinates) to leave to the target, or None


def _shifted(matrix: np.ndarray, roi: Roi) -> np.ndarray:
    shifted = matrix.copy()
    shifted[:, 2] -= roi.offset
    return shifted


def similarity_warp(template: np.ndarray, template_points: np.ndarray, target_points: np.ndarray, roi: Roi) -> Warped:
    """Scale, rotate and move the whole template face onto the target's: keeps the template's face shape."""
    matrix = _shifted(fit_similarity(template_points[:, :2], target_points[:, :2]), roi)
    pixels = cv2.warpAffine(
        template, matrix, (roi.width, roi.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return Warped(pixels, apply_affine(matrix, template_points), None)


def _triangles(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of the points as index triples (Tx3)."""
    points = points.astype(np.float32)
    low = np.floor(points.min(axis=0)) - 2
    high = np.ceil(points.max(axis=0)) + 2
    subdivision = cv2.Subdiv2D((int(low[0]), int(low[1]), int(high[0] - low[0]) + 1, int(high[1] - low[1]) + 1))
    subdivision.insert([(float(x), float(y)) for x, y in points])
    corners = np.asarray(subdivision.getTriangleList()).reshape(-1, 3, 2).astype(np.float32)
    # Subdiv2D hands back the inserted coordinates exactly, so a lookup finds each vertex's index.
    index_of = {(float(x), float(y)): number for number, (x, y) in enumerate(points)}
    triangles = [[index_of.get((float(x), float(y)), -1) for x, y in triangle] for triangle in corners]
    found = np.array(triangles, np.int64).reshape(-1, 3)
    return found[(found >= 0).all(axis=1)]  # drop triangles on Subdiv2D's virtual outer vertices


MAP_WORK_SIZE = 400  # the piecewise-affine map is built with the face at most this many pixels across


def delaunay_warp(template: np.ndarray, template_points: np.ndarray, target_points: np.ndarray, roi: Roi) -> Warped:
    """Warp each landmark triangle of the template onto the target's: keeps the target's face shape and expression."""
    target_local = target_points[:, :2] - roi.offset
    template_xy = template_points[:, :2]
    triangles = _triangles(target_local)
    # The map is piecewise linear, so it is built at a reduced size and scaled up with no visible loss.
    face_px = float(max(target_local.max(axis=0) - target_local.min(axis=0)))
    scale = min(1.0, MAP_WORK_SIZE / max(face_px, 1.0))
    map_w, map_h = max(2, round(roi.width * scale)), max(2, round(roi.height * scale))
    corners = target_local[triangles] * scale
    # Per-triangle affine maps from (scaled) target pixels back to template pixels: [x y 1] @ M = [u v].
    source = np.concatenate([corners, np.ones((len(triangles), 3, 1))], axis=2)
    usable = np.abs(np.linalg.det(source)) > 1e-6
    triangles, source, corners = triangles[usable], source[usable], corners[usable]
    maps = np.linalg.solve(source, template_xy[triangles])  # T x 3 x 2
    # Raster the triangle ids; id 0 means "outside the mesh", mapped with the overall similarity instead.
    ids = np.zeros((map_h, map_w), np.uint16)
    fixed_point = np.round(corners * 16).astype(np.int32)
    for number, triangle in enumerate(fixed_point, start=1):
        cv2.fillConvexPoly(ids, triangle, number, lineType=cv2.LINE_8, shift=4)
    outside = fit_similarity(target_local * scale, template_xy).T  # 3 x 2, the same [x y 1] @ M form
    all_maps = np.concatenate([outside[None], maps]).astype(np.float32)
    ys, xs = np.indices((map_h, map_w), dtype=np.float32)
    chosen = all_maps[ids]
    map_x = xs * chosen[..., 0, 0] + ys * chosen[..., 1, 0] + chosen[..., 2, 0]
    map_y = xs * chosen[..., 0, 1] + ys * chosen[..., 1, 1] + chosen[..., 2, 1]
    if scale < 1.0:
        # Pixel centres: a map pixel at (x, y) sits at ((x + 0.5) / scale - 0.5) in the ROI; resize does the same.
        map_x = np.asarray(cv2.resize(map_x, (roi.width, roi.height), interpolation=cv2.INTER_LINEAR), np.float32)
        map_y = np.asarray(cv2.resize(map_y, (roi.width, roi.height), interpolation=cv2.INTER_LINEAR), np.float32)
    pixels = cv2.remap(template, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mouth = [index for index in range(len(target_local)) if index in INNER_LIPS]
    mouth_hole = cv2.convexHull(target_local[mouth].astype(np.float32)).reshape(-1, 2)
    return Warped(pixels, target_local.copy(), mouth_hole)
