"""The harness on the fixture template: real ASL, real handlers, moto server, scaled time (0)."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from faceswap_local.aws import FunctionInvocationError, LocalCloud
from faceswap_local.gateway import LocalGateway
from faceswap_local.local_auth import LocalAuth

ACCOUNT = "123456789012"


def _start(cloud: LocalCloud, name: str, **extra: object) -> None:
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.deployment.state_machines["FlowStateMachine"],
        name=name,
        input=json.dumps({"job_id": name, "polls": 0, **extra}),
    )


def test_deploys_the_template_resources_with_their_resolved_names(cloud: LocalCloud) -> None:
    bucket = cloud.resources["SwapBucket"]
    assert bucket == f"fixture-swap-{ACCOUNT}-us-east-1"
    cloud.client("s3").head_bucket(Bucket=bucket)
    ttl = cloud.client("dynamodb").describe_time_to_live(TableName=cloud.resources["JobsTable"])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.resources["WorkQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(
        ":faceswap-local-WorkDeadLetterQueue"
    )
    assert cloud.client("events").describe_event_bus(Name=cloud.resources["EventBus"])["Name"] == "faceswap-local-bus"
    assert cloud.function_name("WorkFunction") == "faceswap-local-WorkFunction"
    notification = cloud.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    (configuration,) = notification["LambdaFunctionConfigurations"]
    assert configuration["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert cloud.deployment.http_routes == {"ApiFunction": ["GET /v1/items"]}  # for the local gateway
    skipped = cloud.deployment.skipped
    assert {"HttpApi", "FailuresAlarm", "ApiLogGroup", "ProdOnlyQueue"} <= set(skipped)


def test_handler_gets_its_environment_context_and_a_module_level_client_bound_to_the_cloud(cloud: LocalCloud) -> None:
    result = cloud.invoke("ApiFunction", {"rawPath": "/v1/items"})
    env = result["env"]
    assert env["BUCKET_NAME"] == cloud.resources["SwapBucket"]
    assert env["JOBS_TABLE"] == cloud.resources["JobsTable"]  # from Globals
    assert env["STAGE_LABEL"] == "development"  # Fn::If on a condition
    assert env["SECRET_ARN"] == cloud.resources["ProviderApiKeySecret"]
    assert env["QUEUE_ARN"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:faceswap-local-WorkQueue"
    assert env["PROD_ONLY"] is None  # AWS::NoValue removed the variable
    assert env["JOINED"] == "fixture/b"
    assert env["FLAG"] == "true"
    assert env["LOCAL_EXTRA"] == "on"  # env_overrides
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "faceswap-local-ApiFunction"
    assert result["secret"] == "key-123"  # secret_values, read by a client created at import time
    context = result["context"]
    assert context["function_name"] == "faceswap-local-ApiFunction"
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":function:faceswap-local-ApiFunction")
    assert 0 < context["remaining_ms"] <= 10_000
    assert "JOBS_TABLE" not in os.environ  # the handler's environment did not leak into the process


def test_function_level_variables_override_globals(cloud: LocalCloud) -> None:
    function = cloud.client("lambda").get_function(FunctionName=cloud.function_name("UploadTriggerFunction"))
    variables = function["Configuration"]["Environment"]["Variables"]
    assert variables["EVENT_SOURCE"] == "overridden-by-function"
    assert variables["STATE_MACHINE_ARN"] == cloud.deployment.state_machines["FlowStateMachine"]


def test_a_failing_handler_raises_with_lambdas_error_object(cloud: LocalCloud) -> None:
    with pytest.raises(FunctionInvocationError) as raised:
        cloud.invoke("ApiFunction", {"crash": True})
    assert raised.value.payload["errorType"] == "ValueError"
    assert raised.value.payload["errorMessage"] == "asked to crash"
    record = [r for r in cloud.invocations if r.event == {"crash": True}][-1]
    assert record.errored and record.function == "ApiFunction"


def test_wait_loop_runs_with_time_scaled_to_zero(cloud: LocalCloud) -> None:
    waits_before = len(cloud.clock.waits)
    _start(cloud, "wait-loop", target_polls=3)
    result = cloud.wait_execution("wait-loop", timeout=20)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["work"]["polls"] == 3
    assert cloud.clock.waits[waits_before:] == [7, 7]  # SecondsPath from the handler, WaitSeconds default
    entered = [e for e in cloud.execution_history("wait-loop") if e["type"] == "WaitStateEntered"]
    assert len(entered) == 2


def test_retry_reinvokes_the_handler_after_a_hook_fails_the_first_attempt(cloud: LocalCloud) -> None:
    class InjectedFailure(Exception):
        pass

    def fail_first(function: str, event: dict, attempt: int) -> None:
        if function == "WorkFunction" and event.get("job_id") == "retry-job" and attempt == 1:
            raise InjectedFailure("first attempt fails")

    cloud.add_invoke_hook(fail_first)
    sleeps_before = len(cloud.clock.retry_sleeps)
    _start(cloud, "retry-job", target_polls=1)
    assert cloud.wait_execution("retry-job", timeout=20)["status"] == "SUCCEEDED"
    attempts = [r for r in cloud.invocations if r.function == "WorkFunction" and r.event["job_id"] == "retry-job"]
    assert [r.errored for r in attempts] == [True, False]
    assert attempts[0].payload["errorType"] == "InjectedFailure"
    assert cloud.clock.retry_sleeps[sleeps_before:] == [3]  # IntervalSeconds, slept for 0 s


def test_catch_path_ends_in_the_fail_state(cloud: LocalCloud) -> None:
    _start(cloud, "fatal-job", fatal=True)
    result = cloud.wait_execution("fatal-job", timeout=20)
    assert result["status"] == "FAILED"
    assert result["error"] == "FixtureFailed"
    assert json.loads(result["cause"])["errorType"] == "FatalError"


def test_presigned_post_upload_over_http_fires_the_s3_notification(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    bucket = cloud.resources["SwapBucket"]
    form = s3.generate_presigned_post(bucket, "uploads/upload-job/target", ExpiresIn=300)
    assert form["url"].startswith(cloud.endpoint_url)
    response = requests.post(form["url"], data=form["fields"], files={"file": ("t.jpg", b"\xff\xd8image")}, timeout=10)
    assert response.status_code == 204
    assert cloud.wait_execution("upload-job", timeout=20)["status"] == "SUCCEEDED"
    (record,) = cloud.wait_for_invocation("UploadTriggerFunction", lambda r: "upload-job" in json.dumps(r.event))
    assert record.event["Records"][0]["s3"]["bucket"]["name"] == bucket
    # Outside the prefix filter: no invocation.
    s3.put_object(Bucket=bucket, Key="results/elsewhere.jpg", Body=b"x")
    assert not [r for r in cloud.invocations if "elsewhere" in json.dumps(r.event)]


def test_eventbridge_rule_invokes_the_lambda_target(cloud: LocalCloud) -> None:
    entries = cloud.client("events").put_events(
        Entries=[
            {
                "EventBusName": cloud.resources["EventBus"],
                "Source": "fixture",
                "DetailType": "Fixture Requested",
                "Detail": json.dumps({"job_id": "eb-job"}),
            }
        ]
    )
    assert entries["FailedEntryCount"] == 0
    (record,) = cloud.wait_for_invocation("RequestListenerFunction", lambda r: r.event["detail"]["job_id"] == "eb-job")
    assert record.event["detail-type"] == "Fixture Requested"
    assert record.event["time"].endswith("Z")
    item = cloud.client("dynamodb").get_item(TableName=cloud.resources["JobsTable"], Key={"job_id": {"S": "eb-job"}})
    assert item["Item"]["origin"] == {"S": "eventbridge"}


def test_event_tap_sees_events_put_by_the_state_machine(cloud: LocalCloud) -> None:
    tap = cloud.event_tap("EventBus")
    _start(cloud, "tap-job", target_polls=1)
    (event,) = tap.wait_for(lambda e: e["detail-type"] == "Fixture Done" and e["detail"]["job_id"] == "tap-job")
    assert event["source"] == "fixture"
    assert event["detail"]["polls"] == 1
    assert any("execution:faceswap-local-FlowStateMachine:tap-job" in r for r in event["resources"])
    assert event["account"] == cloud.account_id  # moto drops it from SQS-target envelopes; the harness restores it


def test_log_sink_receives_each_json_log_line_as_a_dict(cloud: LocalCloud, cloud_logs: list) -> None:
    cloud.invoke("WorkFunction", {"job_id": "log-job", "target_polls": 1})
    records = [r for f, r in cloud_logs if f == "WorkFunction" and isinstance(r, dict) and r.get("job_id") == "log-job"]
    assert records == [{"level": "INFO", "message": "polled", "function": "faceswap-local-WorkFunction",
                        "job_id": "log-job", "polls": 1}]  # fmt: skip


def test_unnamed_executions_get_distinct_names(cloud: LocalCloud) -> None:
    sfn = cloud.client("stepfunctions")
    arn = cloud.deployment.state_machines["FlowStateMachine"]
    first = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job_id": "u1", "target_polls": 1}))
    second = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job_id": "u2", "target_polls": 1}))
    assert first["executionArn"] != second["executionArn"]
    assert not first["executionArn"].endswith(":None")


def test_handlers_run_concurrently(cloud: LocalCloud) -> None:
    barrier = threading.Barrier(2, timeout=10)

    def meet(function: str, event: dict, attempt: int) -> None:
        if event.get("barrier"):
            barrier.wait()  # both invocations must be inside a handler at once, or this times out

    cloud.add_invoke_hook(meet)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda n: cloud.invoke("ApiFunction", {"barrier": True, "n": n}), [1, 2]))
    assert sorted(r["echo"]["n"] for r in results) == [1, 2]


def test_gateway_in_front_of_the_api_function(cloud: LocalCloud) -> None:
    auth = LocalAuth()
    gateway = LocalGateway(
        lambda event: cloud.invoke("ApiFunction", event),
        port=0,
        auth=auth,
        routes=cloud.deployment.http_routes["ApiFunction"],
    )
    base_url = gateway.start()
    try:
        ok = requests.get(
            f"{base_url}/v1/items?x=1", headers={"Authorization": f"Bearer {auth.mint('alice')}"}, timeout=10
        )
        refused = requests.get(f"{base_url}/v1/items", timeout=10)
    finally:
        gateway.stop()
    assert ok.status_code == 200
    echoed = ok.json()["echo"]
    assert echoed["rawPath"] == "/v1/items" and echoed["queryStringParameters"] == {"x": "1"}
    assert echoed["routeKey"] == "GET /v1/items"
    assert echoed["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}
