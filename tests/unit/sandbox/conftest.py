"""Fixtures for the sandbox's unit tests: an injected clock and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from desktop_app.sandbox import SandboxApp, SandboxConfig, SandboxState, create_app

from .helpers import NOW, FakeClock, client_for


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock: FakeClock) -> SandboxConfig:
    return SandboxConfig(n_logs=2000, now=NOW, clock=clock, rate_limit=None)


@pytest.fixture
def app(config: SandboxConfig) -> SandboxApp:
    return create_app(config)


@pytest.fixture
def state(app: SandboxApp) -> SandboxState:
    return app.sandbox


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c
