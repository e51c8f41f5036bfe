"""One emulated service on a real loopback port for the end-to-end tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop_app.sandbox import BASIC_TOKEN, SandboxConfig, SandboxServer
from tests.conftest import FAKE_TOKEN


@pytest.fixture(scope="module")
def live_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(n_logs=800, rate_limit=None, tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8})
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def server(live_server: SandboxServer) -> Iterator[SandboxServer]:
    """The module's server with no faults left over from the previous test."""
    live_server.state.faults.clear()
    yield live_server
    live_server.state.faults.clear()
