"""`python -m faceswap_local <demo|serve|emulator|soak>`: the offline stack's commands."""

from __future__ import annotations

import sys

COMMANDS = ("demo", "serve", "emulator", "soak")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in COMMANDS:
        print(f"usage: python -m faceswap_local {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    if command == "demo":
        from faceswap_local.demo import main as run
    elif command == "serve":
        from faceswap_local.serve import main as run
    elif command == "emulator":
        from faceswap_local.emulator.__main__ import main as emulator_main

        return int(emulator_main(rest) or 0)
    else:
        from faceswap_local.soak import main as run
    return int(run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
