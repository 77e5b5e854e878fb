"""Machine-readable results on stdout: `key=value` pairs on one line (shell-quoted), or JSON with --json."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any, TextIO


def emit(stream: TextIO, fields: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        stream.write(json.dumps(fields, sort_keys=False) + "\n")
    else:
        pairs = (f"{key}={shlex.quote(str(value))}" for key, value in fields.items() if value is not None)
        stream.write(" ".join(pairs) + "\n")
    stream.flush()


def job_summary(job: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a job worth a line: status, timestamps, and the error or result."""
    fields: dict[str, Any] = {
        "job_id": job.get("job_id"),
        "status": job.get("status"),
        "origin": job.get("origin"),
        "client_reference": job.get("client_reference"),
        "created_at": job.get("created_at"),
        "updated_at": job.get("updated_at"),
        "completed_at": job.get("completed_at"),
        "polls": job.get("polls"),
    }
    error = job.get("error") or {}
    if error:
        fields["error_code"] = error.get("code")
        fields["error_message"] = error.get("message")
    result = job.get("result") or {}
    if result:
        fields["sha256"] = result.get("sha256")
        fields["size"] = result.get("size")
        fields["content_type"] = result.get("content_type")
    return fields
