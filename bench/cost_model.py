"""Benchmark 2 (static half): AWS cost per 1,000 successful jobs from the real template and the ASL.

Static inputs (defaults): transitions per job counted from `statemachine/face_swap.asl.json` (the success path),
memory per function read from `template.yaml` (Globals + per-function MemorySize), arm64 prices, and stated
per-invocation durations and per-job request counts (see `DEFAULT_PROFILE`, `JobRequests`). Every input is a
parameter of `cost_per_1000_jobs`, so measured numbers (transitions from real executions, durations from logs) can
replace the defaults.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bench.report import publish

ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = ROOT / "statemachine" / "face_swap.asl.json"
TEMPLATE_PATH = ROOT / "template.yaml"
RESULTS = ROOT / "bench" / "results" / "cost.md"

# -- prices (us-east-1, on-demand, free tiers ignored) ------------------------------------------------------------
PRICES_SOURCE = (
    "the AWS pricing pages for Lambda (arm64), Step Functions Standard, S3, EventBridge and CloudWatch "
    "(us-east-1, as read in 2026; the pages carry no date of their own), except DynamoDB"
)
PRICE_DATE = "2026 (research snapshot); DynamoDB on-demand prices as cut on 2024-11-01"
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
HTTP_API_PER_REQUEST = 1.00 / 1_000_000
S3_PUT_PER_REQUEST = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_GET_PER_REQUEST = 0.0004 / 1000  # GET, HEAD
EVENTBRIDGE_PER_EVENT = 1.00 / 1_000_000  # custom events, per 64 KB chunk
# Not in the reference: AWS News Blog "DynamoDB On-Demand" (updated 2025-01-31 for the 50 % on-demand cut of
# 2024-11-01) and airbyte.com's DynamoDB pricing page: $0.625 per million WRU, $0.125 per million RRU.
DYNAMODB_PER_WRU = 0.625 / 1_000_000
DYNAMODB_PER_RRU = 0.125 / 1_000_000
# Not in the reference either (AWS pricing pages as of 2026): SQS standard queue requests, Secrets Manager API calls
# and secrets, CloudWatch Logs ingestion, data transfer out to the internet (first 10 TB tier).
SQS_PER_REQUEST = 0.40 / 1_000_000  # per 64 KB chunk
SECRETS_MANAGER_PER_CALL = 0.05 / 10_000
SECRETS_MANAGER_PER_SECRET_MONTH = 0.40
LOGS_INGESTION_PER_GB = 0.50
EGRESS_PER_GB = 0.09
PROVIDER_PRICE_PER_SWAP = 0.0135  # AILabTools AI Face Swap: 5 credits
WEBHOOK_TARGET_PER_1000_JOBS = 0.02  # webhooks may add at most this much per 1,000 jobs
OVERHEAD_TARGET = 0.02  # our AWS overhead must stay under 2 % of the provider's price


# -- transitions, counted from the ASL ----------------------------------------------------------------------------
def _ends_successfully(state: dict[str, Any]) -> bool:
    """A Succeed state, or any other non-Fail state with `"End": true` (the workflow may end at its last Task)."""
    return state["Type"] == "Succeed" or (state.get("End") is True and state["Type"] != "Fail")


def asl_transition_counts(asl: dict[str, Any]) -> tuple[int, int]:
    """(fixed transitions of a successful execution, transitions per Query invocation).

    Walks the success path from StartAt (Next, Choice rules and Default; never Catch) to the first state that ends
    the execution successfully. States on a cycle are the poll loop (each entered once per Query invocation); the
    others run once. The execution's start counts as one more fixed transition, as Step Functions bills it."""
    states = asl["States"]

    def successors(name: str) -> list[str]:
        state = states[name]
        found = [choice["Next"] for choice in state.get("Choices", [])]
        found += [state[key] for key in ("Next", "Default") if key in state]
        return found

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            for following in successors(stack.pop()):
                if following not in seen:
                    seen.add(following)
                    stack.append(following)
        return seen

    def path_to_success(start: str) -> list[str] | None:
        # The shortest state path from `start` to a successful end (breadth first).
        queue: list[list[str]] = [[start]]
        visited = {start}
        while queue:
            path = queue.pop(0)
            if _ends_successfully(states[path[-1]]):
                return path
            for following in successors(path[-1]):
                if following not in visited:
                    visited.add(following)
                    queue.append([*path, following])
        return None

    path = path_to_success(asl["StartAt"])
    if path is None:
        raise ValueError("the state machine has no path to a successful end (Succeed, or End: true)")
    loop = {name for name in states if name in reachable(name)}
    # The poll loop: every state on a cycle that touches the success path.
    loop = {name for name in loop if any(other in loop and name in reachable(other) for other in path)}
    fixed = 1 + sum(1 for name in path if name not in loop)
    return fixed, len(loop)


def _load_asl() -> dict[str, Any]:
    return json.loads(ASL_PATH.read_text())


FIXED_TRANSITIONS, TRANSITIONS_PER_INVOCATION = asl_transition_counts(_load_asl())


def success_transitions(query_invocations_per_job: float) -> float:
    """Transitions of a successful execution: inline polls inside one Query invocation add none."""
    return FIXED_TRANSITIONS + TRANSITIONS_PER_INVOCATION * query_invocations_per_job


# -- the template's memory sizes -----------------------------------------------------------------------------------
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CfnLoader.add_multi_constructor("!", _any_tag)


@lru_cache(maxsize=4)
def template_memory_mb(path: Path = TEMPLATE_PATH) -> dict[str, int]:
    """Memory per function (by CodeUri folder name, e.g. "query"), from the template; {} if it cannot be read."""
    try:
        template = yaml.load(path.read_text(), Loader=_CfnLoader)
    except (OSError, yaml.YAMLError):
        return {}
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    memory: dict[str, int] = {}
    for resource in template.get("Resources", {}).values():
        # Fn::ForEach loops (lists) generate log groups and alarms only, never functions.
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        name = str(properties.get("CodeUri", "")).rstrip("/").split("/")[-1]
        if name:
            memory[name] = int(properties.get("MemorySize", default))
    return memory


# -- per-job profile ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionUse:
    memory_mb: int
    duration_ms: float  # billed duration per invocation (warm; arm64)
    invocations: float  # per job; Query invocations are substituted for the query function


# Stated assumptions for a successful API job (see cost.md). Memory defaults are replaced by the template's.
DEFAULT_PROFILE: dict[str, FunctionUse] = {
    "api": FunctionUse(256, 60, 3),  # create, start, one GET for the result
    "upload_trigger": FunctionUse(256, 150, 2),  # one per uploaded photo (reads and inspects it)
    "validate": FunctionUse(512, 400, 1),  # decodes both photos
    "submit": FunctionUse(256, 1500, 1),  # uploads both photos to the provider
    "query": FunctionUse(128, 300, 0),  # per invocation: its first poll; inline waits and polls are billed apart
    "archive": FunctionUse(512, 1500, 1),  # streams the result to S3, emits the event
    "request_listener": FunctionUse(256, 100, 0),  # EventBridge-origin jobs only
    "record_failure": FunctionUse(256, 100, 0),  # failed jobs only
}


@dataclass(frozen=True)
class JobRequests:
    """Non-Lambda requests per successful API job (counted from the code paths; see cost.md)."""

    http_api_requests: float = 3  # POST /v1/swaps, POST .../start, GET /v1/swaps/{id}
    s3_put_requests: float = 3  # two presigned POST uploads, one result PUT (single part below 8 MiB)
    s3_get_requests: float = 7  # upload trigger 2 reads, validate 2, submit 2, the client's result download 1
    dynamodb_writes_fixed: float = 9  # create, 2 uploads, queued, begin/record submit, succeeded, event sent, stats
    # The query step reads the job once and adds its polls in one UpdateItem per invocation (inline polls included).
    dynamodb_writes_per_query_invocation: float = 1
    dynamodb_reads_per_query_invocation: float = 1
    dynamodb_reads: float = 8  # start, 2 upload reads, validate, submit, archive, stats, GET
    wru_per_write: int = 2  # a job item is 1-2 KB (write units are per 1 KB)
    rru_per_read: int = 1  # strongly consistent, item under 4 KB
    eventbridge_events: float = 1  # FaceSwap Succeeded (under 64 KB)


@dataclass
class CostBreakdown:
    lines: dict[str, float] = field(default_factory=dict)  # label -> $ per 1,000 jobs

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    @property
    def overhead(self) -> float:
        """The AWS cost as a fraction of the provider's price for the same 1,000 swaps."""
        return self.total / (PROVIDER_PRICE_PER_SWAP * 1000)


def default_profile(polls_per_job: float, query_invocations_per_job: float | None = None) -> dict[str, FunctionUse]:
    """The stated profile at the template's memory sizes. Without inline polling every poll is one Query
    invocation, so `query_invocations_per_job` defaults to `polls_per_job`."""
    memory = template_memory_mb()
    profile = {name: replace(use, memory_mb=memory.get(name, use.memory_mb)) for name, use in DEFAULT_PROFILE.items()}
    invocations = polls_per_job if query_invocations_per_job is None else query_invocations_per_job
    profile["query"] = replace(profile["query"], invocations=invocations)
    return profile


def lambda_gb_seconds_per_job(profile: dict[str, FunctionUse], inline_seconds_per_job: float = 0.0) -> float:
    """GB-s per job of every function, plus the Query function's inline seconds at its memory."""
    invoked = sum(use.memory_mb / 1024 * use.duration_ms / 1000 * use.invocations for use in profile.values())
    return invoked + profile["query"].memory_mb / 1024 * inline_seconds_per_job


def cost_per_1000_jobs(
    transitions_per_job: float | None = None,
    lambda_profile: dict[str, FunctionUse] | None = None,
    *,
    polls_per_job: float = 3.0,
    query_invocations_per_job: float | None = None,
    inline_seconds_per_job: float = 0.0,
    requests: JobRequests | None = None,
) -> CostBreakdown:
    """AWS cost of 1,000 successful jobs.

    Polls (provider GETs and the DynamoDB write each one makes) scale with `polls_per_job`; state transitions and
    Lambda requests with `query_invocations_per_job` (default: one invocation per poll, no inline polling);
    `inline_seconds_per_job` (time a Query invocation spends waiting and polling again after its first poll) is
    billed at the Query function's memory. Pass measured `transitions_per_job` (from execution histories) and a
    measured `lambda_profile` to replace the defaults (if measured Query durations already include the inline
    waits, leave `inline_seconds_per_job` at 0)."""
    requests = requests or JobRequests()
    invocations = polls_per_job if query_invocations_per_job is None else query_invocations_per_job
    transitions = success_transitions(invocations) if transitions_per_job is None else transitions_per_job
    profile = lambda_profile or default_profile(polls_per_job, invocations)
    jobs = 1000
    costs = CostBreakdown()
    costs.lines["Step Functions transitions"] = jobs * transitions * SFN_PER_TRANSITION
    for name, use in profile.items():
        if use.invocations <= 0:
            continue
        gb_seconds = use.memory_mb / 1024 * use.duration_ms / 1000 * use.invocations
        costs.lines[f"Lambda {name} requests"] = jobs * use.invocations * LAMBDA_PER_REQUEST
        costs.lines[f"Lambda {name} GB-s"] = jobs * gb_seconds * LAMBDA_ARM64_PER_GB_SECOND
        if name == "query" and inline_seconds_per_job > 0:
            inline_gb_seconds = use.memory_mb / 1024 * inline_seconds_per_job
            costs.lines["Lambda query inline GB-s"] = jobs * inline_gb_seconds * LAMBDA_ARM64_PER_GB_SECOND
    costs.lines["S3 PUT/POST"] = jobs * requests.s3_put_requests * S3_PUT_PER_REQUEST
    costs.lines["S3 GET"] = jobs * requests.s3_get_requests * S3_GET_PER_REQUEST
    writes = requests.dynamodb_writes_fixed + requests.dynamodb_writes_per_query_invocation * invocations
    reads = requests.dynamodb_reads + requests.dynamodb_reads_per_query_invocation * invocations
    costs.lines["DynamoDB writes"] = jobs * writes * requests.wru_per_write * DYNAMODB_PER_WRU
    costs.lines["DynamoDB reads"] = jobs * reads * requests.rru_per_read * DYNAMODB_PER_RRU
    costs.lines["EventBridge events"] = jobs * requests.eventbridge_events * EVENTBRIDGE_PER_EVENT
    costs.lines["HTTP API requests"] = jobs * requests.http_api_requests * HTTP_API_PER_REQUEST
    return costs


def max_invocations_within_target(
    polls_per_invocation: float = 1.0, inline_seconds_per_invocation: float = 0.0, requests: JobRequests | None = None
) -> float:
    """The largest Query invocations/job that keep the overhead under the target, each invocation making
    `polls_per_invocation` polls and waiting `inline_seconds_per_invocation` inline (the rest as default)."""

    def cost(invocations: float) -> float:
        return cost_per_1000_jobs(
            polls_per_job=invocations * polls_per_invocation,
            query_invocations_per_job=invocations,
            inline_seconds_per_job=invocations * inline_seconds_per_invocation,
            requests=requests,
        ).total

    low, high = 0.0, 200.0
    budget = OVERHEAD_TARGET * PROVIDER_PRICE_PER_SWAP * 1000
    if cost(0.0) >= budget:
        return 0.0
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if cost(middle) < budget else (low, middle)
    return low


def marginal_costs() -> dict[str, float]:
    """$ per 1,000 jobs of one more Query invocation (its transitions, request and first poll), one more inline
    poll (its DynamoDB write; its round trip is in the inline seconds) and one more inline second."""
    base = cost_per_1000_jobs(polls_per_job=1.0, query_invocations_per_job=1.0).total
    return {
        "invocation": cost_per_1000_jobs(polls_per_job=2.0, query_invocations_per_job=2.0).total - base,
        "inline poll": cost_per_1000_jobs(polls_per_job=2.0, query_invocations_per_job=1.0).total - base,
        "inline second": cost_per_1000_jobs(
            polls_per_job=1.0, query_invocations_per_job=1.0, inline_seconds_per_job=1.0
        ).total
        - base,
    }


# -- webhooks and the owner index -------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookProfile:
    """Per finished job with a webhook. Every terminal event is queued (the rule cannot see whether the job has a
    webhook), so jobs without one pay the queue and a short invocation too; this models the dearer case."""

    attempts: float = 1.1  # one delivery plus 10 % of receivers failing once (each retry is one more attempt)
    duration_ms: float = 250  # warm: read the job, presign, sign, one POST to a receiver nearby, two updates
    memory_mb: int = 256
    # SQS: EventBridge's SendMessage, then per attempt a ReceiveMessage; per retry a ChangeMessageVisibility;
    # one DeleteMessage at the end.
    sqs_requests_fixed: float = 2
    sqs_requests_per_attempt: float = 1
    sqs_requests_per_retry: float = 1
    dynamodb_reads_per_attempt: float = 1  # GetItem (item under 4 KB: 1 RRU)
    dynamodb_writes_per_attempt: float = 2  # claim + record
    wru_per_write: int = 4  # a 1-2 KB item, written to the table and again to the owner index (projection ALL)
    # GetSecretValue: cached 5 minutes per sandbox; at low traffic nearly every delivery finds the cache expired.
    secret_calls: float = 1
    log_bytes_per_attempt: int = 1200  # one JSON line per attempt plus the platform's START/END/REPORT lines
    bytes_out_per_attempt: int = 3000  # request line, headers with signatures, body (about 1.5 KB)


def webhook_cost_per_1000_jobs(profile: WebhookProfile | None = None) -> CostBreakdown:
    """What signed webhooks add per 1,000 jobs (EventBridge's delivery to the queue is free: PutEvents is billed once,
    already counted in the job's cost)."""
    p = profile or WebhookProfile()
    jobs = 1000
    retries = max(0.0, p.attempts - 1)
    sqs = p.sqs_requests_fixed + p.sqs_requests_per_attempt * p.attempts + p.sqs_requests_per_retry * retries
    costs = CostBreakdown()
    costs.lines["SQS requests"] = jobs * sqs * SQS_PER_REQUEST
    costs.lines["Lambda webhook requests"] = jobs * p.attempts * LAMBDA_PER_REQUEST
    gb_seconds = p.memory_mb / 1024 * p.duration_ms / 1000 * p.attempts
    costs.lines["Lambda webhook GB-s"] = jobs * gb_seconds * LAMBDA_ARM64_PER_GB_SECOND
    costs.lines["DynamoDB reads"] = jobs * p.dynamodb_reads_per_attempt * p.attempts * DYNAMODB_PER_RRU
    writes = p.dynamodb_writes_per_attempt * p.attempts * p.wru_per_write
    costs.lines["DynamoDB writes (table + index)"] = jobs * writes * DYNAMODB_PER_WRU
    costs.lines["Secrets Manager GetSecretValue"] = jobs * p.secret_calls * SECRETS_MANAGER_PER_CALL
    costs.lines["CloudWatch Logs"] = jobs * p.attempts * p.log_bytes_per_attempt / 1e9 * LOGS_INGESTION_PER_GB
    costs.lines["data transfer out"] = jobs * p.attempts * p.bytes_out_per_attempt / 1e9 * EGRESS_PER_GB
    return costs


def owner_index_cost_per_1000_jobs(requests: JobRequests | None = None, query_invocations: float = 3.0) -> float:
    """The owner index (listing) repeats every write of a job item (projection ALL): the job's writes once more."""
    requests = requests or JobRequests()
    writes = requests.dynamodb_writes_fixed + requests.dynamodb_writes_per_query_invocation * query_invocations
    return 1000 * writes * requests.wru_per_write * DYNAMODB_PER_WRU


def attempts_until_budget() -> int:
    """Attempts a delivery makes before it gives up, with the template's retry settings and average jitter."""
    from faceswap.domain.webhooks import RetryPolicy

    policy, elapsed, attempts = RetryPolicy(), 0.0, 1
    while policy.should_retry(0.0, elapsed):
        elapsed += policy.delay_seconds(attempts, lambda: 0.5)
        attempts += 1
    return attempts


def webhook_lines() -> list[str]:
    costs = webhook_cost_per_1000_jobs()
    profile = WebhookProfile()
    day = attempts_until_budget()
    verdict = "within" if costs.total < WEBHOOK_TARGET_PER_1000_JOBS else "OVER"
    lines = [
        "## Webhooks",
        "",
        f"Per job with a webhook ({profile.attempts:g} attempts on average, {profile.memory_mb} MB, "
        f"{profile.duration_ms:g} ms per attempt; SQS ${SQS_PER_REQUEST * 1e6:.2f}/million requests, Secrets Manager "
        f"${SECRETS_MANAGER_PER_CALL * 1e4:.2f}/10,000 calls, Logs ${LOGS_INGESTION_PER_GB:.2f}/GB, egress "
        f"${EGRESS_PER_GB:.2f}/GB):",
        "",
        "| item (per 1,000 jobs) | cost |",
        "|---|---:|",
        *[f"| {label} | ${value:.5f} |" for label, value in costs.lines.items()],
        f"| **total** | **${costs.total:.4f}** |",
        "",
        f"Target: under ${WEBHOOK_TARGET_PER_1000_JOBS:.2f} per 1,000 jobs: **{verdict}**. A receiver that is down "
        f"for the whole retry budget costs {day:g} attempts instead of {profile.attempts:g} for its jobs (about "
        f"${webhook_cost_per_1000_jobs(WebhookProfile(attempts=day)).total:.3f} per 1,000 such jobs).",
        "",
        "Fixed per month, whatever the volume: two secrets (signing, cursor key) "
        f"${2 * SECRETS_MANAGER_PER_SECRET_MONTH:.2f}; the event source mapping's idle long polls (about 15 "
        "ReceiveMessage a minute) "
        f"${15 * 60 * 24 * 30 * SQS_PER_REQUEST:.2f}.",
        "",
        f"Listing: the owner index repeats each job's writes, about ${owner_index_cost_per_1000_jobs():.4f} per 1,000 "
        "jobs (3 Query invocations); a listing page costs one Query (0.5 RRU per 4 KB read, eventually consistent).",
    ]
    return lines


# -- report -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """Per job: Query invocations, polls (inline ones included) and seconds spent inline."""

    invocations: float
    polls: float
    inline_seconds: float = 0.0

    @property
    def label(self) -> str:
        inline = f", {self.inline_seconds:g} s inline" if self.inline_seconds else ""
        return f"{self.invocations:g} inv, {self.polls:g} polls{inline}"

    def cost(self) -> CostBreakdown:
        return cost_per_1000_jobs(
            polls_per_job=self.polls,
            query_invocations_per_job=self.invocations,
            inline_seconds_per_job=self.inline_seconds,
        )


SCENARIOS = [
    Scenario(1, 1),  # the provider finished before the first poll
    Scenario(1, 4, 14),  # one invocation that polls inline through the dense interval
    Scenario(2, 7, 30),
    Scenario(3, 3),  # the adaptive policy without inline polling, median 15 s
    Scenario(13, 13),  # the fixed 5 s loop, median 60 s
]


def _table(scenarios: list[Scenario]) -> list[str]:
    breakdowns = [scenario.cost() for scenario in scenarios]
    lines = [
        "| item (per 1,000 jobs) | " + " | ".join(s.label for s in scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    labels = list(dict.fromkeys(label for b in breakdowns for label in b.lines))
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(f"${b.lines.get(label, 0.0):.5f}" for b in breakdowns) + " |")
    lines.append("| **total AWS** | " + " | ".join(f"**${b.total:.4f}**" for b in breakdowns) + " |")
    provider = PROVIDER_PRICE_PER_SWAP * 1000
    lines.append("| provider (5 credits/swap) | " + " | ".join(f"${provider:.2f}" for _ in breakdowns) + " |")
    lines.append("| **AWS overhead vs provider** | " + " | ".join(f"**{b.overhead:.2%}**" for b in breakdowns) + " |")
    return lines


def main() -> int:
    profile = default_profile(polls_per_job=0)
    requests = JobRequests()
    marginal = marginal_costs()
    limit = max_invocations_within_target()
    budget = OVERHEAD_TARGET * PROVIDER_PRICE_PER_SWAP * 1000
    floor = Scenario(1, 1).cost()
    lines = [
        "# AWS cost per 1,000 jobs (static model)",
        "",
        f"Prices (us-east-1, on-demand, free tiers ignored), dated {PRICE_DATE}; source: {PRICES_SOURCE}.",
        "",
        "| item | price |",
        "|---|---|",
        f"| Step Functions Standard | ${SFN_PER_TRANSITION * 1000:.3f} per 1,000 transitions |",
        f"| Lambda requests | ${LAMBDA_PER_REQUEST * 1e6:.2f} per million |",
        f"| Lambda duration arm64 | ${LAMBDA_ARM64_PER_GB_SECOND:.10f} per GB-s |",
        f"| HTTP API | ${HTTP_API_PER_REQUEST * 1e6:.2f} per million |",
        f"| S3 PUT/POST, GET | ${S3_PUT_PER_REQUEST * 1000:.4f}, ${S3_GET_PER_REQUEST * 1000:.4f} per 1,000 |",
        f"| EventBridge custom events | ${EVENTBRIDGE_PER_EVENT * 1e6:.2f} per million |",
        f"| DynamoDB on-demand | ${DYNAMODB_PER_WRU * 1e6:.3f} per million WRU, ${DYNAMODB_PER_RRU * 1e6:.3f} per "
        "million RRU |",
        f"| provider (AILabTools, 5 credits) | ${PROVIDER_PRICE_PER_SWAP} per swap |",
        "",
        f"Transitions of a successful execution, counted from the ASL: {FIXED_TRANSITIONS} fixed (start + the "
        f"success path outside the loop) + {TRANSITIONS_PER_INVOCATION} per Query invocation (Wait, Query, Choice). "
        "Polls made inline (the Query function waits and asks the provider again within its budget) add no "
        "transition: only a DynamoDB write, a provider GET (free: AILabTools bills per task) and the Lambda seconds.",
        "",
        "Lambda profile (memory from template.yaml; durations are stated assumptions until measured):",
        "",
        "| function | memory MB | duration ms | invocations/job |",
        "|---|---:|---:|---:|",
    ]
    for name, use in profile.items():
        invocations = "Query invocations" if name == "query" else f"{use.invocations:g}"
        duration = f"{use.duration_ms:g} + inline seconds" if name == "query" else f"{use.duration_ms:g}"
        lines.append(f"| {name} | {use.memory_mb} | {duration} | {invocations} |")
    lines += [
        "",
        f"Other requests per job: {requests}.",
        "",
        "Marginal cost per 1,000 jobs: one more Query invocation (3 transitions, a request, its first poll) "
        f"**${marginal['invocation']:.4f}**; one more inline poll (a DynamoDB write) ${marginal['inline poll']:.5f}; "
        f"one more inline second at {profile['query'].memory_mb} MB ${marginal['inline second']:.5f}. So an "
        f"invocation costs as much as {marginal['invocation'] / marginal['inline second']:.0f} s of inline waiting: "
        "short waits belong inside the function, long ones in the Wait state (free per second).",
        "",
        *_table(SCENARIOS),
        "",
        f"Target: AWS overhead under {OVERHEAD_TARGET:.0%} of the provider's price (${budget:.2f} per 1,000 jobs). "
        f"The floor (one invocation, one poll) is ${floor.total:.4f} ({floor.overhead:.2%}); without inline polling "
        f"the target holds up to **{limit:.2f} Query invocations per job** on average, and each inline second "
        f"spends {marginal['inline second'] / (budget - floor.total):.1%} of the remaining "
        f"${budget - floor.total:.4f}. Step Functions transitions are most of the bill.",
        "See polling.md for the invocations, polls and inline seconds each schedule needs per distribution.",
        "",
        "Not modelled: CloudWatch Logs ingestion, X-Ray traces, Secrets Manager calls (the key is cached per "
        "container), S3 storage and egress, retries, failed jobs.",
        "",
        *webhook_lines(),
    ]
    publish(RESULTS, lines)
    return 0 if webhook_cost_per_1000_jobs().total < WEBHOOK_TARGET_PER_1000_JOBS else 1


if __name__ == "__main__":
    sys.exit(main())
