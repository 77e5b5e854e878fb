"""Request bodies checked against the schemas of openapi.yaml (exported to api_schemas.json), compiled once per
cold start with fastjsonschema (pure Python, a few milliseconds; pydantic would cost ~70 ms on every cold start).

A body that breaks its schema is a 422 `VALIDATION_ERROR` naming the field, unless the schema that failed names
another code for a value of the right type (`x-faceswap-error-code`, e.g. `UNSUPPORTED_MEDIA_TYPE` for a content type
outside its `enum`, `INVALID_WEBHOOK_URL` for a webhook URL of the wrong length).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

from faceswap.domain.errors import ApiError

_SCHEMAS: dict[str, Any] = json.loads((Path(__file__).parent.parent / "api_schemas.json").read_text(encoding="utf-8"))[
    "schemas"
]
# use_default=False: a validator reports, it does not fill in defaults (the request dataclasses hold those).
_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    name: fastjsonschema.compile(schema, use_default=False) for name, schema in _SCHEMAS.items()
}


def validate(schema_name: str, body: Any) -> None:
    """Raise ApiError unless `body` satisfies components.schemas[schema_name] of openapi.yaml."""
    try:
        _VALIDATORS[schema_name](body)
    except fastjsonschema.JsonSchemaValueException as error:
        raise _api_error(schema_name, error) from None


def _api_error(schema_name: str, error: fastjsonschema.JsonSchemaValueException) -> ApiError:
    definition = error.definition if isinstance(error.definition, dict) else {}
    field = (error.name or "").removeprefix("data").lstrip(".") or "body"
    if error.rule == "additionalProperties":
        allowed = set(_SCHEMAS[schema_name].get("properties", {}))
        unknown = sorted(set(error.value or {}) - allowed) if isinstance(error.value, dict) else []
        return ApiError("VALIDATION_ERROR", f"Unknown field(s): {', '.join(unknown)[:200]}.")
    # A value of the wrong JSON type is a malformed request whatever the field; the field's own code is for a value of
    # the right type that it refuses (a content type outside its enum, a webhook URL of the wrong length).
    code = (
        "VALIDATION_ERROR" if error.rule == "type" else str(definition.get("x-faceswap-error-code", "VALIDATION_ERROR"))
    )
    if error.rule == "enum":
        allowed_values = " or ".join(str(value) for value in definition.get("enum", []))
        return ApiError(code, f"{field} must be {allowed_values}.")
    return ApiError(code, f"{field}: {_describe(error.rule, definition)}.")


def _describe(rule: str | None, definition: dict[str, Any]) -> str:
    if rule in ("minLength", "maxLength") or definition.get("type") == "string":
        low, high = definition.get("minLength"), definition.get("maxLength")
        if low is not None and high is not None:
            return f"must be a string of {low} to {high} characters"
    if rule == "type":
        return f"must be of type {definition.get('type')}"
    return f"breaks the schema's {rule} rule"
