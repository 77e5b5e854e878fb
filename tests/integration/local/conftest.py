from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faceswap_local.aws import LocalCloud

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "template.yaml"


@pytest.fixture(scope="module")
def cloud_logs() -> list[tuple[str, object]]:
    return []


@pytest.fixture(scope="module")
def cloud(cloud_logs: list[tuple[str, object]]) -> Iterator[LocalCloud]:
    local = LocalCloud(
        FIXTURE_TEMPLATE,
        env_overrides={"LOCAL_EXTRA": "on"},
        secret_values={"ProviderApiKeySecret": "key-123"},
        log_sink=lambda function, record: cloud_logs.append((function, record)),
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()
