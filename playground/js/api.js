// The face-swap HTTP API (openapi.yaml) with a bearer token, and the presigned POST upload straight to S3.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status; // 0: the request never got an answer (network down, or blocked by CORS)
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** "https://x/" or "https://x/v1" -> "https://x" (the API's routes are under /v1). */
export function normaliseApiUrl(raw) {
  return raw.trim().replace(/\/+$/, "").replace(/\/v1$/, "");
}

export class Api {
  constructor(baseUrl, token) {
    this.baseUrl = normaliseApiUrl(baseUrl);
    this.token = token.trim();
  }

  async request(method, path, body) {
    const headers = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, "NETWORK", String(error));
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      // API errors are {"error": {code, message}}; API Gateway's own are {"message": ...}.
      const code = data?.error?.code || null;
      const message = data?.error?.message || data?.message || `HTTP ${response.status}`;
      throw new ApiError(response.status, code, message, response.headers.get("retry-after"));
    }
    return data;
  }

  createSwap(targetType, templateType) {
    return this.request("POST", "/v1/swaps", {
      target_content_type: targetType,
      template_content_type: templateType,
      client_reference: "playground",
    });
  }

  getSwap(jobId) {
    return this.request("GET", `/v1/swaps/${jobId}`);
  }

  startSwap(jobId) {
    return this.request("POST", `/v1/swaps/${jobId}/start`);
  }

  deleteSwap(jobId) {
    return this.request("DELETE", `/v1/swaps/${jobId}`);
  }

  listSwaps(limit = 10) {
    return this.request("GET", `/v1/swaps?limit=${limit}`);
  }

  /** Whether the token is accepted: a well-formed id nobody has answers 404 JOB_NOT_FOUND to a signed-in caller. */
  async checkSignIn() {
    try {
      await this.getSwap("0".repeat(32));
    } catch (error) {
      if (error.status === 404 && error.code === "JOB_NOT_FOUND") return;
      throw error;
    }
  }
}

export class UploadError extends Error {
  constructor(role, status, code, message) {
    super(message);
    this.role = role;
    this.status = status;
    this.code = code;
  }
}

/** POST one photo to S3 with its presigned form: every field first, the file last as `file` (S3 answers 204). */
export async function uploadPhoto(form, file, role) {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append("file", file, file.name || role);
  let response;
  try {
    response = await fetch(form.url, { method: "POST", body });
  } catch {
    throw new UploadError(
      role,
      0,
      "NETWORK",
      `The ${role} photo could not be sent to storage at ${new URL(form.url).origin}; ` +
        `the bucket may not allow this page's address (${window.location.origin}) in CorsAllowedOrigins.`,
    );
  }
  if (response.ok) return;
  const xml = await response.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] || `HTTP ${response.status}`;
  const detail = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] || "";
  throw new UploadError(role, response.status, code, `Storage refused the ${role} photo (${code}${detail ? `: ${detail}` : ""}).`);
}
