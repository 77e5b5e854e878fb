"""The minimal second provider passes the same contract (tests/unit/test_workflow_steps.py runs a job on it)."""

from __future__ import annotations

import pytest

from tests.unit.provider.contract import ProviderContract, Scenario
from tests.unit.provider.memory_provider import MemoryProvider, MemorySwapService


class MemoryHarness:
    secret = "memory-key"

    def __init__(self) -> None:
        self.service = MemorySwapService(keys={self.secret})
        self.key = self.secret

    def provider(self) -> MemoryProvider:
        return MemoryProvider(self.service, self.key)

    def arrange(self, scenario: Scenario) -> None:
        service = self.service
        service.refuse_submit = {
            Scenario.FACE_REJECTED: "no_face",
            Scenario.RATE_LIMITED: "busy",
            Scenario.LOST_AFTER_SEND: "lost",
        }.get(scenario)
        service.fail_tasks = scenario in (Scenario.TASK_FAILED,)
        service.fail_queries = scenario is Scenario.QUERY_UNAVAILABLE
        if scenario is Scenario.CREDENTIALS_REJECTED:
            self.key = "revoked"


@pytest.fixture
def harness() -> MemoryHarness:
    return MemoryHarness()


class TestMemoryProviderContract(ProviderContract):
    pass
