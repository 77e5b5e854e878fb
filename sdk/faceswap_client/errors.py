"""Exceptions that carry the exit code the command ends with."""

from __future__ import annotations

from faceswap_client.exit_codes import ExitCode, exit_code_for_status
from faceswap_client.messages import describe_api_error


class CliError(Exception):
    """An error the command reports in one line before exiting with `exit_code`."""

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


class ApiError(CliError):
    """The API answered with an error status; `code` is its stable error code (None for API Gateway's own errors)."""

    def __init__(self, http_status: int, code: str | None, message: str) -> None:
        super().__init__(exit_code_for_status(http_status), describe_api_error(code, message, http_status))
        self.http_status = http_status
        self.code = code
        self.server_message = message
