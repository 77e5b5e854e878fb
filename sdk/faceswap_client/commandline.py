"""What every `faceswap` subcommand shares: the console, the connection options, the lazily built `Client`, and the
mapping from SDK errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from faceswap_client.client import AWS_CREDENTIAL_CHAIN, Client
from faceswap_client.errors import (
    ApiError,
    ChecksumMismatch,
    CliError,
    CredentialsError,
    FaceSwapError,
    InvalidImage,
    JobFailed,
    NetworkError,
    ResultNotReady,
    StorageError,
    WaitTimeout,
)
from faceswap_client.exit_codes import EXIT_CODE_HELP, ExitCode, exit_code_for_status

DEFAULT_API = "http://127.0.0.1:3000"
Subparsers = Any  # argparse's _SubParsersAction is private; its add_parser is all a subcommand needs
Handler = Callable[[argparse.Namespace, "Context"], int]


@dataclass
class Console:
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    as_json: bool = False

    def note(self, message: str) -> None:
        self.err.write(f"faceswap: {message}\n")
        self.err.flush()


@dataclass
class Context:
    """What a subcommand's handler gets besides its arguments. `client` is built on first use, so commands that
    never call the API (or fail a local check first) need no credentials."""

    args: argparse.Namespace
    console: Console
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = build_client(self.args)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def build_client(args: argparse.Namespace) -> Client:
    """The `Client` for the connection options (auto: a token means bearer, otherwise SigV4)."""
    auth: str | None
    if args.auth == "none":
        auth = None
    elif args.auth == "bearer" or (args.auth == "auto" and args.token):
        if not args.token:
            raise CliError(ExitCode.USAGE, "--auth bearer needs --token or FACESWAP_TOKEN")
        auth = args.token
    else:
        auth = AWS_CREDENTIAL_CHAIN
    return Client(args.api, auth, timeout=args.request_timeout, region=args.region, profile=args.profile)


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def connection_options() -> argparse.ArgumentParser:
    """The options of every command that talks to the API (a parent parser)."""
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


def add_command(
    sub: Subparsers, name: str, help_text: str, handler: Handler, parents: list[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    """A subcommand parser with the shared epilog; `handler(args, context)` runs it and returns the exit code."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        parents=parents,
        help=help_text,
        epilog=EXIT_CODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def exit_code_for(error: FaceSwapError) -> ExitCode:
    """The documented exit code of an SDK error (docs/cli.md "Exit codes")."""
    if isinstance(error, ApiError):
        return exit_code_for_status(error.http_status)
    if isinstance(error, StorageError):
        # An S3 refusal (expired or exceeded form) is a rejected request, not the caller's credentials.
        return ExitCode.SERVICE if error.http_status >= 500 else ExitCode.REJECTED
    if isinstance(error, InvalidImage):
        return ExitCode.USAGE
    if isinstance(error, CredentialsError):
        return ExitCode.AUTH
    if isinstance(error, WaitTimeout):
        return ExitCode.TIMED_OUT
    if isinstance(error, JobFailed):
        return ExitCode.JOB_FAILED
    if isinstance(error, ResultNotReady):
        return ExitCode.REJECTED
    if isinstance(error, NetworkError | ChecksumMismatch):
        return ExitCode.SERVICE
    return ExitCode.SERVICE
