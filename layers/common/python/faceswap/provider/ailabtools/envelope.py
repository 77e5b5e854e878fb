"""Reading the AILabTools response envelope, tolerant of the three documented generations of it.

Success rule: HTTP 200, `error_code` absent or 0, `error_detail.status_code` absent or 200, and no error code in
`error_detail.code` or `error_code_str`. An error named anywhere wins over everything else in the answer (a 200
with `error_code` 0 and `error_detail.code` = ERROR_NO_FACE_IN_FILE is a face error, not an outage). Every field may
be missing, and numbers may arrive as strings or floats, objects as JSON-encoded strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .classification import PROVIDER_CODE_TABLE

# Codes some APIs put in `error_detail.code` on success; anything else non-empty names an error.
_SUCCESS_CODES = frozenset({"", "0", "200", "OK", "SUCCESS"})


@dataclass(frozen=True)
class Envelope:
    body: dict[str, Any]

    @property
    def request_id(self) -> str | None:
        return _bounded(_text(self.body.get("request_id")))

    @property
    def log_id(self) -> str | None:
        return _bounded(_text(self.body.get("log_id")))

    @property
    def detail(self) -> dict[str, Any]:
        return _object(self.body.get("error_detail"))

    @property
    def error_code(self) -> int | None:
        """`error_code` as an int: 0 = success; None when absent or empty; -1 when present but not a number."""
        return _int_field(self.body.get("error_code"))

    @property
    def detail_status(self) -> int | None:
        """`error_detail.status_code` when it is an HTTP status (older generations only)."""
        status = _int_field(self.detail.get("status_code"))
        return status if status is not None and 100 <= status <= 599 else None

    @property
    def error_codes(self) -> list[str]:
        """Every error code the answer names, normalised, the precise `error_detail.code` first."""
        codes = [_code(self.detail.get("code")), _code(self.body.get("error_code_str"))]
        return [code for code in dict.fromkeys(codes) if code not in _SUCCESS_CODES]

    @property
    def provider_code(self) -> str | None:
        """The most precise code available: a known one wherever it appears (`error_detail.code` first, then the
        legacy `error_code_str`), else the first unknown one."""
        codes = self.error_codes
        known = [code for code in codes if code in PROVIDER_CODE_TABLE]
        return next(iter(known or codes), None)

    @property
    def message(self) -> str:
        for candidate in (
            self.detail.get("message"),
            self.detail.get("code_message"),
            self.body.get("error_msg"),
            self.body.get("error_code_str"),
        ):
            text = _text(candidate)
            if text:
                return text
        return ""

    def has_error(self, http_status: int) -> bool:
        code = self.error_code
        detail_status = self.detail_status
        return (
            http_status != 200
            or (code is not None and code != 0)
            or (detail_status is not None and detail_status != 200)
            or bool(self.error_codes)
        )

    def effective_status(self, http_status: int) -> int:
        """The status to classify by: a 200 carrying a non-zero `error_code` (documented equal to the status) or an
        error `error_detail.status_code` uses that."""
        if http_status != 200:
            return http_status
        for status in (self.error_code, self.detail_status):
            if status is not None and 100 <= status <= 599 and status != 200:
                return status
        return http_status

    def field(self, name: str) -> Any:
        """A top-level field, else the same field inside `data` (the SDK and n8n read both places)."""
        if name in self.body and self.body[name] is not None:
            return self.body[name]
        return _object(self.body.get("data")).get(name)


def parse_envelope(raw: bytes) -> Envelope | None:
    """The envelope, or None when the body is not a JSON object (e.g. a proxy's HTML error page)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return Envelope(body) if isinstance(body, dict) else None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _bounded(text: str | None, limit: int = 128) -> str | None:
    """Ids only help support find a request: a few dozen characters; more is noise in every log line and error."""
    return text[:limit] if text else text


def _code(value: Any) -> str:
    text = _text(value)
    return text.upper() if text else ""


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, also when it arrives encoded as a string (seen from proxies that re-serialise)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _int_field(raw: Any) -> int | None:
    """A numeric field as an int: None when absent or empty, -1 when present but not a whole number."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return int(raw)
    try:
        number = float(str(raw).strip())
    except ValueError:
        return -1
    return int(number) if number.is_integer() else -1
