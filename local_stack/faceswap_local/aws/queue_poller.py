"""What Lambda's SQS event source mapping does, for the local cloud: long-poll a queue, invoke the function with a
batch, delete what succeeded (all of it, or all but the reported `batchItemFailures`), leave the rest to reappear
after its visibility timeout. moto's own mapping invokes once, synchronously inside SendMessage, and never again,
so retries by visibility timeout and redrive to a dead-letter queue would never happen."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSource:
    function: str  # logical id
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False


class QueuePoller:
    def __init__(
        self,
        source: QueueSource,
        sqs: Any,
        invoke: Callable[[str, dict[str, Any]], tuple[Any, bool]],
        shutdown: threading.Event,
        *,
        wait_seconds: int = 1,
    ) -> None:
        self.source = source
        self._sqs = sqs
        self._invoke = invoke  # (logical id, event) -> (payload, errored)
        self._shutdown = shutdown
        self._wait_seconds = wait_seconds
        name = source.queue_arn.rsplit(":", 1)[1]
        self.queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{source.function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._shutdown.is_set():
            try:
                self.poll_once()
            except Exception as error:  # the server may be stopping; otherwise try again shortly
                logger.debug("polling %s failed: %s", self.source.queue_arn, error)
                self._shutdown.wait(0.5)

    def poll_once(self) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages or self._shutdown.is_set():
            return 0
        payload, errored = self._invoke(self.source.function, {"Records": [self._record(m) for m in messages]})
        if errored:
            return len(messages)  # all of them come back after their visibility timeout
        failed: set[str] = set()
        if self.source.report_batch_item_failures and isinstance(payload, dict):
            failed = {str(item.get("itemIdentifier")) for item in payload.get("batchItemFailures") or []}
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        region = self.source.queue_arn.split(":")[3]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "dataType": value.get("DataType"),
                    "stringListValues": [],
                    "binaryListValues": [],
                }
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": region,
        }


def lambda_invoker(lambda_client: Any, function_names: dict[str, str]) -> Callable[[str, dict], tuple[Any, bool]]:
    """Synchronous invocations through the local Lambda API (as the event source mapping does)."""

    def invoke(logical_id: str, event: dict[str, Any]) -> tuple[Any, bool]:
        response = lambda_client.invoke(FunctionName=function_names[logical_id], Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        return payload, bool(response.get("FunctionError"))

    return invoke
