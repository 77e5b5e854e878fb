"""`make serve`: the local stack until stopped (Ctrl-C or SIGTERM), with one log line per function log record.

The HTTP API listens on 127.0.0.1:3000 and the local AWS endpoint (S3, EventBridge, ...) on 127.0.0.1:4566
(FACESWAP_API_PORT / FACESWAP_AWS_PORT or --port / --aws-port). Credentials and outputs live in out/local/
(FACESWAP_LOCAL_DIR or --state-dir) and survive restarts.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from faceswap_local.aws import PortInUseError
from faceswap_local.aws.endpoint import bind
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.local_state import LocalState
from faceswap_local.stack import REPO, OfflineStack, StackOptions

_print_lock = threading.Lock()
DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 4566
DROP_ZONE_NAME = "my-first-swap"


def say(line: str) -> None:
    with _print_lock:
        print(line, flush=True)


def log_line(function: str, record: Any) -> None:
    """One line per log record: time, function, job id, level, message (full JSON stays in the function's logs)."""
    if isinstance(record, dict):
        if "_aws" in record:  # an EMF metrics blob: not worth a console line
            return
        job_id = record.get("job_id") or "-"
        message = record.get("message", "")
        extra = {
            key: record[key]
            for key in ("status", "action", "error_code", "polls", "next_wait_seconds")
            if record.get(key) is not None
        }
        stamp = str(record.get("timestamp", ""))[11:23]
        say(
            f"{stamp} {function:<24} job={job_id} {record.get('level', 'INFO'):<7} {message} "
            f"{json.dumps(extra) if extra else ''}".rstrip()
        )
    elif str(record).strip() and not str(record).startswith(("START ", "END ", "REPORT ")):
        say(f"{'':12} {function:<24} {str(record).strip()[:300]}")


def event_line(event: dict[str, Any]) -> None:
    detail = event.get("detail", {})
    error = detail.get("error") or {}
    say(
        f"EVENT {event.get('detail-type')} job={detail.get('job_id')} status={detail.get('status')}"
        + (f" error={error.get('code')}" if error else "")
    )


def banner(outputs: dict[str, str], token_file: Path, access_key: str, secret_key: str, events_file: Path) -> list[str]:
    """Everything needed for the three ways in, as lines to copy and paste."""
    endpoint, bucket, bus = outputs["AwsEndpointUrl"], outputs["BucketName"], outputs["EventBusName"]
    api = outputs["ApiUrl"]
    aws = f"aws --endpoint-url {endpoint}"
    keys = {
        "target": {"bucket": bucket, "key": f"inbox/{DROP_ZONE_NAME}/target.jpg"},
        "template": {"bucket": bucket, "key": f"inbox/{DROP_ZONE_NAME}/template.jpg"},
    }
    request = {**keys, "idempotency_key": "cli-request-1", "client_reference": "aws-cli"}
    entries = [
        {"EventBusName": bus, "Source": "local.cli", "DetailType": "FaceSwap Requested", "Detail": json.dumps(request)}
    ]
    return [
        "== HTTP API ==",
        f"  API URL        {api}/v1   (bearer token or SigV4; a rejected token gets 401)",
        f"  export FACESWAP_API={api} FACESWAP_TOKEN=$(cat {token_file})",
        "  faceswap swap TARGET.jpg TEMPLATE.jpg -o out/result.jpg",
        f'  curl -H "Authorization: Bearer $FACESWAP_TOKEN" {api}/v1/swaps/<job_id>',
        f"  Playground     {api}/   (open it in a browser: pick two photos, get the swap)",
        "== AWS endpoint (S3, EventBridge, ...) ==",
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={outputs['Region']}",
        f"  export AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_key}",
        f"  Bucket {bucket}   Event bus {bus}",
        "== S3 drop zone: a pair under inbox/<name>/ becomes a job ==",
        f"  {aws} s3 cp TARGET.jpg s3://{bucket}/{keys['target']['key']}",
        f"  {aws} s3 cp TEMPLATE.jpg s3://{bucket}/{keys['template']['key']}",
        "== EventBridge: FaceSwap Requested (photos already in the bucket) ==",
        f"  {aws} events put-events --entries {shlex.quote(json.dumps(entries))}",
        "== Events (FaceSwap Succeeded / Failed) ==",
        f'  curl -H "Authorization: Bearer $FACESWAP_TOKEN" "{api}/local/events?after=0"',
        f"  tail -f {events_file}   (and EVENT lines below)",
    ]


def _check_free(host: str, port: int, what: str) -> None:
    if port == 0:
        return

    def probe() -> socket.socket:
        sock = socket.socket()
        sock.bind((host, port))
        return sock

    bind(host, port, what, probe).close()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="faceswap-local serve", description=__doc__)
    parser.add_argument("--port", type=int, default=_env_int("FACESWAP_API_PORT", DEFAULT_API_PORT))
    parser.add_argument("--aws-port", type=int, default=_env_int("FACESWAP_AWS_PORT", DEFAULT_AWS_PORT))
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("FACESWAP_LOCAL_DIR", REPO / "out/local"))
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies workflow waits (1.0 = real time)")
    parser.add_argument("--processing-seconds", type=float, default=3.0, help="emulated provider processing time")
    parser.add_argument("--events-file", type=Path, help="default: <state-dir>/events.jsonl")
    parser.add_argument("--token-file", type=Path, help="default: <state-dir>/token.txt")
    parser.add_argument("--webhook-secret-file", type=Path,
                        help="the webhook signing secret; default: <state-dir>/webhook-secret.txt")  # fmt: skip
    parser.add_argument("--provider-url", default=os.environ.get("FACESWAP_PROVIDER_URL"),
                        help="an AILabTools-compatible service instead of the built-in emulator")  # fmt: skip
    parser.add_argument("--provider-key", default=os.environ.get("FACESWAP_PROVIDER_KEY"))
    parser.add_argument("--cors-origin", action="append", default=[],
                        help="a browser origin allowed to call the API and the bucket (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)

    state = LocalState(args.state_dir)
    token_file = args.token_file or state.token_file
    events_file = args.events_file or state.events_file
    try:
        _check_free("127.0.0.1", args.port, "HTTP API")
        _check_free("127.0.0.1", args.aws_port, "local AWS endpoint")
    except PortInUseError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    auth = state.auth()
    own_origins = [f"http://127.0.0.1:{args.port}", f"http://localhost:{args.port}"] if args.port else []
    options = StackOptions(
        time_scale=args.time_scale,
        gateway_port=args.port,
        aws_port=args.aws_port,
        emulator=EmulatorConfig(queued_seconds=0.5, processing_seconds=args.processing_seconds),
        log_sink=log_line,
        events_file=events_file,
        on_event=event_line,
        provider_url=args.provider_url,
        provider_key=args.provider_key,
        cors_origins=[*own_origins, *args.cors_origin],  # the playground posts uploads to the bucket
        unauthorized_hint=f"the current local token is in {token_file}",
        webhook_secret=state.webhook_secret(args.webhook_secret_file),
    )
    stack = OfflineStack(options, auth=auth)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        stack.start()
    except PortInUseError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    try:
        stack.token = state.token(auth, token_file)
        access_key, secret_key = state.iam_user(auth)
        outputs = stack.outputs()
        state.write_outputs(outputs)
        for line in banner(outputs, token_file, access_key, secret_key, events_file):
            say(line)
        say(f"SigV4 user      AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_key}")
        provider = args.provider_url or f"{stack.emulator.base_url} (built-in emulator, offline engine)"
        say(f"Provider        {provider};  outputs in {state.outputs_file}")
        secret_file = args.webhook_secret_file or state.webhook_secret_file
        say(f"Webhooks        signing secret in {secret_file} (verify deliveries with it)")
        say("Ready. Ctrl-C stops.")
        stopping.wait()
    finally:
        say("Stopping ...")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
