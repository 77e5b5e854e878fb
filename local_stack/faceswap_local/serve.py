"""`make serve`: the local stack until stopped (Ctrl-C or SIGTERM), with one log line per function log record."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from faceswap_local.emulator import EmulatorConfig
from faceswap_local.stack import REPO, OfflineStack, StackOptions, new_webhook_secret

_print_lock = threading.Lock()


def say(line: str) -> None:
    # The real stdout: on a function's thread sys.stdout is the log capture, which would call back into say().
    with _print_lock:
        print(line, file=sys.__stdout__, flush=True)


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
    elif str(record).strip():
        say(f"{'':12} {function:<24} {str(record).strip()[:300]}")


def event_line(event: dict[str, Any]) -> None:
    detail = event.get("detail", {})
    error = detail.get("error") or {}
    say(
        f"EVENT {event.get('detail-type')} job={detail.get('job_id')} status={detail.get('status')}"
        + (f" error={error.get('code')}" if error else "")
    )


def load_or_create_webhook_secret(path: Path) -> str:
    """The local signing secret: the same across runs, so a receiver started from the docs keeps verifying."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = new_webhook_secret()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="faceswap-local serve", description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies workflow waits (1.0 = real time)")
    parser.add_argument("--processing-seconds", type=float, default=3.0, help="emulated provider processing time")
    parser.add_argument("--events-file", type=Path, default=REPO / "out" / "events.jsonl")
    parser.add_argument("--token-file", type=Path, default=REPO / "out" / "local-token.txt")
    parser.add_argument(
        "--webhook-secret-file",
        type=Path,
        default=REPO / "out" / "local" / "webhook-secret.txt",
        help="the webhook signing secret (whsec_...): kept across runs, created when missing",
    )
    args = parser.parse_args(argv)

    webhook_secret = load_or_create_webhook_secret(args.webhook_secret_file)
    options = StackOptions(
        webhook_secret=webhook_secret,
        time_scale=args.time_scale,
        gateway_port=args.port,
        emulator=EmulatorConfig(queued_seconds=0.5, processing_seconds=args.processing_seconds),
        log_sink=log_line,
        events_file=args.events_file,
        on_event=event_line,
    )
    stack = OfflineStack(options)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stack.start()
    try:
        token = stack.auth.mint("local-user", ttl=7 * 24 * 3600)
        access_key, secret_key = stack.auth.add_iam_user("local-iam-user")
        args.token_file.parent.mkdir(parents=True, exist_ok=True)
        args.token_file.write_text(token + "\n")
        say(f"HTTP API        {stack.api_url}/v1  (JWT or SigV4; requests without credentials get 401)")
        say(f"S3 endpoint     {stack.cloud.endpoint_url}  (presigned upload forms point here)")
        say(f"Emulator        {stack.emulator.base_url}  (AILabTools-compatible, offline engine)")
        say(f"Events          GET {stack.api_url}/local/events?after=0, and {args.events_file}")
        say(f"Bearer token    written to {args.token_file}:  export FACESWAP_TOKEN=$(cat {args.token_file})")
        say(f"SigV4 user      AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_key}")
        say(f"Webhooks        signing secret in {args.webhook_secret_file} (verify deliveries with it)")
        say(f"Try:            faceswap swap TARGET TEMPLATE -o out/result.jpg --api {stack.api_url}")
        say("Ready. Ctrl-C stops.")
        stopping.wait()
    finally:
        say("Stopping ...")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
