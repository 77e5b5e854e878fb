"""A small "CloudFormation" for the local cloud: creates a SAM template's resources in moto.

moto's own CloudFormation cannot create an executing state machine, ignores DefinitionSubstitutions and bucket
notifications, so the template is read directly. Only what the app needs locally is created; alarms, log groups,
IAM, HTTP APIs and the like are listed in ``skipped`` (the local gateway plays the HTTP API).
"""

from __future__ import annotations

import io
import json
import secrets
import string
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lambda_runtime import FunctionSpec
from .queue_poller import QueueSource
from .template import (
    NO_VALUE,
    Intrinsics,
    TemplateError,
    apply_function_globals,
    load_template,
    resolve_parameters,
)

ClientFactory = Callable[[str], Any]

FUNCTION = "AWS::Serverless::Function"
STATE_MACHINE = "AWS::Serverless::StateMachine"
_DEFAULT_NAME_MAX = 64


@dataclass
class Deployment:
    """The outcome of deploying a template: physical ids and what the runtime needs."""

    resources: dict[str, Any] = field(default_factory=dict)  # logical id -> Ref value
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # logical id -> spec
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    event_buses: dict[str, str] = field(default_factory=dict)  # logical id -> bus name
    layer_dirs: list[Path] = field(default_factory=list)  # "python" folders of the layers, for sys.path
    skipped: dict[str, str] = field(default_factory=dict)  # logical id -> type
    http_routes: dict[str, list[str]] = field(default_factory=dict)  # function logical id -> ["GET /v1/x/{id}"]
    queue_sources: list[QueueSource] = field(default_factory=list)  # SQS event sources, polled by the local cloud


class TemplateDeployer:
    def __init__(
        self,
        template_path: Path,
        clients: ClientFactory,
        *,
        region: str,
        account_id: str,
        stack_name: str,
        parameter_overrides: Mapping[str, str],
        env_overrides: Mapping[str, str],
        secret_values: Mapping[str, str],
    ) -> None:
        self.base_dir = template_path.resolve().parent
        self.template = load_template(template_path)
        apply_function_globals(self.template)
        self.clients = clients
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.env_overrides = dict(env_overrides)
        self.secret_values = dict(secret_values)
        unknown_secrets = set(secret_values) - set(self._logical_ids("AWS::SecretsManager::Secret"))
        if unknown_secrets:
            raise TemplateError(f"secret_values for unknown secret(s): {', '.join(sorted(unknown_secrets))}")
        self.resources_spec: dict[str, Any] = self.template.get("Resources", {})
        pseudo = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::NotificationARNs": [],
        }
        parameters = resolve_parameters(self.template, parameter_overrides)
        self.fn = Intrinsics(self.template, parameters, pseudo, self._ref, self._get_att)
        self.out = Deployment()
        self._created_arns: dict[str, str] = {}  # Refs only known after creation (secret ARNs, queue URLs)

    # naming -----------------------------------------------------------------------------------------------------
    def _logical_ids(self, resource_type: str) -> list[str]:
        return [k for k, v in self.template.get("Resources", {}).items() if v.get("Type") == resource_type]

    def _props(self, logical_id: str) -> dict[str, Any]:
        return self.resources_spec[logical_id].get("Properties", {})

    def _name(self, logical_id: str, prop: str, *, lower: bool = False) -> str:
        explicit = self._props(logical_id).get(prop)
        if explicit is not None:
            return str(self.fn.resolve(explicit))
        name = f"{self.stack_name}-{logical_id}"[:_DEFAULT_NAME_MAX]
        return name.lower() if lower else name

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def _ref(self, logical_id: str) -> Any:
        kind = self.resources_spec[logical_id].get("Type", "")
        condition = self.resources_spec[logical_id].get("Condition")
        if condition and not self.fn.condition(condition):
            return NO_VALUE
        if kind == "AWS::S3::Bucket":
            return self._name(logical_id, "BucketName", lower=True)
        if kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            return self._name(logical_id, "TableName")
        if kind == "AWS::SQS::Queue":
            return (
                f"http://sqs.{self.region}.localhost.localstack.cloud/{self.account_id}/{self._queue_name(logical_id)}"
            )
        if kind == "AWS::SNS::Topic":
            return self._arn("sns", self._name(logical_id, "TopicName"))
        if kind == "AWS::SecretsManager::Secret":
            return self._created_arns.get(logical_id) or self._arn("secretsmanager", f"secret:{logical_id}")
        if kind == "AWS::Events::EventBus":
            return self._name(logical_id, "Name")
        if kind == "AWS::Events::Rule":
            return self._name(logical_id, "Name")
        if kind == FUNCTION:
            return self._name(logical_id, "FunctionName")
        if kind == "AWS::Serverless::LayerVersion":
            return self._arn("lambda", f"layer:{self._name(logical_id, 'LayerName')}:1")
        if kind == STATE_MACHINE:
            return self._arn("states", f"stateMachine:{self._name(logical_id, 'Name')}")
        if kind == "AWS::Logs::LogGroup":
            return self._name(logical_id, "LogGroupName")
        return f"{self.stack_name}-{logical_id}"

    def _queue_name(self, logical_id: str) -> str:
        name = self._name(logical_id, "QueueName")
        fifo = str(self.fn.resolve(self._props(logical_id).get("FifoQueue", False))).lower() == "true"
        return name + ".fifo" if fifo and not name.endswith(".fifo") else name

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self.resources_spec[logical_id].get("Type", "")
        ref = self._ref(logical_id)
        attributes: dict[str, Callable[[], Any]] = {}
        if kind == "AWS::S3::Bucket":
            attributes = {
                "Arn": lambda: f"arn:aws:s3:::{ref}",
                "DomainName": lambda: f"{ref}.s3.amazonaws.com",
                "RegionalDomainName": lambda: f"{ref}.s3.{self.region}.amazonaws.com",
            }
        elif kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            attributes = {
                "Arn": lambda: self._arn("dynamodb", f"table/{ref}"),
                "StreamArn": lambda: self._arn("dynamodb", f"table/{ref}/stream/local"),
            }
        elif kind == "AWS::SQS::Queue":
            name = self._queue_name(logical_id)
            attributes = {"Arn": lambda: self._arn("sqs", name), "QueueName": lambda: name, "QueueUrl": lambda: ref}
        elif kind == "AWS::SNS::Topic":
            attributes = {"TopicArn": lambda: ref, "TopicName": lambda: ref.rsplit(":", 1)[1]}
        elif kind == "AWS::Events::EventBus":
            attributes = {"Arn": lambda: self._arn("events", f"event-bus/{ref}"), "Name": lambda: ref}
        elif kind == "AWS::Events::Rule":
            attributes = {"Arn": lambda: self._arn("events", f"rule/{ref}")}
        elif kind == FUNCTION:
            attributes = {"Arn": lambda: self._arn("lambda", f"function:{ref}")}
        elif kind == STATE_MACHINE:
            attributes = {"Arn": lambda: ref, "Name": lambda: ref.rsplit(":", 1)[1]}
        elif kind == "AWS::SecretsManager::Secret":
            attributes = {"Id": lambda: ref}
        if attribute in attributes:
            return attributes[attribute]()
        # Resources that are not deployed locally still need a plausible value when something refers to them.
        return self._arn("local", f"{logical_id}/{attribute}")

    # deploy -----------------------------------------------------------------------------------------------------
    def deploy(self) -> Deployment:
        creators: dict[str, Callable[[str], None]] = {
            "AWS::SecretsManager::Secret": self._create_secret,
            "AWS::SNS::Topic": self._create_topic,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::Serverless::SimpleTable": self._create_simple_table,
            "AWS::Events::EventBus": self._create_event_bus,
            "AWS::S3::Bucket": self._create_bucket,
            "AWS::Serverless::LayerVersion": self._create_layer,
            FUNCTION: self._create_function,
            STATE_MACHINE: self._create_state_machine,
            "AWS::Events::Rule": self._create_rule,
            "AWS::Lambda::EventSourceMapping": self._create_event_source_mapping,
        }
        self.clients("iam").create_role(
            RoleName="local-execution-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        # Queues with a redrive policy need their dead-letter queue first.
        order = sorted(
            self.resources_spec,
            key=lambda lid: (
                list(creators).index(self.resources_spec[lid].get("Type"))
                if self.resources_spec[lid].get("Type") in creators
                else len(creators),
                "RedrivePolicy" in self._props(lid),
            ),
        )
        for logical_id in order:
            spec = self.resources_spec[logical_id]
            condition = spec.get("Condition")
            if condition and not self.fn.condition(condition):
                self.out.skipped[logical_id] = f"{spec.get('Type')} (condition {condition} is false)"
                continue
            creator = creators.get(spec.get("Type", ""))
            if creator is None:
                self.out.skipped[logical_id] = spec.get("Type", "")
                continue
            creator(logical_id)
            self.out.resources[logical_id] = self._ref(logical_id)
        self._create_function_events()
        return self.out

    def _resolved_props(self, logical_id: str) -> dict[str, Any]:
        return self.fn.resolve(self._props(logical_id))

    def _create_secret(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        name = self._name(logical_id, "Name")
        value = self.secret_values.get(logical_id, props.get("SecretString"))
        if value is None:
            generate = props.get("GenerateSecretString", {})
            alphabet = "".join(
                c for c in string.ascii_letters + string.digits if c not in generate.get("ExcludeCharacters", "")
            )
            value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
        arn = self.clients("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        self._created_arns[logical_id] = arn

    def _create_topic(self, logical_id: str) -> None:
        self.clients("sns").create_topic(Name=self._name(logical_id, "TopicName"))

    def _create_queue(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        keys = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
                "MaximumMessageSize", "FifoQueue", "ContentBasedDeduplication")  # fmt: skip
        attributes = {
            k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k]) for k in keys if k in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        created = self.clients("sqs").create_queue(QueueName=self._queue_name(logical_id), Attributes=attributes)
        self._created_arns[logical_id] = created["QueueUrl"]

    def _create_table(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        table = self._ref(logical_id)
        request: dict[str, Any] = {
            "TableName": table,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
        }
        if props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST" or "ProvisionedThroughput" not in props:
            request["BillingMode"] = "PAY_PER_REQUEST"
        else:
            request["ProvisionedThroughput"] = _ints(props["ProvisionedThroughput"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
            if key in props:
                request[key] = props[key]
        client = self.clients("dynamodb")
        client.create_table(**request)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled", False)).lower() == "true":
            client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
            )

    def _create_simple_table(self, logical_id: str) -> None:
        key = self._resolved_props(logical_id).get("PrimaryKey", {"Name": "id", "Type": "String"})
        self.clients("dynamodb").create_table(
            TableName=self._ref(logical_id),
            KeySchema=[{"AttributeName": key["Name"], "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key["Name"], "AttributeType": key["Type"][0].upper()}],
            BillingMode="PAY_PER_REQUEST",
        )

    def _create_event_bus(self, logical_id: str) -> None:
        name = self._ref(logical_id)
        self.clients("events").create_event_bus(Name=name)
        self.out.event_buses[logical_id] = name

    def _create_bucket(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        bucket = self._ref(logical_id)
        s3 = self.clients("s3")
        s3.create_bucket(Bucket=bucket)
        cors = props.get("CorsConfiguration")
        if cors:
            rules = [_api_cors_rule(rule) for rule in cors.get("CorsRules", [])]
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})

    def _create_layer(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        content = props.get("ContentUri")
        if not isinstance(content, str):
            raise TemplateError(f"{logical_id}: only a local ContentUri folder is supported")
        python_dir = (self.base_dir / content / "python").resolve()
        if not python_dir.is_dir():
            raise TemplateError(f"{logical_id}: {python_dir} does not exist")
        self.out.layer_dirs.append(python_dir)

    def _create_function(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: only a local CodeUri folder is supported")
        code_dir = (self.base_dir / code_uri).resolve()
        if not code_dir.is_dir():
            raise TemplateError(f"{logical_id}: CodeUri {code_dir} does not exist")
        name = self._ref(logical_id)
        variables = {k: _env_string(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        variables.update(self.env_overrides)
        spec = FunctionSpec(
            logical_id=logical_id,
            function_name=name,
            arn=self._get_att(logical_id, "Arn"),
            code_dir=code_dir,
            handler=props.get("Handler", "app.lambda_handler"),
            environment=variables,
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            runtime=props.get("Runtime", "python3.11"),
        )
        self.clients("lambda").create_function(
            FunctionName=name,
            Runtime=spec.runtime,
            Role=f"arn:aws:iam::{self.account_id}:role/local-execution-role",
            Handler=spec.handler,
            Code={"ZipFile": _zip_sources(code_dir)},
            Timeout=spec.timeout,
            MemorySize=spec.memory_size,
            Environment={"Variables": variables},
        )
        self.out.functions[logical_id] = spec

    def _create_state_machine(self, logical_id: str) -> None:
        props = self._props(logical_id)
        if "DefinitionUri" in props:
            uri = self.fn.resolve(props["DefinitionUri"])
            if not isinstance(uri, str):
                raise TemplateError(f"{logical_id}: only a local DefinitionUri file is supported")
            text = (self.base_dir / uri).read_text(encoding="utf-8")
            definition = json.loads(text) if uri.endswith(".json") else load_template_text(text)
        else:
            definition = props["Definition"]
        substitutions = {k: str(v) for k, v in self.fn.resolve(props.get("DefinitionSubstitutions", {})).items()}
        body = json.dumps(definition)
        for key, value in substitutions.items():
            body = body.replace("${" + key + "}", json.dumps(value)[1:-1])
        arn = self._ref(logical_id)
        self.clients("stepfunctions").create_state_machine(
            name=arn.rsplit(":", 1)[1],
            definition=body,
            roleArn=f"arn:aws:iam::{self.account_id}:role/local-execution-role",
            type=str(self.fn.resolve(props.get("Type", "STANDARD"))),
        )
        self.out.state_machines[logical_id] = arn

    def _create_event_source_mapping(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        source = str(props.get("EventSourceArn", ""))
        if source.split(":")[2:3] != ["sqs"]:
            self.out.skipped[logical_id] = "AWS::Lambda::EventSourceMapping (only SQS sources run locally)"
            return
        names = {spec.function_name: lid for lid, spec in self.out.functions.items()}
        function = str(props.get("FunctionName", "")).rsplit(":", 1)[-1]
        if function not in names:
            raise TemplateError(f"{logical_id}: FunctionName {function!r} is not a function of the template")
        self.out.queue_sources.append(_queue_source(names[function], source, props))

    def _create_rule(self, logical_id: str) -> None:
        props = self._resolved_props(logical_id)
        events = self.clients("events")
        bus = props.get("EventBusName", "default")
        name = self._ref(logical_id)
        rule: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            rule["ScheduleExpression"] = props["ScheduleExpression"]
        events.put_rule(**rule)
        targets = [_api_target(t) for t in props.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)

    # function events --------------------------------------------------------------------------------------------
    def _create_function_events(self) -> None:
        notifications: dict[str, list[dict[str, Any]]] = {}
        for logical_id, spec in self.out.functions.items():
            for event_id, event in self._props(logical_id).get("Events", {}).items():
                kind, props = event.get("Type"), self.fn.resolve(event.get("Properties", {}))
                if kind == "S3":
                    notifications.setdefault(props["Bucket"], []).append(_s3_notification(event_id, spec.arn, props))
                elif kind in ("EventBridgeRule", "CloudWatchEvent"):
                    self._create_function_rule(logical_id, event_id, spec, props)
                elif kind == "SQS":
                    self.out.queue_sources.append(_queue_source(logical_id, props["Queue"], props))
                elif kind == "HttpApi":  # served by the local gateway
                    route = f"{str(props.get('Method', 'ANY')).upper()} {props.get('Path', '/{proxy+}')}"
                    self.out.http_routes.setdefault(logical_id, []).append(route)
                else:  # Api (REST), Schedule, ...
                    self.out.skipped[f"{logical_id}.Events.{event_id}"] = str(kind)
        s3 = self.clients("s3")
        for bucket, configurations in notifications.items():
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configurations}
            )

    def _create_function_rule(self, logical_id: str, event_id: str, spec: FunctionSpec, props: dict[str, Any]) -> None:
        events = self.clients("events")
        bus = props.get("EventBusName", "default")
        name = props.get("RuleName") or f"{spec.function_name}-{event_id}"[:_DEFAULT_NAME_MAX]
        events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]), State=props.get("State", "ENABLED")
        )
        target: dict[str, Any] = {"Id": props.get("Target", {}).get("Id", f"{logical_id}{event_id}LambdaTarget")}
        target["Arn"] = spec.arn
        for key in ("Input", "InputPath", "InputTransformer"):
            if key in props:
                target[key] = props[key]
        events.put_targets(Rule=name, EventBusName=bus, Targets=[target])


def _queue_source(function: str, queue_arn: str, props: dict[str, Any]) -> QueueSource:
    return QueueSource(
        function=function,
        queue_arn=queue_arn,
        batch_size=int(props.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
    )


def load_template_text(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _env_string(value: Any) -> str:
    """CloudFormation turns environment values into strings (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"environment value {value!r} does not resolve to a string")
    return str(value)


def _ints(values: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in values.items()}


def _zip_sources(code_dir: Path) -> bytes:
    """A small zip of the function's Python files: moto wants code; the runtime runs the folder itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(code_dir.rglob("*.py")):
            archive.write(path, path.relative_to(code_dir).as_posix())
        if not archive.namelist():
            archive.writestr("placeholder.txt", "")
    return buffer.getvalue()


def _s3_notification(event_id: str, function_arn: str, props: dict[str, Any]) -> dict[str, Any]:
    events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
    configuration: dict[str, Any] = {"Id": event_id, "LambdaFunctionArn": function_arn, "Events": events}
    rules = props.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if rules:
        configuration["Filter"] = {
            "Key": {"FilterRules": [{"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules]}
        }
    return configuration


def _api_cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    mapping = {
        "AllowedHeaders": "AllowedHeaders",
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
    }
    converted = {api: rule[cfn] for cfn, api in mapping.items() if cfn in rule}
    if "MaxAgeSeconds" in converted:
        converted["MaxAgeSeconds"] = int(converted["MaxAgeSeconds"])
    return converted


def _api_target(target: dict[str, Any]) -> dict[str, Any]:
    keys = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters")
    return {k: target[k] for k in keys if k in target}
