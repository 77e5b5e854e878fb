"""Inputs: every error code, EXIF orientation, PNG transparency, and face choice in a group photo."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from faceengine import ERROR_CODES, SUPPORTED_CONTENT_TYPES, FaceSwapError, SwapOptions, swap
from faceengine.codec import header_size
from PIL import Image

from tests.unit.engine.conftest import decode, encode
from tests.unit.engine.helpers import faces_and_landmarks


def _error(target: bytes, template: bytes, options: SwapOptions | None = None) -> FaceSwapError:
    with pytest.raises(FaceSwapError) as caught:
        swap(target, template, options)
    assert caught.value.code in ERROR_CODES
    return caught.value


def test_supported_content_types() -> None:
    assert set(SUPPORTED_CONTENT_TYPES) == {"image/jpeg", "image/png"}


@pytest.mark.parametrize("role", ["target", "template"])
def test_no_face_names_the_image(role, astronaut) -> None:
    blank = encode(np.full((256, 256, 3), 180, np.uint8))
    error = _error(blank, astronaut) if role == "target" else _error(astronaut, blank)
    assert (error.code, error.image) == ("ERROR_NO_FACE_IN_FILE", role)
    assert role in error.message


def test_face_too_small(astronaut, hopper) -> None:
    error = _error(astronaut, hopper, SwapOptions(min_face_size=150))  # Collins' face box is ~96 px
    assert (error.code, error.image) == ("ERROR_SMALL_FACE_SIZE", "target")


def test_small_face_in_a_large_photo_is_refused(astronaut, hopper) -> None:
    canvas = np.full((1400, 1400, 3), 200, np.uint8)
    canvas[600:728, 600:728] = cv2.resize(decode(astronaut), (128, 128), interpolation=cv2.INTER_AREA)
    error = _error(astronaut, encode(canvas))  # a ~24 px face: found by the full-range model, too small to use
    assert error.code in {"ERROR_SMALL_FACE_SIZE", "ERROR_NO_FACE_IN_FILE"} and error.image == "template"


@pytest.mark.parametrize(
    ("options", "role"),
    [(SwapOptions(face_index=1), "target"), (SwapOptions(template_face_index=3), "template"),
     (SwapOptions(face_index=-1), "target")],
)  # fmt: skip
def test_bad_face_index(options, role, astronaut, hopper) -> None:
    error = _error(astronaut, hopper, options)
    assert (error.code, error.image) == ("ERROR_FACE_COUNT_INVALID", role)


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda data: data[: len(data) // 3], "FILE_DECODING_FAILURE"),
        (lambda data: b"", "FILE_DECODING_FAILURE"),
        (lambda data: b"\xff\xd8\xff\xe0" + b"\x00" * 200, "FILE_DECODING_FAILURE"),
        (lambda data: b"GIF89a" + data[6:], "UNSUPPORTED_FILE_TYPES"),
        (lambda data: encode(decode(data), ".bmp"), "UNSUPPORTED_FILE_TYPES"),
    ],
    ids=["truncated", "empty", "garbage-jpeg", "gif", "bmp"],
)
def test_bad_files(mangle, code, astronaut, hopper) -> None:
    error = _error(astronaut, mangle(hopper))
    assert (error.code, error.image) == (code, "template")


@pytest.mark.parametrize("size", [(4096, 64), (64, 4100), (63, 300), (300, 40)])
def test_resolution_limits_are_checked_before_decoding(size, hopper) -> None:
    width, height = size
    image = encode(np.zeros((height, width), np.uint8))
    assert header_size(image, "image/png") == (width, height)
    error = _error(image, hopper)
    assert (error.code, error.image) == ("FILE_RESOLUTION_EXCEEDS_LIMITS", "target")


def test_jpeg_header_size_is_read_without_decoding(hopper) -> None:
    assert header_size(hopper, "image/jpeg") == (512, 600)


def _exif_rotated_jpeg(data: bytes) -> bytes:
    """The photo stored lying on its side, with EXIF orientation 6 ("rotate 90 clockwise to display")."""
    image = Image.open(io.BytesIO(data)).rotate(90, expand=True)  # PIL rotates counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def test_exif_orientation_is_respected(hopper, astronaut) -> None:
    rotated = _exif_rotated_jpeg(hopper)
    assert decode(rotated).shape[:2] == (512, 600)  # stored sideways
    result = swap(rotated, astronaut)
    assert result.report["target"]["exif_rotated"] is True
    upright = cv2.imdecode(np.frombuffer(result.image, np.uint8), cv2.IMREAD_COLOR)
    assert upright.shape[:2] == (600, 512)  # written upright, at full resolution
    assert len(faces_and_landmarks(upright)) == 1
    assert swap(astronaut, rotated).report["template"]["exif_rotated"] is True


def test_png_alpha_channel_is_kept(astronaut, hopper) -> None:
    bgr = decode(astronaut)
    alpha = np.tile(np.linspace(40, 255, bgr.shape[1], dtype=np.uint8), (bgr.shape[0], 1))
    result = swap(encode(np.dstack([bgr, alpha])), hopper)
    output = decode(result.image)
    assert output.shape == (*bgr.shape[:2], 4)
    assert np.array_equal(output[:, :, 3], alpha)
    assert result.report["target"]["has_alpha"] is True
    assert not np.array_equal(output[:, :, :3], bgr)


def test_group_photo_face_choice(group_photo, astronaut, hopper) -> None:
    original = decode(group_photo)
    report = swap(group_photo, astronaut).report
    assert report["target"]["faces_found"] == 2
    assert report["target"]["faces_used"] == [0]  # the largest face: Grace Hopper, on the left

    right_only = decode(swap(group_photo, hopper, SwapOptions(face_index=1)).image)
    assert np.array_equal(right_only[:, :512], original[:, :512])
    assert not np.array_equal(right_only[:, 512:], original[:, 512:])

    left_only = decode(swap(group_photo, hopper, SwapOptions(face_index=0)).image)
    assert np.array_equal(left_only[:, 512:], original[:, 512:])
    assert not np.array_equal(left_only[:, :512], original[:, :512])

    both = swap(group_photo, hopper, SwapOptions(all_faces=True))
    assert both.report["target"]["faces_used"] == [0, 1] and len(both.report["swaps"]) == 2
    both_pixels = decode(both.image)
    assert not np.array_equal(both_pixels[:, :512], original[:, :512])
    assert not np.array_equal(both_pixels[:, 512:], original[:, 512:])


def test_template_face_choice_in_a_group_photo(group_photo, astronaut) -> None:
    first = swap(astronaut, group_photo, SwapOptions(template_face_index=0))
    second = swap(astronaut, group_photo, SwapOptions(template_face_index=1))
    assert first.report["template"]["faces_used"] == [0] and second.report["template"]["faces_used"] == [1]
    assert first.report["template"]["faces_found"] == 2
    assert first.image != second.image
    default = swap(astronaut, group_photo).report["template"]
    assert default["faces_found"] == 2 and default["faces_used"] == [0]  # counted alike with or without an index


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="warp"):
        SwapOptions(warp="morph")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jpeg_quality"):
        SwapOptions(jpeg_quality=0)


def test_grey_jpeg_and_16_bit_png_inputs(astronaut, hopper) -> None:
    grey_jpeg = encode(cv2.cvtColor(decode(hopper), cv2.COLOR_BGR2GRAY), ".jpg")
    result = swap(grey_jpeg, astronaut)
    assert result.content_type == "image/jpeg" and result.report["target"]["grayscale"] is True
    assert decode(result.image).ndim == 2
    deep = encode(decode(astronaut).astype(np.uint16) * 257)
    deep_result = swap(deep, hopper)
    assert decode(deep_result.image).dtype == np.uint8 and deep_result.report["swaps"][0]["face_change"] > 5
