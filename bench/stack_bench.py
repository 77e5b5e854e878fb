"""Throughput of the local stack (100 concurrent jobs with the offline engine), where the time goes, and the AWS
cost per 1,000 jobs computed from what those real executions did (state transitions, invocations, durations)."""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests
from faceswap_local.emulator import EmulatorConfig, engine_swapper
from faceswap_local.stack import REPO, OfflineStack, StackOptions

from bench import cost_model
from bench.report import publish

RESULTS = REPO / "bench" / "results" / "throughput.md"
SEQUENTIAL_JOBS = 5
SAMPLES = REPO / ".cache" / "samples"
FUNCTION_NAMES = {
    "ApiFunction": "api",
    "UploadTriggerFunction": "upload_trigger",
    "ValidateFunction": "validate",
    "SubmitFunction": "submit",
    "QueryFunction": "query",
    "ArchiveFunction": "archive",
    "RecordFailureFunction": "record_failure",
    "RequestListenerFunction": "request_listener",
}


def _one_job(stack: OfflineStack, token: str, target: bytes, template: bytes) -> str:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    created = session.post(f"{stack.api_url}/v1/swaps", json={"target_content_type": "image/png"}, timeout=60).json()
    for role, data in (("target", target), ("template", template)):
        form = created["uploads"][role]
        requests.post(
            form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=60
        ).raise_for_status()
    return created["job_id"]


def transitions_of(history: list[dict]) -> int:
    """Billable transitions: every state entered, plus every retried task attempt (Step Functions bills retries)."""
    entered = sum(1 for event in history if event["type"].endswith("StateEntered"))
    scheduled = sum(1 for event in history if event["type"] == "TaskScheduled")
    tasks_entered = sum(1 for event in history if event["type"] == "TaskStateEntered")
    return entered + max(0, scheduled - tasks_entered)


def run(jobs: int = 100, time_scale: float = 0.05) -> str:
    target = (SAMPLES / "astronaut.png").read_bytes()
    template = (SAMPLES / "grace_hopper.jpg").read_bytes()
    swap_ms: list[float] = []

    def timed_swapper(target_bytes: bytes, template_bytes: bytes) -> tuple[bytes, str]:
        started = time.perf_counter()
        try:
            return engine_swapper(target_bytes, template_bytes)
        finally:
            swap_ms.append((time.perf_counter() - started) * 1000)

    options = StackOptions(
        time_scale=time_scale,
        gateway_port=0,
        swapper=timed_swapper,
        emulator=EmulatorConfig(queued_seconds=0.5, processing_seconds=2.0),
        parameter_overrides={"MaxActiveJobsPerCaller": str(jobs + SEQUENTIAL_JOBS)},  # one caller submits them all
    )
    with OfflineStack(options) as stack:
        token = stack.auth.mint("bench")
        cloud = stack.cloud
        assert cloud is not None  # the stack is up inside the with block
        # Phase 1: a few jobs one at a time. Each Lambda sandbox has a CPU to itself, so these uncontended handler
        # durations (not the ones measured under 100-way contention below) are what the cost model bills.
        for _ in range(SEQUENTIAL_JOBS):
            stack.wait_for_terminal_event(_one_job(stack, token, target, template), timeout=120)
        solo: dict[str, list[float]] = defaultdict(list)
        for record in cloud.invocations:
            if not record.cold_start:  # a cold start's time is the worker's import, reported by bench/cold_start.py
                solo[record.function].append((record.ended - record.started) * 1000)
        already = len(cloud.invocations)
        swap_ms.clear()
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            job_ids = list(pool.map(lambda _: _one_job(stack, token, target, template), range(jobs)))
        submitted = time.monotonic() - began
        outcomes: Counter[str] = Counter()
        for job_id in job_ids:
            event = stack.wait_for_terminal_event(job_id, timeout=600)
            outcomes[event["detail-type"]] += 1
        wall = time.monotonic() - began
        histories = {job_id: cloud.execution_history(job_id) for job_id in job_ids}
        durations: dict[str, list[float]] = defaultdict(list)
        for record in cloud.invocations[already:]:
            durations[record.function].append((record.ended - record.started) * 1000)
        polls = [int((stack.job_record(job_id) or {})["polls"]) for job_id in job_ids]
    transitions = [transitions_of(h) for h in histories.values()]
    rate = jobs / wall * 60
    lines = [
        "# Local stack throughput",
        "",
        f"{jobs} jobs submitted concurrently (16 client threads) through the HTTP gateway, presigned uploads, the real",
        "state machine and handlers (each function in its own worker processes, on moto), and the emulator with the",
        "offline engine (2 swap workers).",
        f"Emulated provider time 0.5 s queued + 2.0 s processing; workflow waits scaled by {time_scale}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| jobs | {jobs} ({dict(outcomes)}) |",
        f"| wall time | {wall:.1f} s (all created and uploaded after {submitted:.1f} s) |",
        f"| throughput | **{rate:.0f} jobs/minute** |",
        f"| polls per job | mean {statistics.mean(polls):.2f} |",
        f"| state transitions per job (from execution histories) | mean {statistics.mean(transitions):.2f}, "
        f"max {max(transitions)} |",
        "",
        "Where the time goes: handler time per warm invocation on this 2-core x86_64 machine, alone (median",
        f"of {SEQUENTIAL_JOBS} sequential jobs) and under the 100-job load (every handler, the moto server and the",
        "engine share two cores, so the loaded figures measure contention, not Lambda):",
        "",
        "| function | invocations | alone median ms | loaded median ms | loaded p95 ms | loaded total s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for function, values in sorted(durations.items(), key=lambda item: -sum(item[1])):
        values = sorted(values)
        alone = statistics.median(solo[function]) if solo.get(function) else float("nan")
        lines.append(
            f"| {function} | {len(values)} | {alone:.0f} | {statistics.median(values):.0f} | "
            f"{values[int(len(values) * 0.95) - 1]:.0f} | {sum(values) / 1000:.1f} |"
        )
    if swap_ms:
        lines.append(
            f"| (emulator: offline engine swap) | {len(swap_ms)} | - | {statistics.median(swap_ms):.0f} | "
            f"{sorted(swap_ms)[int(len(swap_ms) * 0.95) - 1]:.0f} | {sum(swap_ms) / 1000:.1f} |"
        )
    profile = cost_model.default_profile(statistics.mean(polls))
    measured = {}
    for function, name in FUNCTION_NAMES.items():
        if name in profile and durations.get(function):
            per_job = len(durations[function]) / jobs
            measured[name] = cost_model.replace(
                profile[name], duration_ms=statistics.median(solo[function]), invocations=per_job
            )
    profile.update(measured)
    costs = cost_model.cost_per_1000_jobs(statistics.mean(transitions), profile, polls_per_job=statistics.mean(polls))
    share = costs.total / (cost_model.PROVIDER_PRICE_PER_SWAP * 1000) * 100
    lines += [
        "",
        "AWS cost per 1,000 jobs from these executions: measured transitions and invocations per job, uncontended",
        "median handler durations (x86_64 here; arm64 Lambda may differ) at each function's configured memory and the",
        "arm64 price (prices and their date in cost.md):",
        "",
        "| line | $ per 1,000 jobs |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {value:.4f} |" for label, value in costs.lines.items()]
    lines += [
        f"| **total** | **{costs.total:.4f}** ({share:.2f} % of the provider's "
        f"${cost_model.PROVIDER_PRICE_PER_SWAP * 1000:.2f}) |"
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    publish(RESULTS, run().splitlines())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
