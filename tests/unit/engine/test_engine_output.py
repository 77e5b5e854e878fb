"""Faithful output: a JPEG result keeps the target's tables, subsampling, ICC profile and EXIF, and its unchanged
pixels decode exactly as the target's; a 16-bit PNG stays 16-bit with its colour chunks."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from faceengine import SwapOptions, swap
from faceengine.faithful import estimate_quality
from PIL import Image, ImageCms, JpegImagePlugin

from tests.unit.engine.conftest import decode, encode
from tests.unit.engine.helpers import dilated_face_region, largest_landmarks

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _jpeg(bgr: np.ndarray, quality: int, subsampling: int, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(
        buffer, "JPEG", quality=quality, subsampling=subsampling, icc_profile=SRGB, exif=exif.tobytes()
    )
    return buffer.getvalue()


@pytest.mark.parametrize("quality", [30, 50, 75, 92, 97])
def test_quality_is_estimated_from_the_quantisation_tables(hopper, quality) -> None:
    data = _jpeg(decode(hopper), quality, 2)
    assert abs(estimate_quality(Image.open(io.BytesIO(data)).quantization[0]) - quality) <= 1


@pytest.mark.parametrize(("quality", "subsampling", "name"), [(97, 0, "4:4:4"), (75, 2, "4:2:0"), (88, 1, "4:2:2")])
def test_jpeg_result_keeps_the_targets_encoding_and_unchanged_pixels(hopper, astronaut, quality, subsampling, name):
    target = _jpeg(decode(hopper), quality, subsampling)
    result = swap(target, astronaut)
    written, original = Image.open(io.BytesIO(result.image)), Image.open(io.BytesIO(target))
    assert JpegImagePlugin.get_sampling(written) == subsampling
    assert written.quantization == original.quantization
    assert written.info.get("icc_profile") == SRGB
    assert written.getexif().get(0x010F) == "TestCam"
    output = result.report["output"]
    assert output["jpeg"]["subsampling"] == name and abs(output["jpeg"]["quality_estimate"] - quality) <= 1
    assert output["unchanged_pixels"].startswith("identical")
    # Away from the face by more than the mask's feather and two 16-pixel blocks, every pixel decodes as before.
    before, after = decode(target), decode(result.image)
    far = ~dilated_face_region(largest_landmarks(before), before.shape, 0.3)
    assert np.array_equal(after[far], before[far])
    assert np.any(before != after)  # and the face did change...
    x, y, width, height = result.report["swaps"][0]["region"]
    plain = decode(swap(target, astronaut, SwapOptions(jpeg_quality=95)).image)
    face = np.s_[y : y + height, x : x + width]
    assert float(np.abs(after[face].astype(int) - plain[face]).mean()) < 4  # ...into the same face, same colours


def test_exif_rotated_jpeg_is_written_upright_with_orientation_reset(hopper, astronaut) -> None:
    sideways = np.ascontiguousarray(np.rot90(decode(hopper), 1))  # stored lying on its side...
    target = _jpeg(sideways, 90, 2, orientation=6)  # ...with "rotate 90 clockwise to display"
    result = swap(target, astronaut)
    written = Image.open(io.BytesIO(result.image))
    assert written.size == (512, 600)  # upright pixels
    assert written.getexif().get(0x0112) == 1 and written.getexif().get(0x010F) == "TestCam"
    assert written.info.get("icc_profile") == SRGB
    assert result.report["output"]["unchanged_pixels"] == "re-encoded"


def _png_with_icc(pixels: np.ndarray) -> bytes:
    """A PNG (any depth OpenCV writes) with an iCCP chunk added after its header."""
    import struct
    import zlib

    data = encode(pixels)
    body = b"test profile\x00\x00" + zlib.compress(SRGB)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF)
    return data[:33] + chunk + data[33:]


def test_16_bit_png_stays_16_bit_with_its_profile_and_untouched_values(astronaut, hopper) -> None:
    rng = np.random.default_rng(5)
    deep = decode(astronaut).astype(np.uint16) * 257 + rng.integers(0, 200, (512, 512, 3), dtype=np.uint16)
    result = swap(_png_with_icc(deep), hopper)
    output = cv2.imdecode(np.frombuffer(result.image, np.uint8), cv2.IMREAD_UNCHANGED)
    assert output.dtype == np.uint16 and result.report["output"]["bit_depth"] == 16
    assert "reduced_from_bit_depth" not in result.report["output"]
    assert Image.open(io.BytesIO(result.image)).info.get("icc_profile") == SRGB
    face = dilated_face_region(largest_landmarks(decode(astronaut)), deep.shape, 0.12)
    assert np.array_equal(output[~face], deep[~face])  # the low 8 bits outside the face survive too
    assert not np.array_equal(output[face], deep[face])


def test_a_jpeg_the_block_copy_cannot_take_is_re_encoded_with_its_tables(monkeypatch, hopper, astronaut) -> None:
    from faceengine import faithful

    def broken(*args, **kwargs):
        raise OSError("reading of DCT failed")

    monkeypatch.setattr(faithful, "read_blocks", broken)
    target = _jpeg(decode(hopper), 90, 2)
    result = swap(target, astronaut)
    assert result.report["output"]["unchanged_pixels"] == "re-encoded"
    assert Image.open(io.BytesIO(result.image)).quantization == Image.open(io.BytesIO(target)).quantization


def test_concurrent_jpeg_swaps_give_the_same_file(hopper, astronaut) -> None:
    from concurrent.futures import ThreadPoolExecutor

    expected = swap(hopper, astronaut).image
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda _: swap(hopper, astronaut).image, range(6)))
    assert all(output == expected for output in outputs)
