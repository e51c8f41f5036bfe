"""The relay's one poller against the emulated service: one process polls however many
contend, a call the webhooks dropped reaches the stream once, a call they delivered is not
stored again, and a poller that stops renewing its lease is replaced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV, MyOperatorClient
from desktop_app.api.parsing import parse_call_log
from desktop_app.relay.client import EventStream
from desktop_app.relay.config import POLL_ENV
from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import after_call_event
from desktop_app.relay.reconcile import Reconciler, call_record
from desktop_app.sandbox import SandboxServer
from tests.e2e.relay.conftest import Desktop, Replica
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.redis_server import RedisServer
from tests.helpers.tokens import FAKE_TOKEN

NAMESPACE = "test:relay:"


@pytest.fixture
async def clients(server: SandboxServer) -> AsyncIterator[list[MyOperatorClient]]:
    made = [
        MyOperatorClient(FAKE_TOKEN, base_url=server.base_url, budget=RequestBudget.unlimited())
        for _ in range(2)
    ]
    yield made
    for client in made:
        await client.aclose()


@pytest.fixture
async def engines(redis_server: RedisServer) -> AsyncIterator[list[RelayEngine]]:
    made = [RelayEngine.from_url(redis_server.url, NAMESPACE) for _ in range(2)]
    yield made
    for engine in made:
        await engine.aclose()


async def ids_in_log(client: MyOperatorClient, start: int, end: int) -> set[str]:
    return {call.id for page in [p async for p in client.iter_logs(start=start, end=end)]
            for call in page.logs}


async def test_a_polled_call_reads_back_as_the_same_call(
    clients: list[MyOperatorClient],
) -> None:
    calls = [call async for page in clients[0].iter_logs(limit=300) for call in page.logs]

    assert len(calls) == 300
    for call in calls:
        assert parse_call_log(call_record(call)) == call


async def test_one_of_two_contending_pollers_polls_and_fills_in_only_what_was_missed(
    server: SandboxServer, clients: list[MyOperatorClient], engines: list[RelayEngine]
) -> None:
    now = time.time()
    # The whole generated history, whatever the hour and weekday (it follows office hours).
    lookback = 400 * 86400
    first, second = (
        Reconciler(
            engine, client, owner=name, interval_s=60, first_lookback_s=lookback,
            clock=lambda: now,
        )
        for engine, client, name in zip(engines, clients, ("a", "b"), strict=True)
    )
    expected = await ids_in_log(clients[0], int(now) - lookback, int(now))
    assert len(expected) > 100
    delivered = next(iter(expected))
    call = server.state.call_by_id(delivered)
    assert call is not None
    # One call's webhook did arrive: the poll must not store it again.
    polled = [c async for p in clients[0].iter_logs(start=call.start_time, end=call.start_time)
              for c in p.logs if c.id == delivered]
    await engines[0].append(after_call_event(call_record(polled[0])))

    contended = await asyncio.gather(first.round(), second.round())
    again = await asyncio.gather(first.round(), second.round())

    assert sorted(r is None for r in contended) == [False, True]
    leader = first if contended[0] is not None else second
    assert [r for r in contended if r is not None] == [len(expected) - 1]
    assert [r for r in again if r is not None] == [0]
    assert (again[0] is None) == (contended[0] is None)
    stored = [event.call_id for event in await engines[0].events_after("0-0", count=100_000)]
    assert sorted(stored) == sorted(expected)
    assert (first.polls, second.polls) in ((2, 0), (0, 2))
    assert leader.polls == 2


async def test_a_poller_that_stops_renewing_is_replaced(
    server: SandboxServer, clients: list[MyOperatorClient], engines: list[RelayEngine]
) -> None:
    crashed = Reconciler(engines[0], clients[0], owner="crashed", interval_s=0.05)
    heir = Reconciler(engines[1], clients[1], owner="heir", interval_s=60)
    assert await crashed.round() is not None
    assert await heir.round() is None
    added = server.state.add_call(answered=False, caller_number="9811100022")

    # `crashed` never renews: its lease (three rounds, 150 ms) runs out on Redis's clock.
    async with asyncio.timeout(20):
        while (missed := await heir.round()) is None:
            await engines[1].ping()

    assert missed == 1
    stored = await engines[1].events_after("0-0", count=100_000)
    assert [e.call_id for e in stored].count(added.id) == 1
    assert await engines[0].leader() == "heir"


async def test_behind_two_replicas_one_polls_and_a_dropped_webhook_still_reaches_desktops(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
    engines: list[RelayEngine],
) -> None:
    relay_environ.update(
        {"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url, POLL_ENV: "0.2"}
    )
    replicas = [start_relay(), start_relay()]
    credential = await engines[0].issue_credential("Priya")
    desktop = Desktop(EventStream(replicas[0].base_url, credential))
    try:
        await asyncio.wait_for(desktop.stream.caught_up.wait(), timeout=20)
        # A missed call whose webhook never came.
        added = server.state.add_call(answered=False, caller_number="9811100033")

        await desktop.wait_until(lambda d: added.id in d.call_ids)

        async with httpx.AsyncClient(timeout=10) as http:
            health = [(await http.get(r.base_url + "/v1/health")).json() for r in replicas]
        assert sorted(h["polling"] for h in health) == [False, True]
        assert desktop.call_ids.count(added.id) == 1
    finally:
        await desktop.aclose()
