"""An AILabTools-compatible emulator (a real HTTP server) for tests, the local stack and integrators."""

from .config import DEFAULT_API_KEY, EmulatorConfig
from .faults import FAULTS_BY_ENDPOINT, FaultRule, FaultTable
from .server import EmulatorServer
from .swapper import Swapper, engine_swapper, identity_swapper

__all__ = [
    "DEFAULT_API_KEY",
    "FAULTS_BY_ENDPOINT",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultRule",
    "FaultTable",
    "Swapper",
    "engine_swapper",
    "identity_swapper",
]
