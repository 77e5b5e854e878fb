"""Benchmark 4: peak memory while the real archive step (`Steps().archive`) stores a 20 MB result.

A local HTTP server on 127.0.0.1 streams a 20 MB "JPEG" (a valid JPEG header, then padding, generated on the fly so
the server holds 64 KB), and the archive step downloads it into S3 with ALLOW_INSECURE_RESULT_URLS=true. S3,
DynamoDB and EventBridge are moto in a *separate* `moto.server` process on 127.0.0.1: in decorator mode moto's own
copy of the object (it joins multipart parts in memory) is counted in our process and dominates the peak (about
68 MiB for a bare 20 MB upload), which is not what a Lambda would pay. Measured: the tracemalloc peak over the call
(ours, requests, botocore, s3transfer) and the process's peak RSS growth (VmHWM from /proc, reset first where the
kernel allows), plus a baseline that only uploads the same bytes from disk through `Storage.put_file`. Target: the
archive step raises peak memory by at most 32 MB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from bench.report import publish

RESULTS = Path(__file__).resolve().parent / "results" / "memory.md"
RESULT_BYTES = 20 * 1024 * 1024
TARGET_BYTES = 32 * 1024 * 1024
REGION, BUCKET, TABLE, BUS = "us-east-1", "faceswap-bench-memory", "faceswap-jobs", "faceswap-bus"
_JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
_CHUNK = 64 * 1024


class _ResultHandler(BaseHTTPRequestHandler):
    size = RESULT_BYTES

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(self.size))
        self.end_headers()
        padding = b"\0" * _CHUNK
        self.wfile.write(_JPEG_HEAD)
        left = self.size - len(_JPEG_HEAD)
        while left > 0:
            piece = padding[: min(left, _CHUNK)]
            self.wfile.write(piece)
            left -= len(piece)

    def log_message(self, *_: object) -> None:  # quiet
        return


@contextmanager
def result_server(size: int) -> Iterator[str]:
    handler = type("Handler", (_ResultHandler,), {"size": size})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/result.jpg?sig=bench"
    finally:
        server.shutdown()
        server.server_close()


def _proc_status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        return False
    return True


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _create_resources() -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)


def _processing_job() -> str:
    from faceswap.adapters.job_table import JobStore, new_job
    from faceswap.domain import ids
    from faceswap.domain.clock import iso
    from faceswap.domain.job import PROCESSING

    job_id = ids.new_job_id()
    inputs = {role: {"bucket": BUCKET, "key": f"uploads/{job_id}/{role}"} for role in ("target", "template")}
    job = new_job(job_id=job_id, owner="bench", origin="api", inputs=inputs, status=PROCESSING)
    job.provider_task_id, job.submitted_at = "bench-task", iso()
    JobStore().create(job)
    return job_id


def _measure(action: Callable[[], object]) -> tuple[int, int, bool]:
    """(tracemalloc peak above the start, peak RSS growth, whether the RSS peak could be reset)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start_traced, _ = tracemalloc.get_traced_memory()
    reset = _reset_peak_rss()
    rss_before = _proc_status("VmHWM") if reset else _proc_status("VmRSS")
    action()
    _, peak_traced = tracemalloc.get_traced_memory()
    rss_peak = _proc_status("VmHWM")
    tracemalloc.stop()
    return peak_traced - start_traced, max(rss_peak - rss_before, 0), reset


@contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # our own interpreter running moto's server module
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto.server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run() -> dict[str, object]:
    from faceswap.adapters.storage import Storage
    from faceswap.usecases.workflow_steps import Steps

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "JOBS_TABLE": TABLE,
        "BUCKET_NAME": BUCKET,
        "EVENT_BUS_NAME": BUS,
        "EVENT_SOURCE": "faceswap",
        "ALLOW_INSECURE_RESULT_URLS": "true",
        "MAX_RESULT_BYTES": str(64 * 2**20),
        # The streamed 20 MB body is not a decodable image: this measures the streaming path (ProvenanceMode=off).
        # Labelling's own peak, on a real ~2048 px JPEG, is in bench/provenance_bench.py.
        "PROVENANCE_MODE": "off",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with moto_server() as endpoint, environment({**env, "AWS_ENDPOINT_URL": endpoint}):
        _create_resources()
        # Warm up: imports, clients, connection pools, moto's backends (not what we measure).
        with result_server(1024 * 1024) as url:
            Steps().archive(_processing_job(), url)
        job_id = _processing_job()
        with result_server(RESULT_BYTES) as url:
            outcome: dict[str, Any] = {}
            archive_traced, archive_rss, reset = _measure(lambda: outcome.update(Steps().archive(job_id, url)))
        result = outcome.get("result") or {}
        with tempfile.TemporaryFile() as source:
            source.write(_JPEG_HEAD + b"\0" * (RESULT_BYTES - len(_JPEG_HEAD)))
            source.seek(0)
            storage = Storage(BUCKET)
            baseline_traced, baseline_rss, _ = _measure(
                lambda: storage.put_file("bench/baseline.jpg", source, content_type="image/jpeg", metadata={})
            )
    return {
        "status": outcome.get("status"),
        "size": result.get("size"),
        "archive_traced": archive_traced,
        "archive_rss": archive_rss,
        "baseline_traced": baseline_traced,
        "baseline_rss": baseline_rss,
        "rss_reset": reset,
    }


def _mib(value: object) -> str:
    return f"{int(value) / 2**20:.1f} MiB"  # type: ignore[call-overload]


def main() -> int:
    measured = run()
    if measured["status"] != "succeeded" or measured["size"] != RESULT_BYTES:
        print(f"archive did not store the result: {measured}", file=sys.stderr)
        return 1
    ours = int(measured["archive_traced"]) - int(measured["baseline_traced"])  # type: ignore[call-overload]
    met = int(measured["archive_traced"]) <= TARGET_BYTES  # type: ignore[call-overload]
    lines = [
        "# Memory: archiving a 20 MB result",
        "",
        f"`Steps().archive` downloads a {RESULT_BYTES / 2**20:.0f} MiB JPEG from 127.0.0.1 and stores it in S3 "
        "(moto in a separate server process). Peak increase of this process over the call:",
        "",
        "| measurement | tracemalloc peak | peak RSS growth |",
        "|---|---:|---:|",
        f"| archive step (download + S3 upload + job update + event) | {_mib(measured['archive_traced'])} | "
        f"{_mib(measured['archive_rss'])} |",
        f"| baseline: `Storage.put_file` of the same bytes from disk | {_mib(measured['baseline_traced'])} | "
        f"{_mib(measured['baseline_rss'])} |",
        f"| archive minus baseline (the download path) | {_mib(max(ours, 0))} | |",
        "",
        (
            "Peak RSS reset through /proc/self/clear_refs before each call."
            if measured["rss_reset"]
            else "Peak RSS not resettable here: growth of VmHWM over VmRSS at the start."
        )
        + " RSS also counts pages the allocator keeps after freeing, so it is an upper bound.",
        "",
        f"**Target (<= {TARGET_BYTES / 2**20:.0f} MiB): {'met' if met else 'NOT met'}** "
        "(tracemalloc peak of the whole step).",
        "",
        "Where the bytes live: the download streams in 64 KiB pieces into a `SpooledTemporaryFile(max_size=1 MiB)`, "
        "which rolls over to a file in /tmp; `Storage.put_file` uploads from that file in 8 MiB parts "
        "(`TransferConfig(multipart_chunksize=8 MiB, use_threads=False)`), and s3transfer/botocore hold one part "
        "in memory while sending it (plus, for the checksum, botocore may read it once more).",
    ]
    publish(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
