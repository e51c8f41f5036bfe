"""Never twice, even across a restart: the dial guard over real loopback HTTP, counted at
the emulated service.

Each "app" here is what the desktop app builds: a client, the cache file (`CallStore`)
and a `DialGuard` remembering in that file (`DialRecords.sharing`). A restart is closing
all three and building them again on the same file; a second instance is a second set
on the same file at the same time; a crash is a real process killed with SIGKILL while
its request is in flight. The service's own record of what it was sent
(``requests_to("/clickOcall")``, ``placed_calls``) is the count that matters.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.sandbox import SandboxServer
from desktop_app.services.clock import ManualClock
from desktop_app.services.dialer import CallLogFinder, CheckKind, DialGuard, DialKind
from desktop_app.store import CallStore
from desktop_app.store.dials import DialRecords
from tests.helpers import dialing
from tests.helpers.dialing import CLICK, CUSTOMER, SETTLE_S, T, sandbox_config
from tests.helpers.processes import ROOT
from tests.helpers.tokens import FAKE_TOKEN

TOKEN_ENV = "DIAL_TEST_TOKEN"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[SandboxServer]:
    """A service of its own per test: its clock is the test's, its counts start at 0."""
    with SandboxServer(sandbox_config(clock)) as running:
        yield running


def agent_of(server: SandboxServer) -> str:
    return dialing.agent_of(server.state)


def posts(server: SandboxServer) -> int:
    return len(server.state.requests_to(CLICK))


@dataclass
class App:
    """The parts of one running desktop app that take part in a dial."""

    client: MyOperatorClient
    store: CallStore
    guard: DialGuard

    async def quit(self) -> None:
        await self.client.aclose()
        self.store.close()


def start_app(server: SandboxServer, path: Path, clock: ManualClock) -> App:
    """Built as the composition root builds it: the guard remembers in the cache file."""
    client = MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, budget=RequestBudget.unlimited(), timeout=10.0,
        sleep=clock.sleep,
    )
    store = CallStore.open(path, clock=clock)
    guard = DialGuard(
        client, CallLogFinder(client, store, clock=clock), clock,
        records=DialRecords.sharing(store), sleep=clock.sleep, settle_s=SETTLE_S,
    )
    return App(client, store, guard)


@pytest.fixture
async def apps() -> AsyncIterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        await app.quit()


async def test_a_lost_answer_is_not_redialled_after_a_restart(
    server: SandboxServer, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    agent = agent_of(server)
    before = start_app(server, path, clock)
    # The service queues the call, then the connection is reset: no answer.
    server.state.faults.add("drop:path=/clickOcall,count=1,after=1")
    first = await before.guard.dial(CUSTOMER, "91", agent)
    assert first.kind is DialKind.UNKNOWN
    assert (posts(server), len(server.state.placed_calls)) == (1, 1)
    await before.quit()

    clock.advance(22)  # the two calls were 22 s apart
    after = start_app(server, path, clock)
    try:
        again = await after.guard.dial(CUSTOMER, "91", agent)
        assert again.kind is DialKind.BLOCKED
        assert again.message == (
            "The last call to 098123 45678 may have been placed and is not in the call log "
            "yet. Call again anyway?"
        )
        assert posts(server) == 1
        # The log check runs in the new run: the call is there, so a redial asks first.
        result = await after.guard.check_unknown()
        assert result is not None and result.kind is CheckKind.FOUND
        assert result.log is not None
        assert result.log.id == server.state.placed_calls[0].unique_id
        third = await after.guard.dial(CUSTOMER, "91", agent)
        assert third.kind is DialKind.NEEDS_CONFIRMATION
        assert posts(server) == 1
    finally:
        await after.quit()


async def test_two_instances_on_one_file_place_one_call(
    server: SandboxServer, clock: ManualClock, tmp_path: Path, apps: list[App]
) -> None:
    path = tmp_path / "cache.db"
    agent = agent_of(server)
    one, two = start_app(server, path, clock), start_app(server, path, clock)
    apps += [one, two]
    # Both click at the same moment: one request, the other held back.
    outcomes = await asyncio.gather(
        one.guard.dial(CUSTOMER, "91", agent), two.guard.dial(CUSTOMER, "91", agent)
    )
    assert sorted(o.kind for o in outcomes) == [DialKind.BLOCKED, DialKind.PLACED]
    assert posts(server) == 1
    # An unclear answer in one instance holds the other back too.
    clock.advance(40)
    server.state.faults.add("503:path=/clickOcall,count=1,after=1")
    assert (await one.guard.dial(CUSTOMER, "91", agent)).kind is DialKind.UNKNOWN
    clock.advance(3)
    assert (await two.guard.dial(CUSTOMER, "91", agent)).kind is DialKind.BLOCKED
    assert posts(server) == 2
    assert len(server.state.placed_calls) == 2


_CHILD = """
import asyncio, os, sys
from pathlib import Path
from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.services.dialer import DialGuard
from desktop_app.store import CallStore
from desktop_app.store.dials import DialRecords

async def main() -> None:
    path, base_url, agent, at, number, token_env = sys.argv[1:7]
    store = CallStore.open(Path(path))
    client = MyOperatorClient(
        os.environ[token_env], base_url=base_url, budget=RequestBudget.unlimited(),
        timeout=600.0,
    )
    guard = DialGuard(client, store, lambda: float(at), records=DialRecords.sharing(store))
    outcome = await guard.dial(number, "91", agent)
    print(outcome.kind, flush=True)

asyncio.run(main())
"""


async def wait_for(
    condition: Callable[[], bool], child: asyncio.subprocess.Process, within: float = 60.0
) -> None:
    """Poll what the other process brings about (its request reaching the service)."""
    async with asyncio.timeout(within):
        while not condition():
            assert child.returncode is None, "the dialling process ended early"
            await asyncio.sleep(0.02)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_a_dial_killed_in_flight_is_unclear_on_the_next_start(
    server: SandboxServer, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    agent = agent_of(server)
    CallStore.open(path).close()  # the cache exists, as after any earlier run
    # The request reaches the service and waits there; meanwhile the app is killed.
    server.state.faults.add("latency:path=/clickOcall,ms=600000,count=1")
    environ = {**os.environ, TOKEN_ENV: FAKE_TOKEN, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(path), server.base_url, agent, str(T), CUSTOMER,
        TOKEN_ENV, cwd=ROOT, env=environ, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: posts(server) == 1, child)
        os.kill(child.pid, signal.SIGKILL)
        async with asyncio.timeout(30):
            out, err = await child.communicate()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL
    assert out == b"" and FAKE_TOKEN.encode() not in err

    clock.advance(5)
    after = start_app(server, path, clock)
    try:
        (pending,) = after.guard.unknown_attempts
        assert (pending.number.e164, pending.at) == ("+919812345678", T)
        again = await after.guard.dial(CUSTOMER, "91", agent)
        assert again.kind is DialKind.BLOCKED
        assert posts(server) == 1
        # Left in flight: for all this run knows, a live process may still send it until
        # its deadline, so the log's window starts only there.
        clock.advance(SETTLE_S)
        early = await after.guard.check_unknown()
        assert early is not None and early.kind is CheckKind.UNCLEAR
        # The killed request never got through; once the log has had time to show it
        # and does not, the number may be called again: one new request.
        clock.advance(after.guard.seconds_until_settled(pending))
        result = await after.guard.check_unknown()
        assert result is not None and result.kind is CheckKind.NOT_FOUND
        assert (await after.guard.dial(CUSTOMER, "91", agent)).kind is DialKind.PLACED
        assert posts(server) == 2
        assert len(server.state.placed_calls) == 1
    finally:
        await after.quit()
