"""`make soak`: many jobs through the real product path under random provider faults, AWS-side faults and Lambda
crashes, then proof that nothing was lost, duplicated or charged twice.

Each job goes the way users drive it: `POST /v1/swaps` over the HTTP gateway (with an Idempotency-Key, retried on a
5xx), both photos uploaded with the presigned POST forms, the S3 event starts the workflow. Meanwhile the emulator
answers a share of provider requests with a fault (seeded), and an invoke hook crashes the first attempt of a share
of our own Lambda invocations with `Lambda.Unknown` (what a sandbox crash looks like to Step Functions). In front of the
local AWS endpoint, `aws_faults.AwsFaultMiddleware` answers a share of AWS requests the way AWS does under trouble
(DynamoDB throttling and lost condition races, S3 SlowDown/InternalError, PutEvents with failed entries, Secrets
Manager and StartExecution throttling), and `KillAfterStore` kills the Archive sandbox whose result object has just
been stored, before it can mark the job succeeded. Every job's
photos are unique (a few changed pixels, a comment), so the emulator's per-task input hashes name the job of each
task. Afterwards the checks in `SoakReport.checks` must all hold.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from faceswap_local.aws import LocalCloud
from faceswap_local.aws_faults import AwsFaultMiddleware, AwsFaultRule, AwsFaults
from faceswap_local.emulator import EmulatorConfig, EmulatorServer, Swapper, engine_swapper, identity_swapper
from faceswap_local.stack import REPO, OfflineStack, StackOptions

SAMPLES = REPO / ".cache" / "samples"
TERMINAL = ("FaceSwap Succeeded", "FaceSwap Failed")
FINAL_STATUSES = ("succeeded", "failed")
PROVIDER_READ_TIMEOUT = 1.0  # seconds; the emulator's timeout faults sleep longer than this
FAULT_SLEEP_SECONDS = 1.6

# The faults each provider endpoint gets, in equal shares of the fault rate.
SUBMIT_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("http_429", {}),
    ("http_500", {}),
    ("http_503", {}),
    ("html_502", {}),
    ("timeout", {}),
    ("reset", {}),
    ("malformed_json", {}),
    ("accept_then_timeout", {}),
    ("accept_then_502", {}),
    ("error_in_200", {"code": "ERROR_NO_FACE_IN_FILE"}),
    ("loose_types", {}),
    ("non_ascii_task_id", {}),
    ("task_failed", {"code": "ERROR_NO_FACE_IN_FILE"}),
    ("task_status_3", {}),
    ("never_finish", {}),
]
QUERY_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("http_429", {}),
    ("http_502", {}),
    ("http_503", {}),
    ("html_502", {}),
    ("timeout", {}),
    ("reset", {}),
    ("malformed_json", {}),
    ("task_failed", {"code": "ERROR_FACE_COUNT_INVALID"}),
    ("task_status_3", {}),
    ("error_in_200", {"field": "error_code_str", "code": "ERROR_SMALL_FACE_SIZE"}),
    ("error_with_payload", {}),
    ("loose_types", {}),
]
RESULT_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("http_503", {}),
    ("html_502", {}),
    ("reset", {}),
    ("result_expired", {}),
    ("result_slow", {"chunk_bytes": 16384, "delay_seconds": 0.01}),
    ("headers_then_stall", {}),
]
# Our functions the crash hook may hit, and who retries them: Step Functions (Retry on Lambda.Unknown), Lambda's
# asynchronous retries (S3 notifications), or the API client (same Idempotency-Key).
CRASHABLE_FUNCTIONS = (
    "ApiFunction",
    "UploadTriggerFunction",
    "ValidateFunction",
    "SubmitFunction",
    "QueryFunction",
    "ArchiveFunction",
    "RecordFailureFunction",
)
# AWS faults, per service: the fault rate split in equal shares between the service's fault kinds.
AWS_FAULTS_BY_SERVICE: tuple[tuple[str, ...], ...] = (
    ("ddb_throttle", "ddb_condition_race"),
    ("s3_slow_down", "s3_internal_error"),
    ("events_failed_entry",),
    ("secrets_throttle",),
    ("sfn_throttle",),
)
SandboxCrash = type("Lambda.Unknown", (Exception,), {})  # its errorType is what Step Functions retries by name


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class JobRun:
    index: int
    job_id: str = ""
    target_sha256: str = ""
    create_attempts: int = 0
    error: str = ""  # the harness could not create or upload the job


@dataclass
class SoakReport:
    jobs: int
    fault_rate: float
    seed: int
    swapper: str
    wall_seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    faults_injected: dict[str, int] = field(default_factory=dict)
    aws_fault_rate: float = 0.0
    aws_faults_injected: dict[str, int] = field(default_factory=dict)
    killed_after_store: int = 0
    lambda_crashes: Counter[str] = field(default_factory=Counter)
    workflow_retries: int = 0
    api_retries: int = 0
    accepted_submissions: int = 0
    provider_requests: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def render(self) -> str:
        lines = [
            f"soak: {self.jobs} jobs, provider fault rate {self.fault_rate:.0%} per request, seed {self.seed}, "
            f"swapper: {self.swapper}, wall time {self.wall_seconds:.1f} s",
            "final status:     " + _counts(self.statuses),
            "job error codes:  " + _counts(self.error_codes),
            "provider faults:  "
            + _counts(Counter(self.faults_injected))
            + f" (total {sum(self.faults_injected.values())})",
            f"AWS faults:       {self.aws_fault_rate:.0%} per AWS request: "
            + _counts(Counter(self.aws_faults_injected))
            + f" (total {sum(self.aws_faults_injected.values())})",
            f"killed after store: {self.killed_after_store} Archive sandboxes killed between the result's S3 put and "
            "the job's update",
            "lambda crashes:   " + _counts(self.lambda_crashes) + f" (total {sum(self.lambda_crashes.values())})",
            f"retries observed: {self.workflow_retries} Step Functions retries, {self.api_retries} API client retries",
            f"provider:         {self.accepted_submissions} accepted submissions, requests "
            + _counts(Counter(self.provider_requests)),
            "checks:",
        ]
        lines += [
            f"  [{'ok' if c.ok else 'FAIL'}] {c.name}" + (f": {c.detail}" if c.detail else "") for c in self.checks
        ]
        lines.append("SOAK PASSED" if self.ok else "SOAK FAILED")
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(counter.items())) or "none"


# -- inputs ---------------------------------------------------------------------------------------------------------
class UniquePhotos:
    """Per-job variants of the sample photos: still valid images, but with a few pixels (target) and a JPEG comment
    (template) that depend on the job's index, so every task's input hashes (and every result) differ."""

    def __init__(self, target: bytes, template: bytes) -> None:
        self._target = Image.open(io.BytesIO(target)).convert("RGB")
        self._template = _jpeg(Image.open(io.BytesIO(template)).convert("RGB"))

    def pair(self, index: int) -> tuple[bytes, bytes]:
        image = self._target.copy()
        for bit in range(16):  # the index, as a row of black/white pixels in the top-left corner
            value = 255 if (index >> bit) & 1 else 0
            for dy in range(2):
                image.putpixel((bit * 2, dy), (value, value, value))
                image.putpixel((bit * 2 + 1, dy), (value, 255 - value, value))
        comment = f"faceswap soak job {index}".encode()
        template = (
            self._template[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + self._template[2:]
        )
        return _jpeg(image), template


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def sample_pair() -> tuple[bytes, bytes]:
    """The sample photos (fetched into .cache/samples once, like `make samples`)."""
    target, template = SAMPLES / "grace_hopper.jpg", SAMPLES / "astronaut.png"
    if not (target.exists() and template.exists()):
        subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_samples.py"), "--dest", str(SAMPLES)], check=True)
    return target.read_bytes(), template.read_bytes()


# -- faults -----------------------------------------------------------------------------------------------------------
def install_provider_faults(emulator: EmulatorServer, rate: float) -> None:
    """Per endpoint, a share `rate` of requests gets one of its faults (equal shares). The table fires the first rule
    that wins its draw, so each rule's probability is conditional on the earlier ones having missed."""
    for endpoint, faults in (("submit", SUBMIT_FAULTS), ("query", QUERY_FAULTS), ("result", RESULT_FAULTS)):
        share = rate / len(faults)
        missed = 1.0
        for fault, params in faults:
            params = dict(params)
            if fault in ("timeout", "accept_then_timeout", "headers_then_stall"):
                params.setdefault("seconds", FAULT_SLEEP_SECONDS)
            emulator.faults.add(endpoint, fault, probability=min(1.0, share / missed), params=params)
            missed -= share


def aws_fault_rules(rate: float) -> list[AwsFaultRule]:
    """Per AWS service, a share `rate` of its requests gets one of its faults (equal shares, as for the provider)."""
    rules: list[AwsFaultRule] = []
    for faults in AWS_FAULTS_BY_SERVICE:
        share = rate / len(faults)
        missed = 1.0
        for fault in faults:
            rules.append(AwsFaultRule(fault, min(1.0, share / missed)))
            missed -= share
    return rules


class KillAfterStore:
    """WSGI middleware: every `every`-th PUT of an object under results/ is stored, then the process that sent it (an
    Archive sandbox) is killed before it hears back: a function dying after the result was stored and before the job
    was marked succeeded. The sender is found by its TCP connection (Linux /proc), among this process's children."""

    def __init__(self, app: Any, every: int) -> None:
        self.app = app
        self.every = every
        self.enabled = False
        self.killed = 0
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not (self.enabled and self.every > 0 and _is_result_put(environ)):
            return self.app(environ, start_response)
        with self._lock:
            self._seen += 1
            kill = self._seen % self.every == 0
        if not kill:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        if str(captured.get("status", "")).startswith("200"):
            pid = _sender_pid(int(environ.get("REMOTE_PORT") or 0), int(environ.get("SERVER_PORT") or 0))
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with self._lock:
                    self.killed += 1
        start_response(captured.get("status", "500 Internal Server Error"), captured.get("headers", []))
        return [body]


def _is_result_put(environ: dict[str, Any]) -> bool:
    query = environ.get("QUERY_STRING", "")
    method = environ.get("REQUEST_METHOD")
    path = environ.get("PATH_INFO", "")
    single_put = method == "PUT" and "partNumber=" not in query and "x-amz-copy-source" not in str(environ)
    completed_multipart = method == "POST" and "uploadId=" in query
    return "/results/" in path and (single_put or completed_multipart)


def _sender_pid(client_port: int, server_port: int) -> int | None:
    """The child process holding the client end of a loopback TCP connection (by its socket inode)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == client_port and remote_port == server_port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != os.getpid():
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except (OSError, IndexError, ValueError):
            continue
    return None


class CrashHook:
    """Crashes the first attempt of a random share of invocations of our functions with `Lambda.Unknown`."""

    def __init__(self, rate: float, seed: int, functions: tuple[str, ...] = CRASHABLE_FUNCTIONS) -> None:
        self.rate = rate
        self.functions = functions
        self.crashes: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, function: str, event: dict[str, Any], attempt: int) -> None:
        if function not in self.functions or attempt != 1:
            return
        with self._lock:
            crash = self._rng.random() < self.rate
            if crash:
                self.crashes[function] += 1
        if crash:
            raise SandboxCrash(f"injected sandbox crash of {function} (first attempt)")


def set_function_environment(
    cloud: LocalCloud, variables: dict[str, str], functions: tuple[str, ...] | None = None
) -> dict[str, dict[str, str | None]]:
    """Change deployed functions' environment variables (new sandboxes pick them up, as after a configuration
    update); returns the previous values for `restore_function_environment`. The template hard-codes e.g.
    PROVIDER_READ_TIMEOUT, so a parameter cannot."""
    previous: dict[str, dict[str, str | None]] = {}
    for logical_id, spec in cloud.deployment.functions.items():
        if functions is not None and logical_id not in functions:
            continue
        previous[logical_id] = {name: spec.environment.get(name) for name in variables}
        cloud.update_function_environment(logical_id, variables)
    return previous


def restore_function_environment(cloud: LocalCloud, previous: dict[str, dict[str, str | None]]) -> None:
    for logical_id, values in previous.items():
        cloud.update_function_environment(logical_id, values)


# -- driving one job ----------------------------------------------------------------------------------------------
class JobDriver:
    def __init__(self, stack: OfflineStack, photos: UniquePhotos, seed: int, wait_seconds: float) -> None:
        self.stack = stack
        self.photos = photos
        self.seed = seed
        self.wait_seconds = wait_seconds
        self.token = stack.auth.mint("soak-user")
        self.session_local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self.session_local, "session", None)
        if session is None:
            session = self.session_local.session = requests.Session()
        return session

    def run(self, index: int) -> JobRun:
        run = JobRun(index)
        target, template = self.photos.pair(index)
        run.target_sha256 = hashlib.sha256(target).hexdigest()
        try:
            created = self._create(run)
            for role, data in (("target", target), ("template", template)):
                self._upload(role, data, created["uploads"][role])
        except (requests.RequestException, RuntimeError, KeyError, ValueError) as error:
            run.error = f"{type(error).__name__}: {error}"
            return run
        with contextlib.suppress(TimeoutError):  # reported by the checks: the job has no terminal event
            self.stack.wait_for_terminal_event(run.job_id, self.wait_seconds)
        return run

    def _upload(self, role: str, data: bytes, form: dict[str, Any]) -> None:
        for attempt in range(6):  # S3 answers 503 SlowDown / 500 InternalError now and then: retry, as SDKs do
            response = self._session().post(
                form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=60
            )
            if response.status_code in (200, 201, 204):
                return
            if response.status_code < 500:
                break
            time.sleep(0.05 * 2**attempt)
        raise RuntimeError(f"upload of {role}: HTTP {response.status_code}")

    def _create(self, run: JobRun) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"soak-{self.seed}-{run.index}"}
        body = {
            "target_content_type": "image/jpeg",
            "template_content_type": "image/jpeg",
            "client_reference": f"soak-{run.index}",
        }
        for _ in range(6):  # a crashed API function answers 500; the same key makes the retry safe
            run.create_attempts += 1
            response = self._session().post(f"{self.stack.api_url}/v1/swaps", json=body, headers=headers, timeout=60)
            if response.status_code == 201:
                created = response.json()
                run.job_id = created["job_id"]
                return created
            if response.status_code < 500:
                raise RuntimeError(f"create: HTTP {response.status_code} {response.text[:200]}")
        raise RuntimeError("create: the API kept failing")


# -- the soak -----------------------------------------------------------------------------------------------------
def run_soak(
    jobs: int = 300,
    fault_rate: float = 0.2,
    seed: int = 7,
    *,
    crash_rate: float = 0.1,
    aws_fault_rate: float | None = None,
    kill_after_store_every: int = 10,
    concurrency: int = 12,
    job_timeout_seconds: int = 15,
    time_scale: float = 0.05,
    swapper: Swapper | None = None,
    photos: tuple[bytes, bytes] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SoakReport:
    """Run `jobs` jobs (at most `concurrency` at a time) on a fresh OfflineStack and check the outcome. AWS faults
    default to the provider's `fault_rate`; every `kill_after_store_every`-th result put kills its Archive sandbox."""
    swapper = swapper or engine_swapper
    aws_fault_rate = fault_rate if aws_fault_rate is None else aws_fault_rate
    aws_faults = AwsFaults(seed)  # no rules while the stack deploys: faults start with the jobs
    killers: list[KillAfterStore] = []

    def kill_after_store(app: Any) -> KillAfterStore:
        killers.append(KillAfterStore(app, kill_after_store_every))
        return killers[-1]

    report = SoakReport(
        jobs=jobs,
        fault_rate=fault_rate,
        seed=seed,
        aws_fault_rate=aws_fault_rate,
        swapper="offline engine"
        if swapper is engine_swapper
        else "identity (result = target)"
        if swapper is identity_swapper
        else repr(swapper),
    )
    say = progress or (lambda _message: None)
    options = StackOptions(
        time_scale=time_scale,
        gateway_port=0,
        emulator=EmulatorConfig(
            queued_seconds=0.05,
            processing_seconds=0.15,
            seed=seed,
            swap_workers=2,
            fault_timeout_seconds=FAULT_SLEEP_SECONDS,
        ),
        swapper=swapper,
        job_timeout_seconds=job_timeout_seconds,
        poll_expected_seconds=1,
        parameter_overrides={
            "PollMinSeconds": "1",
            "PollMaxSeconds": "4",
            # One caller drives every job: the soak measures faults, not the per-caller limits.
            "MaxActiveJobsPerCaller": str(max(jobs, 10)),
            "MaxJobsPerCallerPerDay": str(max(2 * jobs, 1000)),
        },
        # The killer inside, the faults outermost: a faulted put never reaches the store, so nothing is killed.
        app_wrappers=[kill_after_store, lambda app: AwsFaultMiddleware(app, aws_faults)],
    )
    unique = UniquePhotos(*(photos or sample_pair()))
    hook = CrashHook(crash_rate, seed)
    started = time.monotonic()
    with OfflineStack(options) as stack:
        set_function_environment(stack.cloud, {"PROVIDER_READ_TIMEOUT": str(PROVIDER_READ_TIMEOUT)})
        stack.cloud.add_invoke_hook(hook)
        install_provider_faults(stack.emulator, fault_rate)
        aws_faults.rules.extend(aws_fault_rules(aws_fault_rate))
        for killer in killers:
            killer.enabled = True
        driver = JobDriver(stack, unique, seed, wait_seconds=job_timeout_seconds + 90)
        runs: list[JobRun] = []
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="soak-job") as pool:
            for done, run in enumerate(pool.map(driver.run, range(jobs)), start=1):
                runs.append(run)
                if done % 50 == 0 or done == jobs:
                    say(f"  {done}/{jobs} jobs finished ({time.monotonic() - started:.0f} s)")
        _settle(stack, [run.job_id for run in runs if run.job_id])
        report.wall_seconds = time.monotonic() - started
        stack.emulator.faults.clear()
        aws_faults.clear()  # the checks read through the same endpoint
        for killer in killers:
            killer.enabled = False
        report.aws_faults_injected = dict(aws_faults.injected)
        report.killed_after_store = sum(killer.killed for killer in killers)
        _collect(stack, hook, runs, report)
    return report


def _settle(stack: OfflineStack, job_ids: list[str], timeout: float = 60.0) -> None:
    """Wait until no execution runs, then give late (duplicate) events time to show up."""
    sfn = stack.cloud.client("stepfunctions")
    arn = stack.cloud.resources["FaceSwapStateMachine"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING").get("executions", [])
        if not running:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    stack.events.poll()


def _collect(stack: OfflineStack, hook: CrashHook, runs: list[JobRun], report: SoakReport) -> None:
    stats = stack.emulator.stats()
    report.faults_injected = stats["faults_injected"]
    report.accepted_submissions = stats["accepted_submissions"]
    report.provider_requests = stats["requests"]
    report.lambda_crashes = Counter(hook.crashes)
    report.workflow_retries = len(stack.cloud.clock.retry_sleeps)
    report.api_retries = sum(run.create_attempts - 1 for run in runs if run.create_attempts)

    harness_errors = [f"job {run.index}: {run.error}" for run in runs if run.error]
    report.checks.append(Check("every job was created and uploaded", not harness_errors, "; ".join(harness_errors[:3])))
    job_ids = {run.job_id: run for run in runs if run.job_id}

    records = {job_id: stack.job_record(job_id) or {} for job_id in job_ids}
    for record in records.values():
        report.statuses[record.get("status", "missing")] += 1
        if record.get("status") == "failed":
            report.error_codes[(record.get("error") or {}).get("code", "?")] += 1
    stuck = [job_id for job_id, record in records.items() if record.get("status") not in FINAL_STATUSES]
    report.checks.append(
        Check(
            "every job ended succeeded or failed (none stuck)",
            not stuck,
            f"{len(stuck)} not final, e.g. {stuck[:3]}" if stuck else f"{len(records)} jobs",
        )
    )

    sfn = stack.cloud.client("stepfunctions")
    running = sfn.list_executions(
        stateMachineArn=stack.cloud.resources["FaceSwapStateMachine"], statusFilter="RUNNING"
    ).get("executions", [])
    report.checks.append(Check("no execution is still running", not running, f"{len(running)} running"))

    events: dict[str, list[str]] = {job_id: [] for job_id in job_ids}
    for entry in stack.events.after(0):
        event = entry["event"]
        job_id = event.get("detail", {}).get("job_id")
        if event.get("detail-type") in TERMINAL and job_id in events:
            events[job_id].append(event["detail-type"])
    wrong_events = [
        job_id
        for job_id, kinds in events.items()
        if len(kinds) != 1 or kinds[0] != f"FaceSwap {records[job_id].get('status', '').capitalize()}"
    ]
    report.checks.append(
        Check(
            "exactly one terminal event per job, matching its status",
            not wrong_events,
            f"{len(wrong_events)} wrong, e.g. " + ", ".join(f"{j}: {events[j]}" for j in wrong_events[:3])
            if wrong_events
            else "",
        )
    )

    tasks_by_target: dict[str, list[dict[str, Any]]] = {}
    for task in stats["tasks"]:
        tasks_by_target.setdefault(task["target_sha256"], []).append(task)
    known_targets = {run.target_sha256 for run in job_ids.values()}
    twice = [run.job_id for run in job_ids.values() if len(tasks_by_target.get(run.target_sha256, [])) > 1]
    strangers = [sha for sha in tasks_by_target if sha not in known_targets]
    report.checks.append(
        Check(
            "the provider accepted at most one submission per job",
            not twice and not strangers,
            f"{len(twice)} jobs submitted twice, {len(strangers)} tasks of no job"
            if twice or strangers
            else f"{len(stats['tasks'])} tasks for {len(job_ids)} jobs",
        )
    )

    _check_results(stack, job_ids, records, tasks_by_target, report)


def _check_results(
    stack: OfflineStack,
    job_ids: dict[str, JobRun],
    records: dict[str, dict[str, Any]],
    tasks_by_target: dict[str, list[dict[str, Any]]],
    report: SoakReport,
) -> None:
    s3 = stack.cloud.client("s3")
    keys_by_job: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="results/"):
        for item in page.get("Contents", []):
            job_id = Path(item["Key"]).stem
            keys_by_job.setdefault(job_id, []).append(item["Key"])
    problems: list[str] = []
    for job_id, record in records.items():
        keys = keys_by_job.get(job_id, [])
        if record.get("status") != "succeeded":
            if keys:
                problems.append(f"{job_id} is {record.get('status')} but has {keys}")
            continue
        tasks = tasks_by_target.get(job_ids[job_id].target_sha256, [])
        if len(keys) != 1 or len(tasks) != 1:
            problems.append(f"{job_id}: {len(keys)} archived objects, {len(tasks)} provider tasks")
            continue
        body = s3.get_object(Bucket=stack.bucket, Key=keys[0])["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        result = record.get("result") or {}
        # The stored result is the provider's output, labelled: its hash is recorded, and the provider's beside it.
        if not (digest == result.get("sha256") and tasks[0]["result_sha256"] == result.get("provider_sha256")):
            problems.append(
                f"{job_id}: archived sha256 {digest[:12]} / provider output {str(tasks[0]['result_sha256'])[:12]} "
                "do not match the job record"
            )
        elif not _labelled(body, job_id):
            problems.append(f"{job_id}: the archived result is not labelled (C2PA manifest and watermark)")
    uploads = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="uploads/")
        for item in page.get("Contents", [])
    ]
    report.checks.append(check_no_inputs_left(records, uploads))
    strays = sorted(set(keys_by_job) - set(records))
    if strays:
        problems.append(f"results of unknown jobs: {strays[:3]}")
    succeeded = sum(1 for record in records.values() if record.get("status") == "succeeded")
    report.checks.append(
        Check(
            "every succeeded job has exactly one archived result matching the provider's output, labelled and "
            "verified (and no failed job has one)",
            not problems,
            "; ".join(problems[:3]) if problems else f"{succeeded} results verified",
        )
    )


# -- invariants, as functions of plain data (usable by any harness that can list records, events and keys) -------
def check_none_stuck(records: dict[str, dict[str, Any]]) -> Check:
    stuck = [job_id for job_id, record in records.items() if record.get("status") not in FINAL_STATUSES]
    detail = f"{len(stuck)} not final, e.g. {stuck[:3]}" if stuck else f"{len(records)} jobs"
    return Check("every job ended succeeded or failed (none stuck)", not stuck, detail)


def check_one_terminal_event_per_job(records: dict[str, dict[str, Any]], events: Iterable[dict[str, Any]]) -> Check:
    kinds: dict[str, list[str]] = {job_id: [] for job_id in records}
    for event in events:
        job_id = (event.get("detail") or {}).get("job_id")
        if event.get("detail-type") in TERMINAL and job_id in kinds:
            kinds[job_id].append(event["detail-type"])
    wrong = [
        job_id
        for job_id, seen in kinds.items()
        if len(seen) != 1 or seen[0] != f"FaceSwap {str(records[job_id].get('status', '')).capitalize()}"
    ]
    detail = ", ".join(f"{job_id}: {kinds[job_id]}" for job_id in wrong[:3])
    return Check("exactly one terminal event per job, matching its status", not wrong, detail)


def check_no_result_for_failed(records: dict[str, dict[str, Any]], keys: Iterable[str]) -> Check:
    with_results = {Path(key).stem for key in keys if key.startswith("results/")}
    wrong = [
        job_id for job_id, record in records.items() if record.get("status") != "succeeded" and job_id in with_results
    ]
    return Check("no object under results/ for a job that did not succeed", not wrong, ", ".join(wrong[:3]))


def check_no_inputs_left(records: dict[str, dict[str, Any]], keys: Iterable[str]) -> Check:
    with_uploads = {key.split("/")[1] for key in keys if key.startswith("uploads/") and key.count("/") >= 2}
    wrong = [
        job_id
        for job_id, record in records.items()
        if record.get("status") in ("failed", "deleted") and job_id in with_uploads
    ]
    return Check("no uploaded photo left for a failed or deleted job", not wrong, ", ".join(wrong[:3]))


def check_at_most_one_submission_per_job(
    target_sha256_by_job: dict[str, str], tasks: Iterable[dict[str, Any]]
) -> Check:
    """Provider tasks map to jobs by the sha256 of their target photo (unique per job in a soak)."""
    per_target = Counter(task["target_sha256"] for task in tasks)
    twice = [job_id for job_id, sha in target_sha256_by_job.items() if per_target.get(sha, 0) > 1]
    strangers = [sha for sha in per_target if sha not in set(target_sha256_by_job.values())]
    detail = f"{len(twice)} jobs submitted twice, {len(strangers)} tasks of no job" if twice or strangers else ""
    return Check("the provider accepted at most one submission per job", not twice and not strangers, detail)


# -- command line -------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faceswap_local soak", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of provider requests answered by a fault")
    parser.add_argument("--crash-rate", type=float, default=0.1, help="share of first Lambda attempts that crash")
    parser.add_argument(
        "--aws-fault-rate",
        type=float,
        default=None,
        help="share of AWS requests answered by a fault (default: --fault-rate)",
    )
    parser.add_argument(
        "--kill-after-store-every", type=int, default=10, help="kill the Archive sandbox after every N-th result put"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--job-timeout", type=int, default=15, help="job deadline in seconds")
    parser.add_argument(
        "--identity-swapper",
        action="store_true",
        help="the emulator returns the target instead of running the offline engine",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1 or not 0 <= args.fault_rate <= 1 or not 0 <= args.crash_rate < 1:
        parser.error("--jobs must be >= 1, --fault-rate in [0, 1], --crash-rate in [0, 1)")
    # Jobs that fail by design make moto's interpreter log an ERROR with the whole state; the report says enough.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    print(f"soak: {args.jobs} jobs, {args.concurrency} at a time ...", flush=True)
    report = run_soak(
        args.jobs,
        args.fault_rate,
        args.seed,
        crash_rate=args.crash_rate,
        aws_fault_rate=args.aws_fault_rate,
        kill_after_store_every=args.kill_after_store_every,
        concurrency=args.concurrency,
        job_timeout_seconds=args.job_timeout,
        swapper=identity_swapper if args.identity_swapper else engine_swapper,
        progress=lambda message: print(message, flush=True),
    )
    print(report.render(), flush=True)
    return 0 if report.ok else 1


def _labelled(body: bytes, job_id: str) -> bool:
    from faceswap_client.verification import verify_bytes

    report = verify_bytes(body)
    return report.manifest.state == "valid" and report.manifest.job_id == job_id and report.watermark_found


if __name__ == "__main__":
    sys.exit(main())
