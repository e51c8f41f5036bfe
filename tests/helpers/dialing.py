"""The click-to-call rig the dial guard's and the dialer panel's tests share: the emulated
service in-process on a `ManualClock`, behind a transport that can fail like a network."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.sandbox import SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.services.clock import ManualClock
from tests.helpers import sandbox

T = 1_700_000_000
CLICK = "/clickOcall"
#: The guard's settle time in these tests: how long the call log may take to show a call.
SETTLE_S = 60.0
#: The number the tests dial, as typed and as stored.
CUSTOMER = "98123 45678"
CUSTOMER_E164 = "+919812345678"


class ClickTransport(sandbox.SandboxTransport):
    """The sandbox in-process, plus what a network can do to a request: never connect
    (`offline`), time out after the server processed it (`timeouts`), or hold a
    click-to-call in flight until `release` (`hold`)."""

    def __init__(self, app: SandboxApp) -> None:
        super().__init__(app)
        self.offline = False
        self.timeouts = 0
        self._gate: asyncio.Event | None = None

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
        self._gate = None

    async def before(self, request: httpx.Request) -> None:
        if self.offline:
            raise httpx.ConnectError("network unreachable", request=request)
        await asyncio.sleep(0)  # a real network always lets others run meanwhile
        if request.url.path == CLICK and self._gate is not None:
            await self._gate.wait()

    async def after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == CLICK and self.timeouts:
            self.timeouts -= 1
            await response.aread()  # the server has processed it; the answer is lost
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        return response


def sandbox_config(clock: ManualClock, **options: Any) -> SandboxConfig:
    """A small service (40 calls over 3 days, no live calls) whose clock starts at `T`."""
    config: dict[str, Any] = {
        "now": T, "seed": 3, "n_logs": 40, "days": 3, "live_calls_every": None,
    }
    config.update(options)
    return sandbox.sandbox_config(clock, **config)


def make_sandbox(clock: ManualClock, **options: Any) -> SandboxApp:
    """`sandbox_config`'s service, in-process."""
    return create_app(sandbox_config(clock, **options))


def make_client(transport: httpx.AsyncBaseTransport, clock: ManualClock) -> MyOperatorClient:
    # One attempt per read; a budget wait is refused rather than slept on a clock
    # that only moves when the test says so.
    return sandbox.manual_client(
        transport, clock, retry=RetryPolicy(attempts=1, max_budget_wait_s=0.0)
    )


def agent_of(state: SandboxState) -> str:
    """The first enabled user: who the cloud rings first."""
    return next(u.uuid for u in state.users if u.is_enabled)
