"""`make serve`'s state folder: the same credentials after a restart, a new token only when the stored one is stale."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from faceswap_local.local_state import LocalState


def test_a_restart_keeps_the_token_and_the_iam_keys(tmp_path: Path) -> None:
    first = LocalState(tmp_path)
    auth = first.auth()
    token = first.token(auth)
    keys = first.iam_user(auth)
    secret = first.webhook_secret()

    again = LocalState(tmp_path)
    restarted = again.auth()
    assert again.token(restarted) == token
    assert restarted.verify_token(token)["sub"] == "local-user"  # the old token is valid for the new process
    assert again.iam_user(restarted) == keys
    assert again.webhook_secret() == secret and secret.startswith("whsec_")
    assert stat.S_IMODE((tmp_path / "token.txt").stat().st_mode) == 0o600


def test_a_token_signed_by_another_key_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("not.a.token\n")
    state = LocalState(tmp_path)
    auth = state.auth()
    token = state.token(auth)
    assert token != "not.a.token" and (tmp_path / "token.txt").read_text().strip() == token
    state.write_outputs({"ApiUrl": "http://127.0.0.1:3000"})
    assert json.loads((tmp_path / "outputs.json").read_text()) == {"ApiUrl": "http://127.0.0.1:3000"}
