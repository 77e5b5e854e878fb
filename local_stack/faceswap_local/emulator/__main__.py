"""`python -m faceswap_local.emulator --port 8080 [--api-key K ...] [--processing-seconds S] [--fault ...]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .config import DEFAULT_API_KEY, EmulatorConfig
from .faults import FAULTS_BY_ENDPOINT, FaultRule
from .server import EmulatorServer
from .swapper import engine_swapper, identity_swapper

_SWAPPERS = {"engine": engine_swapper, "identity": identity_swapper}


def build_parser() -> argparse.ArgumentParser:
    faults = "; ".join(f"{endpoint}: {', '.join(sorted(names))}" for endpoint, names in FAULTS_BY_ENDPOINT.items())
    parser = argparse.ArgumentParser(
        prog="ailab-emulator",
        description="An AILabTools AI Face Swap compatible server for local development and tests.",
        epilog=f"Faults ({faults}). Admin API: GET/POST/DELETE /__emulator/faults, GET /__emulator/stats, "
        "GET /__emulator/tasks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument(
        "--api-key", action="append", dest="api_keys", help=f"accepted key (repeatable; default {DEFAULT_API_KEY})"
    )
    parser.add_argument("--any-key", action="store_true", help="accept any non-empty key")
    parser.add_argument("--queued-seconds", type=float, default=0.5)
    parser.add_argument("--processing-seconds", type=float, default=2.0)
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies every emulated duration")
    parser.add_argument("--result-ttl-seconds", type=float, default=86400.0)
    parser.add_argument("--fault-timeout-seconds", type=float, default=30.0)
    parser.add_argument("--public-base-url", help="host used in result URLs (when behind a proxy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--swapper", choices=sorted(_SWAPPERS), default="engine")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ENDPOINT:FAULT[:k=v,...]",
        help="e.g. submit:http_429:times=2, query:task_failed:code=ERROR_FACE_COUNT_INVALID,probability=0.5",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rules = [FaultRule.parse(spec) for spec in args.fault]
        config = EmulatorConfig(
            host=args.host,
            port=args.port,
            api_keys=tuple(args.api_keys or (DEFAULT_API_KEY,)),
            accept_any_key=args.any_key,
            queued_seconds=args.queued_seconds,
            processing_seconds=args.processing_seconds,
            time_scale=args.time_scale,
            result_ttl_seconds=args.result_ttl_seconds,
            fault_timeout_seconds=args.fault_timeout_seconds,
            public_base_url=args.public_base_url,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = EmulatorServer(config, swapper=_SWAPPERS[args.swapper])
    server.faults.extend(rules)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    base_url = server.start()
    print(f"ailab-emulator listening on {base_url}", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
