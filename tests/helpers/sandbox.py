"""The emulated service in-process for unit tests: on the test's clock, rate limit lifted.

Time is a `ManualClock` (desktop_app.services.clock), the suite's one clock fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.sandbox import DEMO_TOKEN, SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.services.clock import Clock, ManualClock
from tests.helpers.tokens import FAKE_TOKEN

# Tue 2023-11-14 22:13:20 UTC (03:43 IST on the Wednesday).
NOW = 1_700_000_000.0
BASE_URL = "http://sandbox"


def sandbox_config(clock: Clock, *, now: float = NOW, **options: Any) -> SandboxConfig:
    """The emulated service on `clock`, no rate limit, the canary token an Admin.

    `options` are `SandboxConfig`'s and replace those defaults.
    """
    config: dict[str, Any] = {
        "now": now, "clock": clock, "rate_limit": None, "tokens": {FAKE_TOKEN: 2},
    }
    config.update(options)
    return SandboxConfig(**config)


def make_sandbox(clock: Clock, *, now: float = NOW, **options: Any) -> SandboxApp:
    """`sandbox_config`'s service, in-process."""
    return create_app(sandbox_config(clock, now=now, **options))


def manual_client(
    transport: httpx.AsyncBaseTransport,
    clock: ManualClock,
    *,
    token: str = FAKE_TOKEN,
    retry: RetryPolicy | None = None,
) -> MyOperatorClient:
    """A client whose every wait (budget, retries) goes through the test's `ManualClock`.

    The budget has no windows, but a 429 still blocks it until Retry-After on that clock;
    by default each request is tried once.
    """
    return MyOperatorClient(
        token,
        base_url=BASE_URL,
        transport=transport,
        budget=RequestBudget((), clock=clock, sleep=clock.sleep),
        retry=retry if retry is not None else RetryPolicy(attempts=1),
        sleep=clock.sleep,
    )


class SandboxTransport(httpx.AsyncBaseTransport):
    """The sandbox in-process, with a hook on each side of the service.

    Subclasses do to a request what a network or a person can: refuse it, hold it, lose
    its answer, press Ctrl-C while it is on its way.
    """

    def __init__(self, app: SandboxApp) -> None:
        self.inner = httpx.ASGITransport(app=app)

    async def before(self, request: httpx.Request) -> None:
        """Runs before the service sees `request`; raise to stop it there."""

    async def after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """Runs once the service has acted on `request`; returns the answer the client gets."""
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.before(request)
        response = await self.inner.handle_async_request(request)
        return await self.after(request, response)

    async def aclose(self) -> None:
        await self.inner.aclose()


def client_for(app: SandboxApp) -> httpx.AsyncClient:
    """A raw HTTP client on the app in-process, for the sandbox's own protocol tests."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """POST /search with the demo token; the envelope's data, asserting success."""
    response = await client.post("/search", params={"token": DEMO_TOKEN}, data=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    return data


# ---------------------------------------------------------------- fixtures
# Registered by the conftest of the directories that use them.


@pytest.fixture
def state(app: SandboxApp) -> SandboxState:
    """The state of the module's `app` fixture: what the service saw and did."""
    return app.sandbox


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def config(clock: ManualClock) -> SandboxConfig:
    return SandboxConfig(n_logs=2000, now=NOW, clock=clock, rate_limit=None)


@pytest.fixture
def app(config: SandboxConfig) -> SandboxApp:
    return create_app(config)


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on `app` in-process."""
    async with client_for(app) as c:
        yield c
