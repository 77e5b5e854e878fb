"""Fault injection: an ordered, thread-safe rule table with a seeded RNG.

A request to an endpoint fires the first rule for that endpoint that still has `times` left and wins its
`probability` draw. Rules can be set from Python, from the CLI (`submit:http_429:times=2`) and over HTTP.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = ("submit", "query", "result")

# Answer with an error instead of doing the work (every endpoint).
HTTP_FAULTS = frozenset({"http_429", "no_credits", "http_500", "http_502", "http_503", "html_502", "malformed_json"})
TRANSPORT_FAULTS = frozenset({"timeout", "reset"})
# Change what the task reports: on submit they are stamped on the new task, on query they answer that one query.
TASK_FAULTS = frozenset({"task_failed", "task_status_3", "never_finish"})
# Answer quirks: the same meaning in another shape, as other providers' stand-ins and proxies produce them.
#   error_in_200        HTTP 200, error_code 0, the error only in `error_detail.code` (param field=error_code_str
#                       puts it in the legacy field instead) and no task_status/task_id.
#   error_with_payload  a success payload (task_status 2 + data.image) that also names an error code.
#   loose_types         numbers as strings/floats ("2.0", 0.0) and `data` as a JSON-encoded string.
#   non_ascii_task_id   (submit) the new task's id contains non-ASCII characters.
#   accept_then_502     (submit) the task is accepted (and charged), then a proxy answers an HTML 502.
#   headers_then_stall  (result) status and headers are sent, then nothing for `seconds`.
QUIRK_FAULTS = frozenset({"error_in_200", "error_with_payload", "loose_types"})

FAULTS_BY_ENDPOINT: dict[str, frozenset[str]] = {
    "submit": HTTP_FAULTS
    | TRANSPORT_FAULTS
    | TASK_FAULTS
    | {"accept_then_timeout", "accept_then_502", "error_in_200", "loose_types", "non_ascii_task_id"},
    "query": HTTP_FAULTS | TRANSPORT_FAULTS | TASK_FAULTS | QUIRK_FAULTS,
    "result": HTTP_FAULTS
    | TRANSPORT_FAULTS
    | {"result_expired", "result_slow", "result_not_image", "headers_then_stall"},
}

_RULE_FIELDS = ("endpoint", "fault", "times", "probability", "params")


@dataclass
class FaultRule:
    endpoint: str
    fault: str
    times: int | None = None  # None = every matching request
    probability: float | None = None  # None = always
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.endpoint not in FAULTS_BY_ENDPOINT:
            raise ValueError(f"unknown fault endpoint {self.endpoint!r}; use one of {', '.join(ENDPOINTS)}")
        allowed = FAULTS_BY_ENDPOINT[self.endpoint]
        if self.fault not in allowed:
            raise ValueError(f"fault {self.fault!r} does not apply to {self.endpoint}; use one of {sorted(allowed)}")
        if self.times is not None and (not isinstance(self.times, int) or self.times < 0):
            raise ValueError("times must be a non-negative integer or None")
        if self.probability is not None and not 0.0 <= float(self.probability) <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if not isinstance(self.params, dict):
            raise ValueError("params must be an object")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "fault": self.fault,
            "times": self.times,
            "probability": self.probability,
            "params": dict(self.params),
            "fired": self.fired,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError("a fault rule must be a JSON object")
        unknown = set(data) - {*_RULE_FIELDS, "fired"}
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        return cls(
            endpoint=str(data.get("endpoint", "")),
            fault=str(data.get("fault", "")),
            times=data.get("times"),
            probability=data.get("probability"),
            params=data.get("params") or {},
        )

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """`endpoint:fault[:key=value[,key=value]...]`, e.g. `submit:http_429:times=2` or
        `query:task_failed:code=ERROR_FACE_COUNT_INVALID,probability=0.5`."""
        parts = spec.split(":")
        if len(parts) < 2:
            raise ValueError(f"fault spec {spec!r} must look like endpoint:fault[:key=value,...]")
        endpoint, fault, *options = parts
        values: dict[str, Any] = {}
        for option in ",".join(options).split(","):
            if not option:
                continue
            key, sep, raw = option.partition("=")
            if not sep or not key:
                raise ValueError(f"fault option {option!r} must be key=value")
            values[key.strip()] = _scalar(raw.strip())
        times = values.pop("times", None)
        probability = values.pop("probability", None)
        return cls(endpoint.strip(), fault.strip(), times=times, probability=probability, params=values)


def _scalar(raw: str) -> Any:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


class FaultTable:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._injected: Counter[str] = Counter()

    def add(
        self,
        rule_or_endpoint: FaultRule | str,
        fault: str | None = None,
        *,
        times: int | None = None,
        probability: float | None = None,
        params: dict[str, Any] | None = None,
        **extra_params: Any,
    ) -> FaultRule:
        """`add(FaultRule(...))`, or `add("submit", "http_429", times=2)`, or `add("query", "task_failed",
        code="ERROR_FACE_COUNT_INVALID")` (extra keywords become params)."""
        if isinstance(rule_or_endpoint, FaultRule):
            rule = rule_or_endpoint
        else:
            rule = FaultRule(
                rule_or_endpoint,
                fault or "",
                times=times,
                probability=probability,
                params={**(params or {}), **extra_params},
            )
        with self._lock:
            self._rules.append(rule)
        return rule

    def extend(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)

    def pick(self, endpoint: str) -> FaultRule | None:
        """The rule that fires for this request, if any (counted as injected)."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint != endpoint or rule.exhausted:
                    continue
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                self._injected[rule.fault] += 1
                return rule
        return None
