"""Fixtures for the template checks: the SAM template, its CloudFormation translation, and the command-line tools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.infra.sam_translate import load_sam_template, translate

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "face_swap.asl.json"

FUNCTION_DIRS = {
    "ApiFunction": "api",
    "UploadTriggerFunction": "upload_trigger",
    "RequestListenerFunction": "request_listener",
    "ValidateFunction": "validate",
    "SubmitFunction": "submit",
    "QueryFunction": "query",
    "ArchiveFunction": "archive",
    "RecordFailureFunction": "record_failure",
    "InboxPairCheckFunction": "inbox_pair_check",
    "WebhookFunction": "webhook",
}


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_sam_template(TEMPLATE)


@pytest.fixture
def cfn() -> dict[str, Any]:
    """A fresh copy per test (the translation itself is cached), so a test may modify it."""
    return translate(TEMPLATE)


@pytest.fixture(scope="session")
def cfn_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfn") / "template.json"
    path.write_text(json.dumps(translate(TEMPLATE), indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def asl() -> dict[str, Any]:
    return json.loads(ASL.read_text(encoding="utf-8"))


def tool(venv: str, executable: str) -> Path:
    """A command-line tool installed by `make tools` under $FACESWAP_TOOLS (default <repo>/.venv-tools).

    Missing: skipped on a developer machine, a failure in CI (env CI set), so CI never silently drops the check.
    """
    root = Path(os.environ.get("FACESWAP_TOOLS") or REPO / ".venv-tools")
    path = root / venv / "bin" / executable
    if not path.exists():
        message = f"{path} is missing: run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
