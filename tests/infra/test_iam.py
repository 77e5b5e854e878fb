"""Least privilege, read from the translated template: no wildcard actions, no "*" resources beyond the documented
exceptions, and each role holds exactly the permissions its function uses (so a widened grant fails a test)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

BUCKET = "arn:${AWS::Partition}:s3:::${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}"
TABLE = "JobsTable.Arn"
LIMITS = "LimitsTable.Arn"
MACHINE = "Ref(FaceSwapStateMachine)"
BUS = "EventBus.Arn"
SECRET = "Ref(ProviderApiKeySecret)"

# Actions that take no resource-level scope, so "*" is the only possible resource (AWS service authorization docs).
STAR_RESOURCE_EXCEPTIONS = {
    # CloudWatch Logs vended-log delivery, needed by Step Functions logging.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # X-Ray tracing.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
# AWS-managed policies SAM attaches (logs to the function's own log group; X-Ray for Tracing). Nothing else.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}

DDB_RW = {("dynamodb:GetItem", TABLE), ("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE)}
DDB_RU = {("dynamodb:GetItem", TABLE), ("dynamodb:UpdateItem", TABLE)}
EXPECTED_GRANTS: dict[str, set[tuple[str, str]]] = {
    "ApiFunctionRole": DDB_RW
    | {
        ("dynamodb:GetItem", LIMITS),
        ("dynamodb:UpdateItem", LIMITS),
        ("s3:PutObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/results/*"),
        ("s3:DeleteObject", f"{BUCKET}/uploads/*"),
        ("s3:DeleteObject", f"{BUCKET}/results/*"),
        ("s3:ListBucket", BUCKET),
        ("states:StartExecution", MACHINE),
        ("dynamodb:Query", "${JobsTable.Arn}/index/owner-created_at"),
        ("secretsmanager:GetSecretValue", "Ref(ListCursorSecret)"),
        ("sqs:SendMessage", "WebhookQueue.Arn"),
    },
    "UploadTriggerFunctionRole": DDB_RW
    | {
        ("states:StartExecution", "Ref(InboxPairWatchStateMachine)"),
        ("dynamodb:UpdateItem", LIMITS),
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/inbox/*"),
        ("s3:DeleteObject", f"{BUCKET}/uploads/*"),
        ("s3:ListBucket", BUCKET),
        ("states:StartExecution", MACHINE),
        ("events:PutEvents", BUS),
        ("sqs:SendMessage", "TriggerDeadLetterQueue.Arn"),  # on-failure destination (added by SAM)
    },
    "RequestListenerFunctionRole": DDB_RW
    | {
        ("dynamodb:UpdateItem", LIMITS),
        ("states:StartExecution", MACHINE),
        ("events:PutEvents", BUS),
        ("sqs:SendMessage", "RequestDeadLetterQueue.Arn"),
    },
    "ValidateFunctionRole": DDB_RU
    | {
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/inbox/*"),
        ("s3:ListBucket", BUCKET),
    },
    "SubmitFunctionRole": DDB_RU
    | {
        ("s3:GetObject", f"{BUCKET}/uploads/*"),
        ("s3:GetObject", f"{BUCKET}/inbox/*"),
        ("secretsmanager:GetSecretValue", SECRET),
    },
    "QueryFunctionRole": DDB_RU | {("secretsmanager:GetSecretValue", SECRET)},
    "ArchiveFunctionRole": DDB_RU
    | {
        ("s3:PutObject", f"{BUCKET}/results/*"),
        ("s3:AbortMultipartUpload", f"{BUCKET}/results/*"),
        ("events:PutEvents", BUS),
        ("secretsmanager:GetSecretValue", "Ref(ProvenanceSigningSecret)"),
    },
    "RecordFailureFunctionRole": DDB_RU
    | {
        ("events:PutEvents", BUS),
        ("s3:DeleteObject", f"{BUCKET}/uploads/*"),
        ("s3:DeleteObject", f"{BUCKET}/results/*"),
    },
    "InboxPairCheckFunctionRole": DDB_RW
    | {
        ("s3:GetObject", f"{BUCKET}/inbox/*"),
        ("s3:ListBucket", BUCKET),
        ("events:PutEvents", BUS),
    },
    "WebhookFunctionRole": DDB_RU
    | {
        ("s3:GetObject", f"{BUCKET}/results/*"),
        ("secretsmanager:GetSecretValue", "Ref(WebhookSigningSecret)"),
        ("sqs:ReceiveMessage", "WebhookQueue.Arn"),
        ("sqs:DeleteMessage", "WebhookQueue.Arn"),
        ("sqs:GetQueueAttributes", "WebhookQueue.Arn"),
        ("sqs:ChangeMessageVisibility", "WebhookQueue.Arn"),
        ("sqs:SendMessage", "WebhookDeadLetterQueue.Arn"),
    },
    "InboxPairWatchStateMachineRole": {
        (
            "lambda:InvokeFunction",
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:Ref(InboxPairCheckFunction)*",
        )
    }
    | {(action, "*") for action in STAR_RESOURCE_EXCEPTIONS if action.startswith("logs:")},
    "FaceSwapStateMachineRole": {
        (
            "lambda:InvokeFunction",
            f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:Ref({step}Function)*",
        )
        for step in ("Validate", "Submit", "Query", "Archive", "RecordFailure")
    }
    | {(action, "*") for action in STAR_RESOURCE_EXCEPTIONS if action.startswith("logs:")},
}
# Resource policies: who may send to which queue (EventBridge only, from the rule that routes there).
EXPECTED_QUEUE_GRANTS: dict[str, set[tuple[str, str]]] = {
    "WebhookQueuePolicy": {
        ("sqs:SendMessage", "WebhookQueue.Arn"),
        ("sqs:SendMessage", "WebhookDeadLetterQueue.Arn"),
    },
}


def render(value: Any) -> str:
    """A readable, comparable string for a resource expression (intrinsics are not resolved, only spelled out)."""
    if isinstance(value, str):
        return value
    ((function, args),) = value.items()
    if function == "Ref":
        return f"Ref({args})"
    if function == "Fn::GetAtt":
        return ".".join(args) if isinstance(args, list) else args
    if function == "Fn::Sub":
        template, variables = (args, {}) if isinstance(args, str) else args
        return re.sub(r"\$\{(\w+)\}", lambda m: render(variables[m[1]]) if m[1] in variables else m[0], template)
    if function == "Fn::Join":
        separator, parts = args
        return separator.join(render(part) for part in parts)
    raise AssertionError(f"unexpected intrinsic in a policy: {value}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource logical id, statement) for every identity and resource policy in the template."""
    for name, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        if resource["Type"] in {
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::S3::BucketPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
        }:
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def grants(cfn: dict[str, Any], role: str) -> set[tuple[str, str]]:
    return {
        (action, render(resource))
        for name, statement in policy_statements(cfn)
        if name == role and statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def test_no_wildcard_actions_in_any_allow(cfn):
    offenders = [
        (name, statement)
        for name, statement in policy_statements(cfn)
        if statement["Effect"] == "Allow"
        and ("NotAction" in statement or any("*" in action for action in as_list(statement["Action"])))
    ]
    assert offenders == []


def test_star_resources_only_for_actions_without_resource_scope(cfn):
    offenders = []
    for name, statement in policy_statements(cfn):
        if statement["Effect"] != "Allow":
            continue  # a Deny on "*" (TLS-only bucket policy) narrows access, it never grants
        assert "NotResource" not in statement, name
        resources = [render(resource) for resource in as_list(statement.get("Resource", []))]
        if "*" in resources:
            offenders += [
                (name, action) for action in as_list(statement["Action"]) if action not in STAR_RESOURCE_EXCEPTIONS
            ]
    assert offenders == []


def test_only_expected_managed_policies(cfn):
    for name, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert set(resource["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name


def test_presign_permission_is_limited_to_uploads(cfn):
    put_object = {resource for action, resource in grants(cfn, "ApiFunctionRole") if action == "s3:PutObject"}
    assert put_object == {f"{BUCKET}/uploads/*"}


def test_no_role_writes_anywhere_in_the_bucket(cfn):
    for name, statement in policy_statements(cfn):
        if statement["Effect"] == "Allow":
            for resource in as_list(statement["Resource"]):
                assert not render(resource).endswith(
                    ":::" + "${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}/*"
                ), (name, statement)


@pytest.mark.parametrize("role", sorted(EXPECTED_GRANTS))
def test_each_role_holds_exactly_what_its_function_uses(cfn, role):
    assert grants(cfn, role) == EXPECTED_GRANTS[role]


def test_every_role_is_covered(cfn):
    roles = {name for name, res in cfn["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    assert roles == set(EXPECTED_GRANTS)


@pytest.mark.parametrize("policy", sorted(EXPECTED_QUEUE_GRANTS))
def test_queue_policies_grant_only_eventbridge_from_its_rule(cfn, policy):
    assert grants(cfn, policy) == EXPECTED_QUEUE_GRANTS[policy]
    for name, statement in policy_statements(cfn):
        if name == policy:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert render(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == "WebhookEventsRule.Arn"
