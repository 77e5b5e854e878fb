"""`Client`: the face-swap service API (openapi.yaml) as Python calls with typed results and typed errors."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from requests.auth import AuthBase

from faceswap_client.auth import BearerAuth, SigV4Auth
from faceswap_client.errors import (
    ChecksumMismatch,
    Conflict,
    FaceSwapError,
    InvalidImage,
    JobFailed,
    ResultNotReady,
    ServerError,
    StorageError,
    WaitTimeout,
)
from faceswap_client.images import ImageSource, LocalImage, load_image
from faceswap_client.models import Download, Job, Page, UploadForm, Webhook
from faceswap_client.transport import RetryPolicy, Transport
from faceswap_client.version import __version__

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
USER_AGENT = f"faceswap-client/{__version__}"
DOWNLOAD_CHUNK_BYTES = 64 * 1024
S3_ERROR_CODE = re.compile(r"<Code>([^<]+)</Code>")
S3_ERROR_MESSAGE = re.compile(r"<Message>([^<]+)</Message>")
# After the uploads, S3's notification may not have reached the service yet; `start` is retried this long.
START_GRACE_SECONDS = 15.0


class _AwsChain:
    """The default of `Client(auth=...)`: SigV4 with credentials from the AWS chain."""

    def __repr__(self) -> str:
        return "AWS_CREDENTIAL_CHAIN"


AWS_CREDENTIAL_CHAIN: Any = _AwsChain()
"""`Client(api_url)` signs with SigV4 using the AWS credential chain unless told otherwise."""

JobRef = Job | str
"""A `Job` or a job id."""


def _job_id(job: JobRef) -> str:
    job_id = job.job_id if isinstance(job, Job) else job
    if not JOB_ID.match(job_id):
        raise ValueError(f"{job_id!r} is not a job id (32 lowercase hexadecimal characters)")
    return job_id


class JobPages(Iterable[Job]):
    """The caller's jobs, newest first, fetched a page at a time as you iterate.

    Iterating yields `Job`s across all pages (following `next_cursor`); `pages()` yields whole `Page`s, whose
    `next_cursor` you can keep to resume later with `client.list(cursor=...)`.
    """

    def __init__(self, fetch: Callable[[str | None], Page], cursor: str | None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def pages(self) -> Iterator[Page]:
        cursor = self._cursor
        while True:
            page = self._fetch(cursor)
            yield page
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def __iter__(self) -> Iterator[Job]:
        for page in self.pages():
            yield from page.items


class Client:
    """A client of one face-swap API.

    `api_url` is the API's base URL (the stack's `ApiUrl` output; the local stack's is ``http://127.0.0.1:3000``).
    `auth` is how requests are authenticated:

    - omitted: AWS SigV4 (service ``execute-api``) with credentials from the AWS chain; `region` and `profile`
      choose the region (default: from the execute-api host, else AWS_REGION) and the profile;
    - a string: a bearer token (``Authorization: Bearer ...``), as for a JWT authorizer or the local stack;
    - any `requests` auth object, e.g. `BearerAuth` or `SigV4Auth`;
    - None: no credentials.

    `timeout` bounds each HTTP request (seconds). `retry` says how requests that are safe to repeat are retried
    (GET, DELETE, start, uploads, and `create`, which always sends an Idempotency-Key); others are never resent.
    A client holds connection pools: use it as a context manager or call `close()`.
    """

    def __init__(
        self,
        api_url: str,
        auth: AuthBase | str | None = AWS_CREDENTIAL_CHAIN,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        region: str | None = None,
        profile: str | None = None,
    ) -> None:
        if auth is AWS_CREDENTIAL_CHAIN:
            auth = SigV4Auth.from_aws_chain(api_url, region=region, profile=profile)
        elif isinstance(auth, str):
            auth = BearerAuth(auth)
        self.api_url = api_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._api = Transport(self.api_url, auth, timeout=timeout, retry=self.retry, user_agent=USER_AGENT)
        # Upload forms and result URLs are presigned: they must not carry the caller's credentials.
        self._storage = Transport(
            "", None, timeout=timeout, retry=self.retry, user_agent=USER_AGENT, what="the storage service"
        )

    def close(self) -> None:
        self._api.close()
        self._storage.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- the API's operations -------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> Any:
        """Send a request to `path` under the API URL and return its JSON (or None for an empty body).

        For routes the SDK has no method for (e.g. the local stack's ``/local/events``). Raises the typed
        `ApiError` subclass for an error answer, `NetworkError` when there is no answer.
        """
        response = self._api.request(method, path, idempotent=idempotent, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerError(response.status_code, None, "the API answered without JSON") from None

    def _job(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> Job:
        body = self.request(method, path, idempotent=idempotent, **kwargs)
        if not isinstance(body, dict) or not body.get("job_id"):
            raise ServerError(200, None, f"{method} {path} answered without a job")
        return Job.from_api(body)

    def create(
        self,
        *,
        target_content_type: str = "image/jpeg",
        template_content_type: str = "image/jpeg",
        client_reference: str | None = None,
        webhook: Webhook | str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Create a job (`awaiting_upload`) and get its two upload forms in `job.uploads`.

        `webhook` is a `Webhook` or just an https URL (both events). `idempotency_key`: repeating a create with the
        same key and options returns the same job; without one the SDK makes a random key so that its own retries
        never create a second job.
        """
        body: dict[str, Any] = {
            "target_content_type": target_content_type,
            "template_content_type": template_content_type,
        }
        if client_reference is not None:
            body["client_reference"] = client_reference
        if webhook is not None:
            body["webhook"] = (Webhook(webhook) if isinstance(webhook, str) else webhook).to_api()
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return self._job("POST", "/v1/swaps", json=body, headers=headers)

    def upload(self, job: Job, *, target: ImageSource, template: ImageSource) -> None:
        """Upload both images (paths or bytes, JPEG or PNG, at most 5 MiB) with the forms of a just-created `job`.

        The images' types must be the ones given to `create`. Raises `InvalidImage` before any upload for a bad
        image, `StorageError` when S3 refuses a form (e.g. expired after 15 minutes).
        """
        images = {"target": load_image(target, "target"), "template": load_image(template, "template")}
        missing = sorted(set(images) - set(job.uploads))
        if missing:
            raise FaceSwapError(f"job {job.job_id} has no upload form for {', '.join(missing)} (already uploaded?)")
        for role, image in images.items():
            self._check_form(job.uploads[role], image, role)
        for role, image in images.items():
            self._upload(job.uploads[role], image, role)

    @staticmethod
    def _check_form(form: UploadForm, image: LocalImage, role: str) -> None:
        if image.size > form.max_bytes:
            raise InvalidImage(f"{role} image: {image.size} bytes is over the form's {form.max_bytes} bytes limit")
        if form.content_type and image.content_type != form.content_type:
            # S3 would refuse it by the form's policy; say why instead.
            raise InvalidImage(
                f"{role} image: it is {image.content_type} but the job was created for {form.content_type} "
                f"(create it with {role}_content_type={image.content_type!r})"
            )

    def _upload(self, form: UploadForm, image: LocalImage, role: str) -> None:
        """POST the image with its presigned form: every form field first, the file last (S3 requires it)."""
        # Posting the same bytes to the same key again is harmless, so uploads are retried like idempotent calls.
        response = self._storage.request(
            "POST",
            form.url,
            idempotent=True,
            raise_errors=False,
            data=dict(form.fields),
            files={"file": (image.name, image.data, image.content_type)},
        )
        if response.status_code >= 300:
            code = S3_ERROR_CODE.search(response.text)
            message = S3_ERROR_MESSAGE.search(response.text)
            detail = code.group(1) if code else f"HTTP {response.status_code}"
            if message:
                detail += f": {message.group(1)}"
            raise StorageError(
                f"S3 refused the {role} upload: {detail}", response.status_code, code.group(1) if code else None
            )

    def start(self, job: JobRef) -> Job:
        """Queue the job once both images are uploaded (202). Harmless for a job already started, so retried."""
        return self._job("POST", f"/v1/swaps/{_job_id(job)}/start", idempotent=True)

    def get(self, job: JobRef) -> Job:
        """The job's current state (a fresh presigned result URL each time once it succeeded)."""
        return self._job("GET", f"/v1/swaps/{_job_id(job)}")

    def delete(self, job: JobRef) -> None:
        """Delete the job's images and result (refused with `Conflict` while it is queued or processing)."""
        self.request("DELETE", f"/v1/swaps/{_job_id(job)}")

    def redeliver_webhook(self, job: JobRef) -> Job:
        """Send the job's webhook again (the API answers 202 and delivers in the background).

        `Conflict` with code ``WEBHOOK_DELIVERY_PENDING`` while a delivery is under way, ``WEBHOOK_NOT_CONFIGURED``
        when the job has no webhook. Not retried: each call asks for one more delivery.
        """
        return self._job("POST", f"/v1/swaps/{_job_id(job)}/webhook/redeliver", idempotent=False)

    def list_page(self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page:
        """One page of the caller's jobs, newest first: `limit` 1-100 (API default 20), optionally only `status`."""
        params: dict[str, str] = {}
        if status is not None:
            params["status"] = status
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        body = self.request("GET", "/v1/swaps", params=params)
        if not isinstance(body, dict):
            raise ServerError(200, None, "GET /v1/swaps answered without a page")
        return Page.from_api(body)

    def list(self, *, status: str | None = None, page_size: int = 20, cursor: str | None = None) -> JobPages:
        """All the caller's jobs, newest first, optionally only those with `status` (deleted jobs never appear).

        Returns an iterable that fetches pages of `page_size` as you go: ``for job in client.list(status="failed")``.
        Use ``.pages()`` to get the pages and their `next_cursor`; pass a cursor to resume where a page ended.
        """
        return JobPages(lambda at: self.list_page(status=status, limit=page_size, cursor=at), cursor)

    # -- helpers built on the operations --------------------------------------------------------------------------
    def wait(
        self,
        job: JobRef,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll the job until it has succeeded or failed and return it (a failed job is returned, not raised).

        `on_update(job)` is called with every state seen, the first one included. Raises `WaitTimeout` (carrying the
        last state) after `timeout` seconds; the job itself goes on.
        """
        current = job if isinstance(job, Job) else self.get(job)
        deadline = time.monotonic() + timeout
        while True:
            if on_update is not None:
                on_update(current)
            if current.finished:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(current, timeout)
            time.sleep(min(poll_interval, remaining))
            current = self.get(current.job_id)

    def download(self, job: JobRef, path: str | os.PathLike[str]) -> Download:
        """Write a succeeded job's result to `path` once its sha256 matches the job's `result.sha256`.

        The bytes go to a temporary file beside `path` first, so a corrupt or partial download never replaces it
        (`ChecksumMismatch`). An expired presigned URL is renewed once by fetching the job again. Raises `JobFailed`
        for a failed job, `ResultNotReady` for one still running.
        """
        current = job if isinstance(job, Job) else self.get(job)
        destination = Path(path)
        try:
            return self._fetch_result(current, destination)
        except StorageError as exc:
            if exc.http_status not in (403, 404):
                raise
        # Presigned URLs are short-lived: a fresh job view carries a new one.
        return self._fetch_result(self.get(current.job_id), destination)

    def _fetch_result(self, job: Job, destination: Path) -> Download:
        if job.failed:
            raise JobFailed(job)
        if not job.succeeded:
            raise ResultNotReady(job)
        if job.result is None or not job.result.url or not job.result.sha256:
            raise ServerError(200, None, f"job {job.job_id} succeeded but the API gave no result URL and sha256")
        return self._stream_to(job.result.url, destination, job.result.sha256)

    def _stream_to(self, url: str, destination: Path, expected_sha256: str) -> Download:
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        try:
            with (
                os.fdopen(fd, "wb") as handle,
                self._storage.request("GET", url, raise_errors=False, stream=True) as response,
            ):
                if response.status_code >= 400:
                    code = S3_ERROR_CODE.search(response.text)
                    raise StorageError(
                        f"downloading the result: HTTP {response.status_code}",
                        response.status_code,
                        code.group(1) if code else None,
                    )
                for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            actual = digest.hexdigest()
            if actual != expected_sha256.lower():
                raise ChecksumMismatch(
                    f"the downloaded result is corrupt: sha256 {actual} is not the API's {expected_sha256}; "
                    f"{destination} was not written",
                    expected=expected_sha256,
                    actual=actual,
                )
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Download(path=destination, sha256=actual, size=size)

    def swap(
        self,
        target: ImageSource,
        template: ImageSource,
        *,
        webhook: Webhook | str | None = None,
        wait: bool = True,
        client_reference: str | None = None,
        idempotency_key: str | None = None,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Swap the face of `template` onto `target` (paths or bytes): create, upload, start and, with `wait`,
        wait until it finishes. Returns the job; download its result with `download(job, path)`.

        Raises `InvalidImage` before any request for a bad image, `JobFailed` when the job fails (with `wait`),
        `WaitTimeout` after `timeout` seconds. With the same `idempotency_key` a repeated call (say, after a crash)
        continues the same job instead of creating another.
        """
        target_image = load_image(target, "target")
        template_image = load_image(template, "template")
        created = self.create(
            target_content_type=target_image.content_type,
            template_content_type=template_image.content_type,
            client_reference=client_reference,
            webhook=webhook,
            idempotency_key=idempotency_key,
        )
        if created.status == "awaiting_upload":
            missing = {"target", "template"} - set(created.uploads)
            if missing:
                raise ServerError(201, None, f"the API gave no upload forms for job {created.job_id}")
            for role, image in (("target", target_image), ("template", template_image)):
                self._check_form(created.uploads[role], image, role)
                self._upload(created.uploads[role], image, role)
            job = self._start_when_uploaded(created.job_id, poll_interval)
        else:
            # An idempotent replay of a job that already started: follow it, never upload or start it again.
            job = self.get(created.job_id)
        if not wait:
            return job
        job = self.wait(job, timeout=timeout, poll_interval=poll_interval, on_update=on_update)
        if job.failed:
            raise JobFailed(job)
        return job

    def _start_when_uploaded(self, job_id: str, poll_interval: float) -> Job:
        """Start the job, retrying while the service has not seen both uploads yet."""
        deadline = time.monotonic() + START_GRACE_SECONDS
        while True:
            try:
                return self.start(job_id)
            except Conflict as exc:
                if exc.code == "JOB_NOT_STARTABLE":
                    # The service re-checks each upload and may fail the job on a bad image before this start.
                    job = self.get(job_id)
                    if job.failed:
                        return job
                if exc.code != "UPLOADS_INCOMPLETE" or time.monotonic() >= deadline:
                    raise
            time.sleep(min(poll_interval, 1.0))
