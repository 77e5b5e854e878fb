"""Generated corpus of hostile and broken images (no binary blobs), shared by the unit and end-to-end suites.

`bad_images()` lists inputs that `faceswap.domain.images.inspect_image` must refuse, each with the job error code it
must give. `good_odd_images()` lists unusual images that are accepted by design (see the table in
faceswap/domain/images.py), and `good_images()` adds the ordinary ones. Every list is generated once per process and
cached.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image

JPEG = "image/jpeg"
PNG = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIVE_MIB = 5 * 1024 * 1024


@dataclass(frozen=True)
class BadImage:
    name: str
    data: bytes
    content_type_claimed: str
    expected_code: str


@dataclass(frozen=True)
class GoodImage:
    name: str
    data: bytes
    content_type: str
    width: int
    height: int
    orientation: int = 1


# ---------------------------------------------------------------------------------------------------------- builders


def picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A deterministic image with detail everywhere, so encoded pixel data is spread over the whole file."""
    base = Image.merge(
        "RGB", (Image.linear_gradient("L"), Image.radial_gradient("L"), Image.linear_gradient("L").rotate(90))
    ).resize((width, height))
    return base.convert(mode)


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg(width: int = 160, height: int = 120, mode: str = "RGB", **options: object) -> bytes:
    return encode(picture(width, height, mode), "JPEG", **{"quality": 90, **options})


def png(width: int = 160, height: int = 120, mode: str = "RGB", **options: object) -> bytes:
    return encode(picture(width, height, mode), "PNG", **options)


def png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", zlib.crc32(chunk_type + body))


def ihdr(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))


def crafted_png(width: int, height: int, *, extra: bytes = b"", rows: int | None = None, colour_type: int = 2) -> bytes:
    """An RGB PNG built by hand: `extra` chunks go before IDAT; `rows` limits the pixel rows actually stored."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    stored_rows = height if rows is None else rows
    raw = (b"\0" + b"\x80" * (width * channels)) * stored_rows
    return (
        PNG_SIGNATURE
        + ihdr(width, height, colour_type=colour_type)
        + extra
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def interlaced_png(width: int, height: int) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow cannot write one): each pass stores its own sub-image's rows."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        pass_width = max(0, -(-(width - x0) // dx))
        pass_height = max(0, -(-(height - y0) // dy))
        if pass_width and pass_height:
            for row in range(pass_height):
                raw += b"\0" + b"".join(bytes((x * 5 % 256, row * 9 % 256, 128)) for x in range(pass_width))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(raw)))
        + png_chunk(b"IEND", b"")
    )


def png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of every chunk of a well-formed PNG."""
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        chunks.append((pos, chunk_type))
        pos += 12 + length
    return chunks


def insert_png_chunk(data: bytes, chunk: bytes) -> bytes:
    """Insert a chunk right after IHDR."""
    after_ihdr = len(PNG_SIGNATURE) + 25
    return data[:after_ihdr] + chunk + data[after_ihdr:]


def sof_offset(data: bytes) -> int:
    """Offset of the first start-of-frame marker (FF C0 / FF C2) of a Pillow-written JPEG."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        offset = data.find(marker)
        if offset >= 0:
            return offset
    raise ValueError("no SOF marker")


def patch_sof(
    data: bytes,
    *,
    marker: int | None = None,
    precision: int | None = None,
    height: int | None = None,
    width: int | None = None,
    components: int | None = None,
) -> bytes:
    offset = sof_offset(data)
    patched = bytearray(data)
    if marker is not None:
        patched[offset + 1] = marker
    if precision is not None:
        patched[offset + 4] = precision
    if height is not None:
        patched[offset + 5 : offset + 7] = struct.pack(">H", height)
    if width is not None:
        patched[offset + 7 : offset + 9] = struct.pack(">H", width)
    if components is not None:
        patched[offset + 9] = components
    return bytes(patched)


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def zlib_bomb(inflated_size: int) -> bytes:
    return zlib.compress(b"\0" * inflated_size, 1)


# ---------------------------------------------------------------------------------------------------------- corpus


@functools.cache
def _bad_images() -> tuple[BadImage, ...]:
    small_jpeg = jpeg(400, 300)
    small_png = png(160, 120)
    frames = [picture(96, 96), picture(96, 96).rotate(90), picture(96, 96).rotate(180)]
    png_chunk_offsets = dict((chunk_type, offset) for offset, chunk_type in png_chunks(small_png))
    idat_offset = png_chunk_offsets[b"IDAT"]
    idat_length = struct.unpack_from(">I", small_png, idat_offset)[0]
    header_end = small_jpeg.find(b"\xff\xda")  # start of scan

    def flip_byte(data: bytes, offset: int) -> bytes:
        return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]

    bad_idat = zlib.compress(b"\x07" * 5000)  # filter type 7 does not exist; valid zlib, valid CRC
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x10mdat" + b"\x00" * 64
    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"></svg>'

    cases = [
        # -- empty and oversized
        BadImage("empty_file", b"", JPEG, "IMAGE_EMPTY"),
        BadImage(
            "five_mib_plus_one_byte", small_jpeg + b"\0" * (FIVE_MIB + 1 - len(small_jpeg)), JPEG, "IMAGE_TOO_LARGE"
        ),
        # -- not a JPEG or PNG at all
        BadImage("text_renamed_jpg", b"This is a text file, renamed photo.jpg\n" * 20, JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("html_renamed_png", html, PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("svg", svg, PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("gif", encode(frames[0], "GIF"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage(
            "animated_gif",
            encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            PNG,
            "UNSUPPORTED_IMAGE_TYPE",
        ),
        BadImage("webp", encode(frames[0], "WEBP"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("avif", encode(frames[0], "AVIF"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("heic_ftyp_box", heic, JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("bmp", encode(frames[0], "BMP"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("tiff", encode(frames[0], "TIFF"), PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("jpeg2000", encode(frames[0], "JPEG2000"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("zip", zip_archive(), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("wrong_magic_jpeg", b"\xfe" + small_jpeg[1:], JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("wrong_magic_png", small_png[:1] + b"Q" + small_png[2:], PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("png_without_line_ending_check", small_png[:6] + b"\n" + small_png[7:], PNG, "UNSUPPORTED_IMAGE_TYPE"),
        # -- polyglots: the magic says one thing, the content another
        BadImage("jpeg_magic_then_html", b"\xff\xd8\xff" + html, JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("png_signature_then_zip", PNG_SIGNATURE + zip_archive(), PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("png_header_then_html", PNG_SIGNATURE + ihdr(100, 100) + html, PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("png_with_zip_appended", small_png + zip_archive(), PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("png_with_html_appended", small_png + html, PNG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("jpeg_reserved_marker", small_jpeg[:2] + b"\xff\x02" + small_jpeg[2:], JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        # -- truncated JPEG (several cut points)
        BadImage("jpeg_truncated_after_magic", small_jpeg[:3], JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_truncated_in_header", small_jpeg[: header_end // 2], JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_truncated_after_header", small_jpeg[: header_end + 14], JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_truncated_mid_scan", small_jpeg[: len(small_jpeg) // 2], JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_missing_eoi", small_jpeg[:-2], JPEG, "IMAGE_DECODE_FAILED"),
        # -- truncated PNG (several cut points)
        BadImage("png_signature_only", PNG_SIGNATURE, PNG, "IMAGE_DECODE_FAILED"),
        BadImage("png_truncated_in_ihdr", small_png[:20], PNG, "IMAGE_DECODE_FAILED"),
        BadImage("png_truncated_after_ihdr", small_png[:33], PNG, "IMAGE_DECODE_FAILED"),
        BadImage("png_truncated_mid_idat", small_png[: idat_offset + 8 + idat_length // 2], PNG, "IMAGE_DECODE_FAILED"),
        BadImage("png_missing_iend", small_png[:-12], PNG, "IMAGE_DECODE_FAILED"),
        # -- corrupt structure or pixel data
        BadImage(
            "png_corrupted_idat_crc",
            flip_byte(small_png, idat_offset + 8 + idat_length + 1),
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage(
            "png_corrupted_idat_data",
            flip_byte(small_png, idat_offset + 8 + idat_length // 2),
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage(
            "png_invalid_filter_bytes",
            crafted_png(100, 100)[:33] + png_chunk(b"IDAT", bad_idat) + png_chunk(b"IEND", b""),
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage("png_too_few_rows", crafted_png(100, 100, rows=10), PNG, "IMAGE_DECODE_FAILED"),
        BadImage("png_no_idat", PNG_SIGNATURE + ihdr(100, 100) + png_chunk(b"IEND", b""), PNG, "IMAGE_DECODE_FAILED"),
        BadImage(
            "png_first_chunk_not_ihdr",
            PNG_SIGNATURE + png_chunk(b"tEXt", b"a\0b") + small_png[8:],
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage(
            "png_invalid_bit_depth",
            PNG_SIGNATURE + ihdr(100, 100, bit_depth=4, colour_type=2) + small_png[33:],
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage(
            "png_huge_chunk_length",
            small_png[:33] + b"\xff\xff\xff\xf0IDAT" + small_png[41:],
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage("png_zero_width", crafted_png(0, 100), PNG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_zero_height", patch_sof(small_jpeg, height=0), JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_soi_eoi_only", b"\xff\xd8\xff\xd9", JPEG, "IMAGE_DECODE_FAILED"),
        BadImage("jpeg_scan_without_frame", small_jpeg[:2] + small_jpeg[header_end:], JPEG, "IMAGE_DECODE_FAILED"),
        BadImage(
            "png_extra_pixel_data",
            crafted_png(100, 100)[:33]
            + png_chunk(b"IDAT", zlib.compress((b"\0" + b"\1" * 300) * 101))
            + png_chunk(b"IEND", b""),
            PNG,
            "IMAGE_DECODE_FAILED",
        ),
        BadImage(
            "png_unknown_critical_chunk",
            insert_png_chunk(small_png, png_chunk(b"CgBI", b"\0" * 4)),
            PNG,
            "UNSUPPORTED_IMAGE_TYPE",
        ),
        # -- unsupported variants of the right formats
        BadImage(
            "animated_png",
            encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100),
            PNG,
            "UNSUPPORTED_IMAGE_TYPE",
        ),
        BadImage("cmyk_jpeg", jpeg(120, 120, mode="CMYK"), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("jpeg_12_bit", patch_sof(small_jpeg, precision=12), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("jpeg_lossless", patch_sof(small_jpeg, marker=0xC3), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        BadImage("jpeg_two_components", patch_sof(small_jpeg, components=2), JPEG, "UNSUPPORTED_IMAGE_TYPE"),
        # -- dimensions
        BadImage("jpeg_4096x4096", jpeg(4096, 4096, quality=30), JPEG, "IMAGE_DIMENSIONS_TOO_LARGE"),
        BadImage("png_4096x10", png(4096, 10), PNG, "IMAGE_DIMENSIONS_TOO_LARGE"),
        BadImage("png_64x4096", png(64, 4096), PNG, "IMAGE_DIMENSIONS_TOO_LARGE"),
        BadImage(
            "jpeg_6000x4000_header", patch_sof(small_jpeg, width=6000, height=4000), JPEG, "IMAGE_DIMENSIONS_TOO_LARGE"
        ),
        BadImage("png_1x1", png(1, 1), PNG, "IMAGE_DIMENSIONS_TOO_SMALL"),
        BadImage("jpeg_63x64", jpeg(63, 64), JPEG, "IMAGE_DIMENSIONS_TOO_SMALL"),
        BadImage("png_4000x63", png(4000, 63), PNG, "IMAGE_DIMENSIONS_TOO_SMALL"),
        # -- decompression bombs
        BadImage("png_bomb_100000x100000", crafted_png(100_000, 100_000, rows=1), PNG, "DECOMPRESSION_BOMB"),
        BadImage("png_bomb_8192x8192", crafted_png(8192, 8192, rows=1), PNG, "DECOMPRESSION_BOMB"),
        BadImage("jpeg_bomb_65500x65500", patch_sof(small_jpeg, width=65500, height=65500), JPEG, "DECOMPRESSION_BOMB"),
        BadImage(
            "png_huge_text_chunk",
            insert_png_chunk(small_png, png_chunk(b"tEXt", b"Comment\0" + b"A" * 2**21)),
            PNG,
            "DECOMPRESSION_BOMB",
        ),
        BadImage(
            "png_text_chunk_declaring_2_gib",
            small_png[:33] + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"Comment\0" + b"A" * 1000,
            PNG,
            "DECOMPRESSION_BOMB",
        ),
        BadImage(
            "png_ztxt_bomb",
            insert_png_chunk(small_png, png_chunk(b"zTXt", b"Comment\0\0" + zlib_bomb(2**24))),
            PNG,
            "DECOMPRESSION_BOMB",
        ),
        BadImage(
            "png_itxt_bomb",
            insert_png_chunk(small_png, png_chunk(b"iTXt", b"Comment\0\x01\0en\0\0" + zlib_bomb(2**22))),
            PNG,
            "DECOMPRESSION_BOMB",
        ),
        BadImage(
            "png_iccp_bomb",
            insert_png_chunk(small_png, png_chunk(b"iCCP", b"icc\0\0" + zlib_bomb(2**22))),
            PNG,
            "DECOMPRESSION_BOMB",
        ),
        BadImage(
            "png_many_text_chunks",
            insert_png_chunk(small_png, b"".join(png_chunk(b"tEXt", b"k%d\0" % i + b"B" * 900_000) for i in range(5))),
            PNG,
            "DECOMPRESSION_BOMB",
        ),
    ]
    return tuple(cases)


@functools.cache
def _good_odd_images() -> tuple[GoodImage, ...]:
    palette_with_alpha = picture(90, 70).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette_with_alpha.info["transparency"] = 0
    sixteen_bit_grey = Image.linear_gradient("L").resize((80, 80)).convert("I;16")
    rgb16 = (
        PNG_SIGNATURE
        + ihdr(70, 66, bit_depth=16)
        + png_chunk(b"IDAT", zlib.compress((b"\0" + b"\x12\x34" * 3 * 70) * 66))
        + png_chunk(b"IEND", b"")
    )
    second_frame = picture(100, 80).rotate(180)
    return (
        GoodImage("greyscale_jpeg", jpeg(100, 80, mode="L"), JPEG, 100, 80),
        GoodImage("progressive_jpeg", jpeg(200, 150, progressive=True), JPEG, 200, 150),
        GoodImage("exif_orientation_6_jpeg", jpeg(120, 90, exif=exif_with_orientation(6)), JPEG, 120, 90, 6),
        GoodImage("exif_orientation_3_png", png(90, 120, exif=exif_with_orientation(3)), PNG, 90, 120, 3),
        GoodImage("jpeg_with_zip_after_eoi", jpeg(100, 80) + zip_archive(), JPEG, 100, 80),
        GoodImage(
            "mpo_multi_picture_jpeg",
            encode(picture(100, 80), "MPO", save_all=True, append_images=[second_frame]),
            JPEG,
            100,
            80,
        ),
        GoodImage("greyscale_png", png(100, 80, mode="L"), PNG, 100, 80),
        GoodImage("greyscale_alpha_png", png(100, 80, mode="LA"), PNG, 100, 80),
        GoodImage("one_bit_png", png(100, 80, mode="1"), PNG, 100, 80),
        GoodImage("palette_png", png(100, 80, mode="P"), PNG, 100, 80),
        GoodImage("palette_png_with_transparency", encode(palette_with_alpha, "PNG"), PNG, 90, 70),
        GoodImage("sixteen_bit_grey_png", encode(sixteen_bit_grey, "PNG"), PNG, 80, 80),
        GoodImage("sixteen_bit_rgb_png", rgb16, PNG, 70, 66),
        GoodImage("interlaced_png", interlaced_png(96, 72), PNG, 96, 72),
        GoodImage(
            "png_with_small_text_chunks",
            insert_png_chunk(
                png(100, 80),
                png_chunk(b"tEXt", b"Comment\0hello") + png_chunk(b"zTXt", b"Note\0\0" + zlib.compress(b"x" * 10_000)),
            ),
            PNG,
            100,
            80,
        ),
        GoodImage("smallest_allowed_64x64", png(64, 64), PNG, 64, 64),
        GoodImage("largest_allowed_side_4095x64", png(4095, 64), PNG, 4095, 64),
    )


@functools.cache
def _ordinary_images() -> tuple[GoodImage, ...]:
    return (
        GoodImage("rgb_jpeg", jpeg(320, 240), JPEG, 320, 240),
        GoodImage("rgb_png", png(320, 240), PNG, 320, 240),
        GoodImage("rgba_png", png(200, 100, mode="RGBA"), PNG, 200, 100),
    )


def bad_images() -> list[BadImage]:
    return list(_bad_images())


def good_odd_images() -> list[GoodImage]:
    return list(_good_odd_images())


def good_images() -> list[GoodImage]:
    return list(_ordinary_images()) + list(_good_odd_images())
