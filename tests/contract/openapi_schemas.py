"""Validators for the schemas of openapi.yaml (JSON Schema 2020-12, as OpenAPI 3.1 defines them)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:faceswap:openapi"


@cache
def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def _anchor_refs(node: Any) -> Any:
    """`#/components/...` refs are relative to the spec document; make them absolute so the registry resolves them."""
    if isinstance(node, dict):
        return {k: (SPEC_URI + v if k == "$ref" and v.startswith("#") else _anchor_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_anchor_refs(item) for item in node]
    return node


def schema_validator(schema: dict[str, Any], spec: dict[str, Any] | None = None) -> Draft202012Validator:
    spec = spec if spec is not None else load_spec()
    registry = Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [_anchor_refs(schema)]}
    return Draft202012Validator(wrapped, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def component_validator(name: str) -> Draft202012Validator:
    return schema_validator({"$ref": f"#/components/schemas/{name}"})
