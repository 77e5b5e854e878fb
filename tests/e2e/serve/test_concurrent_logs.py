"""20 concurrent jobs through the stack `make serve` runs: every function log record is attributed to the function
and the job that wrote it, because every invocation runs in a sandbox process of its own function."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.soak import UniquePhotos
from faceswap_local.stack import OfflineStack, StackOptions

JOBS = 20


def test_twenty_concurrent_jobs_log_under_the_right_function_and_job(sample_photos: dict[str, Path]) -> None:
    records: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def sink(function: str, record: Any) -> None:
        with lock:
            records.append((function, record))

    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.3),
        log_sink=sink,
        job_timeout_seconds=120,
        parameter_overrides={"MaxActiveJobsPerCaller": str(JOBS)},  # one caller runs them all at once
    )
    photos = UniquePhotos(sample_photos["grace_hopper"].read_bytes(), sample_photos["astronaut"].read_bytes())
    with OfflineStack(options) as stack:
        headers = {"Authorization": f"Bearer {stack.token}"}

        def run(index: int) -> str:
            created = requests.post(
                f"{stack.api_url}/v1/swaps",
                headers=headers,
                json={"target_content_type": "image/jpeg", "template_content_type": "image/jpeg"},
                timeout=60,
            ).json()
            for role, data in zip(("target", "template"), photos.pair(index), strict=True):
                form = created["uploads"][role]
                upload = requests.post(
                    form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=60
                )
                assert upload.status_code == 204, upload.text
            return str(created["job_id"])

        with ThreadPoolExecutor(JOBS) as pool:
            job_ids = list(pool.map(run, range(JOBS)))
        for job_id in job_ids:
            event = stack.wait_for_terminal_event(job_id, 120)
            assert event["detail-type"] == "FaceSwap Succeeded", event
        cloud = stack.cloud
        names = {logical_id: cloud.function_name(logical_id) for logical_id in cloud.deployment.functions}
    # Read once the stack has stopped: invocations still running at the last terminal event (the webhook function
    # consumes those events from its queue) have logged by now and have their records.
    invocations = {r.request_id: r for r in cloud.invocations}
    cold_starts = cloud.cold_starts()

    structured = [(function, record) for function, record in records if isinstance(record, dict) and "level" in record]
    assert len(structured) > JOBS * 5
    for function, record in structured:
        assert record["function_name"] == names[function], record
        invocation = invocations[record["function_request_id"]]
        assert invocation.function == function
        if "job_id" in record:
            assert record["job_id"] in job_ids
            seen = json.dumps([invocation.event, invocation.payload])
            assert record["job_id"] in seen, (function, record["message"])  # the job this invocation was about
    submitted = Counter(r["job_id"] for f, r in structured if f == "SubmitFunction" and r["message"] == "submitted")
    assert submitted == Counter({job_id: 1 for job_id in job_ids})
    assert 1 <= cold_starts["SubmitFunction"] <= options.max_sandboxes  # overlapping jobs got more sandboxes
    assert all(count <= options.max_sandboxes for count in cold_starts.values())
