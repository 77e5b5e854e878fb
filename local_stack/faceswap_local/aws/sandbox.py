"""One Lambda sandbox: runs in its own process, imports the handler once (the cold start), then runs one invocation
at a time. Requests arrive as JSON lines on stdin; results leave on the control pipe named by argv[2].

Started by ``workers.Worker`` with the function's code folder as working directory (``sys.path[0]``, like /var/task)
and the layers on PYTHONPATH (like /opt/python). stdout and stderr are the function's log stream; after each
invocation a record-separator line marks its end, so the parent knows which lines belong to which request.
This file imports nothing from the local stack: the sandbox holds only the function's own code.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

EXTRA_HOSTS_VARIABLE = "_LOCAL_EXTRA_HOSTS_FILE"
END_OF_INVOCATION = "\x1e"  # followed by the request id: the last line of an invocation's log output


class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools use."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request["function_arn"]
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException, request_id: str, error_type: str | None = None) -> dict[str, Any]:
    """What the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class _RequestId(logging.Filter):
    current = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.current
        return True


def _runtime_logging() -> _RequestId:
    """The root logger as the Python runtime sets it up: to the log stream, at AWS_LAMBDA_LOG_LEVEL."""
    request_id = _RequestId()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s"))
    handler.addFilter(request_id)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())
    return request_id


def _use_extra_hosts(path: str) -> None:
    """Names the local cloud maps to addresses (as ``sam local --add-host`` writes them into the container's
    /etc/hosts): a JSON object {name: address}, read on every lookup so that a mapping added later applies too."""
    import socket

    system_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with open(path, encoding="utf-8") as hosts:
                address = json.load(hosts).get(host.decode() if isinstance(host, bytes) else host)
        except (OSError, ValueError):
            address = None
        return system_getaddrinfo(address or host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def _end_of_output(control: Any, message: dict[str, Any], request_id: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, f"{END_OF_INVOCATION}{request_id}\n".encode())
    control.write((json.dumps(message) + "\n").encode())
    control.flush()


def main() -> None:
    handler_name, control_fd = sys.argv[1], int(sys.argv[2])
    control = os.fdopen(control_fd, "wb", buffering=0)
    module_name, _, function_name = handler_name.rpartition(".")
    request_id_filter = _runtime_logging()
    if os.environ.get(EXTRA_HOSTS_VARIABLE):
        _use_extra_hosts(os.environ[EXTRA_HOSTS_VARIABLE])
    started = time.monotonic()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # Lambda reports an init failure on the invocation that needed the sandbox
        error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        print(f"[ERROR] {error_type}: {exc}", flush=True)
        _end_of_output(control, {"type": "init_error", "payload": error_payload(exc, "", error_type)}, "init")
        return
    _end_of_output(control, {"type": "ready", "init_ms": (time.monotonic() - started) * 1000}, "init")
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request_id_filter.current = request["request_id"]
        try:
            result = handler(request["event"], LambdaContext(request))
            try:
                message = {"type": "result", "errored": False, "payload": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                raise MarshalError(f"Unable to marshal response: {exc}") from exc
        except Exception as exc:
            error_type = "Runtime.MarshalError" if isinstance(exc, MarshalError) else None
            payload = error_payload(exc, request_id, error_type)
            print(f"[ERROR] {payload['errorType']}: {exc}", flush=True)
            message = {"type": "result", "errored": True, "payload": json.dumps(payload)}
        _end_of_output(control, message, request_id)


class MarshalError(Exception):
    pass


if __name__ == "__main__":
    main()
