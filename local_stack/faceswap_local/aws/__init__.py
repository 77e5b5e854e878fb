"""The local AWS cloud: the real SAM template and state machine on a moto server, the handlers in worker processes."""

from .cloud import FunctionInvocationError, LocalCloud
from .endpoint import PortInUseError
from .event_tap import EventTap
from .template import TemplateError
from .workers import InvocationRecord

__all__ = ["EventTap", "FunctionInvocationError", "InvocationRecord", "LocalCloud", "PortInUseError", "TemplateError"]
