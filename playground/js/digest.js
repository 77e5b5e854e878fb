// SHA-256 of the downloaded result, to compare with the job's `result.sha256`.

/** Hex SHA-256 of an ArrayBuffer, or "" where crypto.subtle is unavailable (pages not served from a secure origin). */
export async function sha256Hex(buffer) {
  if (!globalThis.crypto?.subtle) return "";
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
