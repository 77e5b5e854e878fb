"""The provider is chosen by configuration, from one list of names that the template, the event schemas and the
factory share; the workflow and the handlers reach providers only through the seam."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faceswap.provider import factory
from faceswap.provider.ailabtools import AilabClient
from samtranslator.yaml_helper import yaml_parse

from tests.unit.test_layering import imported_modules

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "layers" / "common" / "python" / "faceswap"


def test_template_schemas_and_factory_name_the_same_providers():
    template = yaml_parse((REPO / "template.yaml").read_text(encoding="utf-8"))
    parameter = template["Parameters"]["Provider"]
    assert set(parameter["AllowedValues"]) == set(factory.PROVIDERS)
    assert parameter["Default"] in factory.PROVIDERS
    for name in ("faceswap_succeeded", "faceswap_failed"):
        schema = json.loads((REPO / "events" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        provider_name = schema["properties"]["detail"]["properties"]["provider"]["properties"]["name"]
        assert set(provider_name["enum"]) == set(factory.PROVIDERS), name


def test_the_configured_provider_is_built(monkeypatch, fake_aws):
    import boto3

    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="key", SecretString="k")
    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_ARN", secret["ARN"])  # the factory reads the key before building
    monkeypatch.setenv("PROVIDER", "ailabtools")
    monkeypatch.setenv("PROVIDER_BASE_URL", "https://api.example.test")
    monkeypatch.setattr(factory, "api_key", lambda: "the-key")  # read from Secrets Manager in a deployment
    built = factory.provider()
    assert isinstance(built, AilabClient) and built.name == "ailabtools"
    assert built.base_url == "https://api.example.test"


def test_an_unknown_provider_is_a_clear_configuration_error(monkeypatch):
    monkeypatch.setenv("PROVIDER", "nobody")
    with pytest.raises(factory.UnknownProviderError, match="'nobody' is not one of \\['ailabtools'\\]"):
        factory.provider()


def test_only_the_factory_knows_an_adapter():
    files = [*PACKAGE.rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    outside = [p for p in files if "provider" not in p.relative_to(REPO).parts or p.name == "contract.py"]
    assert len(outside) > 20
    offenders = {
        str(path.relative_to(REPO)): sorted(name for name in imported_modules(path) if ".provider.ailabtools" in name)
        for path in outside
    }
    assert {path: names for path, names in offenders.items() if names} == {}
