"""openapi.yaml is a valid OpenAPI document, its examples match its schemas, and it agrees with the architecture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from tests.contract import openapi_schemas

ROOT = Path(__file__).resolve().parents[2]
JOB_ID = "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())


def schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return openapi_schemas.schema_validator(schema, spec)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def media_examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (label, schema, example value) of request bodies and responses of every operation."""
    for path, method, operation in operations(spec):
        bodies: list[tuple[str, dict[str, Any]]] = []
        if "requestBody" in operation:
            bodies.append(("request", resolve(spec, operation["requestBody"])))
        bodies += [(status, resolve(spec, response)) for status, response in operation["responses"].items()]
        for where, body in bodies:
            for media in body.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    label = f"{method.upper()} {path} {where} {name}"
                    yield label, media["schema"], resolve(spec, example)["value"]


def test_openapi_document_is_valid(spec: dict[str, Any]) -> None:
    validate_openapi(spec)


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    checked = 0
    for label, schema, value in media_examples(spec):
        errors = [e.message for e in schema_validator(spec, schema).iter_errors(value)]
        assert not errors, f"{label}: {errors}"
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize(
    ("schema_name", "bad_value"),
    [
        ("Job", {"job_id": JOB_ID, "status": "succeeded"}),
        ("CreateSwapRequest", {"target_content_type": "image/gif"}),
        ("CreateSwapRequest", {"unknown": 1}),
        ("CreateSwapRequest", {"client_reference": ""}),
        ("ErrorResponse", {"error": {"code": "NOT_A_CODE", "message": "x"}}),
        ("JobId", "0F4D5A3C9B2E4F60A1B2C3D4E5F60718"),
    ],
)
def test_schemas_reject_what_the_contract_forbids(spec: dict[str, Any], schema_name: str, bad_value: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    assert list(schema_validator(spec, schema).iter_errors(bad_value))


def test_every_operation_requires_auth_and_documents_the_error_statuses(spec: dict[str, Any]) -> None:
    assert spec["security"] == [{"sigv4": []}, {"bearerJwt": []}]
    documented: set[str] = set()
    for path, method, operation in operations(spec):
        assert operation.get("security", spec["security"]), f"{method} {path} is anonymous"
        statuses = set(operation["responses"])
        assert {"401", "403", "429", "500"} <= statuses, f"{method} {path}: {statuses}"
        documented |= statuses
    assert {"400", "401", "403", "404", "405", "409", "413", "415", "422", "429", "500"} <= documented


def test_error_codes_match_the_architecture_table(spec: dict[str, Any]) -> None:
    table = (ROOT / "docs" / "architecture.md").read_text().split("Job error codes")[0]
    architecture = {code: int(status) for status, code in re.findall(r"^\| (\d{3}) \| `([A-Z_]+)` \|", table, re.M)}
    assert architecture, "could not read the error table from docs/architecture.md"
    assert spec["x-faceswap-error-codes"]["codes"] == architecture
    assert set(spec["components"]["schemas"]["ErrorCode"]["enum"]) == set(architecture)


def test_job_error_codes_match_the_architecture_table(spec: dict[str, Any]) -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("Job error codes")[1].split("##")[0]
    architecture = re.findall(r"^\| `([A-Z_]+)` \|", section, re.M)
    assert architecture
    assert spec["components"]["schemas"]["JobErrorCode"]["enum"] == architecture


def test_routes_are_exactly_the_public_api(spec: dict[str, Any]) -> None:
    routes = {(method.upper(), path) for path, method, _ in operations(spec)}
    assert routes == {
        ("POST", "/v1/swaps"),
        ("GET", "/v1/swaps"),
        ("GET", "/v1/swaps/{job_id}"),
        ("POST", "/v1/swaps/{job_id}/webhook/redeliver"),
        ("DELETE", "/v1/swaps/{job_id}"),
        ("POST", "/v1/swaps/{job_id}/start"),
    }
    assert "/local/events" in spec["x-faceswap-local-routes"]


def test_idempotency_key_pattern_accepts_printable_ascii_only(spec: dict[str, Any]) -> None:
    schema = spec["components"]["parameters"]["IdempotencyKey"]["schema"]
    validator = schema_validator(spec, schema)
    assert validator.is_valid("order-4711~!")
    assert not validator.is_valid("order 4711")  # HTTP trims spaces at the edges of header values: none allowed
    assert validator.is_valid("k" * 255)
    assert not validator.is_valid("k" * 256)
    assert not validator.is_valid("")
    assert not validator.is_valid("tab\there")
    assert not validator.is_valid("café")
