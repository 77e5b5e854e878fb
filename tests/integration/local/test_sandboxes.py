"""Functions in worker processes: their own environment, cold starts, timeouts, crashes, SQS event sources."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from faceswap_local.aws import FunctionInvocationError, LocalCloud
from faceswap_local.aws.deploy import TemplateDeployer
from faceswap_local.aws.template import TemplateError

from .conftest import FIXTURE_TEMPLATE


def test_a_sandbox_sees_only_its_functions_environment_and_is_reused(cloud: LocalCloud) -> None:
    first = cloud.invoke("SlowFunction", {"job_id": "env"})
    second = cloud.invoke("SlowFunction", {"job_id": "env"})
    assert first["pid"] == second["pid"]  # warm: the same sandbox, imported once
    assert first["sandbox_started_at"] == second["sandbox_started_at"]
    environment = set(first["env"])
    assert {"JOBS_TABLE", "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT"} <= environment
    assert "BUCKET_NAME" not in environment  # ApiFunction's variable, not this function's
    assert not {"HOME", "VIRTUAL_ENV", "PYTEST_CURRENT_TEST"} & environment  # nothing of the developer's shell


def test_a_timed_out_invocation_kills_the_sandbox_and_reports_sandbox_timedout(cloud: LocalCloud) -> None:
    before = cloud.cold_starts()["SlowFunction"]
    began = time.monotonic()
    with pytest.raises(FunctionInvocationError) as raised:
        cloud.invoke("SlowFunction", {"job_id": "late", "sleep": 20})
    assert time.monotonic() - began < 10  # Timeout: 1 (plus a cold start), not 20 s
    assert raised.value.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in raised.value.payload["errorMessage"]
    assert cloud.invoke("SlowFunction", {"job_id": "after"})["pid"]  # a new sandbox answers
    assert cloud.cold_starts()["SlowFunction"] == before + 1


def test_step_functions_retries_a_timed_out_task(cloud: LocalCloud, tmp_path: Path) -> None:
    marker = tmp_path / "first-attempt"
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.deployment.state_machines["SlowStateMachine"],
        name="slow-job",
        input=json.dumps({"job_id": "slow-job", "first_attempt_marker": str(marker)}),
    )
    assert cloud.wait_execution("slow-job", timeout=30)["status"] == "SUCCEEDED"
    failures = [
        e["taskFailedEventDetails"]["error"] for e in cloud.execution_history("slow-job") if e["type"] == "TaskFailed"
    ]
    assert failures == ["Sandbox.Timedout"]


def test_a_crashed_sandbox_is_reported_and_replaced(cloud: LocalCloud) -> None:
    with pytest.raises(FunctionInvocationError) as raised:
        cloud.invoke("SlowFunction", {"job_id": "crash", "exit": True})
    assert raised.value.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in raised.value.payload["errorMessage"]
    assert cloud.invoke("SlowFunction", {"job_id": "fine"})["pid"]


def test_step_functions_sees_a_runtime_that_died_as_lambda_unknown(cloud: LocalCloud) -> None:
    # The Invoke API names the death Runtime.ExitError; Step Functions reports it as Lambda.Unknown, the name state
    # machines retry. A crash after a side effect (e.g. a stored result) must be retryable by that name.
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.deployment.state_machines["SlowStateMachine"],
        name="dying-job",
        input=json.dumps({"job_id": "dying-job", "exit": True}),
    )
    assert cloud.wait_execution("dying-job", timeout=30)["status"] == "FAILED"
    failures = [
        e["taskFailedEventDetails"]["error"] for e in cloud.execution_history("dying-job") if e["type"] == "TaskFailed"
    ]
    assert failures == ["Lambda.Unknown"]


def test_an_sqs_event_source_delivers_batches_and_retries_failures_into_the_dead_letter_queue(
    cloud: LocalCloud,
) -> None:
    events = cloud.client("events")
    for job_id, fail in (("hook-ok", False), ("hook-bad", True)):
        detail = json.dumps({"job_id": job_id, "fail": fail})
        entry = {"EventBusName": cloud.resources["EventBus"], "Source": "fixture", "DetailType": "Fixture Notify"}
        assert events.put_events(Entries=[{**entry, "Detail": detail}])["FailedEntryCount"] == 0
    table = cloud.resources["JobsTable"]
    dynamodb, sqs = cloud.client("dynamodb"), cloud.client("sqs")
    deadline = time.monotonic() + 20
    parked: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not parked:
        parked = sqs.receive_message(QueueUrl=cloud.resources["WebhookDeadLetterQueue"]).get("Messages", [])
        time.sleep(0.2)
    assert [json.loads(m["Body"])["detail"]["job_id"] for m in parked] == ["hook-bad"]
    item = dynamodb.get_item(TableName=table, Key={"job_id": {"S": "hook-ok"}})["Item"]
    assert item["origin"] == {"S": "webhook"} and item["source"] == {"S": "aws:sqs"}
    deliveries = [r for r in cloud.invocations if r.function == "WebhookFunction"]
    bad = [r for r in deliveries if "hook-bad" in json.dumps(r.event)]
    assert len(bad) == 2  # maxReceiveCount: delivered twice, then parked


def test_a_failing_asynchronous_invocation_is_retried_then_sent_to_its_on_failure_queue(cloud: LocalCloud) -> None:
    entry = {"EventBusName": cloud.resources["EventBus"], "Source": "fixture", "DetailType": "Fixture Requested"}
    detail = json.dumps({"job_id": "async-crash", "crash": True})
    cloud.client("events").put_events(Entries=[{**entry, "Detail": detail}])
    sqs = cloud.client("sqs")
    deadline = time.monotonic() + 20
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not messages:
        messages = sqs.receive_message(QueueUrl=cloud.resources["ListenerFailureQueue"]).get("Messages", [])
        time.sleep(0.1)
    (message,) = messages
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts: 1
    assert record["requestPayload"]["detail"]["job_id"] == "async-crash"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    attempts = [
        r for r in cloud.invocations if r.function == "RequestListenerFunction" and "async-crash" in str(r.event)
    ]
    assert [r.errored for r in attempts] == [True, True]


def test_the_table_has_its_global_secondary_index(cloud: LocalCloud) -> None:
    table = cloud.client("dynamodb").describe_table(TableName=cloud.resources["JobsTable"])["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by_origin"]


class _AnyClient:
    def __getattr__(self, _name: str) -> Any:
        return lambda **_kwargs: {"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x", "QueueUrl": "http://q"}


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ({"Type": "AWS::SNS::Topic"}, r"does not support: Extra \(AWS::SNS::Topic\)"),
        (
            {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "functions/work", "Events": {
                "Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}}}},
            "event type Schedule is not supported",
        ),
        (
            {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "functions/work", "VpcConfig": {}}},
            r"function properties not supported locally: \['VpcConfig'\]",
        ),
        ({"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}}, "queue properties not supported"),
        ({"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 day)"}}, "EventPattern"),
        ({"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"FunctionName": "f",
            "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}}, "only SQS event source mappings"),
        ({"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"FunctionName": "f", "EventSourceArn":
            "arn:aws:sqs:us-east-1:123456789012:q", "FilterCriteria": {}}}, r"mapping properties not supported"),
    ],
    ids=["resource-type", "event-type", "function-property", "queue-property", "schedule-rule", "mapping-source",
         "mapping-property"],
)  # fmt: skip
def test_what_the_local_stack_does_not_support_is_a_clear_error(
    tmp_path: Path, resource: dict[str, Any], message: str
) -> None:
    fixtures = FIXTURE_TEMPLATE.parent
    if "CodeUri" in resource.get("Properties", {}):
        resource["Properties"]["CodeUri"] = str(fixtures / resource["Properties"]["CodeUri"])
    layer = {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": str(fixtures / "layers/common")}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Resources": {"Extra": resource, "CommonLayer": layer}}))
    deployer = TemplateDeployer(
        path, lambda _service: _AnyClient(), region="us-east-1", account_id="123456789012",
        stack_name="t", parameter_overrides={}, env_overrides={}, secret_values={},
    )  # fmt: skip
    with pytest.raises(TemplateError, match=message):
        deployer.deploy()
