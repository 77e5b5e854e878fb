"""Stopping the cloud: running executions are stopped, no thread is left to call a dead server, patches undone."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from faceswap_local.aws import LocalCloud, TemplateError
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.utils import TMP_THREADS

from .conftest import FIXTURE_TEMPLATE


def test_stop_ends_a_waiting_execution_and_restores_everything() -> None:
    original_invoke = LambdaFunction._invoke_lambda
    original_wait = WaitFunction._wait_interval
    original_environ_type = type(os.environ)
    moto_port_before = os.environ.get("MOTO_PORT")
    cloud = LocalCloud(FIXTURE_TEMPLATE, parameter_overrides={"WaitSeconds": "3600"}, time_scale=1.0)
    cloud.start()
    port = int(cloud.endpoint_url.rsplit(":", 1)[1])
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.deployment.state_machines["FlowStateMachine"],
        name="long-wait",
        input=json.dumps({"job_id": "long-wait", "target_polls": 2}),
    )
    deadline = time.monotonic() + 10
    while not any(e["type"] == "WaitStateEntered" for e in cloud.execution_history("long-wait")):
        assert time.monotonic() < deadline, "the execution never reached its Wait state"
        time.sleep(0.02)
    sfn = cloud.client("stepfunctions")
    arn = cloud.execution_arn("long-wait")

    cloud.stop()

    assert not [t for t in TMP_THREADS if t.is_alive()]  # nothing left to call the stopped server
    assert LambdaFunction._invoke_lambda is original_invoke
    assert WaitFunction._wait_interval is original_wait
    assert type(os.environ) is original_environ_type
    assert os.environ.get("MOTO_PORT") == moto_port_before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    del sfn, arn


def test_only_one_cloud_runs_per_process_and_a_failed_start_cleans_up(tmp_path: Path) -> None:
    bad = LocalCloud(FIXTURE_TEMPLATE, parameter_overrides={"Stage": "qa"})
    with pytest.raises(TemplateError, match="is not one of"):
        bad.start()
    with LocalCloud(FIXTURE_TEMPLATE) as cloud:  # the failed start released the process-wide slot
        with pytest.raises(RuntimeError, match="another LocalCloud"):
            LocalCloud(FIXTURE_TEMPLATE).start()
        assert cloud.invoke("WorkFunction", {"job_id": "x"})["polls"] == 1


def test_negative_time_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        LocalCloud(FIXTURE_TEMPLATE, time_scale=-1)
