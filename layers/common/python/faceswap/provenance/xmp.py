"""IPTC photo metadata in XMP: the digital source type plus a credit and description naming the service.

Written by inserting one XMP packet into the file as it is (a JPEG APP1 segment, a PNG iTXt chunk) in place of any
packet already there, so the pixels are not touched. Read back with a pattern match only: no XML parser runs on
untrusted files.
"""

from __future__ import annotations

import re
import struct
import zlib
from xml.sax.saxutils import escape

from faceswap.provenance import DIGITAL_SOURCE_TYPE

_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SOURCE_TYPE = re.compile(rb"Iptc4xmpExt:DigitalSourceType(?:>|=\")\s*([^<\"\s]{1,200})", re.IGNORECASE)


def packet(*, credit: str, description: str, creator_tool: str) -> bytes:
    values = {name: escape(value) for name, value in (("c", credit), ("d", description), ("t", creator_tool))}
    text = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>
   <photoshop:Credit>{values["c"]}</photoshop:Credit>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{values["d"]}</rdf:li></rdf:Alt></dc:description>
   <xmp:CreatorTool>{values["t"]}</xmp:CreatorTool>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return text.encode("utf-8")


def embed(data: bytes, content_type: str, xmp: bytes) -> bytes:
    """`data` with `xmp` as its only XMP packet."""
    if content_type == "image/png":
        return _embed_png(data, xmp)
    if content_type == "image/jpeg":
        return _embed_jpeg(data, xmp)
    raise ValueError(f"cannot write XMP into {content_type}")


def digital_source_type(data: bytes) -> str | None:
    """The IPTC digital source type of the file's XMP (element or attribute form), if any."""
    match = _SOURCE_TYPE.search(data)
    return match.group(1).decode("utf-8", "replace") if match else None


def _embed_jpeg(data: bytes, xmp: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    segment_body = _JPEG_XMP_HEADER + xmp
    if len(segment_body) + 2 > 0xFFFF:
        raise ValueError("the XMP packet is too large for one JPEG segment")
    kept = [b"\xff\xd8"]
    insert_at = 1
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA or not 0xE0 <= marker <= 0xFE:
            break  # the rest (tables, frame, scan) is copied as it is
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segment = data[pos : pos + 2 + length]
        is_xmp = marker == 0xE1 and segment[4:].startswith(_JPEG_XMP_HEADER)
        if not is_xmp:
            kept.append(segment)
            if marker == 0xE0:  # JFIF/JFXX must stay first
                insert_at = len(kept)
        pos += 2 + length
    kept.insert(insert_at, b"\xff\xe1" + struct.pack(">H", len(segment_body) + 2) + segment_body)
    return b"".join(kept) + data[pos:]


def _embed_png(data: bytes, xmp: bytes) -> bytes:
    if not data.startswith(_PNG_MAGIC):
        raise ValueError("not a PNG")
    chunks = [_PNG_MAGIC]
    pos = len(_PNG_MAGIC)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunk = data[pos : pos + 12 + length]
        body = chunk[8:-4]
        if not (kind == b"iTXt" and body.startswith(_PNG_XMP_KEYWORD + b"\x00")):
            chunks.append(chunk)
        if kind == b"IHDR":
            # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translation, NUL, text
            itxt = _PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp
            chunks.append(struct.pack(">I", len(itxt)) + b"iTXt" + itxt + struct.pack(">I", zlib.crc32(b"iTXt" + itxt)))
        pos += 12 + length
        if kind == b"IEND":
            break
    return b"".join(chunks)
