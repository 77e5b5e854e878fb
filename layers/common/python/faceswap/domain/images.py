"""Validate an uploaded image by its content before any provider credit is spent.

`inspect_image` accepts only real, fully decodable, still JPEG or PNG images inside the size limits, and raises
`InvalidImageError(code, message)` with a job error code of docs/architecture.md otherwise. The checks run
cheapest first, so hostile input is refused before Pillow allocates anything:

1. size: empty -> ``IMAGE_EMPTY``; over ``max_bytes`` -> ``IMAGE_TOO_LARGE``;
2. magic bytes: not JPEG/PNG -> ``UNSUPPORTED_IMAGE_TYPE`` (GIF, WebP, HEIC, BMP, TIFF, SVG, text, ...);
3. a pure-Python walk of the container (JPEG markers up to the first scan; every PNG chunk with its CRC) reads the
   declared dimensions and bounds PNG metadata, without decoding pixels;
4. dimensions from that header (see below); for PNG, the pixel stream is then inflated in 1 MiB steps, keeping
   nothing, and must hold exactly the declared rows with valid filter bytes (Pillow accepts a stream that ends early);
5. Pillow, restricted to the sniffed format, must agree on format and size and then fully decode the pixels
   (``Image.load()``); the decoded copy is the only one and is released before returning.

Code rules. Bytes that are not the syntax of the format the magic claims (a PNG signature followed by a ZIP or HTML,
a reserved JPEG marker, bytes after PNG's IEND, Pillow refusing to identify the file) are
``UNSUPPORTED_IMAGE_TYPE``: the content is not what the magic says. Bytes that are the right syntax but broken
(truncated anywhere, bad chunk CRC, inconsistent lengths, invalid header fields, zero width or height, corrupt pixel
data) are ``IMAGE_DECODE_FAILED``.

Dimensions, in this order, from the header before decoding (defaults in brackets):

- width x height > 4 x ``max_pixels`` (about 67 MP): ``DECOMPRESSION_BOMB``. No honest photo that fits in 5 MiB
  declares that many pixels; a few-KB file that does is an attack on the decoder's memory.
- a side > ``max_side`` [4095]: ``IMAGE_DIMENSIONS_TOO_LARGE`` (the provider needs less than 4096x4096).
- width x height > ``max_pixels`` [4095 x 4095]: ``DECOMPRESSION_BOMB`` (only reachable with a custom, lower limit).
- a side < ``min_side`` [64]: ``IMAGE_DIMENSIONS_TOO_SMALL``.

Pillow's global ``Image.MAX_IMAGE_PIXELS`` is a second guard only. PNG text, zTXt, iTXt, iCCP and eXIf chunks are
bounded here (declared length <= 1 MiB each, each compressed one inflates to <= 1 MiB, <= 4 MiB in total, otherwise
``DECOMPRESSION_BOMB``); Pillow's own ``PngImagePlugin.MAX_TEXT_CHUNK``/``MAX_TEXT_MEMORY`` are lowered to the same
bounds and ``ImageFile.LOAD_TRUNCATED_IMAGES`` is forced back to False, because a truncated image must fail.

Decisions on unusual but real images. Accepted files reach the provider and the engine as the original bytes,
never re-encoded:

| input | decision |
| --- | --- |
| greyscale JPEG, greyscale / 1-bit PNG (with or without alpha) | accepted |
| palette PNG (with or without tRNS transparency) | accepted |
| PNG with alpha (RGBA, LA) | accepted |
| 16-bit PNG (grey or colour) | accepted (lossless editor exports; decoders reduce it to 8 bits) |
| interlaced (Adam7) PNG, progressive JPEG | accepted, fully decoded |
| EXIF orientation 2-8 | accepted; ``orientation`` is reported, width/height are the stored (unrotated) ones |
| multi-picture JPEG (MPO, phone cameras) | accepted as JPEG; the primary image is validated |
| JPEG with bytes after EOI | accepted: phones append motion-photo videos and maker trailers; decoders ignore them |
| PNG with bytes after IEND | ``UNSUPPORTED_IMAGE_TYPE`` (PNG + ZIP/HTML polyglot; no encoder writes that) |
| animated PNG (acTL, fcTL, fdAT chunks) | ``UNSUPPORTED_IMAGE_TYPE`` |
| CMYK / YCCK JPEG (4 components) | ``UNSUPPORTED_IMAGE_TYPE``: print workflows only, unreliable colours |
| 12-bit or lossless JPEG, 2-component JPEG | ``UNSUPPORTED_IMAGE_TYPE`` |
| JPEG whose scan data stops early but ends with EOI | accepted (known limit): libjpeg fills the rest with grey and only
  warns, and Pillow does not expose its warnings. Cut without EOI, it is ``IMAGE_DECODE_FAILED``. |

Pillow is imported lazily so that importing this module (the API Lambda does) costs nothing at cold start.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

IMAGE_EMPTY = "IMAGE_EMPTY"
IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
UNSUPPORTED_IMAGE_TYPE = "UNSUPPORTED_IMAGE_TYPE"
IMAGE_DECODE_FAILED = "IMAGE_DECODE_FAILED"
IMAGE_DIMENSIONS_TOO_LARGE = "IMAGE_DIMENSIONS_TOO_LARGE"
IMAGE_DIMENSIONS_TOO_SMALL = "IMAGE_DIMENSIONS_TOO_SMALL"
DECOMPRESSION_BOMB = "DECOMPRESSION_BOMB"

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SIDE = 4095
DEFAULT_MIN_SIDE = 64
DEFAULT_MAX_PIXELS = 4095 * 4095
# Declaring this many times the pixel limit is treated as an attack rather than a too-large photo.
BOMB_FACTOR = 4

MAX_METADATA_CHUNK_BYTES = 1024 * 1024
MAX_METADATA_INFLATED_BYTES = 1024 * 1024
MAX_METADATA_TOTAL_BYTES = 4 * 1024 * 1024

JPEG_CONTENT_TYPE = "image/jpeg"
PNG_CONTENT_TYPE = "image/png"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_PNG_METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"})
_PNG_ANIMATION_CHUNKS = frozenset({b"acTL", b"fcTL", b"fdAT"})
_PNG_CRITICAL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
# Adam7 passes: (first column, first row, column step, row step).
_ADAM7_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_STEP = 1024 * 1024
# Allowed (colour type -> bit depths) of the PNG specification, section 11.2.2.
_PNG_BIT_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
# Start-of-frame markers: baseline, extended, progressive, lossless, with Huffman or arithmetic coding.
_JPEG_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_LOSSLESS_SOF = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
_JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
_PILLOW_FORMATS = {"jpeg": ("JPEG", "MPO"), "png": ("PNG",)}


class InvalidImageError(ValueError):
    """The image cannot be sent to the provider; `code` is a stable job error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: Literal["jpeg", "png"]
    content_type: str
    width: int
    height: int
    size_bytes: int
    orientation: int  # EXIF orientation 1-8; 1 when absent or unreadable


@dataclass(frozen=True, slots=True)
class _Header:
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _PngLayout:
    bits_per_pixel: int
    interlaced: bool


def sniff_image_type(head: bytes) -> str | None:
    """Content type from the first bytes (16 are plenty): "image/jpeg", "image/png" or None."""
    if head.startswith(_PNG_MAGIC):
        return PNG_CONTENT_TYPE
    if head.startswith(_JPEG_MAGIC):
        return JPEG_CONTENT_TYPE
    return None


def human_size(size: int) -> str:
    """`size` in the largest binary unit that keeps it >= 1, e.g. "6.0 MiB", "812.5 KiB", "17 bytes"."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def inspect_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_side: int = DEFAULT_MAX_SIDE,
    min_side: int = DEFAULT_MIN_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    total_size: int | None = None,
) -> ImageInfo:
    """Check that `data` is a still JPEG or PNG within the limits and fully decodable, else raise InvalidImageError.

    `total_size` is the object's real size when `data` was read only up to the limit (plus one byte)."""
    size = max(len(data), total_size or 0)
    if size == 0:
        raise InvalidImageError(IMAGE_EMPTY, "the image is empty (0 bytes)")
    if size > max_bytes:
        raise InvalidImageError(
            IMAGE_TOO_LARGE,
            f"the image is {human_size(size)} ({size:,} bytes); the limit is {human_size(max_bytes)} "
            f"({max_bytes:,} bytes)",
        )

    content_type = sniff_image_type(data[:16])
    if content_type is None:
        raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "the content is neither a JPEG nor a PNG image")
    image_format: Literal["jpeg", "png"] = "png" if content_type == PNG_CONTENT_TYPE else "jpeg"

    view = memoryview(data)
    if image_format == "png":
        header, png_rows, pixel_stream = _walk_png(view)
        _check_dimensions(header.width, header.height, max_side=max_side, min_side=min_side, max_pixels=max_pixels)
        _check_png_pixel_stream(pixel_stream, png_rows)
    else:
        header = _walk_jpeg(view)
        _check_dimensions(header.width, header.height, max_side=max_side, min_side=min_side, max_pixels=max_pixels)
    orientation = _decode_with_pillow(data, image_format, header, max_side, min_side, max_pixels)
    return ImageInfo(
        format=image_format,
        content_type=content_type,
        width=header.width,
        height=header.height,
        size_bytes=size,
        orientation=orientation,
    )


def _check_dimensions(width: int, height: int, *, max_side: int, min_side: int, max_pixels: int) -> None:
    if width == 0 or height == 0:
        raise InvalidImageError(IMAGE_DECODE_FAILED, f"the header declares an empty image ({width}x{height})")
    pixels = width * height
    if pixels > BOMB_FACTOR * max_pixels:
        raise InvalidImageError(
            DECOMPRESSION_BOMB, f"the header declares {width}x{height} pixels, far beyond the limit of {max_pixels}"
        )
    if width > max_side or height > max_side:
        raise InvalidImageError(
            IMAGE_DIMENSIONS_TOO_LARGE, f"the image is {width}x{height}; each side must be at most {max_side}"
        )
    if pixels > max_pixels:
        raise InvalidImageError(DECOMPRESSION_BOMB, f"the image has {pixels} pixels; the limit is {max_pixels}")
    if width < min_side or height < min_side:
        raise InvalidImageError(
            IMAGE_DIMENSIONS_TOO_SMALL, f"the image is {width}x{height}; each side must be at least {min_side}"
        )


def _walk_png(data: memoryview) -> tuple[_Header, list[tuple[int, int]], list[memoryview]]:
    """Walk every chunk: structure, CRCs, animation and metadata bounds. Returns IHDR's dimensions."""
    size = len(data)
    pos = len(_PNG_MAGIC)
    header: _Header | None = None
    layout: _PngLayout | None = None
    pixel_stream: list[memoryview] = []
    metadata_total = 0
    while True:
        if pos + 8 > size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG ends before its IEND chunk (truncated)")
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        # Chunk types are four ASCII letters (bytes.isalpha is ASCII-only); an unknown critical (upper-case) chunk
        # must make a decoder give up, per the PNG specification. Both mean foreign bytes after the signature.
        if not chunk_type.isalpha() or (chunk_type[:1].isupper() and chunk_type not in _PNG_CRITICAL_CHUNKS):
            raise InvalidImageError(
                UNSUPPORTED_IMAGE_TYPE, f"the bytes at offset {pos} are not a PNG chunk (not a real PNG)"
            )
        if length > 0x7FFFFFFF:
            raise InvalidImageError(IMAGE_DECODE_FAILED, f"PNG chunk {chunk_type!r} has an invalid length")
        if chunk_type in _PNG_METADATA_CHUNKS and length > MAX_METADATA_CHUNK_BYTES:  # declared, even if cut short
            raise InvalidImageError(
                DECOMPRESSION_BOMB, f"PNG {chunk_type.decode()} chunk of {length} bytes exceeds the metadata limit"
            )
        body_start = pos + 8
        body_end = body_start + length
        if body_end + 4 > size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, f"PNG chunk {chunk_type!r} is cut short (truncated)")
        body = data[body_start:body_end]
        (stored_crc,) = struct.unpack_from(">I", data, body_end)
        if zlib.crc32(body, zlib.crc32(chunk_type)) != stored_crc:
            raise InvalidImageError(IMAGE_DECODE_FAILED, f"PNG chunk {chunk_type!r} has a bad CRC (corrupt)")
        pos = body_end + 4

        if header is None:
            if chunk_type != b"IHDR":
                raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG does not start with an IHDR chunk")
            header, layout = _parse_ihdr(body)
        elif chunk_type in _PNG_ANIMATION_CHUNKS:
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "animated PNG (APNG) is not supported")
        elif chunk_type in _PNG_METADATA_CHUNKS:
            metadata_total += _metadata_chunk_size(chunk_type, body)
            if metadata_total > MAX_METADATA_TOTAL_BYTES:
                raise InvalidImageError(DECOMPRESSION_BOMB, "the PNG metadata chunks are too large in total")
        elif chunk_type == b"IDAT":
            pixel_stream.append(body)
        elif chunk_type == b"IEND":
            break
    if not pixel_stream:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG has no image data (IDAT)")
    if pos != size:
        raise InvalidImageError(
            UNSUPPORTED_IMAGE_TYPE, f"{size - pos} bytes follow the PNG's end (a polyglot file, not a plain PNG)"
        )
    assert header is not None and layout is not None  # the loop only breaks after IHDR was parsed
    return header, _png_row_lengths(header, layout), pixel_stream


def _png_row_lengths(header: _Header, layout: _PngLayout) -> list[tuple[int, int]]:
    """(row count, bytes per row including the filter byte) of each pass: one pass, or Adam7's seven."""
    passes = _ADAM7_PASSES if layout.interlaced else ((0, 0, 1, 1),)
    rows = []
    for x0, y0, dx, dy in passes:
        pass_width = max(0, -(-(header.width - x0) // dx))
        pass_height = max(0, -(-(header.height - y0) // dy))
        if pass_width and pass_height:
            rows.append((pass_height, 1 + -(-(pass_width * layout.bits_per_pixel) // 8)))
    return rows


def _check_png_pixel_stream(pixel_stream: list[memoryview], rows: list[tuple[int, int]]) -> None:
    """Inflate IDAT in bounded steps, keeping nothing: it must hold exactly the rows the header declares, each
    starting with a valid filter type. Pillow silently accepts a stream that ends early (the rest stays black)."""
    expected = sum(count * length for count, length in rows)
    row_starts = ((count, length) for count, length in rows)
    remaining_rows, row_length = next(row_starts)
    next_row_at = 0
    produced = 0
    inflater = zlib.decompressobj()
    pending = b"".join(pixel_stream)
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, _INFLATE_STEP)
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break
            if produced + len(piece) > expected:
                raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG holds more pixel data than its header declares")
            while next_row_at < produced + len(piece):
                if piece[next_row_at - produced] > 4:
                    raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG pixel data is corrupt (bad filter type)")
                next_row_at += row_length
                remaining_rows -= 1
                if remaining_rows == 0:
                    remaining_rows, row_length = next(row_starts, (0, 0))
                    if row_length == 0:
                        next_row_at = expected
            produced += len(piece)
    except zlib.error as error:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG pixel data is corrupt (bad compression)") from error
    if produced != expected or not inflater.eof:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG pixel data ends early (truncated or corrupt)")


def _parse_ihdr(body: memoryview) -> tuple[_Header, _PngLayout]:
    if len(body) != 13:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG's IHDR chunk has the wrong length")
    width, height, bit_depth, colour_type, compression, filter_method, interlace = struct.unpack(">IIBBBBB", body)
    if width > 0x7FFFFFFF or height > 0x7FFFFFFF:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG header declares an invalid size")
    if bit_depth not in _PNG_BIT_DEPTHS.get(colour_type, ()):
        raise InvalidImageError(
            IMAGE_DECODE_FAILED, f"the PNG header has an invalid colour type/bit depth ({colour_type}/{bit_depth})"
        )
    if compression != 0 or filter_method != 0 or interlace not in (0, 1):
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the PNG header has invalid compression/filter/interlace")
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    return _Header(width, height), _PngLayout(bits_per_pixel=channels * bit_depth, interlaced=interlace == 1)


def _metadata_chunk_size(chunk_type: bytes, body: memoryview) -> int:
    """Bytes of metadata this chunk expands to; raises DECOMPRESSION_BOMB beyond the per-chunk bounds."""
    compressed = _compressed_part(chunk_type, bytes(body))
    if compressed is None:
        return len(body)
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(compressed, MAX_METADATA_INFLATED_BYTES)
        if not inflater.unconsumed_tail:
            inflated += inflater.flush()
    except zlib.error:
        return len(body)  # corrupt ancillary data: Pillow ignores it too, and it cannot expand
    if inflater.unconsumed_tail or len(inflated) > MAX_METADATA_INFLATED_BYTES:
        raise InvalidImageError(
            DECOMPRESSION_BOMB, f"PNG {chunk_type.decode()} chunk inflates beyond {MAX_METADATA_INFLATED_BYTES} bytes"
        )
    return len(body) + len(inflated)


def _compressed_part(chunk_type: bytes, body: bytes) -> bytes | None:
    """The zlib stream inside a zTXt/iCCP/compressed iTXt chunk, or None when it holds none."""
    keyword_end = body.find(b"\0")
    if keyword_end < 0:
        return None
    if chunk_type in (b"zTXt", b"iCCP"):
        return body[keyword_end + 2 :]  # keyword, NUL, compression method byte
    if chunk_type == b"iTXt" and body[keyword_end + 1 : keyword_end + 2] == b"\x01":
        rest = body[keyword_end + 3 :]  # compression flag and method bytes
        language_end = rest.find(b"\0")
        translated_end = rest.find(b"\0", language_end + 1) if language_end >= 0 else -1
        return rest[translated_end + 1 :] if translated_end >= 0 else None
    return None


def _walk_jpeg(data: memoryview) -> _Header:
    """Walk the marker segments up to the first scan; returns the frame's dimensions."""
    size = len(data)
    pos = 2  # after SOI
    header: _Header | None = None
    while True:
        if pos >= size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG ends inside its header (truncated)")
        if data[pos] != 0xFF:
            raise InvalidImageError(
                UNSUPPORTED_IMAGE_TYPE, f"the bytes at offset {pos} are not a JPEG marker (not a real JPEG)"
            )
        while pos < size and data[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG ends inside its header (truncated)")
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        if marker < 0xC0 or marker == 0xD8:
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, f"invalid JPEG marker 0x{marker:02X} (not a real JPEG)")
        if marker == 0xD9:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG ends before any image data")
        if pos + 2 > size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG ends inside its header (truncated)")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise InvalidImageError(IMAGE_DECODE_FAILED, f"JPEG segment 0x{marker:02X} has an invalid length")
        if pos + length > size:
            raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG ends inside its header (truncated)")
        segment = data[pos + 2 : pos + length]
        if marker in _JPEG_SOF_MARKERS:
            if header is not None:
                raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG has more than one frame header")
            header = _parse_sof(marker, segment)
        elif marker == 0xDA:  # start of scan: compressed data follows, the header is complete
            if header is None:
                raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG has image data before its frame header")
            return header
        pos += length


def _parse_sof(marker: int, segment: memoryview) -> _Header:
    if len(segment) < 6:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG frame header is too short")
    precision, height, width, components = struct.unpack_from(">BHHB", segment)
    if len(segment) < 6 + 3 * components:
        raise InvalidImageError(IMAGE_DECODE_FAILED, "the JPEG frame header is too short for its components")
    if marker in _JPEG_LOSSLESS_SOF or precision != 8:
        raise InvalidImageError(
            UNSUPPORTED_IMAGE_TYPE, f"{precision}-bit or lossless JPEG is not supported; use 8-bit JPEG"
        )
    if components == 4:
        raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "CMYK JPEG is not supported; save the image as RGB")
    if components not in (1, 3):
        raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, f"a JPEG with {components} colour components is not supported")
    return _Header(width, height)


def _pillow() -> ModuleType:
    """Import Pillow on first use (cold-start cost) and pin the settings this module relies on."""
    from PIL import Image, ImageFile, PngImagePlugin

    # A process-wide True would let truncated images "decode"; this validator depends on it being False.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    PngImagePlugin.MAX_TEXT_CHUNK = min(PngImagePlugin.MAX_TEXT_CHUNK, MAX_METADATA_INFLATED_BYTES)
    PngImagePlugin.MAX_TEXT_MEMORY = min(PngImagePlugin.MAX_TEXT_MEMORY, MAX_METADATA_TOTAL_BYTES)
    return Image


def _decode_with_pillow(
    data: bytes, image_format: str, header: _Header, max_side: int, min_side: int, max_pixels: int
) -> int:
    """Fully decode with Pillow (one decoded copy, closed on return). Returns the EXIF orientation."""
    image_module = _pillow()
    pillow_formats = _PILLOW_FORMATS[image_format]
    try:
        image = image_module.open(io.BytesIO(data), formats=[pillow_formats[0]])
    except image_module.DecompressionBombError as error:
        raise InvalidImageError(DECOMPRESSION_BOMB, "the image declares too many pixels") from error
    # Any other failure to parse what our own walk accepted means the content is not what it claims to be.
    except Exception as error:
        raise InvalidImageError(
            UNSUPPORTED_IMAGE_TYPE, f"the content is not a readable {image_format.upper()} image"
        ) from error
    try:
        if image.format not in pillow_formats:
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, f"the content is {image.format}, not {image_format}")
        if image.size != (header.width, header.height):
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "the image header is ambiguous (two different sizes)")
        _check_dimensions(*image.size, max_side=max_side, min_side=min_side, max_pixels=max_pixels)
        if image.mode == "CMYK":
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "CMYK images are not supported; save the image as RGB")
        if image_format == "png" and getattr(image, "is_animated", False):
            raise InvalidImageError(UNSUPPORTED_IMAGE_TYPE, "animated PNG (APNG) is not supported")
        orientation = _exif_orientation(image)
        try:
            image.load()
        except image_module.DecompressionBombError as error:
            raise InvalidImageError(DECOMPRESSION_BOMB, "the image declares too many pixels") from error
        # Decoders raise OSError, ValueError, SyntaxError, EOFError, zlib.error, ... on hostile data: all mean corrupt.
        except Exception as error:
            raise InvalidImageError(
                IMAGE_DECODE_FAILED, f"the {image_format.upper()} pixel data cannot be decoded (truncated or corrupt)"
            ) from error
    finally:
        image.close()  # frees the decoded pixels now; `with` would only close the file object
    return orientation


def _exif_orientation(image: object) -> int:
    try:
        value = image.getexif().get(0x0112)  # type: ignore[attr-defined]
    except Exception:  # EXIF is ancillary: unreadable EXIF means "no rotation", not a broken image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
