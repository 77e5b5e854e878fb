"""The `faceswap` command-line client of the face-swap service API (see openapi.yaml and docs/cli.md)."""

from faceswap_client.api import FaceSwapApi
from faceswap_client.errors import ApiError, CliError
from faceswap_client.exit_codes import ExitCode

__all__ = ["ApiError", "CliError", "ExitCode", "FaceSwapApi"]
__version__ = "0.1.0"
