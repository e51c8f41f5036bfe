"""The emulated service on a real loopback port, one per test module, for the end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from desktop_app.sandbox import BASIC_TOKEN, SandboxConfig, SandboxServer
from tests.helpers.tokens import FAKE_TOKEN

#: The generated history ends this long before the service's clock. Anchored at the clock
#: itself, how recent the newest call is depends on the time of day (calls follow Indian
#: office hours), and a call that ended under `recording_delay_s` ago has no recording yet.
HISTORY_AGE_S = 3600.0


@pytest.fixture(scope="module")
def live_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        n_logs=800,
        now=time.time() - HISTORY_AGE_S,
        rate_limit=None,
        tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8},
    )
    assert config.recording_delay_s < HISTORY_AGE_S
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def server(live_server: SandboxServer) -> Iterator[SandboxServer]:
    """The module's server with no faults left over from the previous test."""
    live_server.state.faults.clear()
    yield live_server
    live_server.state.faults.clear()
