"""Unit-test fixtures: the app's resources in moto (decorator mode), configured through the same env variables."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from faceswap import config
from faceswap.adapters import aws_clients, latency_store, secret_values
from moto import mock_aws
from PIL import Image

REGION = "us-east-1"
BUCKET = "faceswap-123456789012-us-east-1"
TABLE = "faceswap-jobs"
LIMITS_TABLE = "faceswap-limits"
BUS = "faceswap-bus"


@dataclass
class FakeAws:
    s3: object
    dynamodb: object
    sfn: object
    sqs: object
    events_queue_url: str
    state_machine_arn: str

    def emitted_events(self) -> list[dict]:
        out = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def executions(self) -> list[dict]:
        return self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]


@pytest.fixture(autouse=True)
def fresh_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test is a new Lambda sandbox: no settings, clients, secret or latency estimate kept from another."""
    monkeypatch.setattr(aws_clients, "_clients", {})
    monkeypatch.setattr(latency_store, "_cache", {})
    monkeypatch.setattr(secret_values, "_provider_instance", None)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "JOBS_TABLE": TABLE,
        "LIMITS_TABLE": LIMITS_TABLE,
        "BUCKET_NAME": BUCKET,
        "EVENT_BUS_NAME": BUS,
        "EVENT_SOURCE": "faceswap",
        "POWERTOOLS_METRICS_NAMESPACE": "FaceSwap",
        "POWERTOOLS_SERVICE_NAME": "faceswap",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "JOB_TIMEOUT_SECONDS": "600",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.create_table(
            TableName=LIMITS_TABLE,
            KeySchema=[{"AttributeName": "counter_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "counter_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=BUS)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["faceswap"]}))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="face-swap",
            roleArn=role,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", machine)
        config.settings.cache_clear()  # STATE_MACHINE_ARN was just set
        yield FakeAws(s3, dynamodb, sfn, sqs, queue_url, machine)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (128, 128), color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()
