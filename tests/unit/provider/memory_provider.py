"""A second, minimal face-swap provider: a service kept in memory and its adapter. It exists to prove the seam: the
contract suite runs against it unchanged, and the workflow runs a job through it (tests/unit/test_workflow_steps.py).
docs/providers.md shows what a real second provider adds beyond this."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from faceswap.provider import (
    Capabilities,
    Photo,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    QueryResult,
    SubmitResult,
    TaskState,
)


@dataclass
class MemorySwapService:
    """The service: tasks advance one state per query. `refuse_submit` / `fail_queries` / `fail_tasks` and `keys`
    are what a test sets to make it misbehave."""

    keys: set[str] = field(default_factory=lambda: {"memory-key"})
    refuse_submit: str | None = None  # "no_face" | "busy" | "lost"
    fail_queries: bool = False
    fail_tasks: bool = False
    tasks: dict[str, list[TaskState]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)


class MemoryProvider:
    name = "memory"
    capabilities = Capabilities(face_selection=True, options=frozenset({"keep_hair"}), max_image_bytes=1024 * 1024)

    def __init__(self, service: MemorySwapService, api_key: str) -> None:
        self.service = service
        self._api_key = api_key

    def submit(self, target: Photo, template: Photo) -> SubmitResult:
        service = self.service
        if self._api_key not in service.keys:
            raise ProviderPermanentError("BAD_KEY", "the key was refused", job_error_code="PROVIDER_AUTH_FAILED")
        for photo in (target, template):
            if len(photo.content) > self.capabilities.max_image_bytes:
                raise ProviderPermanentError("TOO_BIG", photo.filename, job_error_code="PROVIDER_REJECTED_IMAGE")
        if service.refuse_submit == "no_face":
            raise ProviderPermanentError("NO_FACE", "no face in the target", job_error_code="FACE_NOT_FOUND")
        if service.refuse_submit == "busy":
            raise ProviderTransientError("BUSY", "try again later")
        task_id = f"mem-{next(service._ids)}"
        service.tasks[task_id] = ["queued", "processing", "succeeded"]
        if service.refuse_submit == "lost":
            raise ProviderOutcomeUnknown("LOST", "the answer never arrived")
        return SubmitResult(task_id=task_id)

    def query(self, task_id: str) -> QueryResult:
        service = self.service
        if service.fail_queries:
            raise ProviderTransientError("DOWN", "the service is unavailable")
        states = service.tasks.get(task_id)
        if states is None:
            raise ProviderPermanentError("NO_TASK", task_id, job_error_code="PROVIDER_TASK_FAILED")
        if service.fail_tasks:
            raise ProviderPermanentError("TASK_FAILED", task_id, job_error_code="PROVIDER_TASK_FAILED")
        state = states.pop(0) if len(states) > 1 else states[0]
        url = f"https://memory.example.test/{task_id}.jpg" if state == "succeeded" else None
        return QueryResult(state=state, result_url=url)
