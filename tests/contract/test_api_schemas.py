"""The API validates request bodies with openapi.yaml's own schemas: the exported copy the layer ships is current,
and the compiled validator accepts exactly what the reference JSON Schema validator accepts."""

from __future__ import annotations

import pytest
from faceswap.domain.errors import ApiError
from faceswap.usecases import request_validation

from scripts.export_api_schemas import TARGET, render
from tests.contract.openapi_schemas import component_validator, load_spec

BODIES = [
    {},
    {"client_reference": "order-42"},
    {"client_reference": "x" * 128},
    {"client_reference": "x" * 129},
    {"client_reference": ""},
    {"client_reference": 5},
    {"client_reference": None},
    {"target_content_type": "image/png", "template_content_type": "image/jpeg"},
    {"target_content_type": "image/gif"},
    {"template_content_type": ["image/png"]},
    {"surprise": True},
    {"__proto__": {"admin": True}},
    {"status": "succeeded", "job_id": "0"},
]


def test_the_exported_request_schemas_match_openapi_yaml():
    assert TARGET.read_text(encoding="utf-8") == render(load_spec()), "run: python scripts/export_api_schemas.py"


@pytest.mark.parametrize("body", BODIES, ids=[str(body)[:40] for body in BODIES])
def test_the_api_accepts_exactly_what_the_schema_accepts(body):
    expected_valid = component_validator("CreateSwapRequest").is_valid(body)
    try:
        request_validation.validate("CreateSwapRequest", body)
        accepted = True
    except ApiError as error:
        accepted = False
        assert error.code in ("VALIDATION_ERROR", "UNSUPPORTED_MEDIA_TYPE")
        assert error.message and len(error.message) < 300
    assert accepted == expected_valid


def test_a_value_outside_an_enum_gets_the_code_the_schema_names():
    with pytest.raises(ApiError) as caught:
        request_validation.validate("CreateSwapRequest", {"target_content_type": "image/gif"})
    assert (caught.value.code, caught.value.message) == (
        "UNSUPPORTED_MEDIA_TYPE",
        "target_content_type must be image/jpeg or image/png.",
    )
