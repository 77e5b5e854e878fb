"""The local AWS cloud: the real SAM template, state machine and Lambda handlers on an in-process moto server."""

from .cloud import FunctionInvocationError, LocalCloud
from .event_tap import EventTap
from .lambda_runtime import InvocationRecord, LambdaContext
from .template import TemplateError

__all__ = ["EventTap", "FunctionInvocationError", "InvocationRecord", "LambdaContext", "LocalCloud", "TemplateError"]
