"""Webhook latency on the local stack: from a job's terminal event to the receiver's 2xx.

The real path runs: the archive step marks the job succeeded and puts `FaceSwap Succeeded` on the bus; the rule
routes it to the webhook queue; the queue's event source (polled like Lambda's) invokes the webhook function, which
reads the job, presigns the result, signs with the secret from Secrets Manager and POSTs to a receiver on 127.0.0.1
that verifies the signature with `standardwebhooks` and answers 204. Measured per job: the receiver's clock when the
2xx is sent minus the job's `completed_at` (set just before the event is put, so this includes PutEvents).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from faceswap.domain.clock import parse_iso
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.stack import REPO, OfflineStack, StackOptions
from standardwebhooks import Webhook

from bench.report import publish

RESULTS = REPO / "bench" / "results" / "webhooks.md"
SAMPLES = REPO / ".cache" / "samples"
JOBS = 20
P50_TARGET_MS = 200.0


class TimingReceiver:
    def __init__(self, secret: str) -> None:
        self.answered: dict[str, float] = {}  # webhook-id -> time the 2xx was sent
        self.failures = 0
        self._lock = threading.Lock()
        receiver = self
        verifier = Webhook(secret)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
                    status = 204
                except Exception:
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._lock:
                    if status == 204:
                        receiver.answered.setdefault(self.headers["webhook-id"], time.time())
                    else:
                        receiver.failures += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def run(jobs: int = JOBS) -> dict[str, Any]:
    target = (SAMPLES / "astronaut.png").read_bytes()
    template = (SAMPLES / "grace_hopper.jpg").read_bytes()
    options = StackOptions(
        time_scale=0.0, gateway_port=0, emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.2)
    )
    latencies: list[float] = []
    with OfflineStack(options) as stack:
        receiver = TimingReceiver(stack.webhook_secret)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {stack.auth.mint('bench')}"
        for _ in range(jobs):
            created = session.post(
                f"{stack.api_url}/v1/swaps",
                json={"target_content_type": "image/png", "webhook": {"url": receiver.url}},
                timeout=60,
            ).json()
            for role, data in (("target", target), ("template", template)):
                form = created["uploads"][role]
                requests.post(
                    form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=60
                ).raise_for_status()
            event = stack.wait_for_terminal_event(created["job_id"], timeout=60)
            message_id = f"msg_{created['job_id']}"
            deadline = time.monotonic() + 30
            while message_id not in receiver.answered and time.monotonic() < deadline:
                time.sleep(0.005)
            completed = parse_iso(event["detail"]["timings"]["completed_at"])
            latencies.append((receiver.answered[message_id] - completed) * 1000)
        receiver.server.shutdown()
    ordered = sorted(latencies)
    return {
        "jobs": jobs,
        "p50": statistics.median(ordered),
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "max": ordered[-1],
        "first": latencies[0],
        "failures": receiver.failures,
    }


def main() -> int:
    figures = run()
    ok = figures["p50"] < P50_TARGET_MS and figures["failures"] == 0
    lines = [
        "# Webhook latency (local stack)",
        "",
        __doc__.split("\n\n", 1)[1].strip(),
        "",
        f"{figures['jobs']} jobs, one at a time (the machine's other load included):",
        "",
        "| p50 | p90 | max | first delivery (cold function) | signature failures |",
        "|---:|---:|---:|---:|---:|",
        f"| {figures['p50']:.0f} ms | {figures['p90']:.0f} ms | {figures['max']:.0f} ms | {figures['first']:.0f} ms "
        f"| {figures['failures']} |",
        "",
        f"Target: p50 under {P50_TARGET_MS:.0f} ms: **{'met' if ok else 'MISSED'}**. In AWS add the EventBridge -> SQS "
        "hop and the event source mapping's poll (typically tens of milliseconds each, more after an idle period) "
        "and the network to the receiver.",
    ]
    publish(RESULTS, lines)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
