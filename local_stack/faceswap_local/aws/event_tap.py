"""Watching everything that is put on an event bus: a catch-all rule with an SQS target, read back by the test."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

Envelope = dict[str, Any]


class EventTap:
    """Full EventBridge envelopes (``detail-type``, ``source``, ``detail``, ``resources``...) seen on one bus."""

    def __init__(self, sqs: Any, queue_url: str, bus_name: str) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.bus_name = bus_name
        self.events: list[Envelope] = []  # every envelope received so far, in arrival order

    def drain(self) -> list[Envelope]:
        """Receive what has arrived since the last call (without waiting); returns only the new envelopes."""
        new: list[Envelope] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                new.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.events.extend(new)
        return new

    def wait_for(
        self, predicate: Callable[[Envelope], bool], timeout: float = 10.0, count: int = 1, poll: float = 0.05
    ) -> list[Envelope]:
        """Envelopes (seen since the tap was created) matching ``predicate``, once there are ``count`` of them.

        Raises TimeoutError listing the detail-types seen when they do not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            matching = [event for event in self.events if predicate(event)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                seen = [event.get("detail-type") for event in self.events]
                raise TimeoutError(
                    f"{len(matching)}/{count} matching events on {self.bus_name} after {timeout}s; seen {seen}"
                )
            time.sleep(poll)
