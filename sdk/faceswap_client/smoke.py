"""`faceswap smoke`: prove a deployed stack works, from the outside, the way a caller and an operator see it.

It reads the stack's outputs (CloudFormation, or a JSON file such as the local stack's `outputs.json`), checks that
the API refuses anonymous calls and answers 404 for an unknown job, then runs one real swap with two bundled
public-domain photos (this spends one provider call, so it needs `--yes`) and verifies the result in the bucket,
the job record in the table and the `FaceSwap Succeeded` event, caught by a temporary EventBridge rule to an SQS
queue that it creates and removes. `--no-provider` checks everything up to the submit and spends nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

PHOTOS = Path(__file__).resolve().parent / "smoke_photos"
TARGET_PHOTO = PHOTOS / "astronaut.jpg"
TEMPLATE_PHOTO = PHOTOS / "grace_hopper.jpg"
REQUIRED_OUTPUTS = ("ApiUrl", "BucketName", "JobsTableName", "EventBusName", "StateMachineArn")
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
TERMINAL = ("succeeded", "failed")


class SmokeAbort(Exception):
    """A check failed that the following ones depend on."""


@dataclass(frozen=True)
class Check:
    name: str
    outcome: str  # PASS, FAIL or SKIP
    detail: str = ""


@dataclass
class SmokeOptions:
    spend_provider_call: bool = False  # the full run (one provider call); False = stop before the submit
    timeout: float = 600.0  # for the job to finish
    poll_interval: float = 2.0
    event_timeout: float = 60.0  # for the event, once the job has finished
    request_timeout: float = 30.0


@dataclass
class SmokeReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.outcome != FAIL for check in self.checks)

    def table(self) -> str:
        width = max((len(check.name) for check in self.checks), default=5)
        lines = [f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
        lines += [f"{check.name:<{width}}  {check.outcome:<6}  {check.detail}".rstrip() for check in self.checks]
        verdict = "all checks passed" if self.passed else "SMOKE TEST FAILED"
        return "\n".join([*lines, "", verdict])


# -- where the stack is ----------------------------------------------------------------------------------------------
def outputs_from_cloudformation(stack_name: str, session: Any) -> dict[str, str]:
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    outputs.setdefault("Region", session.region_name)
    return outputs


def outputs_from_file(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of stack outputs")
    return {str(key): str(value) for key, value in data.items() if value is not None}


def regional_s3_host(bucket: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{bucket}.s3.{region}.{suffix}"


# -- the run ---------------------------------------------------------------------------------------------------------
class SmokeTest:
    def __init__(
        self,
        outputs: dict[str, str],
        *,
        auth: AuthBase | None,
        aws: Any,
        options: SmokeOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """`aws`: a boto3 Session for the stack's account and region; `outputs["AwsEndpointUrl"]`, when present,
        points its clients at a local AWS endpoint instead."""
        self.outputs = outputs
        self.options = options or SmokeOptions()
        self.auth = auth
        self.aws = aws
        self.endpoint_url = outputs.get("AwsEndpointUrl") or None
        self.region = outputs.get("Region") or aws.region_name
        self.api_url = outputs.get("ApiUrl", "").rstrip("/")
        self.report = SmokeReport()
        self._progress = progress or (lambda _message: None)
        self._http = requests.Session()

    # -- bookkeeping ---------------------------------------------------------------------------------------------
    def _record(self, name: str, outcome: str, detail: str = "") -> None:
        self.report.checks.append(Check(name, outcome, detail))
        self._progress(f"{outcome} {name} {detail}".rstrip())

    def _check(self, name: str, ok: bool, detail: str, *, required: bool = True) -> None:
        self._record(name, PASS if ok else FAIL, detail)
        if not ok and required:
            raise SmokeAbort(name)

    def _client(self, service: str) -> Any:
        return self.aws.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def _api(self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any) -> requests.Response:
        return self._http.request(
            method,
            self.api_url + path,
            auth=self.auth if authenticated else None,
            timeout=self.options.request_timeout,
            **kwargs,
        )

    # -- checks --------------------------------------------------------------------------------------------------
    def run(self) -> SmokeReport:
        try:
            self._check_outputs()
            self._check_api_security()
            self._check_provider_key()
            self._swap()
        except SmokeAbort:
            return self.report
        except (requests.RequestException, OSError) as error:
            self._record("network", FAIL, f"{type(error).__name__}: {error}"[:300])
            return self.report
        except Exception as error:  # an AWS call refused (permissions, throttling): report it, do not crash
            self._record("aws", FAIL, f"{type(error).__name__}: {error}"[:300])
            return self.report
        return self.report

    def _check_outputs(self) -> None:
        missing = [name for name in REQUIRED_OUTPUTS if not self.outputs.get(name)]
        self._check("stack outputs", not missing, f"missing {', '.join(missing)}" if missing else self.api_url)

    def _check_api_security(self) -> None:
        unknown = f"/v1/swaps/{secrets.token_hex(16)}"
        anonymous = self._api("GET", unknown, authenticated=False)
        # 401 from a JWT authorizer (and the local stack), 403 from IAM (SigV4) authorization.
        self._check(
            "anonymous call refused",
            anonymous.status_code in (401, 403),
            f"HTTP {anonymous.status_code} without credentials",
        )
        known = self._api("GET", unknown)
        code = _error_code(known)
        self._check(
            "unknown job is 404",
            known.status_code == 404 and code == "JOB_NOT_FOUND",
            f"HTTP {known.status_code} {code or ''} with credentials".strip(),
        )

    def _check_provider_key(self) -> None:
        arn = self.outputs.get("ProviderApiKeySecretArn")
        if not arn:
            self._record("provider key stored", SKIP, "no ProviderApiKeySecretArn output")
            return
        try:
            # DescribeSecret shows whether a value was put, without reading it.
            stages = self._client("secretsmanager").describe_secret(SecretId=arn).get("VersionIdsToStages") or {}
        except Exception as error:
            self._record("provider key stored", SKIP, f"cannot describe the secret: {type(error).__name__}")
            return
        stored = any("AWSCURRENT" in labels for labels in stages.values())
        self._check(
            "provider key stored",
            stored,
            "a current version exists" if stored else "no value: put the AILabTools key into the secret first",
            required=self.options.spend_provider_call,
        )

    def _swap(self) -> None:
        created = self._api(
            "POST",
            "/v1/swaps",
            json={"target_content_type": "image/jpeg", "template_content_type": "image/jpeg"},
            headers={"Idempotency-Key": f"smoke-{secrets.token_hex(8)}"},
        )
        body = _json(created)
        job_id = str(body.get("job_id", ""))
        self._check("job created", created.status_code == 201 and bool(job_id), f"HTTP {created.status_code} {job_id}")
        uploads = body.get("uploads") or {}
        self._check_links("upload forms use the bucket's address", [form.get("url", "") for form in uploads.values()])
        try:
            if not self.options.spend_provider_call:
                self._upload(uploads["target"], TARGET_PHOTO, "target")
                self._check_upload_recorded(job_id)
                return
            with self._event_catcher(job_id) as events:
                self._upload(uploads["target"], TARGET_PHOTO, "target")
                self._upload(uploads["template"], TEMPLATE_PHOTO, "template")
                self._start(job_id)
                job = self._wait(job_id)
                self._check_result(job)
                self._check_record(job)
                self._check_event(events, job)
        finally:
            self._delete(job_id)

    def _check_links(self, name: str, urls: list[str]) -> None:
        bucket = self.outputs["BucketName"]
        if self.endpoint_url:
            expected = f"{self.endpoint_url.rstrip('/')}/{bucket}"
            ok = bool(urls) and all(url.startswith(expected) for url in urls)
        else:
            expected = f"https://{regional_s3_host(bucket, self.region)}/"
            ok = bool(urls) and all(
                urlsplit(url).scheme == "https" and urlsplit(url).hostname == regional_s3_host(bucket, self.region)
                for url in urls
            )
        self._check(name, ok, expected if ok else f"expected {expected}, got {', '.join(urls)[:200]}")

    def _upload(self, form: dict[str, Any], photo: Path, role: str) -> None:
        with photo.open("rb") as handle:
            answer = self._http.post(
                form["url"],
                data=form["fields"],
                files={"file": (photo.name, handle, form.get("content_type", "image/jpeg"))},
                timeout=self.options.request_timeout,
            )
        self._check(f"{role} uploaded", answer.status_code in (200, 201, 204), f"HTTP {answer.status_code} from S3")

    def _check_upload_recorded(self, job_id: str) -> None:
        """The upload's S3 event reached the stack: the job record notes the target photo."""
        deadline = time.monotonic() + 30
        while True:
            record = self._job_record(job_id)
            uploads = (record or {}).get("uploads") or {}
            if "target" in uploads or time.monotonic() > deadline:
                break
            time.sleep(1)
        status = (record or {}).get("status")
        self._check(
            "upload event recorded",
            "target" in uploads and status == "awaiting_upload",
            f"job record status={status}, uploads={sorted(uploads)}; stopped before the submit (--no-provider)",
        )

    def _start(self, job_id: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            answer = self._api("POST", f"/v1/swaps/{job_id}/start")
            if answer.status_code != 409 or _error_code(answer) != "UPLOADS_INCOMPLETE" or time.monotonic() > deadline:
                break
            time.sleep(1)
        self._check(
            "job started", answer.status_code in (200, 202), f"HTTP {answer.status_code} {_error_code(answer) or ''}"
        )

    def _wait(self, job_id: str) -> dict[str, Any]:
        started = time.monotonic()
        job: dict[str, Any] = {}
        while time.monotonic() - started < self.options.timeout:
            job = _json(self._api("GET", f"/v1/swaps/{job_id}"))
            if job.get("status") in TERMINAL:
                break
            time.sleep(self.options.poll_interval)
        elapsed = time.monotonic() - started
        error = job.get("error") or {}
        detail = f"{job.get('status')} after {elapsed:.0f} s, {job.get('polls')} polls"
        if error:
            detail += f": {error.get('code')} {error.get('message', '')}"[:200]
        self._check("job succeeded", job.get("status") == "succeeded", detail)
        return job

    def _check_result(self, job: dict[str, Any]) -> None:
        result = job.get("result") or {}
        self._check_links("result link uses the bucket's address", [str(result.get("url", ""))])
        download = self._http.get(result["url"], timeout=self.options.request_timeout)
        digest = hashlib.sha256(download.content).hexdigest()
        self._check(
            "result downloads",
            download.status_code == 200 and digest == result.get("sha256"),
            f"HTTP {download.status_code}, {len(download.content)} bytes, sha256 {digest[:12]}...",
        )
        key = f"results/{job['job_id']}."
        listing = self._client("s3").list_objects_v2(Bucket=self.outputs["BucketName"], Prefix=key)
        keys = [item["Key"] for item in listing.get("Contents", [])]
        head = self._client("s3").head_object(Bucket=self.outputs["BucketName"], Key=keys[0]) if keys else {}
        archived = (head.get("Metadata") or {}).get("sha256")
        self._check(
            "result archived in the bucket",
            archived == result.get("sha256"),
            f"s3://{self.outputs['BucketName']}/{keys[0]}" if keys else "no object under results/",
        )

    def _job_record(self, job_id: str) -> dict[str, Any] | None:
        from boto3.dynamodb.types import TypeDeserializer  # type: ignore[import-untyped,unused-ignore]

        item = (
            self._client("dynamodb")
            .get_item(TableName=self.outputs["JobsTableName"], Key={"job_id": {"S": job_id}}, ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        deserializer = TypeDeserializer()
        return {name: deserializer.deserialize(value) for name, value in item.items()}

    def _check_record(self, job: dict[str, Any]) -> None:
        record = self._job_record(job["job_id"]) or {}
        result = record.get("result") or {}
        self._check(
            "job record",
            record.get("status") == "succeeded" and result.get("sha256") == (job.get("result") or {}).get("sha256"),
            f"status={record.get('status')}, task {record.get('provider_task_id')}, polls {record.get('polls')}",
        )

    @contextmanager
    def _event_catcher(self, job_id: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
        """A temporary rule on the stack's bus, for this job's terminal events, to a temporary queue."""
        sqs, events = self._client("sqs"), self._client("events")
        bus = self.outputs["EventBusName"]
        name = f"faceswap-smoke-{job_id[:12]}"
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        rule_created = False
        try:
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            pattern = {"detail-type": ["FaceSwap Succeeded", "FaceSwap Failed"], "detail": {"job_id": [job_id]}}
            rule_arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
            rule_created = True
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                    }
                ],
            }
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "smoke", "Arn": queue_arn}])

            def received() -> list[dict[str, Any]]:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                return [json.loads(message["Body"]) for message in messages.get("Messages", [])]

            yield received
        finally:
            if rule_created:
                events.remove_targets(Rule=name, EventBusName=bus, Ids=["smoke"])
                events.delete_rule(Name=name, EventBusName=bus)
            sqs.delete_queue(QueueUrl=queue_url)
            self._record("temporary rule and queue removed", PASS, name)

    def _check_event(self, received: Callable[[], list[dict[str, Any]]], job: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.options.event_timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not seen:
            seen = received()
        event = seen[0] if seen else {}
        detail = event.get("detail") or {}
        self._check(
            "FaceSwap Succeeded event",
            event.get("detail-type") == "FaceSwap Succeeded"
            and (detail.get("result") or {}).get("sha256") == (job.get("result") or {}).get("sha256"),
            f"{event.get('detail-type', 'none')} from {event.get('source', '-')}" if event else "no event arrived",
        )

    def _delete(self, job_id: str) -> None:
        answer = self._api("DELETE", f"/v1/swaps/{job_id}")
        self._check(
            "job deleted",
            answer.status_code == 200,
            "photos and result removed"
            if answer.status_code == 200
            else f"HTTP {answer.status_code} {_error_code(answer)}: delete it later with `faceswap delete {job_id}`",
            required=False,
        )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: requests.Response) -> str | None:
    error = _json(response).get("error")
    return str(error.get("code")) if isinstance(error, dict) and error.get("code") else None


def print_report(report: SmokeReport, out: TextIO) -> None:
    out.write(report.table() + "\n")
    out.flush()


# -- the command line (`faceswap smoke`) -----------------------------------------------------------------------------
SPEND_WARNING = (
    "the full smoke test runs one real swap: it spends one provider call (one AILabTools credit). "
    "Pass --yes to go ahead, or --no-provider to check everything up to the submit."
)


def register(sub: Any, connection: Any) -> None:
    """The `faceswap smoke` subcommand."""
    from faceswap_client.commandline import add_command

    parser = add_command(sub, "smoke", "check a deployed (or the local) stack end to end", _handle, [connection])
    add_arguments(parser)


def _handle(args: Any, context: Any) -> int:
    return run_command(args, context.console.out, context.console.err)


def add_arguments(parser: Any) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="CloudFormation stack name (outputs read with your AWS credentials)")
    where.add_argument(
        "--outputs", type=Path, metavar="FILE", help="stack outputs as JSON (e.g. out/local/outputs.json)"
    )
    spend = parser.add_mutually_exclusive_group()
    spend.add_argument("--yes", action="store_true", help="run the real swap (spends one provider call)")
    spend.add_argument("--no-provider", action="store_true", help="stop before the submit: spends nothing")
    parser.add_argument(
        "--timeout", type=float, default=600.0, metavar="S", help="seconds to wait for the job (default %(default)s)"
    )


def _request_auth(args: Any, api_url: str, region: str | None) -> AuthBase | None:
    """The same choice as the other subcommands: none, a bearer token, or SigV4 from the AWS credential chain."""
    from faceswap_client.auth import BearerAuth, SigV4Auth

    if args.auth == "none":
        return None
    if args.auth == "bearer" or (args.auth == "auto" and args.token):
        return BearerAuth(args.token or "")
    return SigV4Auth.from_aws_chain(api_url, region=region, profile=args.profile)


def run_command(args: Any, out: TextIO, err: TextIO) -> int:
    """0 when every check passed, 1 when one failed, 2 for a usage error."""
    import boto3  # type: ignore[import-untyped,unused-ignore]

    if not args.yes and not args.no_provider:
        err.write(f"faceswap: {SPEND_WARNING}\n")
        return 2
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    try:
        outputs = outputs_from_file(args.outputs) if args.outputs else outputs_from_cloudformation(args.stack, session)
    except Exception as error:  # no such stack or file, no credentials, access denied: say which, briefly
        err.write(f"faceswap: cannot read the stack's outputs: {type(error).__name__}: {error}\n")
        return 1
    if outputs.get("Region") and outputs["Region"] != session.region_name:
        session = boto3.session.Session(profile_name=args.profile, region_name=outputs["Region"])
    auth = _request_auth(args, outputs.get("ApiUrl", ""), args.region or outputs.get("Region"))
    if args.yes:
        err.write("faceswap: running one real swap (one provider call)\n")
    options = SmokeOptions(spend_provider_call=args.yes, timeout=args.timeout, request_timeout=args.request_timeout)
    progress = None if args.json else (lambda line: print(f"faceswap: {line}", file=err))
    report = SmokeTest(outputs, auth=auth, aws=session, options=options, progress=progress).run()
    if args.json:
        out.write(json.dumps({"passed": report.passed, "checks": [vars(check) for check in report.checks]}) + "\n")
    else:
        print_report(report, out)
    return 0 if report.passed else 1
