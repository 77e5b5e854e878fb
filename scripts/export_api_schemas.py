"""Export the request-body schemas of openapi.yaml for the API function, which validates requests with them.

The layer ships neither openapi.yaml nor a YAML parser, so the schemas the API checks requests against are written to
`layers/common/python/faceswap/api_schemas.json`, their `$ref`s inlined. tests/contract/test_api_schemas.py fails
when that file and openapi.yaml disagree; run this script after changing a request schema:

    python scripts/export_api_schemas.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi.yaml"
TARGET = REPO / "layers" / "common" / "python" / "faceswap" / "api_schemas.json"
REQUEST_SCHEMAS = ("CreateSwapRequest",)  # components.schemas that describe request bodies
_REF_PREFIX = "#/components/schemas/"


def inline(node: Any, components: dict[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its target (sibling keywords such as `default` kept)."""
    if isinstance(node, list):
        return [inline(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    resolved = {key: inline(value, components) for key, value in node.items() if key != "$ref"}
    reference = node.get("$ref")
    if isinstance(reference, str):
        if not reference.startswith(_REF_PREFIX):
            raise ValueError(f"unsupported $ref {reference!r}")
        resolved = {**inline(components[reference.removeprefix(_REF_PREFIX)], components), **resolved}
    return resolved


def export(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec["components"]["schemas"]
    return {
        "$comment": "Generated from openapi.yaml by scripts/export_api_schemas.py; do not edit.",
        "schemas": {name: inline(components[name], components) for name in REQUEST_SCHEMAS},
    }


def render(spec: dict[str, Any]) -> str:
    return json.dumps(export(spec), indent=2, sort_keys=True) + "\n"


def main() -> int:
    TARGET.write_text(render(yaml.safe_load(SPEC.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
