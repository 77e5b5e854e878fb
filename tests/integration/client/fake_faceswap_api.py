"""A small fake of the face-swap API (openapi.yaml plus the listing and webhook routes of the next API version) and of
S3's presigned POST, on 127.0.0.1, for the SDK and CLI tests. It delivers webhooks signed with the `standardwebhooks`
library, as the service does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from standardwebhooks import Webhook

GOOD_TOKEN = "good-token"
OTHER_TOKEN = "other-callers-token"
CALLERS = {f"Bearer {GOOD_TOKEN}": "alice", f"Bearer {OTHER_TOKEN}": "bob"}
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake-api-webhook-signing-secret!").decode()
CURSOR_KEY = b"fake-api-cursor-key"
JOB_STATUSES = ("awaiting_upload", "queued", "processing", "succeeded", "failed")
RESULT_BYTES = b"\x89PNG\r\n\x1a\n" + b"swapped-face-result" * 100
SWAP_ROUTE = re.compile(r"^/v1/swaps/([^/]+)(/start|/webhook/redeliver)?$")


@dataclass
class FakeJob:
    job_id: str
    content_types: dict[str, str]
    client_reference: str | None
    status: str = "awaiting_upload"
    uploads: dict[str, bytes] = field(default_factory=dict)
    polls: int = 0
    starts: int = 0
    owner: str = "alice"
    created_at: str = "2026-05-04T10:15:30Z"
    webhook: dict[str, Any] | None = None  # {"url", "events", "status", "attempts", ...}


@dataclass
class Behaviour:
    outcome: str = "succeed"  # succeed | fail | never_finish
    corrupt_sha256: bool = False  # the API's sha256 does not match the bytes served
    expire_first_download: bool = False  # the first result GET answers 403, as an expired presigned URL does
    events_per_poll: int = 0  # /local/events appends this many new events on every call
    sigv4_secret: str | None = None  # when set, SigV4 requests are verified with this secret
    # Answers given before the real one, one per API request, e.g. (503, {}) or (429, {"Retry-After": "1"}).
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    fail_paths: str = ""  # only requests whose path starts with this prefix get the failures
    extra_job_fields: dict[str, Any] = field(default_factory=dict)  # fields a newer API might add to every job


class FakeState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, FakeJob] = {}
        self.idempotency_keys: dict[str, FakeJob] = {}
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []
        self.upload_parts: list[list[str]] = []
        self.events: list[dict[str, Any]] = []
        self.downloads = 0
        self.base_url = ""
        self.deliveries: list[dict[str, Any]] = []  # webhook deliveries: url, status code, headers, body
        self.created = 0

    def add_event(self, job_id: str, detail_type: str = "FaceSwap Succeeded") -> None:
        self.events.append(
            {
                "seq": len(self.events) + 1,
                "event": {"detail-type": detail_type, "source": "faceswap", "detail": {"job_id": job_id}},
            }
        )


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    caller = ""  # who the request's credentials name

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        return

    @property
    def state(self) -> FakeState:
        return self.server.state

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _authorised(self, body: bytes) -> bool:
        authorization = self.headers.get("Authorization", "")
        if authorization in CALLERS:
            self.caller = CALLERS[authorization]
            return True
        if authorization.startswith("AWS4-HMAC-SHA256 "):
            secret = self.state.behaviour.sigv4_secret
            if secret is None or self._signature_is_valid(authorization, secret, body):
                self.caller = "alice"
                return True
            self._send(403, {"message": "The request signature we calculated does not match the signature"})
            return False
        if authorization.startswith("Bearer "):
            self._send(401, {"message": "Unauthorized"})  # API Gateway's own JWT authorizer answer
            return False
        self._error(401, "UNAUTHENTICATED", "The request has no caller identity.")
        return False

    def _signature_is_valid(self, authorization: str, secret: str, body: bytes) -> bool:
        """Recompute the SigV4 signature as API Gateway would, from the signed headers the client named."""
        parts = dict(item.strip().split("=", 1) for item in authorization.split(" ", 1)[1].split(","))
        access_key, _date, region, service, _ = parts["Credential"].split("/")
        signed = parts["SignedHeaders"].split(";")
        headers = {name: self.headers[name] for name in signed if name != "host"}
        request = AWSRequest(method=self.command, url=self.state.base_url + self.path, headers=headers, data=body)
        request.context["timestamp"] = self.headers["X-Amz-Date"]
        token = self.headers.get("X-Amz-Security-Token")
        signer = SigV4Auth(Credentials(access_key, secret, token), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return bool(service == "execute-api" and expected == parts["Signature"])

    def _record(self, body: bytes) -> None:
        with self.state.lock:
            self.state.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )

    def _injected_failure(self) -> bool:
        """Answer one queued failure (before auth, as a flaky gateway would) instead of handling the request."""
        behaviour = self.state.behaviour
        with self.state.lock:
            if not behaviour.failures or not self.path.startswith(behaviour.fail_paths or "/v1/"):
                return False
            status, headers = behaviour.failures.pop(0)
        code = "THROTTLED" if status == 429 else "INTERNAL_ERROR"
        self._send(status, {"error": {"code": code, "message": f"Injected HTTP {status}."}}, headers)
        return True

    # --- routes -------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._record(b"")
        url = urlsplit(self.path)
        if url.path.startswith("/result/"):
            return self._serve_result(url.path.removeprefix("/result/"))
        if self._injected_failure() or not self._authorised(b""):
            return None
        if url.path == "/local/events":
            return self._local_events(int(parse_qs(url.query).get("after", ["0"])[0]))
        if url.path == "/v1/swaps":
            return self._list({name: values[-1] for name, values in parse_qs(url.query).items()})
        match = SWAP_ROUTE.match(url.path)
        if not match or match.group(2):
            return self._error(404, "ROUTE_NOT_FOUND", f"No route GET {url.path}.")
        job = self._own_job(match.group(1))
        if job is None:
            return self._error(404, "JOB_NOT_FOUND", f"No job {match.group(1)}.")
        self._advance(job)
        return self._send(200, self._job_view(job))

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        url = urlsplit(self.path)
        if url.path.startswith("/s3/"):
            return self._s3_post(body)
        if self._injected_failure() or not self._authorised(body):
            return None
        if url.path == "/v1/swaps":
            return self._create(body)
        match = SWAP_ROUTE.match(url.path)
        if not match or not match.group(2):
            return self._error(405, "METHOD_NOT_ALLOWED", f"POST is not allowed on {url.path}.")
        job = self._own_job(match.group(1))
        if job is None:
            return self._error(404, "JOB_NOT_FOUND", f"No job {match.group(1)}.")
        if match.group(2) == "/webhook/redeliver":
            return self._redeliver(job)
        missing = sorted({"target", "template"} - set(job.uploads))
        if missing:
            return self._error(409, "UPLOADS_INCOMPLETE", f"Upload both images first (missing: {missing}).")
        job.starts += 1
        if job.status == "awaiting_upload":
            job.status = "queued"
        return self._send(202, self._job_view(job))

    def do_DELETE(self) -> None:
        self._record(b"")
        if self._injected_failure() or not self._authorised(b""):
            return None
        match = SWAP_ROUTE.match(urlsplit(self.path).path)
        job = self._own_job(match.group(1)) if match and not match.group(2) else None
        if job is None:
            return self._error(404, "JOB_NOT_FOUND", "No such job.")
        if job.status in ("queued", "processing"):
            return self._error(409, "JOB_IN_PROGRESS", f"The job is {job.status}; delete it after it finishes.")
        del self.state.jobs[job.job_id]
        return self._send(200, {"job_id": job.job_id, "status": "deleted"})

    # --- behaviour ----------------------------------------------------------------------------------------
    def _create(self, body: bytes) -> None:
        if self.headers.get("Content-Type") != "application/json":
            return self._error(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.")
        request = json.loads(body or b"{}")
        key = self.headers.get("Idempotency-Key")
        replayed = self.state.idempotency_keys.get(key) if key else None
        if replayed is not None and replayed.status != "awaiting_upload":
            view = {
                **self._job_view(replayed),
                "links": {"self": f"/v1/swaps/{replayed.job_id}", "start": f"/v1/swaps/{replayed.job_id}/start"},
            }
            return self._send(201, view, {"Location": f"/v1/swaps/{replayed.job_id}", "Idempotent-Replayed": "true"})
        job_id = replayed.job_id if replayed else uuid.uuid4().hex
        content_types = {
            "target": request.get("target_content_type", "image/jpeg"),
            "template": request.get("template_content_type", "image/jpeg"),
        }
        webhook = request.get("webhook")
        if webhook is not None:
            url = str(webhook.get("url", ""))
            # Like the local stack: https anywhere, or plain http to a receiver on this machine.
            if not (url.startswith("https://") or url.startswith("http://127.0.0.1:")) or len(url) > 2048:
                return self._error(422, "INVALID_WEBHOOK_URL", "The webhook URL must be https.")
            webhook = {"url": url, "events": webhook.get("events") or ["succeeded", "failed"], "attempts": 0}
            webhook.update(status="pending", last_status_code=None, last_attempt_at=None, delivered_at=None)
        if replayed is None:
            self.state.created += 1
            created_at = f"2026-05-04T10:{self.state.created // 60:02d}:{self.state.created % 60:02d}Z"
            job = FakeJob(job_id, content_types, request.get("client_reference"), owner=self.caller)
            job.created_at, job.webhook = created_at, webhook
        else:
            job = replayed
        self.state.jobs[job_id] = job
        if key:
            self.state.idempotency_keys[key] = job
        uploads = {
            role: {
                "url": f"{self.state.base_url}/s3/faceswap-bucket",
                "fields": {
                    "key": f"uploads/{job_id}/{role}",
                    "Content-Type": content_type,
                    "policy": "eyJmYWtlIjogdHJ1ZX0=",
                    "x-amz-signature": "fake",
                },
                "expires_at": "2026-05-04T10:30:30Z",
                "max_bytes": 5242880,
                "content_type": content_type,
            }
            for role, content_type in content_types.items()
        }
        created = {
            **self._job_view(job),
            "uploads": uploads,
            "links": {"self": f"/v1/swaps/{job_id}", "start": f"/v1/swaps/{job_id}/start"},
        }
        return self._send(201, created, {"Location": f"/v1/swaps/{job_id}"})

    def _s3_post(self, body: bytes) -> None:
        """Accept a presigned POST like S3: form fields, then the file as the last part; answer 204."""
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        parts = list(message.iter_parts())
        names = [str(part.get_param("name", header="content-disposition")) for part in parts]
        self.state.upload_parts.append(names)
        if names[-1] != "file" or "file" in names[:-1]:
            return self._send(400, b"<Error><Code>InvalidArgument</Code><Message>file must be last</Message></Error>")
        fields = {name: part.get_content() for name, part in zip(names[:-1], parts[:-1], strict=True)}
        file_part = parts[-1]
        key_match = re.match(r"^uploads/([0-9a-f]{32})/(target|template)$", fields.get("key", ""))
        job = self.state.jobs.get(key_match.group(1)) if key_match else None
        if job is None or key_match is None:
            return self._send(403, b"<Error><Code>AccessDenied</Code><Message>Invalid key</Message></Error>")
        role = key_match.group(2)
        if file_part.get_content_type() != fields["Content-Type"] or fields["Content-Type"] != job.content_types[role]:
            refusal = b"<Error><Code>AccessDenied</Code><Message>Policy condition failed</Message></Error>"
            return self._send(403, refusal)
        job.uploads[role] = file_part.get_payload(decode=True)
        return self._send(204)

    def _advance(self, job: FakeJob) -> None:
        """Each poll moves the job one step: queued -> processing -> succeeded | failed (or stays processing)."""
        job.polls += 1
        outcome = self.state.behaviour.outcome
        if job.status == "queued":
            job.status = "processing"
        elif job.status == "processing" and outcome != "never_finish":
            job.status = "succeeded" if outcome == "succeed" else "failed"
            self._deliver(job)

    def _job_view(self, job: FakeJob) -> dict[str, Any]:
        result = None
        if job.status == "succeeded":
            digest = hashlib.sha256(RESULT_BYTES).hexdigest()
            if self.state.behaviour.corrupt_sha256:
                digest = "0" * 64
            result = {
                "url": f"{self.state.base_url}/result/{job.job_id}?X-Amz-Signature=fake",
                "expires_at": "2026-05-04T10:21:05Z",
                "content_type": "image/png",
                "size": len(RESULT_BYTES),
                "sha256": digest,
            }
        error = None
        if job.status == "failed":
            error = {"code": "FACE_NOT_FOUND", "message": "No face was found in the template image."}
        return {
            "job_id": job.job_id,
            "status": job.status,
            "origin": "api",
            "client_reference": job.client_reference,
            "created_at": job.created_at,
            "updated_at": job.created_at,
            "queued_at": None,
            "submitted_at": None,
            "completed_at": None,
            "polls": job.polls,
            "error": error,
            "result": result,
            "webhook": self._webhook_view(job),
            **self.state.behaviour.extra_job_fields,
        }

    @staticmethod
    def _webhook_view(job: FakeJob) -> dict[str, Any] | None:
        if job.webhook is None:
            return None
        view = {key: value for key, value in job.webhook.items() if key != "url"}
        return {**view, "host": urlsplit(job.webhook["url"]).netloc}

    def _own_job(self, job_id: str) -> FakeJob | None:
        job = self.state.jobs.get(job_id)
        return job if job is not None and job.owner == self.caller else None

    # --- listing ------------------------------------------------------------------------------------------
    @staticmethod
    def _cursor(owner: str, after: int) -> str:
        """Opaque, and bound to its caller: the position signed with the caller's name."""
        position = f"{owner}:{after}".encode()
        signature = hmac.new(CURSOR_KEY, position, hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(position + b"|" + signature.encode()).decode()

    def _cursor_position(self, cursor: str) -> int | None:
        try:
            position, signature = base64.urlsafe_b64decode(cursor.encode()).rsplit(b"|", 1)
            owner, after = position.decode().rsplit(":", 1)
        except ValueError:
            return None
        expected = hmac.new(CURSOR_KEY, position, hashlib.sha256).hexdigest()[:16].encode()
        if owner != self.caller or not hmac.compare_digest(expected, signature):
            return None
        return int(after)

    def _list(self, query: dict[str, str]) -> None:
        limit_text = query.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            return self._error(400, "VALIDATION_ERROR", "limit must be 1 to 100.")
        status = query.get("status")
        if status is not None and status not in JOB_STATUSES:
            return self._error(400, "VALIDATION_ERROR", f"Unknown status {status}.")
        after = 0
        if "cursor" in query:
            position = self._cursor_position(query["cursor"])
            if position is None:
                return self._error(400, "INVALID_CURSOR", "The cursor is not valid.")
            after = position
        mine = [job for job in self.state.jobs.values() if job.owner == self.caller]
        mine = [job for job in reversed(mine) if status is None or job.status == status]  # newest first
        page = mine[after : after + int(limit_text)]
        more = after + len(page) < len(mine)
        next_cursor = self._cursor(self.caller, after + len(page)) if more else None
        return self._send(200, {"items": [self._job_view(job) for job in page], "next_cursor": next_cursor})

    # --- webhooks -----------------------------------------------------------------------------------------
    def _deliver(self, job: FakeJob) -> None:
        """POST the signed outcome to the job's webhook once, as the service's delivery function does."""
        webhook = job.webhook
        if webhook is None or job.status not in webhook["events"]:
            return
        message_id = f"msg_{job.job_id}"
        now = datetime.now(UTC)
        view = self._job_view(job)
        data = {
            "job_id": job.job_id,
            "status": job.status,
            "client_reference": job.client_reference,
            "result": view["result"] and {key: view["result"][key] for key in ("sha256", "size", "content_type")},
            "error": view["error"],
            "result_url": view["result"]["url"] if view["result"] else None,
            "result_url_expires_at": view["result"]["expires_at"] if view["result"] else None,
        }
        body = json.dumps(
            {"type": f"faceswap.{job.status}", "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data}
        )
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(WEBHOOK_SECRET).sign(message_id, now, body),
            "Content-Type": "application/json",
        }
        request = urllib.request.Request(webhook["url"], data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                code = answer.status
        except urllib.error.HTTPError as refusal:
            code = refusal.code
        except OSError:
            code = None
        webhook["attempts"] += 1
        webhook["last_status_code"] = code
        webhook["last_attempt_at"] = now.isoformat().replace("+00:00", "Z")
        delivered = code is not None and 200 <= code < 300
        webhook["status"] = "delivered" if delivered else "failed"
        if delivered:
            webhook["delivered_at"] = webhook["last_attempt_at"]
        self.state.deliveries.append({"url": webhook["url"], "code": code, "headers": headers, "body": body})

    def _redeliver(self, job: FakeJob) -> None:
        if job.webhook is None:
            return self._error(409, "WEBHOOK_NOT_CONFIGURED", "The job has no webhook.")
        if job.webhook["status"] == "pending":
            return self._error(409, "WEBHOOK_DELIVERY_PENDING", "A delivery is pending.")
        job.webhook["status"] = "pending"
        self._send(202, self._job_view(job))
        threading.Thread(target=self._deliver, args=(job,), daemon=True).start()
        return None

    def _serve_result(self, job_id_and_query: str) -> None:
        self.state.downloads += 1
        if "Authorization" in self.headers:
            # S3 refuses a presigned URL that also carries an Authorization header.
            return self._send(400, b"<Error><Code>InvalidArgument</Code></Error>")
        if self.state.behaviour.expire_first_download and self.state.downloads == 1:
            return self._send(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        return self._send(200, RESULT_BYTES, {"Content-Type": "image/png"})

    def _local_events(self, after: int) -> None:
        for _ in range(self.state.behaviour.events_per_poll):
            self.state.add_event(f"{len(self.state.events):032x}")
        events = [item for item in self.state.events if item["seq"] > after]
        next_seq = events[-1]["seq"] if events else after
        return self._send(200, {"events": events, "next": next_seq})


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = FakeState()
        self.state.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return self.state.base_url

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)
