"""Swap options and the result type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Warp = Literal["similarity", "delaunay"]
Blend = Literal["seamless", "alpha"]
WARPS: tuple[str, ...] = ("similarity", "delaunay")
BLENDS: tuple[str, ...] = ("seamless", "alpha")


@dataclass(frozen=True)
class SwapOptions:
    """How to swap. Face indexes count faces left to right from 0; None means the most frontal of the large faces."""

    warp: Warp = "similarity"
    blend: Blend = "seamless"
    face_index: int | None = None  # which face of the target to replace
    template_face_index: int | None = None  # which face of the template to use
    all_faces: bool = False  # replace every face of the target with the template face
    colour_transfer: bool = True
    relight: bool = True  # target's shading and colour, template's detail; False: one mean/spread colour match
    jpeg_quality: int | None = None  # JPEG targets: None keeps the target's own quantisation tables
    min_face_size: int = 40  # pixels across the detected face box; smaller faces are refused
    min_side: int = 64  # each image side must be >= min_side and < max_side pixels
    max_side: int = 4096

    def __post_init__(self) -> None:
        if self.warp not in WARPS:
            raise ValueError(f"warp must be one of {WARPS}, not {self.warp!r}")
        if self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {BLENDS}, not {self.blend!r}")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality must be between 1 and 100")
        if self.all_faces and self.face_index is not None:
            raise ValueError("face_index and all_faces cannot be combined")
        if self.min_face_size < 1 or self.min_side < 1 or self.max_side <= self.min_side:
            raise ValueError("size limits must be positive and max_side > min_side")


@dataclass(frozen=True)
class SwapResult:
    image: bytes
    content_type: str
    report: dict[str, Any] = field(default_factory=dict)
