"""The layer package's rooms import only downwards: usecases -> provider -> adapters (and config) -> domain.

So the domain stays pure (no AWS, no HTTP, no settings) and an adapter never reaches back into a use case."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "python" / "faceswap"
LEVEL = {"domain": 0, "adapters": 1, "config": 1, "provider": 2, "usecases": 3}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "faceswap" and parts[1] in LEVEL else None


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_room_imports_only_its_own_room_or_those_below():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        own = parts[0] if parts[0] in LEVEL else None
        if own is None:
            continue
        for module in imported_modules(path):
            other = room(module)
            if other is not None and LEVEL[other] > LEVEL[own]:
                offenders.append(f"{'/'.join(parts)} imports {module}")
    assert offenders == []


def test_the_domain_does_no_io():
    io_modules = {"boto3", "botocore", "requests", "urllib3", "socket", "faceswap.config"}
    offenders = [
        f"{path.name} imports {module}"
        for path in sorted((PACKAGE / "domain").glob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in io_modules or module in io_modules
    ]
    assert offenders == []
