"""The provider contract as a reusable test suite: what every face-swap adapter must do for the workflow to work.

To check an adapter, subclass `ProviderContract` in a test module and give it a `harness` fixture: an object that
builds the adapter (`provider()`) and puts the service behind it into a `Scenario` (`arrange(scenario)`), by mocking
its HTTP API, starting an emulator, or whatever reaches that service without the network. `secret` is a credential
the adapter uses; no error may carry it. See tests/unit/provider/test_ailabtools_contract.py (HTTP mocked) and
tests/unit/provider/test_memory_contract.py (the minimal adapter that proves the seam).
"""

from __future__ import annotations

import enum
import io
import re
from typing import Protocol

import pytest
from faceswap.domain.errors import JOB_ERROR_CODES, TransientError
from faceswap.provider import (
    TASK_STATES,
    Capabilities,
    FaceSwapProvider,
    Photo,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
)
from PIL import Image

MAX_POLLS = 10  # an accepted task in the ACCEPTED scenario must succeed within this many queries


class Scenario(enum.Enum):
    ACCEPTED = "accepted"  # submit is accepted; the task succeeds after at least one earlier state
    FACE_REJECTED = "face_rejected"  # submit is refused: no face in the target photo
    RATE_LIMITED = "rate_limited"  # submit is refused for now (too many requests)
    LOST_AFTER_SEND = "lost_after_send"  # submit was sent, then no answer arrived (read timeout, reset)
    TASK_FAILED = "task_failed"  # submit is accepted, then the provider fails the task
    # In the two below submit is accepted; only queries fail.
    TASK_UNKNOWN = "task_unknown"  # the provider does not know the task id asked about
    QUERY_UNAVAILABLE = "query_unavailable"  # the provider is down while a task is asked about
    CREDENTIALS_REJECTED = "credentials_rejected"  # the provider refuses our credential


class ProviderHarness(Protocol):
    secret: str

    def provider(self) -> FaceSwapProvider: ...

    def arrange(self, scenario: Scenario) -> None: ...


def photo(role: str, fmt: str = "JPEG") -> Photo:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (180, 120, 90)).save(buffer, fmt)
    return Photo.from_bytes(role, buffer.getvalue())


def _submit(harness: ProviderHarness) -> str:
    return harness.provider().submit(photo("target"), photo("template", "PNG")).task_id


def _assert_secret_free(error: BaseException, harness: ProviderHarness) -> None:
    for text in (str(error), repr(error), getattr(error, "message", "")):
        assert harness.secret not in text


class ProviderContract:
    """Every test here must pass for every adapter."""

    def test_names_itself_and_says_what_it_can_do(self, harness: ProviderHarness) -> None:
        provider = harness.provider()
        assert re.fullmatch(r"[a-z][a-z0-9_-]{1,31}", provider.name), provider.name
        capabilities = provider.capabilities
        assert isinstance(capabilities, Capabilities)
        assert capabilities.max_image_bytes > 0
        assert {"image/jpeg", "image/png"} <= capabilities.content_types

    def test_an_accepted_swap_is_polled_to_a_result_url(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.ACCEPTED)
        task_id = _submit(harness)
        assert isinstance(task_id, str) and task_id.strip()
        seen = []
        for _ in range(MAX_POLLS):
            result = harness.provider().query(task_id)
            assert result.state in TASK_STATES
            seen.append(result.state)
            if result.state == "succeeded":
                break
            assert result.result_url is None
        assert seen[-1] == "succeeded", seen
        assert len(seen) >= 2, "the scenario must show a task before it is done"
        assert re.match(r"https?://", result.result_url or "")

    def test_a_rejected_face_fails_the_job_with_its_code(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.FACE_REJECTED)
        with pytest.raises(ProviderPermanentError) as caught:
            _submit(harness)
        assert caught.value.job_error_code == "FACE_NOT_FOUND"
        _assert_secret_free(caught.value, harness)

    def test_a_rate_limit_is_transient(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.RATE_LIMITED)
        with pytest.raises(ProviderTransientError) as caught:
            _submit(harness)
        # The state machine retries by these class names.
        assert isinstance(caught.value, TransientError)
        assert caught.value.job_error_code == "PROVIDER_UNAVAILABLE"

    def test_a_submit_without_an_answer_is_never_repeated(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.LOST_AFTER_SEND)
        with pytest.raises(ProviderOutcomeUnknown) as caught:
            _submit(harness)
        assert not isinstance(caught.value, TransientError)
        assert caught.value.job_error_code == "PROVIDER_OUTCOME_UNKNOWN"

    def test_a_failed_task_is_permanent(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.TASK_FAILED)
        task_id = _submit(harness)
        with pytest.raises(ProviderPermanentError) as caught:
            for _ in range(MAX_POLLS):
                harness.provider().query(task_id)
        assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"

    def test_an_unknown_task_is_permanent(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.TASK_UNKNOWN)
        with pytest.raises(ProviderPermanentError) as caught:
            harness.provider().query("no-such-task")
        assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"

    def test_an_unavailable_provider_is_transient_while_polling(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.QUERY_UNAVAILABLE)
        with pytest.raises(ProviderTransientError):
            harness.provider().query("task-1")

    def test_rejected_credentials_fail_the_job_and_stay_secret(self, harness: ProviderHarness) -> None:
        harness.arrange(Scenario.CREDENTIALS_REJECTED)
        with pytest.raises(ProviderPermanentError) as caught:
            _submit(harness)
        assert caught.value.job_error_code == "PROVIDER_AUTH_FAILED"
        _assert_secret_free(caught.value, harness)

    @pytest.mark.parametrize("scenario", [s for s in Scenario if s is not Scenario.ACCEPTED])
    def test_every_failure_is_one_of_the_three_classes_with_a_known_job_code(
        self, harness: ProviderHarness, scenario: Scenario
    ) -> None:
        harness.arrange(scenario)
        with pytest.raises(ProviderError) as caught:
            task_id = _submit(harness)
            if scenario is Scenario.TASK_UNKNOWN:
                task_id = "no-such-task"
            for _ in range(MAX_POLLS):
                harness.provider().query(task_id)
        assert isinstance(caught.value, ProviderTransientError | ProviderPermanentError | ProviderOutcomeUnknown)
        assert caught.value.job_error_code in JOB_ERROR_CODES
        _assert_secret_free(caught.value, harness)
