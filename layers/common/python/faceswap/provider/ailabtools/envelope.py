"""Reading the AILabTools response envelope, tolerant of the three documented generations of it.

An answer succeeded when its HTTP status is 200 and its `error_code` is absent or 0; any other field may be missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Envelope:
    body: dict[str, Any]

    @property
    def request_id(self) -> str | None:
        return _text(self.body.get("request_id"))

    @property
    def log_id(self) -> str | None:
        return _text(self.body.get("log_id"))

    @property
    def detail(self) -> dict[str, Any]:
        detail = self.body.get("error_detail")
        return detail if isinstance(detail, dict) else {}

    @property
    def error_code(self) -> int | None:
        """`error_code` as an int: 0 = success; None when absent or empty; -1 when present but not a number."""
        raw = self.body.get("error_code")
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return int(raw)
        try:
            return int(raw)
        except (TypeError, ValueError):
            return -1

    @property
    def provider_code(self) -> str | None:
        """The most precise code available: `error_detail.code`, then the legacy `error_code_str`."""
        return _text(self.detail.get("code")) or _text(self.body.get("error_code_str"))

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
        return http_status != 200 or (code is not None and code != 0)

    def effective_status(self, http_status: int) -> int:
        """The status to classify by: a 200 carrying a non-zero `error_code` uses that code (documented equal)."""
        code = self.error_code
        if http_status == 200 and code is not None and 100 <= code <= 599:
            return code
        return http_status

    def field(self, name: str) -> Any:
        """A top-level field, else the same field inside `data` (the SDK and n8n read both places)."""
        if name in self.body and self.body[name] is not None:
            return self.body[name]
        data = self.body.get("data")
        if isinstance(data, dict):
            return data.get(name)
        return None


def parse_envelope(raw: bytes) -> Envelope | None:
    """The envelope, or None when the body is not a JSON object (e.g. a proxy's HTML error page)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return Envelope(body) if isinstance(body, dict) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
