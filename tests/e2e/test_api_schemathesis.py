"""Fuzz the HTTP API from its OpenAPI description with schemathesis, against the local stack's HTTP gateway (the same
OfflineStack that `make serve` runs), authenticated as a local JWT caller.

Every generated request, valid or deliberately invalid, must get a documented status (never a 5xx), a JSON body that
matches the documented schema, and the documented headers; requests without credentials must be refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
import yaml
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.stack import REPO, OfflineStack, StackOptions
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

# Schema-valid requests may still be refused for business rules the schema cannot express (the test asserts which
# codes below): 422 for an Idempotency-Key used with another body or a webhook URL whose host is a private address,
# 400 for a well-formed cursor that was not issued to this caller. 5xx is never acceptable.
# Undeclared methods: the template routes GET/POST/PUT/PATCH/DELETE/HEAD of unknown paths and methods to the
# function (405 METHOD_NOT_ALLOWED, tested in test_hostile_inputs.py); TRACE, CONNECT and OPTIONS match no route, so
# API Gateway itself answers them (404, or its CORS preflight answer), as the local gateway does. Schemathesis's
# unsupported-method check expects 405 for all of them, which is not what the deployed API does.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]},
            "unsupported_method": {"enabled": False},
        }
    }
)
BUSINESS_RULE_CODES = {400: {"INVALID_CURSOR"}, 422: {"IDEMPOTENCY_KEY_REUSED", "INVALID_WEBHOOK_URL"}}


def load_openapi() -> dict[str, Any]:
    return yaml.safe_load((REPO / "openapi.yaml").read_text())


SCHEMA = schemathesis.openapi.from_dict(load_openapi(), config=CONFIG)
MAX_EXAMPLES = 60


@dataclass(frozen=True)
class LiveApi:
    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def live_api() -> Iterator[LiveApi]:
    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.1),
        # Thousands of generated creates from one caller: the per-caller limits have their own tests.
        parameter_overrides={"MaxActiveJobsPerCaller": "100000", "MaxJobsPerCallerPerDay": "100000"},
    )
    with OfflineStack(options) as stack:
        yield LiveApi(stack.api_url, {"Authorization": f"Bearer {stack.auth.mint('fuzzer', ttl=3600)}"})


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_openapi(case: schemathesis.Case, live_api: LiveApi):
    response = case.call_and_validate(base_url=live_api.url, headers=live_api.headers)
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code in BUSINESS_RULE_CODES:
        error = response.json()["error"]
        if error["code"] == "VALIDATION_ERROR":  # "printable" (no control, format or unassigned characters) is
            assert "printable characters" in error["message"]  # a rule JSON Schema's regexes cannot state
        else:
            assert error["code"] in BUSINESS_RULE_CODES[response.status_code]
