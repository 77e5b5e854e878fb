"""The SDK against the real local stack (template, state machine and handlers on moto, the emulator with the offline
engine, the HTTP gateway): swap, wait, download with the sha256 checked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faceswap_client import Client, InvalidImage, NotFound


@dataclass
class LocalApi:
    url: str
    token: str


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    """The only place these tests touch the local stack's internals: start it, hand out its URL and a token."""
    from faceswap_local.emulator import EmulatorConfig
    from faceswap_local.stack import OfflineStack, StackOptions

    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.2),
        job_timeout_seconds=60,
    )
    with OfflineStack(options) as stack:
        yield LocalApi(stack.api_url, stack.auth.mint("sdk-test"))


def test_swap_and_wait_then_download(local_api: LocalApi, sample_photos: dict[str, Path], tmp_path: Path):
    updates: list[str] = []
    with Client(local_api.url, local_api.token) as client:
        job = client.swap(
            sample_photos["astronaut"],
            sample_photos["grace_hopper"],
            client_reference="sdk-local",
            timeout=120,
            poll_interval=0.2,
            on_update=lambda seen: updates.append(seen.status),
        )
        assert job.succeeded and job.client_reference == "sdk-local" and job.completed_at is not None
        assert updates[-1] == "succeeded" and updates[0] in ("queued", "processing")
        download = client.download(job, tmp_path / "result.png")
        data = download.path.read_bytes()
        assert job.result is not None and hashlib.sha256(data).hexdigest() == job.result.sha256 == download.sha256
        assert data.startswith(b"\x89PNG") and data != sample_photos["astronaut"].read_bytes()
        assert client.get(job.job_id).status == "succeeded"
        client.delete(job)
        with pytest.raises(NotFound) as gone:
            client.get(job.job_id)
        assert gone.value.code == "JOB_NOT_FOUND"


def test_a_non_image_never_reaches_the_stack(local_api: LocalApi, tmp_path: Path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("text renamed to .jpg")
    with Client(local_api.url, local_api.token) as client, pytest.raises(InvalidImage):
        client.swap(fake, fake)
