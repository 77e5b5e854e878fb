"""SQS event source mappings: what the Lambda service's pollers do for a function subscribed to a queue.

moto would invoke the function synchronously inside SendMessage, once, and never again after a failure. Here a
poller thread per mapping long-polls the queue, invokes the function with a batch, deletes what succeeded and leaves
the rest to reappear after the visibility timeout, so retries and the redrive to a dead-letter queue happen as on AWS.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from .deploy import QueueSource

Invoke = Callable[[str, dict[str, Any]], tuple[bool, Any]]


class SqsPollers:
    def __init__(self, sqs: Any, invoke: Invoke, shutdown: threading.Event, region: str = "us-east-1") -> None:
        self._sqs = sqs
        self._invoke = invoke
        self._shutdown = shutdown
        self._region = region
        self._threads: list[threading.Thread] = []

    def start(self, source: QueueSource) -> None:
        thread = threading.Thread(target=self._run, args=(source,), name=f"sqs-poller-{source.function_name}")
        thread.daemon = True
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, source: QueueSource) -> None:
        while not self._shutdown.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=source.queue_url,
                    MaxNumberOfMessages=min(10, source.batch_size),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:  # the endpoint is stopping, or a transient error: poll again
                self._shutdown.wait(0.5)
                continue
            if messages and not self._shutdown.is_set():
                self._deliver(source, messages)

    def _deliver(self, source: QueueSource, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(source, m) for m in messages]}
        try:
            errored, payload = self._invoke(source.function_name, event)
        except Exception:
            return  # the messages reappear after their visibility timeout
        if errored:
            return
        failed: set[str] = set()
        if source.report_batch_item_failures and isinstance(payload, dict):
            failed = {str(f.get("itemIdentifier")) for f in payload.get("batchItemFailures") or []}
        for message in messages:
            if message["MessageId"] not in failed:
                with contextlib.suppress(Exception):
                    self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, source: QueueSource, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": source.queue_arn.split(":")[3],
        }
