"""Emulator fixtures (helpers live in emulator_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from faceswap_local.emulator import EmulatorConfig, EmulatorServer

from tests.integration.emulator.emulator_helpers import API_KEY, FakeClock, fake_swapper


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_server() -> Iterator[Callable[..., EmulatorServer]]:
    servers: list[EmulatorServer] = []

    def factory(**overrides: object) -> EmulatorServer:
        settings: dict[str, object] = {"api_keys": (API_KEY,), "queued_seconds": 0, "processing_seconds": 0}
        settings.update(overrides)
        server = EmulatorServer(EmulatorConfig(**settings), swapper=fake_swapper)
        server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server) -> EmulatorServer:
    return make_server()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["ailabapi-api-key"] = API_KEY
        yield session
