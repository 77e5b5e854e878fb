// The server's own limits, checked in the browser before anything is uploaded: JPEG or PNG by content (magic bytes,
// not the file name), at most 5 MiB, each side 64 to 4095 pixels, and a picture the browser can actually decode.

import { formatBytes } from "./format.js";

export const LIMITS = { maxBytes: 5 * 1024 * 1024, minSide: 64, maxSide: 4095 };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes, prefix, offset = 0) {
  return prefix.every((value, index) => bytes[offset + index] === value);
}

function ascii(bytes, start, end) {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** "jpeg", "png", or a short name of what the bytes look like instead (for the refusal sentence). */
export function sniff(bytes) {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  if (ascii(bytes, 0, 4) === "GIF8") return "a GIF image";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "a WebP image";
  if (ascii(bytes, 4, 8) === "ftyp") return "an HEIC or video file";
  if (ascii(bytes, 0, 2) === "BM") return "a BMP image";
  if (ascii(bytes, 0, 4) === "II*\0" || ascii(bytes, 0, 4) === "MM\0*") return "a TIFF image";
  if (ascii(bytes, 0, 5) === "%PDF-") return "a PDF document";
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return "a ZIP archive";
  if (bytes.length && bytes.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128)) {
    return "a text file";
  }
  return "something else";
}

/** PNG: width and height from IHDR, and whether an animation chunk (acTL) comes before the pixels. */
function pngHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || ascii(bytes, 12, 16) !== "IHDR") return null;
  let animated = false;
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = ascii(bytes, offset + 4, offset + 8);
    if (type === "acTL") animated = true;
    if (type === "IDAT") break;
    offset += 12 + length;
  }
  return { width: view.getUint32(16), height: view.getUint32(20), animated };
}

/** JPEG: width and height from the first start-of-frame marker. */
function jpegHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1];
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = view.getUint16(offset + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame && offset + 9 <= bytes.length) {
      return { height: view.getUint16(offset + 5), width: view.getUint16(offset + 7), animated: false };
    }
    if (marker === 0xda) return null; // pixels start before any frame header: not a JPEG we accept
    offset += 2 + length;
  }
  return null;
}

async function decodes(file) {
  try {
    const bitmap = await createImageBitmap(file);
    bitmap.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Check one chosen file against the server's limits.
 * Resolves to {ok: true, contentType, width, height, size} or {ok: false, sentence} (one plain sentence).
 */
export async function checkPhoto(file, role) {
  const what = `The ${role} photo`;
  if (file.size === 0) return { ok: false, sentence: `${what} (${file.name}) is an empty file.` };
  if (file.size > LIMITS.maxBytes) {
    return {
      ok: false,
      sentence: `${what} (${file.name}) is ${formatBytes(file.size)}, more than the 5 MiB a photo can have.`,
    };
  }
  // At most 5 MiB: reading it all is cheap, and a JPEG frame header may sit behind a large embedded thumbnail.
  const bytes = new Uint8Array(await file.arrayBuffer());
  const kind = sniff(bytes.subarray(0, 16));
  if (kind !== "jpeg" && kind !== "png") {
    return { ok: false, sentence: `${what} (${file.name}) is not a JPEG or PNG image: it looks like ${kind}.` };
  }
  const header = kind === "png" ? pngHeader(bytes) : jpegHeader(bytes);
  if (!header || !(await decodes(file))) {
    return { ok: false, sentence: `${what} (${file.name}) could not be read; it may be damaged or cut off.` };
  }
  if (header.animated) {
    return { ok: false, sentence: `${what} (${file.name}) is an animated PNG; use a still JPEG or PNG.` };
  }
  const { width, height } = header;
  if (Math.max(width, height) > LIMITS.maxSide) {
    return {
      ok: false,
      sentence: `${what} (${file.name}) is ${width} × ${height} pixels; each side can be at most ${LIMITS.maxSide}.`,
    };
  }
  if (Math.min(width, height) < LIMITS.minSide) {
    return {
      ok: false,
      sentence: `${what} (${file.name}) is ${width} × ${height} pixels; each side must be at least ${LIMITS.minSide}.`,
    };
  }
  return { ok: true, contentType: kind === "png" ? "image/png" : "image/jpeg", width, height, size: file.size };
}
