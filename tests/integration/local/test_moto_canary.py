"""Canaries for the moto internals the harness patches (G10): fail loudly when moto changes under us."""

from __future__ import annotations

import inspect
import time

import moto
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.moto_server import werkzeug_app
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3 import notifications as s3_notifications
from moto.sqs.models import Queue
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == "5.2.5"


def test_patched_entry_points_keep_their_signatures() -> None:
    assert _parameters(LambdaFunction._invoke_lambda) == ["self", "event"]
    assert _parameters(WaitFunction._wait_interval) == ["self", "env", "wait_seconds"]
    assert _parameters(Rule.send_to_targets) == ["self", "original_event", "transform_input"]
    assert _parameters(StepFunctionsParserBackend.start_execution)[:3] == ["self", "state_machine_arn", "name"]
    assert _parameters(s3_notifications._invoke_awslambda) == ["account_id", "event_body", "fn_arn", "region_name"]
    assert _parameters(StateTaskServiceLambda._from_error) == ["self", "env", "ex"]
    assert _parameters(lambda_eval_utils.LambdaFunctionErrorException) == ["function_error", "payload"]


def test_retry_backoff_sleeps_through_the_modules_time_attribute() -> None:
    assert retrier_decl.time is time
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl)


def test_interpreter_clients_use_moto_port_and_threads_are_tracked() -> None:
    assert "moto_server_port()" in inspect.getsource(boto_client.boto_client_for)
    assert isinstance(TMP_THREADS, list)
    assert default_user_config["stepfunctions"] == {"execute_state_machine": False}


def test_stock_moto_cannot_deliver_to_lambda_targets() -> None:
    # G3: if this starts passing through, the harness's own delivery may deliver twice.
    assert "NotImplementedError" in inspect.getsource(Rule.send_to_targets)


def test_delivered_envelopes_still_lack_the_account_field() -> None:
    # install_complete_event_envelopes inserts it after "version"; when moto adds it, the patch becomes a no-op.
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    assert '"version": "0",' in template and '"account"' not in template


def test_the_server_application_parts_the_local_endpoint_assembles() -> None:
    # LocalEndpoint builds ThreadedMotoServer's application itself, to put the POST-policy checks in front of it.
    assert "DomainDispatcherApplication(create_backend_app)" in inspect.getsource(ThreadedMotoServer._server_entry)
    assert "request_handler=MotoRequestHandler" in inspect.getsource(ThreadedMotoServer._server_entry)


def test_sqs_send_message_invokes_mapped_functions_synchronously() -> None:
    # Why the local cloud polls queues itself instead of creating moto event source mappings.
    assert "send_sqs_batch" in inspect.getsource(Queue.add_message)


def test_the_server_adds_global_cors_unless_disabled() -> None:
    # install_bucket_cors_only flips the flag create_backend_app reads each time it builds a service application.
    assert isinstance(werkzeug_app.DISABLE_GLOBAL_CORS, bool)
    assert "if not DISABLE_GLOBAL_CORS:" in inspect.getsource(werkzeug_app.create_backend_app)
