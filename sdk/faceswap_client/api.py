"""HTTP calls of the face-swap API (openapi.yaml), the presigned S3 upload forms and the result download."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.util.retry import Retry

from faceswap_client.errors import ApiError, CliError
from faceswap_client.exit_codes import ExitCode, exit_code_for_status
from faceswap_client.images import LocalImage

USER_AGENT = "faceswap-client/0.1.0"
DOWNLOAD_CHUNK_BYTES = 64 * 1024
S3_ERROR_CODE = re.compile(r"<Code>([^<]+)</Code>")
S3_ERROR_MESSAGE = re.compile(r"<Message>([^<]+)</Message>")
Job = dict[str, Any]


@dataclass(frozen=True)
class Download:
    path: Path
    sha256: str
    size: int


def _session(auth: AuthBase | None, retries: int) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    session.headers["User-Agent"] = USER_AGENT
    # Only idempotent reads are retried automatically; a POST is never resent behind the caller's back.
    retry = Retry(
        total=retries,
        backoff_factor=0.2,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@contextmanager
def _network_errors(what: str) -> Iterator[None]:
    """Turn connection failures and timeouts into exit code 7 with one line saying what failed."""
    try:
        yield
    except requests.Timeout:
        raise CliError(ExitCode.SERVICE, f"{what}: timed out") from None
    except requests.ConnectionError as exc:
        reason = str(exc.args[0]) if exc.args else str(exc)
        raise CliError(ExitCode.SERVICE, f"{what}: cannot connect ({reason})") from None
    except requests.RequestException as exc:
        raise CliError(ExitCode.SERVICE, f"{what}: {exc}") from None


def _api_error(response: requests.Response) -> ApiError:
    """The API's `{"error": {...}}` body, or API Gateway's own `{"message": ...}`, or any other body."""
    code: str | None = None
    message = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "") or None
        message = str(body["error"].get("message") or "")
    elif isinstance(body, dict) and "message" in body:
        message = str(body["message"])
    else:
        message = (response.reason or "") + " " + response.text[:200]
    return ApiError(response.status_code, code, message)


class FaceSwapApi:
    """The API's operations. `auth` signs API calls only; S3 forms and downloads carry their own signatures."""

    def __init__(self, base_url: str, auth: AuthBase | None, *, timeout: float = 30.0, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.api = _session(auth, retries)
        self.storage = _session(None, retries)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        with _network_errors(f"{method} {self.base_url}{path}"):
            response = self.api.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    @staticmethod
    def _json(response: requests.Response) -> Job:
        try:
            body = response.json()
        except ValueError:
            raise CliError(ExitCode.SERVICE, f"the API answered HTTP {response.status_code} without JSON") from None
        if not isinstance(body, dict):
            raise CliError(ExitCode.SERVICE, "the API answered with JSON that is not an object")
        return body

    def create_swap(
        self,
        *,
        target_content_type: str,
        template_content_type: str,
        client_reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        body: dict[str, str] = {
            "target_content_type": target_content_type,
            "template_content_type": template_content_type,
        }
        if client_reference is not None:
            body["client_reference"] = client_reference
        headers = {"Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = json.dumps(body).encode()
        return self._json(self._request("POST", "/v1/swaps", data=data, headers=headers))

    def get_swap(self, job_id: str) -> Job:
        return self._json(self._request("GET", f"/v1/swaps/{job_id}"))

    def start_swap(self, job_id: str) -> Job:
        return self._json(self._request("POST", f"/v1/swaps/{job_id}/start"))

    def delete_swap(self, job_id: str) -> Job:
        return self._json(self._request("DELETE", f"/v1/swaps/{job_id}"))

    def local_events(self, after: int) -> Job:
        """`GET /local/events` of the local stack: `{"events": [{"seq", "event"}], "next"}`."""
        try:
            return self._json(self._request("GET", "/local/events", params={"after": after}))
        except ApiError as exc:
            if exc.http_status in (404, 405):
                raise CliError(
                    ExitCode.NOT_FOUND, "this API has no /local/events: the events command works with the local stack"
                ) from None
            raise

    def upload(self, form: dict[str, Any], image: LocalImage, role: str) -> None:
        """POST the image with its presigned form: every form field first, the file last (S3 requires it)."""
        fields = {str(name): str(value) for name, value in form["fields"].items()}
        if image.size > int(form.get("max_bytes", image.size)):
            raise CliError(ExitCode.USAGE, f"{role} image {image.path}: over the {form['max_bytes']} bytes limit")
        with _network_errors(f"uploading the {role} image"), image.path.open("rb") as handle:
            response = self.storage.post(
                form["url"],
                data=fields,
                files={"file": (image.path.name, handle, image.content_type)},
                timeout=self.timeout,
            )
        if response.status_code >= 300:
            code = S3_ERROR_CODE.search(response.text)
            message = S3_ERROR_MESSAGE.search(response.text)
            detail = f"{code.group(1) if code else 'HTTP ' + str(response.status_code)}"
            if message:
                detail += f": {message.group(1)}"
            # An S3 refusal (expired or exceeded form) is a rejected request, not the caller's credentials.
            exit_code = exit_code_for_status(response.status_code)
            if exit_code in (ExitCode.AUTH, ExitCode.NOT_FOUND):
                exit_code = ExitCode.REJECTED
            raise CliError(exit_code, f"S3 refused the {role} upload: {detail}")

    def download(self, url: str, destination: Path, expected_sha256: str) -> Download:
        """Stream `url` to a temporary file next to `destination`, hashing as it goes; move it into place only if
        its sha256 is the API's (a corrupt download never replaces `destination`)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        try:
            with (
                _network_errors("downloading the result"),
                os.fdopen(fd, "wb") as handle,
                self.storage.get(url, stream=True, timeout=self.timeout) as response,
            ):
                if response.status_code >= 400:
                    raise DownloadRefused(response.status_code)
                for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            if digest.hexdigest() != expected_sha256.lower():
                raise CliError(
                    ExitCode.SERVICE,
                    f"the downloaded result is corrupt: sha256 {digest.hexdigest()} is not the API's "
                    f"{expected_sha256}; {destination} was not written",
                )
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Download(path=destination, sha256=digest.hexdigest(), size=size)


class DownloadRefused(CliError):
    """The result URL answered an error (typically 403 once the presigned GET has expired)."""

    def __init__(self, http_status: int) -> None:
        super().__init__(exit_code_for_status(http_status), f"downloading the result: HTTP {http_status}")
        self.http_status = http_status
