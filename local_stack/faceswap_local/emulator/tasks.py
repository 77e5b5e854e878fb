"""Accepted tasks, their 0 -> 1 -> 2 progression by elapsed time, and the result files they produce."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .catalog import status_for
from .config import EmulatorConfig
from .faults import FaultRule
from .images import EXTENSION_BY_CONTENT_TYPE
from .swapper import Swapper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskFailure:
    code: str
    message: str
    http_status: int


@dataclass(frozen=True)
class TaskView:
    """What a query sees right now: task_status 0/1/2/3, or a failure answered with an HTTP error."""

    task_status: int
    result_url: str | None = None
    failure: TaskFailure | None = None


@dataclass
class StoredResult:
    content: bytes
    content_type: str
    expires_at: float


@dataclass
class Task:
    task_id: str
    created_wall: float
    created_at: float
    queued_until: float
    done_at: float
    target_sha256: str
    template_sha256: str
    fault: FaultRule | None = None
    finished_at: float | None = None  # when the swap itself returned
    result_name: str | None = None
    result_sha256: str | None = None
    failure: TaskFailure | None = None
    expires_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def view(self, now: float, result_url: str | None) -> TaskView:
        if now < self.queued_until:
            return TaskView(0)
        fault = self.fault.fault if self.fault else None
        if fault == "never_finish" or now < self.done_at or self.finished_at is None:
            return TaskView(1)
        if fault == "task_status_3":
            return TaskView(3)
        if fault == "task_failed":
            return TaskView(1, failure=failure_from_fault(self.fault))
        if self.failure is not None:
            return TaskView(1, failure=self.failure)
        return TaskView(2, result_url=result_url)

    def state(self, now: float) -> str:
        view = self.view(now, None)
        if view.failure is not None or view.task_status == 3:
            return "failed"
        return {0: "queued", 1: "processing", 2: "succeeded"}[view.task_status]


def failure_from_fault(rule: FaultRule | None) -> TaskFailure:
    params = rule.params if rule else {}
    code = str(params.get("code", "ERROR_NO_FACE_IN_FILE"))
    status = int(params.get("status", status_for(code)))
    return TaskFailure(code, str(params.get("message", "injected task failure")), status)


class TaskStore:
    def __init__(self, config: EmulatorConfig, swapper: Swapper) -> None:
        self._config = config
        self._swapper = swapper
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._results: dict[str, StoredResult] = {}
        self._rng = random.Random(config.seed)
        self._executor = ThreadPoolExecutor(max_workers=config.swap_workers, thread_name_prefix="ailab-swap")
        self.result_base_url = ""

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def create(self, target: bytes, template: bytes, fault: FaultRule | None, *, id_prefix: str = "") -> Task:
        config = self._config
        now = config.clock()
        with self._lock:
            processing = config.processing_time(self._rng) if config.processing_time else config.processing_seconds
        queued_until = now + config.scaled(config.queued_seconds)
        task = Task(
            task_id=f"{id_prefix}{int(time.time() * 1000)}.{uuid.uuid4()}",
            created_wall=time.time(),
            created_at=now,
            queued_until=queued_until,
            done_at=queued_until + config.scaled(processing),
            target_sha256=hashlib.sha256(target).hexdigest(),
            template_sha256=hashlib.sha256(template).hexdigest(),
            fault=fault,
        )
        with self._lock:
            self._tasks[task.task_id] = task
        self._executor.submit(self._run_swap, task.task_id, target, template)
        return task

    def _run_swap(self, task_id: str, target: bytes, template: bytes) -> None:
        failure: TaskFailure | None = None
        content: bytes | None = None
        content_type = ""
        try:
            content, content_type = self._swapper(target, template)
        except Exception as exc:
            code = getattr(exc, "code", None)
            if isinstance(code, str) and code:
                message = str(getattr(exc, "message", "") or exc)
                failure = TaskFailure(code, message, status_for(code))
            else:
                logger.exception("emulator swapper crashed on task %s", task_id)
                failure = TaskFailure("PROCESSING_FAILURE", f"{type(exc).__name__}: {exc}", 500)
        with self._lock:
            task = self._tasks[task_id]
            task.finished_at = self._config.clock()
            task.expires_at = max(task.done_at, task.finished_at) + self._config.scaled(self._config.result_ttl_seconds)
            if failure is not None or content is None:
                task.failure = failure
                return
            extension = EXTENSION_BY_CONTENT_TYPE.get(content_type, "jpg")
            name = f"{uuid.uuid4()}_{int(time.time())}.{extension}"
            task.result_name = name
            task.result_sha256 = hashlib.sha256(content).hexdigest()
            self._results[name] = StoredResult(content, content_type, task.expires_at)

    def view(self, task_id: str) -> TaskView | None:
        """None when the task is unknown or past its retention."""
        now = self._config.clock()
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or (task.expires_at is not None and now >= task.expires_at):
                return None
            url = f"{self.result_base_url}/results/{task.result_name}" if task.result_name else None
            return task.view(now, url)

    def result(self, name: str) -> StoredResult | None:
        now = self._config.clock()
        with self._lock:
            stored = self._results.get(name)
            if stored is None:
                return None
            if now >= stored.expires_at:
                del self._results[name]  # free the bytes; the task record keeps the sha256
                return None
            return stored

    def records(self) -> list[dict[str, Any]]:
        now = self._config.clock()
        with self._lock:
            tasks = list(self._tasks.values())
            return [
                {
                    "task_id": task.task_id,
                    "created_at": dt.datetime.fromtimestamp(task.created_wall, dt.UTC)
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "target_sha256": task.target_sha256,
                    "template_sha256": task.template_sha256,
                    "result_sha256": task.result_sha256,
                    "result_name": task.result_name,
                    "state": task.state(now),
                    "error": {"code": task.failure.code, "message": task.failure.message} if task.failure else None,
                    "fault": task.fault.fault if task.fault else None,
                }
                for task in tasks
            ]
