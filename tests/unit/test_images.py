"""faceswap.domain.images: every corpus input gets its documented code; real and odd-but-valid images are accepted."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from faceswap.domain import images
from faceswap.domain.images import ImageInfo, InvalidImageError, inspect_image, sniff_image_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from tests.corpus.bad_inputs import (
    BadImage,
    GoodImage,
    bad_images,
    crafted_png,
    good_images,
    good_odd_images,
    jpeg,
    png,
)

REPO = Path(__file__).resolve().parents[2]
ALL_CODES = {
    "IMAGE_EMPTY",
    "IMAGE_TOO_LARGE",
    "UNSUPPORTED_IMAGE_TYPE",
    "IMAGE_DECODE_FAILED",
    "IMAGE_DIMENSIONS_TOO_LARGE",
    "IMAGE_DIMENSIONS_TOO_SMALL",
    "DECOMPRESSION_BOMB",
}


# ------------------------------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("case", bad_images(), ids=lambda case: case.name)
def test_bad_input_gets_its_documented_code(case: BadImage) -> None:
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(case.data)
    assert caught.value.code == case.expected_code, caught.value.message
    assert caught.value.message


@pytest.mark.parametrize("case", good_images(), ids=lambda case: case.name)
def test_good_image_is_accepted_with_its_facts(case: GoodImage) -> None:
    info = inspect_image(case.data)
    assert info == ImageInfo(
        format="png" if case.content_type == "image/png" else "jpeg",
        content_type=case.content_type,
        width=case.width,
        height=case.height,
        size_bytes=len(case.data),
        orientation=case.orientation,
    )


def test_corpus_is_large_varied_and_well_formed() -> None:
    bad = bad_images()
    assert len(bad) >= 40
    assert len({case.name for case in bad}) == len(bad)
    assert {case.expected_code for case in bad} == ALL_CODES
    assert {case.content_type_claimed for case in bad} <= {"image/jpeg", "image/png"}
    # CMYK JPEG is rejected by decision; 16-bit PNG is accepted by decision: each is in exactly one list.
    assert "cmyk_jpeg" in {case.name for case in bad}
    assert {"sixteen_bit_grey_png", "sixteen_bit_rgb_png"} <= {case.name for case in good_odd_images()}


def test_corpus_is_generated_deterministically() -> None:
    assert [case.data for case in bad_images()] == [case.data for case in bad_images()]


# ------------------------------------------------------------------------------------------------- limits and order


def test_size_limit_is_checked_before_content() -> None:
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(b"x" * 101, max_bytes=100)
    assert caught.value.code == "IMAGE_TOO_LARGE"
    assert inspect_image(png(64, 64), max_bytes=10_000).size_bytes <= 10_000


def test_custom_pixel_limit_below_the_side_limit_reports_a_bomb() -> None:
    data = png(200, 200)
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(data, max_pixels=200 * 199)
    assert caught.value.code == "DECOMPRESSION_BOMB"
    assert inspect_image(data, max_pixels=200 * 200).width == 200


def test_custom_side_limits() -> None:
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(png(100, 80), min_side=90)
    assert caught.value.code == "IMAGE_DIMENSIONS_TOO_SMALL"
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(png(100, 80), max_side=99)
    assert caught.value.code == "IMAGE_DIMENSIONS_TOO_LARGE"


def test_boundaries_of_the_default_limits() -> None:
    assert inspect_image(png(4095, 64)).width == 4095
    for too_large in (png(4096, 64), crafted_png(64, 4096)):
        with pytest.raises(InvalidImageError) as caught:
            inspect_image(too_large)
        assert caught.value.code == "IMAGE_DIMENSIONS_TOO_LARGE"


def test_dimensions_are_refused_from_the_header_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pillow() -> None:
        raise AssertionError("Pillow must not be reached")

    monkeypatch.setattr(images, "_pillow", no_pillow)
    for data, code in (
        (crafted_png(100_000, 100_000, rows=1), "DECOMPRESSION_BOMB"),
        (crafted_png(5000, 100, rows=1), "IMAGE_DIMENSIONS_TOO_LARGE"),
        (crafted_png(10, 10), "IMAGE_DIMENSIONS_TOO_SMALL"),
    ):
        with pytest.raises(InvalidImageError) as caught:
            inspect_image(data)
        assert caught.value.code == code


def test_bomb_guard_does_not_rely_on_pillows_global_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(crafted_png(60_000, 60_000, rows=1))
    assert caught.value.code == "DECOMPRESSION_BOMB"


def test_truncated_images_fail_even_if_someone_enabled_load_truncated_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = jpeg(300, 200)
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(data[: len(data) * 2 // 3])
    assert caught.value.code == "IMAGE_DECODE_FAILED"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_pillow_text_limits_are_bounded() -> None:
    inspect_image(png(64, 64))
    from PIL import PngImagePlugin

    assert PngImagePlugin.MAX_TEXT_CHUNK <= images.MAX_METADATA_INFLATED_BYTES
    assert PngImagePlugin.MAX_TEXT_MEMORY <= images.MAX_METADATA_TOTAL_BYTES


def test_pixels_are_fully_decoded_and_the_single_copy_is_released(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Image.Image] = []
    real_open = Image.open

    def recording_open(*args: object, **kwargs: object) -> Image.Image:
        image = real_open(*args, **kwargs)
        opened.append(image)
        return image

    def no_second_copy(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the validator must not make a second decoded copy")

    data = jpeg(300, 200)
    monkeypatch.setattr(Image, "open", recording_open)
    for method in ("copy", "convert", "transpose"):
        monkeypatch.setattr(Image.Image, method, no_second_copy)
    inspect_image(data)
    assert len(opened) == 1
    with pytest.raises(ValueError, match="closed image"):
        opened[0].getpixel((0, 0))


def test_jpeg_cut_short_with_eoi_is_a_known_accepted_limit() -> None:
    """libjpeg fills a scan that stops early with grey and only warns; documented in the module's table."""
    data = jpeg(400, 300)
    scan = data.find(b"\xff\xda")
    assert inspect_image(data[: scan + 40] + b"\xff\xd9").width == 400


def test_png_stream_that_ends_early_is_refused_although_pillow_accepts_it() -> None:
    data = crafted_png(100, 100, rows=99)
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # Pillow alone would let this through
    with pytest.raises(InvalidImageError) as caught:
        inspect_image(data)
    assert caught.value.code == "IMAGE_DECODE_FAILED"


def test_error_carries_code_and_message() -> None:
    error = InvalidImageError("IMAGE_EMPTY", "the image is empty")
    assert (error.code, error.message) == ("IMAGE_EMPTY", "the image is empty")
    assert "IMAGE_EMPTY" in str(error)
    assert isinstance(error, ValueError)


# ------------------------------------------------------------------------------------------------- sniffing, imports


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\x89PNG\r\n\x1a", None),
        (b"\xff\xd8", None),
        (b"GIF89a", None),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head) == expected


def test_sniff_agrees_with_the_corpus() -> None:
    for case in good_images():
        assert sniff_image_type(case.data[:16]) == case.content_type


def test_importing_the_module_does_not_import_pillow() -> None:
    code = "import sys, faceswap.domain.images; assert 'PIL' not in sys.modules, sorted(sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO / "layers" / "common" / "python")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO, timeout=60)


# ------------------------------------------------------------------------------------------------- properties

SEEDS = [good.data for good in good_images() if len(good.data) < 20_000]


def refresh_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC that can be located, so mutations reach the decoder instead of the CRC check."""
    out, pos = bytearray(data), 8
    while pos + 12 <= len(out):
        length = struct.unpack_from(">I", out, pos)[0]
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(out[pos + 4 : end])))
        pos = end + 4
    return bytes(out)


def assert_outcome_is_clean(data: bytes) -> None:
    try:
        info = inspect_image(data)
    except InvalidImageError as error:
        assert error.code in ALL_CODES
        return
    assert info.format in ("jpeg", "png")
    assert 64 <= info.width <= 4095 and 64 <= info.height <= 4095
    assert 1 <= info.orientation <= 8


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
    result = bytes(data)
    return refresh_png_crcs(result) if draw(st.booleans()) and result.startswith(b"\x89PNG") else result


FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_invalid_image_error(data: bytes) -> None:
    assert_outcome_is_clean(data)


@FUZZ
@given(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]), st.binary(max_size=2048))
def test_random_bytes_behind_real_magic_only_ever_raise_invalid_image_error(magic: bytes, rest: bytes) -> None:
    assert_outcome_is_clean(magic + rest)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mutated_images())
def test_mutated_valid_images_only_ever_raise_invalid_image_error(data: bytes) -> None:
    assert_outcome_is_clean(data)
