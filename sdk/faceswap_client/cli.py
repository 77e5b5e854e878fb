"""`faceswap`: swap faces through the face-swap service API from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from faceswap_client import commands
from faceswap_client.api import FaceSwapApi
from faceswap_client.auth import build_auth
from faceswap_client.errors import CliError
from faceswap_client.exit_codes import EXIT_CODE_HELP
from faceswap_client.verify import add_verify_command, run_verify_command

DEFAULT_API = "http://127.0.0.1:3000"
DESCRIPTION = """\
Swap the face of a TEMPLATE photo onto a TARGET photo with the face-swap service, and manage jobs.
Works against the local stack (`make serve`) and a deployed stack."""
EPILOG = f"""\
authentication:
  --token / FACESWAP_TOKEN sends `Authorization: Bearer <token>` (JWT authorizer). Otherwise requests are
  signed with AWS SigV4 for service execute-api using your AWS credentials (environment, AWS_PROFILE/--profile,
  config files, instance role). --auth none sends no credentials (debugging).

{EXIT_CODE_HELP}
Results go to stdout as `key=value` pairs (or JSON with --json); progress and errors go to stderr.
See docs/cli.md."""


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument(
        "--api",
        default=os.environ.get("FACESWAP_API", DEFAULT_API),
        help="API base URL (env FACESWAP_API, default %(default)s)",
    )
    group.add_argument(
        "--token",
        default=os.environ.get("FACESWAP_TOKEN"),
        help="bearer token for a JWT authorizer (env FACESWAP_TOKEN)",
    )
    group.add_argument(
        "--auth",
        choices=("auto", "bearer", "sigv4", "none"),
        default="auto",
        help="auto: bearer if a token is given, else SigV4 (default)",
    )
    group.add_argument("--region", help="SigV4 region (default: from the execute-api host, else AWS_REGION)")
    group.add_argument("--profile", help="AWS profile for SigV4 credentials")
    group.add_argument(
        "--request-timeout",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="timeout of each HTTP request in seconds (default %(default)s)",
    )
    group.add_argument("--json", action="store_true", help="print results as JSON")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceswap", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = connection_options()

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[common],
            help=help_text,
            epilog=EXIT_CODE_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    swap = command("swap", "swap faces: create, upload, start, wait, download")
    swap.add_argument("target", type=Path, help="photo whose face is replaced (JPEG or PNG, at most 5 MiB)")
    swap.add_argument("template", type=Path, help="photo that gives the face (JPEG or PNG, at most 5 MiB)")
    swap.add_argument("-o", "--output", type=Path, required=True, help="where to write the result")
    swap.add_argument("--no-wait", dest="wait", action="store_false", help="start the job and exit without waiting")
    swap.add_argument(
        "--timeout",
        type=positive_float,
        default=600.0,
        metavar="S",
        help="give up waiting after S seconds (exit 6; default %(default)s)",
    )
    swap.add_argument(
        "--poll-interval",
        type=positive_float,
        default=2.0,
        metavar="S",
        help="seconds between status checks (default %(default)s)",
    )
    swap.add_argument("--client-reference", help="your own reference, echoed on the job and its events")
    swap.add_argument("--idempotency-key", help="repeat a request safely: the same key returns the same job")
    swap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    status = command("status", "show a job")
    status.add_argument("job_id")
    delete = command("delete", "delete a job's images and result")
    delete.add_argument("job_id")

    events = command("events", "print emitted events (local stack only)")
    events.add_argument("-f", "--follow", action="store_true", help="keep waiting for new events")
    events.add_argument("--after", type=int, default=0, metavar="SEQ", help="only events after this sequence number")
    events.add_argument("--job", dest="job_id", help="only the events of this job")
    events.add_argument("--count", type=int, metavar="N", help="exit after printing N events")
    events.add_argument(
        "--poll-interval",
        type=positive_float,
        default=1.0,
        metavar="S",
        help="seconds between polls with --follow (default %(default)s)",
    )
    add_verify_command(sub)
    return parser


def run(args: argparse.Namespace, console: commands.Console) -> int:
    auth = build_auth(args.auth, api_url=args.api, token=args.token, region=args.region, profile=args.profile)
    api = FaceSwapApi(args.api, auth, timeout=args.request_timeout)
    if args.command == "swap":
        options = commands.SwapOptions(
            target=args.target,
            template=args.template,
            output=args.output,
            wait=args.wait,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            client_reference=args.client_reference,
            idempotency_key=args.idempotency_key,
            quiet=args.quiet,
        )
        return commands.swap(api, options, console)
    if args.command == "status":
        return commands.status(api, args.job_id, console)
    if args.command == "delete":
        return commands.delete(api, args.job_id, console)
    options_events = commands.EventsOptions(
        follow=args.follow, after=args.after, job_id=args.job_id, count=args.count, poll_interval=args.poll_interval
    )
    return commands.events(api, options_events, console)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "verify":
        return run_verify_command(args, sys.stdout, sys.stderr)
    console = commands.Console(out=sys.stdout, err=sys.stderr, as_json=args.json)
    try:
        return int(run(args, console))
    except CliError as exc:
        console.note(exc.message)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console.note("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
