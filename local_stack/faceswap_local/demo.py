"""`make demo`: one real face swap through the real product path, offline, in well under a minute.

API handler creates the job -> both photos uploaded over HTTP with the presigned POST forms -> the S3 event starts
the real state machine -> the real handlers submit to the emulator, which swaps with the offline engine -> the archive
step stores the result -> `FaceSwap Succeeded` arrives. Writes the result and a side-by-side to the output folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from faceswap.domain.images import sniff_image_type

from faceswap_local.stack import REPO, OfflineStack, StackOptions

SAMPLES = REPO / ".cache" / "samples"


class DemoError(Exception):
    pass


def content_type_of(data: bytes) -> str:
    content_type = sniff_image_type(data)
    if content_type is None:
        raise DemoError("the demo photos must be JPEG or PNG")
    return content_type


def expect(response: requests.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def upload(form: dict[str, Any], data: bytes, filename: str) -> None:
    # A presigned POST is a multipart form: the policy fields first, the file last.
    response = requests.post(
        form["url"], data=form["fields"], files={"file": (filename, data, form["content_type"])}, timeout=30
    )
    if response.status_code not in (200, 201, 204):
        raise DemoError(f"upload of {filename}: HTTP {response.status_code} {response.text[:300]}")


def timeline(stack: OfflineStack, job_id: str, job: dict[str, Any]) -> list[tuple[float, str]]:
    """(seconds since the job was created, what happened): job timestamps plus every state the execution entered."""
    start = _epoch(job["created_at"])
    rows = [(0.0, "job created (POST /v1/swaps)")]
    for name, label in (
        ("queued_at", "both uploads arrived, job queued (S3 event)"),
        ("submitted_at", "provider accepted the submission"),
        ("completed_at", f"job {job['status']}"),
    ):
        if job.get(name):
            rows.append((_epoch(job[name]) - start, label))
    for event in stack.cloud.execution_history(job_id):
        if event["type"].endswith("StateEntered"):
            state = event.get("stateEnteredEventDetails", {}).get("name", "?")
            rows.append((event["timestamp"].timestamp() - start, f"state {state}"))
    return sorted(rows)


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def side_by_side(images: list[bytes], labels: list[str]) -> bytes:
    from PIL import Image, ImageDraw, ImageOps

    height = 400
    tiles = []
    for data, label in zip(images, labels, strict=True):
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        image = image.resize((max(1, round(image.width * height / image.height)), height))
        canvas = Image.new("RGB", (image.width, height + 28), "white")
        canvas.paste(image, (0, 28))
        ImageDraw.Draw(canvas).text((8, 8), label, fill="black")
        tiles.append(canvas)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) - 1), height + 28), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 8
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=88)
    return out.getvalue()


def run(
    out: Path,
    target: Path,
    template: Path,
    *,
    time_scale: float = 0.1,
    timeout: float = 60.0,
    provider_url: str | None = None,
    provider_key: str | None = None,
) -> int:
    target_bytes, template_bytes = target.read_bytes(), template.read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    provider = provider_url or "emulator + offline engine"
    print(f"Starting the local stack (moto + {provider}), time scale {time_scale} ...", flush=True)
    options = StackOptions(
        time_scale=time_scale,
        gateway_port=0,
        events_file=out / "events.jsonl",
        provider_url=provider_url,
        provider_key=provider_key,
    )
    began = time.monotonic()
    with OfflineStack(options) as stack:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {stack.auth.mint('demo-user')}"
        created = expect(
            api.post(
                f"{stack.api_url}/v1/swaps",
                json={
                    "target_content_type": content_type_of(target_bytes),
                    "template_content_type": content_type_of(template_bytes),
                    "client_reference": "make-demo",
                },
                timeout=30,
            ),
            201,
            "create job",
        )
        job_id = created["job_id"]
        print(f"Job {job_id} created; uploading {target.name} (target) and {template.name} (template) ...", flush=True)
        upload(created["uploads"]["target"], target_bytes, target.name)
        upload(created["uploads"]["template"], template_bytes, template.name)
        try:
            event = stack.wait_for_terminal_event(job_id, timeout)
        except TimeoutError as error:
            raise DemoError(f"no terminal event for job {job_id} within {timeout:.0f} s") from error
        job = expect(api.get(f"{stack.api_url}/v1/swaps/{job_id}", timeout=30), 200, "read job")
        print("\nEvent delivered on the bus:")
        print(json.dumps(event, indent=2))
        print("\nTimeline:")
        for seconds, what in timeline(stack, job_id, job):
            print(f"  +{seconds:6.2f} s  {what}")
        if job["status"] != "succeeded":
            error = job.get("error") or {}
            raise DemoError(f"job {job['status']}: {error.get('code')} {error.get('message')}")
        result = requests.get(job["result"]["url"], timeout=30).content
        if hashlib.sha256(result).hexdigest() != job["result"]["sha256"]:
            raise DemoError("the downloaded result does not match its recorded sha256")
        if result == target_bytes and provider_url is None:
            raise DemoError("the result is the unchanged target: the offline engine did not run")
        extension = "png" if job["result"]["content_type"] == "image/png" else "jpg"
        (out / f"result.{extension}").write_bytes(result)
        (out / "side_by_side.jpg").write_bytes(
            side_by_side([target_bytes, template_bytes, result], ["target", "template", "result"])
        )
    print(f"\nResult: {out / f'result.{extension}'} ({len(result)} bytes, sha256 {job['result']['sha256']})")
    print(f"Side by side: {out / 'side_by_side.jpg'}; events: {out / 'events.jsonl'}")
    from faceswap_client.verification import describe, verify_bytes

    report = verify_bytes(result, name=str(out / f"result.{extension}"))
    print("\nVerification (faceswap verify):")
    for key, value in describe(report)[1:]:
        print(f"  {key}={'' if value is None else value}")
    if report.manifest.state != "valid" or not report.watermark_found:
        raise DemoError("the result is not labelled as AI-generated")
    print(f"Done in {time.monotonic() - began:.1f} s.")
    return 0


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="faceswap-local demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "out")
    parser.add_argument("--target", type=Path, default=SAMPLES / "astronaut.png")
    parser.add_argument("--template", type=Path, default=SAMPLES / "grace_hopper.jpg")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--provider-url", help="an AILabTools-compatible service instead of the built-in emulator")
    parser.add_argument("--provider-key", help="its API key")
    args = parser.parse_args(argv)
    for path in (args.target, args.template):
        if not path.exists():
            print(f"demo: {path} is missing (run `make samples`)", file=sys.stderr)
            return 2
    try:
        return run(
            args.out,
            args.target,
            args.template,
            time_scale=args.time_scale,
            timeout=args.timeout,
            provider_url=args.provider_url,
            provider_key=args.provider_key,
        )
    except (DemoError, requests.RequestException) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
