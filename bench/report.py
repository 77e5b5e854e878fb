"""Where every benchmark's table goes: printed, and written to bench/results/<name>.md (kept in the repo)."""

from __future__ import annotations

from pathlib import Path


def publish(path: Path, lines: list[str]) -> str:
    text = "\n".join(lines).rstrip("\n") + "\n"
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
