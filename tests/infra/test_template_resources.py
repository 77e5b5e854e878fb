"""The SAM template translates offline and holds the resources, settings and wiring the architecture names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import FUNCTION_DIRS, REPO

COMPUTED_BUCKET_NAME = {"Fn::Sub": "${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}"}
PARAMETERS = {
    "BucketNamePrefix": "faceswap",
    "ProviderBaseUrl": "https://www.ailabapi.com",
    "AuthMode": "IAM",
    "JwtIssuer": "",
    "JwtAudience": "",
    "CorsAllowedOrigins": "",
    "ResultRetentionDays": 30,
    "InboxRetentionDays": 7,
    "JobTimeoutSeconds": 600,
    "JobRecordTtlDays": 90,
    "LogRetentionDays": 30,
    "EventSource": "faceswap",
    "PollExpectedSeconds": 12,
    "PollMinSeconds": 2,
    "PollMaxSeconds": 30,
    "AlarmTopicArn": "",
    "DefaultWebhookUrl": "",
}
ROUTES = {
    ("post", "/v1/swaps"),
    ("get", "/v1/swaps"),
    ("post", "/v1/swaps/{job_id}/webhook/redeliver"),
    ("get", "/v1/swaps/{job_id}"),
    ("delete", "/v1/swaps/{job_id}"),
    ("post", "/v1/swaps/{job_id}/start"),
    # Every method but OPTIONS (CORS preflights are answered by API Gateway, without the authorizer).
    *((method, "/v1/{proxy+}") for method in ("get", "post", "put", "patch", "delete", "head")),
}


def resources_of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in cfn["Resources"].items() if res["Type"] == kind}


def env(cfn: dict[str, Any], function: str) -> dict[str, Any]:
    return cfn["Resources"][function]["Properties"]["Environment"]["Variables"]


def test_parameters_and_defaults(sam_template):
    params = sam_template["Parameters"]
    for name, default in PARAMETERS.items():
        assert name in params, name
        assert str(params[name].get("Default")) == str(default), name
    assert params["AuthMode"]["AllowedValues"] == ["IAM", "JWT"]


def test_outputs(sam_template):
    assert set(sam_template["Outputs"]) >= {
        "ApiUrl",
        "BucketName",
        "JobsTableName",
        "EventBusName",
        "StateMachineArn",
        "ProviderApiKeySecretArn",
        "WebhookSigningSecretArn",
    }


def test_functions_use_their_folder_runtime_architecture_and_layer(sam_template, cfn):
    functions = resources_of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == set(FUNCTION_DIRS)
    for name, folder in FUNCTION_DIRS.items():
        props = functions[name]["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "app.lambda_handler"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Layers"][0]["Ref"].startswith("CommonLayer")
        assert len(props["Layers"]) == (2 if name == "ArchiveFunction" else 1)
        assert sam_template["Resources"][name]["Properties"]["CodeUri"] == f"functions/{folder}/"
        assert (REPO / "functions" / folder / "app.py").exists()
        variables = env(cfn, name)
        assert variables["POWERTOOLS_SERVICE_NAME"] == "faceswap"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "FaceSwap"
        assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
        # The computed name, never !Ref SwapBucket: that would close the notification cycle.
        assert variables["BUCKET_NAME"] == COMPUTED_BUCKET_NAME
        for shared in ("JOBS_TABLE", "EVENT_BUS_NAME", "EVENT_SOURCE", "JOB_RECORD_TTL_DAYS"):
            assert shared in variables, (name, shared)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("ApiFunction", {"STATE_MACHINE_ARN", "UPLOAD_URL_EXPIRES_SECONDS", "DOWNLOAD_URL_EXPIRES_SECONDS"}),
        ("UploadTriggerFunction", {"STATE_MACHINE_ARN"}),
        ("RequestListenerFunction", {"STATE_MACHINE_ARN"}),
        ("ValidateFunction", {"JOB_TIMEOUT_SECONDS"}),
        (
            "SubmitFunction",
            {"PROVIDER_BASE_URL", "PROVIDER_API_KEY_SECRET_ARN", "PROVIDER_CONNECT_TIMEOUT", "PROVIDER_READ_TIMEOUT"},
        ),
        (
            "QueryFunction",
            {
                "PROVIDER_BASE_URL",
                "PROVIDER_API_KEY_SECRET_ARN",
                "POLL_EXPECTED_SECONDS",
                "POLL_MIN_SECONDS",
                "POLL_MAX_SECONDS",
            },
        ),
        ("ArchiveFunction", {"MAX_RESULT_BYTES", "ALLOW_INSECURE_RESULT_URLS"}),
        (
            "WebhookFunction",
            {
                "WEBHOOK_QUEUE_URL",
                "WEBHOOK_DEAD_LETTER_QUEUE_URL",
                "WEBHOOK_SIGNING_SECRET_ARN",
                "WEBHOOK_TIMEOUT_SECONDS",
                "WEBHOOK_RETRY_BASE_SECONDS",
                "WEBHOOK_RETRY_CAP_SECONDS",
                "WEBHOOK_RETRY_BUDGET_SECONDS",
                "ALLOW_INSECURE_WEBHOOK_URLS",
            },
        ),
    ],
)
def test_function_specific_environment(cfn, function, expected):
    variables = env(cfn, function)
    assert expected <= set(variables)
    assert not any("API_KEY" in name and "SECRET_ARN" not in name for name in variables), "no secret in env vars"


def test_only_functions_that_call_the_provider_see_its_configuration(cfn):
    for name in FUNCTION_DIRS:
        has_provider = "PROVIDER_API_KEY_SECRET_ARN" in env(cfn, name)
        assert has_provider == (name in {"SubmitFunction", "QueryFunction"}), name


def test_limits_of_urls_and_archive(cfn):
    assert int(env(cfn, "ApiFunction")["UPLOAD_URL_EXPIRES_SECONDS"]) <= 900
    assert env(cfn, "ArchiveFunction")["ALLOW_INSECURE_RESULT_URLS"] == "false"
    archive = cfn["Resources"]["ArchiveFunction"]["Properties"]
    assert archive["Timeout"] == 120 and archive["MemorySize"] == 512
    assert env(cfn, "ArchiveFunction")["PROVENANCE_SIGNING_SECRET_ARN"] == {"Ref": "ProvenanceSigningSecret"}
    assert env(cfn, "ArchiveFunction")["PROVENANCE_MODE"] == {"Ref": "ProvenanceMode"}


def test_only_the_archive_function_carries_the_provenance_layer(cfn):
    for name in FUNCTION_DIRS:
        layers = [layer.get("Ref", "") for layer in cfn["Resources"][name]["Properties"].get("Layers", [])]
        assert any(ref.startswith("ProvenanceLayer") for ref in layers) == (name == "ArchiveFunction"), name
        assert sum(ref.startswith("CommonLayer") for ref in layers) == 1, name
    parameters = cfn["Parameters"]
    assert parameters["ProvenanceMode"]["Default"] == "full"
    assert parameters["RequireConsentAttestation"]["Default"] == "false"


def test_layer_is_a_makefile_build_for_arm64_python313(sam_template):
    layer = sam_template["Resources"]["CommonLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "layers/common"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    makefile = (REPO / "layers" / "common" / "Makefile").read_text()
    assert "build-CommonLayer:" in makefile and "manylinux2014_aarch64" in makefile
    provenance = sam_template["Resources"]["ProvenanceLayer"]
    assert provenance["Metadata"]["BuildMethod"] == "makefile"
    assert provenance["Properties"]["ContentUri"] == "layers/provenance"
    assert "build-ProvenanceLayer:" in makefile


def test_bucket_lifecycle_encryption_and_public_access(cfn):
    bucket = cfn["Resources"]["SwapBucket"]["Properties"]
    assert bucket["BucketName"] == COMPUTED_BUCKET_NAME
    rules = {rule.get("Prefix"): rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["uploads/"]["ExpirationInDays"] == 1
    assert rules["inbox/"]["ExpirationInDays"] == {"Ref": "InboxRetentionDays"}
    assert rules["results/"]["ExpirationInDays"] == {"Ref": "ResultRetentionDays"}
    assert any("AbortIncompleteMultipartUpload" in rule for rule in rules.values())
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["CorsConfiguration"]["Fn::If"][0] == "HasCors"


def test_bucket_notifications_reach_the_upload_trigger_for_both_prefixes(cfn):
    configs = cfn["Resources"]["SwapBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    prefixes = set()
    for config in configs:
        assert config["Function"] == {"Fn::GetAtt": ["UploadTriggerFunction", "Arn"]}
        assert config["Event"].startswith("s3:ObjectCreated:")
        prefixes |= {rule["Value"] for rule in config["Filter"]["S3Key"]["Rules"] if rule["Name"] == "prefix"}
    assert prefixes == {"uploads/", "inbox/"}


def test_bucket_policy_denies_plain_http(cfn):
    statements = cfn["Resources"]["SwapBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = [
        s for s in statements if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny and deny[0]["Principal"] == "*"


def test_jobs_table(cfn):
    table = cfn["Resources"]["JobsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": name, "AttributeType": "S"} for name in ("job_id", "owner", "created_at")
    ]
    # Listing reads a caller's jobs newest first from this index (a Query, never a Scan).
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "owner-created_at"
    assert index["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_async_entry_points_have_retries_and_dead_letter_queues(cfn):
    resources = cfn["Resources"]
    trigger = resources["UploadTriggerFunctionEventInvokeConfig"]["Properties"]
    assert trigger["MaximumRetryAttempts"] == 2
    assert trigger["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}
    queue = resources["TriggerDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 14 * 86400
    rule = resources["RequestListenerFunctionRequested"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {"detail-type": ["FaceSwap Requested"]}
    target = rule["Targets"][0]
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_http_api_every_route_authenticated_and_switchable(cfn):
    body = cfn["Resources"]["HttpApi"]["Properties"]["Body"]
    operations = {(method, path): op for path, item in body["paths"].items() for method, op in item.items()}
    assert set(operations) == ROUTES
    for route, op in operations.items():
        assert op.get("security") == [{"FaceSwapAuth": []}], f"{route} must not be anonymous"
        uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert "${ApiFunction.Arn}" in uri, route
    condition, jwt, iam = body["components"]["securitySchemes"]["FaceSwapAuth"]["Fn::If"]
    assert condition == "UseJwt"
    assert cfn["Conditions"]["UseJwt"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "JWT"]}
    assert iam["x-amazon-apigateway-authtype"] == "awsSigv4"
    authorizer = jwt["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert authorizer["jwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    assert body["x-amazon-apigateway-cors"]["Fn::If"][0] == "HasCors"


def test_http_api_stage_throttles_and_logs_access(cfn):
    stage = cfn["Resources"]["HttpApiApiGatewayDefaultStage"]["Properties"]
    assert {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(stage["DefaultRouteSettings"])
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert "status" in log_format and "routeKey" in log_format


def test_state_machine(cfn, sam_template):
    machine = cfn["Resources"]["FaceSwapStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    assert logging["IncludeExecutionData"] is False and logging["Level"] in {"ALL", "ERROR"}
    substitutions = machine["DefinitionSubstitutions"]
    for step in ("Validate", "Submit", "Query", "Archive", "RecordFailure"):
        assert substitutions[f"{step}FunctionArn"] == {"Fn::GetAtt": [f"{step}Function", "Arn"]}
    source = sam_template["Resources"]["FaceSwapStateMachine"]["Properties"]
    assert source["DefinitionUri"] == "statemachine/face_swap.asl.json"


def test_every_function_has_a_log_group_with_retention_and_a_failure_rate_alarm(cfn):
    resources = cfn["Resources"]
    for name in FUNCTION_DIRS:
        group = resources[f"{name}LogGroup"]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{name}}}"}
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        alarm = resources[f"{name}FailureRateAlarm"]["Properties"]
        metrics = {m["Id"]: m for m in alarm["Metrics"]}
        for metric_id, metric_name in (
            ("errors", "Errors"),
            ("throttles", "Throttles"),
            ("invocations", "Invocations"),
        ):
            stat = metrics[metric_id]["MetricStat"]
            assert stat["Metric"]["MetricName"] == metric_name
            assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Fn::Sub": f"${{{name}}}"}}]
        assert "invocations" in metrics["failure_rate"]["Expression"]
        # Sustained, never a single error: Submit and Query raise transient errors for the state machine to retry.
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 3 and alarm["Threshold"] >= 5


def test_alarms_watch_what_needs_a_person(cfn):
    alarms = resources_of_type(cfn, "AWS::CloudWatch::Alarm")
    plain = [a["Properties"] for a in alarms.values() if "MetricName" in a["Properties"]]
    for alarm in plain:  # generated by Fn::ForEach: {"Fn::Sub": "ExecutionsFailed"}
        if isinstance(alarm["MetricName"], dict):
            alarm["MetricName"] = alarm["MetricName"]["Fn::Sub"]
    watched = {(a["MetricName"], json.dumps(a["Dimensions"][0]["Value"])) for a in plain}
    machine = json.dumps({"Ref": "FaceSwapStateMachine"})
    assert {("ExecutionsFailed", machine), ("ExecutionsTimedOut", machine)} <= watched
    queues = {v for metric, v in watched if metric == "ApproximateNumberOfMessagesVisible"}
    dead_letter_queues = [q for q in resources_of_type(cfn, "AWS::SQS::Queue") if q.endswith("DeadLetterQueue")]
    queue_names = {json.dumps({"Fn::Sub": f"${{{q}.QueueName}}"}) for q in dead_letter_queues}
    assert {"TriggerDeadLetterQueue", "RequestDeadLetterQueue", "WebhookDeadLetterQueue"} <= set(dead_letter_queues)
    assert queues == queue_names
    # No alarm fires on a single Lambda error any more.
    assert not any(a["MetricName"] in ("Errors", "Throttles") for a in plain)
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"


def test_secret_is_created_empty(cfn):
    secret = cfn["Resources"]["ProviderApiKeySecret"]["Properties"]
    assert "SecretString" not in secret and "GenerateSecretString" not in secret


def test_webhook_pipeline_terminal_events_queue_function_and_dead_letter(cfn):
    resources = cfn["Resources"]
    rule = resources["WebhookEventsRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {
        "source": [{"Ref": "EventSource"}],
        "detail-type": ["FaceSwap Succeeded", "FaceSwap Failed"],
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    queue = resources["WebhookQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    # Messages must outlive the 24 h retry budget plus the longest back-off (10 h).
    assert queue["MessageRetentionPeriod"] >= 86400 + 36000
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    mapping = resources["WebhookDeliveries"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "WebhookFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    variables = env(cfn, "WebhookFunction")
    assert variables["WEBHOOK_TIMEOUT_SECONDS"] == "10"
    assert int(variables["WEBHOOK_RETRY_BUDGET_SECONDS"]) >= 86400
    assert int(variables["WEBHOOK_RETRY_CAP_SECONDS"]) <= 43200  # an SQS visibility timeout is at most 12 h
    assert variables["ALLOW_INSECURE_WEBHOOK_URLS"] == "false"
    assert env(cfn, "ApiFunction")["ALLOW_INSECURE_WEBHOOK_URLS"] == "false"
    assert variables["WEBHOOK_SIGNING_SECRET_ARN"] == {"Ref": "WebhookSigningSecret"}
    secret = resources["WebhookSigningSecret"]["Properties"]
    assert "SecretString" not in secret and secret["GenerateSecretString"]["ExcludePunctuation"] is True
