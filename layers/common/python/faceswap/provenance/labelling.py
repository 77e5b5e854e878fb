"""Label a result before it is stored: watermark (pixels), then XMP (metadata), then the C2PA manifest (signature).

Modes: `full` all three; `metadata` XMP + C2PA, pixels untouched; `off` nothing. In `full` and `metadata` a result is
either labelled or not stored at all: every failure raises (transient -> retried, permanent -> PROVENANCE_FAILED).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faceswap.domain.errors import JobFailure
from faceswap.provenance import (
    DIGITAL_SOURCE_TYPE,
    MODES,
    SERVICE_NAME,
    SERVICE_VERSION,
    manifest,
    unlabelled_provenance,
    watermark,
    xmp,
)
from faceswap.provenance.credentials import SigningCredentials

CREDIT = f"Made with AI by {SERVICE_NAME} {SERVICE_VERSION} (face swap)"
DESCRIPTION = (
    "AI-generated composite: a face from one photo was swapped onto another photo by an AI model. "
    "Not a photograph of a real scene."
)
# The inputs' limit: the result of a swap has the target's size. A few copies of this many RGB pixels fit the
# archive function's memory.
MAX_LABEL_PIXELS = 4096 * 4096
PNG_COMPRESS_LEVEL = 3  # zlib level: 6 (Pillow's default) doubles the encoding time for a few % smaller files


@dataclass(frozen=True)
class LabelRequest:
    job_id: str
    mode: str
    provider: str
    input_sha256: dict[str, str]
    input_content_types: dict[str, str]
    consent: dict[str, Any] | None = None


@dataclass(frozen=True)
class Labelled:
    data: bytes
    provenance: dict[str, Any]


def label(
    data: bytes, content_type: str, request: LabelRequest, credentials: Callable[[], SigningCredentials]
) -> Labelled:
    if request.mode not in MODES:
        raise JobFailure("PROVENANCE_FAILED", f"Unknown provenance mode {request.mode!r}; use one of {MODES}.")
    if request.mode == "off":
        return Labelled(data, unlabelled_provenance())
    signing = credentials()  # first: a missing or expired certificate must fail before any work is done
    payload = None
    if request.mode == "full":
        data, payload = _watermarked(data, content_type, watermark.payload_for_job(request.job_id))
    data = xmp.embed(data, content_type, xmp.packet(credit=CREDIT, description=DESCRIPTION, creator_tool=_agent()))
    facts = manifest.ManifestFacts(
        job_id=request.job_id,
        content_type=content_type,
        provider=request.provider,
        input_sha256=request.input_sha256,
        input_content_types=request.input_content_types,
        consent=request.consent,
        watermark_payload=payload,
    )
    data = manifest.sign(data, facts, signing)
    provenance = {
        "c2pa": True,
        "xmp": True,
        "watermark": payload is not None,
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "watermark_payload": payload,
    }
    return Labelled(data, provenance)


def _agent() -> str:
    return f"{SERVICE_NAME} {SERVICE_VERSION}"


def _watermarked(data: bytes, content_type: str, payload: str) -> tuple[bytes, str | None]:
    """The re-encoded, watermarked image and its payload; the image as it is (payload None) when it is too small
    to carry the mark (XMP and C2PA still label it)."""
    import numpy as np
    from PIL import Image, ImageOps

    try:
        source = Image.open(io.BytesIO(data))
        if source.width * source.height > MAX_LABEL_PIXELS:
            raise JobFailure(
                "RESULT_INVALID",
                f"The provider's result is {source.width}x{source.height}, larger than the {MAX_LABEL_PIXELS} pixels "
                "this service labels (the inputs are limited to 4095 x 4095).",
            )
        source.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise JobFailure("RESULT_INVALID", f"The provider's result cannot be decoded: {error}") from error
    if min(source.size) < watermark.MIN_SIDE:
        return data, None
    quantization = getattr(source, "quantization", None)
    subsampling = _jpeg_subsampling(source)
    icc = source.info.get("icc_profile")
    image = ImageOps.exif_transpose(source)  # the stored orientation becomes the displayed one: EXIF is not kept
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    if content_type == "image/jpeg" and image.mode == "RGBA":
        image = image.convert("RGB")
    pixels = np.asarray(image)
    if image.mode == "RGBA":
        marked = np.dstack([watermark.embed(pixels[..., :3], payload), pixels[..., 3]])
    else:
        marked = watermark.embed(pixels, payload)
    out = io.BytesIO()
    result = Image.fromarray(marked)  # uint8: L, RGB or RGBA from the shape, as decoded
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if content_type == "image/jpeg":
        if quantization:
            extra["qtables"] = quantization  # keep the provider's quality: no visible generation loss, same size
            if subsampling is not None and image.mode == "RGB":
                extra["subsampling"] = subsampling
        else:
            extra["quality"] = 92
        result.save(out, "JPEG", optimize=False, **extra)
    else:
        result.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL, **extra)
    return out.getvalue(), payload


def _jpeg_subsampling(image: Any) -> int | None:
    try:
        from PIL import JpegImagePlugin

        value = JpegImagePlugin.get_sampling(image)
    except (AttributeError, KeyError, TypeError):
        return None
    return value if value in (0, 1, 2) else None
