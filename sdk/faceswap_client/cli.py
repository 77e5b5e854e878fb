"""`faceswap`: swap faces through the face-swap service API from the command line (built on `faceswap_client`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from faceswap_client import commands, smoke, verification
from faceswap_client.commandline import Console, Context, Subparsers, connection_options, exit_code_for
from faceswap_client.errors import CliError, FaceSwapError
from faceswap_client.exit_codes import EXIT_CODE_HELP

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

Register = Callable[[Subparsers, argparse.ArgumentParser], None]

# Every subcommand, in the order `faceswap --help` lists them. Each entry adds its parser with
# `commandline.add_command(sub, name, help, handler, parents)`; its handler(args, context) returns the exit code.
# A new subcommand module adds its register function here and nowhere else.
SUBCOMMANDS: tuple[Register, ...] = (
    commands.register_swap,
    commands.register_status,
    commands.register_list,
    commands.register_download,
    commands.register_delete,
    commands.register_events,
    smoke.register,
    verification.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceswap", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = connection_options()
    for register in SUBCOMMANDS:
        register(sub, connection)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(out=sys.stdout, err=sys.stderr, as_json=bool(getattr(args, "json", False)))
    context = Context(args, console)
    try:
        return int(args.handler(args, context))
    except CliError as exc:
        console.note(exc.message)
        return int(exc.exit_code)
    except FaceSwapError as exc:
        console.note(exc.message)
        return int(exit_code_for(exc))
    except KeyboardInterrupt:
        console.note("interrupted")
        return 130
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(main())
