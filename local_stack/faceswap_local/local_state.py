"""What `make serve` keeps across restarts (in out/local/ unless told otherwise), so configured clients keep working:
the token signing key and the bearer token, the local IAM user's keys, the webhook signing secret, the events log and
outputs.json (the stack's CloudFormation outputs plus the local endpoint)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap_local.local_auth import AuthError, LocalAuth


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


TOKEN_TTL_SECONDS = 30 * 24 * 3600
TOKEN_RENEW_BEFORE_SECONDS = 24 * 3600
IAM_USER = "local-iam-user"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o600)


@dataclass
class LocalState:
    folder: Path

    @property
    def token_file(self) -> Path:
        return self.folder / "token.txt"

    @property
    def events_file(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def outputs_file(self) -> Path:
        return self.folder / "outputs.json"

    def auth(self) -> LocalAuth:
        key_file = self.folder / "token-signing-key.hex"
        if not key_file.exists():
            _write_private(key_file, secrets.token_hex(32) + "\n")
        return LocalAuth(key=bytes.fromhex(key_file.read_text().strip()))

    def token(self, auth: LocalAuth, token_file: Path | None = None) -> str:
        """The stored bearer token while valid for another day, else a new one (stored)."""
        path = token_file or self.token_file
        if path.exists():
            token = path.read_text().strip()
            try:
                claims = auth.verify_token(token)
                if claims["exp"] - time.time() > TOKEN_RENEW_BEFORE_SECONDS:
                    return token
            except AuthError:
                pass
        token = auth.mint("local-user", ttl=TOKEN_TTL_SECONDS)
        _write_private(path, token + "\n")
        return token

    def iam_user(self, auth: LocalAuth) -> tuple[str, str]:
        path = self.folder / "iam-user.json"
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        access_key, secret_key = auth.add_iam_user(
            IAM_USER, stored.get("access_key_id"), stored.get("secret_access_key")
        )
        if not stored:
            _write_private(path, json.dumps({"access_key_id": access_key, "secret_access_key": secret_key}) + "\n")
        return access_key, secret_key

    @property
    def webhook_secret_file(self) -> Path:
        return self.folder / "webhook-secret.txt"

    def webhook_secret(self, path: Path | None = None) -> str:
        """The Standard Webhooks signing secret, created once: a receiver configured from the docs keeps verifying."""
        path = path or self.webhook_secret_file
        value = path.read_text().strip() if path.exists() else ""
        if not value:
            value = new_webhook_secret()
            _write_private(path, value + "\n")
        return value

    def write_outputs(self, outputs: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.outputs_file.write_text(json.dumps(outputs, indent=2) + "\n")
