"""The request budget over real sockets: a click-to-call is never kept waiting by reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import MyOperatorError
from desktop_app.sandbox import SandboxServer
from desktop_app.services.clock import ManualClock
from tests.helpers.tokens import FAKE_TOKEN

READS = ("/search", "/user", "/filters", "/recordings/link")


async def _no_wait(_seconds: float) -> None:
    return None


async def _keep_failing(read: Callable[[], Awaitable[object]]) -> None:
    """A background reader as the app has them, retrying at once, for ever."""
    while True:
        try:
            await read()
        except MyOperatorError:
            continue


async def test_a_click_to_call_goes_at_once_while_every_read_fails(
    server: SandboxServer,
) -> None:
    for path in READS:
        server.state.faults.add(f"502:path={path}")
    time = ManualClock(1_700_000_000.0)
    # The account's real windows; only the clock is the test's (it never moves).
    budget = RequestBudget(clock=time, sleep=time.sleep)
    async with MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, budget=budget, sleep=_no_wait
    ) as api:
        readers = [
            asyncio.ensure_future(_keep_failing(api.search_logs)),
            asyncio.ensure_future(_keep_failing(api.all_users)),
            asyncio.ensure_future(_keep_failing(api.filters)),
            asyncio.ensure_future(_keep_failing(lambda: api.recording_link("x.mp3"))),
        ]
        try:
            for _ in readers:  # each ends up waiting for the next minute
                assert await asyncio.wait_for(time.next_sleep(), timeout=30) > 0
            reads = sum(len(server.state.requests_to(path)) for path in READS)
            minute = next(w for w in budget.windows if w.name == "minute")
            assert reads == minute.limit - minute.reserve

            uuid = server.state.users[0].uuid
            placed = await asyncio.wait_for(api.click_to_call("9812345678", "91", uuid), 10)
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    assert placed.unique_id
    assert len(server.state.requests_to("/clickOcall")) == 1
    assert time.now == 1_700_000_000.0  # the call never waited for the budget
    assert len(time.slept) == len(readers)
