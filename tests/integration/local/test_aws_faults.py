"""AWS-side faults on a real moto server: boto3 sees each one as AWS would produce it, and the product's adapters
handle each (retried, translated to a retryable error, or checked)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from faceswap.adapters import aws_clients, secret_values
from faceswap.config import settings
from faceswap.provider import factory
from faceswap_local.aws_faults import AwsFaultRule, AwsFaults, install
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
BUCKET = "faults-bucket"
TABLE = "faults-jobs"
BUS = "faults-bus"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass
class Faulty:
    endpoint: str
    faults: AwsFaults

    def client(self, service: str, config: Config = NO_RETRIES):
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint, config=config)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[tuple[ThreadedMotoServer, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield server, f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faulty]:
    server, endpoint = moto_server
    faults = install(server, AwsFaults(seed=11)).faults
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "JOBS_TABLE": TABLE,
        "BUCKET_NAME": BUCKET,
        "EVENT_BUS_NAME": BUS,
    }.items():
        monkeypatch.setenv(name, value)
    # A fresh Lambda sandbox pointed at this server: new clients, settings and secret cache.
    monkeypatch.setattr(aws_clients, "_clients", {})
    monkeypatch.setattr(secret_values, "_provider_instance", None)
    settings.cache_clear()
    faulty = Faulty(endpoint, faults)
    s3 = faulty.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        faulty.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        faulty.client("events").create_event_bus(Name=BUS)
    s3.put_object(Bucket=BUCKET, Key="photo", Body=b"\xff\xd8\xff" + b"x" * 100)
    yield faulty
    faults.clear()
    settings.cache_clear()


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


# -- boto3 sees what AWS would send ------------------------------------------------------------------------------


def test_dynamodb_throttling_is_the_real_exception_and_boto3_retries_it(aws: Faulty):
    aws.faults.add("ddb_throttle", times=1)
    error = _error(lambda: aws.client("dynamodb").get_item(TableName=TABLE, Key={"job_id": {"S": "a"}}))
    assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "provisioned throughput" in error.response["Error"]["Message"]
    aws.faults.add("ddb_throttle", times=2)
    retrying = aws.client("dynamodb", Config(retries={"mode": "standard", "total_max_attempts": 4}))
    response = retrying.get_item(TableName=TABLE, Key={"job_id": {"S": "a"}})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2  # botocore classified it as throttling


def test_conditional_check_race_applies_the_write_and_answers_the_loser(aws: Faulty):
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item={"job_id": {"S": "race"}, "status": {"S": "awaiting"}})
    aws.faults.add("ddb_condition_race", times=1)
    error = _error(
        lambda: dynamodb.update_item(
            TableName=TABLE,
            Key={"job_id": {"S": "race"}},
            UpdateExpression="SET #s = :q",
            ConditionExpression="#s = :a",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":q": {"S": "queued"}, ":a": {"S": "awaiting"}},
        )
    )
    assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
    item = dynamodb.get_item(TableName=TABLE, Key={"job_id": {"S": "race"}})["Item"]
    assert item["status"]["S"] == "queued"  # the twin's write went through


def test_an_unconditional_write_never_loses_a_race_and_is_not_counted(aws: Faulty):
    # Counted injections are what the soak reports: an unconditional write cannot lose a race, so none is counted.
    dynamodb = aws.client("dynamodb")
    rule = aws.faults.add("ddb_condition_race")
    dynamodb.put_item(TableName=TABLE, Item={"job_id": {"S": "plain"}, "status": {"S": "awaiting"}})
    assert rule.fired == 0 and not aws.faults.injected
    assert dynamodb.get_item(TableName=TABLE, Key={"job_id": {"S": "plain"}})["Item"]["status"]["S"] == "awaiting"


@pytest.mark.parametrize(
    ("fault", "status", "code"), [("s3_slow_down", 503, "SlowDown"), ("s3_internal_error", 500, "InternalError")]
)
def test_s3_errors_on_get_and_put_are_xml_with_their_status(aws: Faulty, fault: str, status: int, code: str):
    s3 = aws.client("s3")
    aws.faults.add(fault, times=2)
    for call in (
        lambda: s3.get_object(Bucket=BUCKET, Key="photo"),
        lambda: s3.put_object(Bucket=BUCKET, Key="k", Body=b"1"),
    ):
        error = _error(call)
        assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    aws.faults.add(fault, times=1)
    retrying = aws.client("s3", Config(retries={"mode": "standard", "total_max_attempts": 3}))
    assert retrying.get_object(Bucket=BUCKET, Key="photo")["ResponseMetadata"]["RetryAttempts"] == 1


def test_eventbridge_partial_failure_is_a_200_with_failed_entries(aws: Faulty):
    aws.faults.add("events_failed_entry", times=1)
    response = aws.client("events").put_events(
        Entries=[{"Source": "faceswap", "DetailType": "x", "Detail": "{}", "EventBusName": BUS}]
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["FailedEntryCount"] == 1
    assert response["Entries"] == [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."}]


def test_secrets_manager_and_step_functions_throttling(aws: Faulty):
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="faults-key", SecretString="k")
    aws.faults.add("secrets_throttle", times=1)
    error = _error(lambda: secrets.get_secret_value(SecretId="faults-key"))
    assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ThrottlingException",
        400,
    )
    aws.faults.add("sfn_throttle", times=1)
    sfn = aws.client("stepfunctions")
    error = _error(lambda: sfn.start_execution(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:x"))
    assert error.response["Error"]["Code"] == "ThrottlingException"
    assert error.response["Error"]["Message"] == "Rate exceeded"


def test_rates_are_seeded_and_only_the_named_operations_are_faulted(aws: Faulty):
    def run(seed: int) -> list[bool]:
        install_faults = AwsFaults(seed, [AwsFaultRule("s3_slow_down", rate=0.2, operations=frozenset({"GetObject"}))])
        aws.faults.rules = install_faults.rules
        aws.faults._rng.seed(seed)  # the same table, reseeded: the sequence must repeat
        s3 = aws.client("s3")
        outcomes = []
        for _ in range(60):
            try:
                s3.get_object(Bucket=BUCKET, Key="photo")
                outcomes.append(False)
            except ClientError:
                outcomes.append(True)
        s3.put_object(Bucket=BUCKET, Key="never-faulted", Body=b"1")  # PutObject is not in the rule
        return outcomes

    first, second = run(5), run(5)
    assert first == second
    assert 4 <= sum(first) <= 24  # about 20 % of 60


# -- the product handles each ----------------------------------------------------------------------------------


def test_storage_retries_s3_503_and_500_then_reports_them_as_retryable(aws: Faulty):
    from faceswap.adapters.storage import Storage
    from faceswap.domain.errors import StorageTransientError

    storage = Storage(BUCKET)
    aws.faults.add("s3_slow_down", times=2)
    assert storage.read("photo", max_bytes=1000).startswith(b"\xff\xd8")  # boto3 retried
    aws.faults.add("s3_internal_error", times=1)
    storage.put_file("results/x.jpg", io.BytesIO(b"\xff\xd8\xffdata"), content_type="image/jpeg", metadata={})
    aws.faults.add("s3_slow_down", rate=1.0)
    with pytest.raises(StorageTransientError, match="SlowDown"):
        storage.read("photo", max_bytes=1000)
    with pytest.raises(StorageTransientError):
        storage.put_file("results/y.jpg", io.BytesIO(b"\xff\xd8\xffdata"), content_type="image/jpeg", metadata={})
    with pytest.raises(StorageTransientError):
        storage.head("photo")  # a HEAD's 503 has no body: its status code is the code


def test_job_store_turns_exhausted_throttling_into_a_retryable_error_and_survives_races(aws: Faulty):
    from faceswap.adapters.job_table import JobStore, new_job
    from faceswap.domain.errors import StorageTransientError

    store = JobStore()
    job = new_job(job_id="0" * 32, owner="o", origin="api", inputs={}, status="awaiting_upload")
    assert store.create(job)
    aws.faults.add("ddb_condition_race", times=1)
    assert store.mark_queued(job.job_id) is None  # lost the race...
    assert store.require(job.job_id).status == "queued"  # ...to a twin that did the same
    aws.faults.add("ddb_throttle", rate=1.0)
    with pytest.raises(StorageTransientError, match="ProvisionedThroughputExceeded"):
        store.get(job.job_id)


def test_a_partially_failed_put_events_is_an_error_and_is_published_again(aws: Faulty):
    from faceswap.adapters.event_bus import EventPublishError, publish

    aws.faults.add("events_failed_entry", times=1)
    with pytest.raises(EventPublishError, match="InternalFailure"):
        publish("FaceSwap Failed", {"job_id": "x"}, resources=[])
    publish("FaceSwap Failed", {"job_id": "x"}, resources=[])  # the retry goes through


def test_secrets_throttling_is_a_retryable_error(aws: Faulty, monkeypatch: pytest.MonkeyPatch):
    from faceswap.domain.errors import SecretUnavailableError, TransientError

    arn = aws.client("secretsmanager").create_secret(Name="provider-key-throttled", SecretString="the-key")["ARN"]
    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_ARN", arn)
    settings.cache_clear()  # the sandbox starts with this configuration
    aws.faults.add("secrets_throttle", rate=1.0)
    with pytest.raises(SecretUnavailableError, match="ThrottlingException") as caught:
        factory.api_key()
    assert isinstance(caught.value, TransientError)  # Submit and Query retry it
    aws.faults.clear()
    assert factory.api_key() == "the-key"


def test_start_execution_throttling_is_a_retryable_error(aws: Faulty, monkeypatch: pytest.MonkeyPatch):
    from faceswap.adapters import workflow_starter
    from faceswap.domain.errors import TransientError

    iam = aws.client("iam")
    role = iam.create_role(RoleName="faults-sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    arn = aws.client("stepfunctions").create_state_machine(name="faults", definition=definition, roleArn=role)[
        "stateMachineArn"
    ]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    settings.cache_clear()  # the sandbox starts with this configuration
    aws.faults.add("sfn_throttle", times=2)
    assert workflow_starter.start_execution("1" * 32) is True  # boto3 retried the throttle
    aws.faults.add("sfn_throttle", rate=1.0)
    with pytest.raises(workflow_starter.WorkflowStartThrottledError, match="ThrottlingException") as caught:
        workflow_starter.start_execution("2" * 32)
    assert isinstance(caught.value, TransientError)
