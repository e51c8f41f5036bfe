"""The sync engine with the real client against the sandbox (in-process, ASGITransport).

Time is one `ManualClock` shared by the sandbox and the engine; every wait the engine asks
for goes through it, so nothing really sleeps. Failures are the sandbox's own faults.
Behaviour that needs a failure at an exact moment is in ``test_sync_scripted.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import NetworkError
from desktop_app.api.models import CallLog
from desktop_app.sandbox import SandboxApp, SandboxState
from desktop_app.services.clock import ManualClock
from desktop_app.services.sync import DAY_S, META_FEED_CURSOR, SyncEngine, SyncStatus
from desktop_app.store import CallQuery, CallStore
from tests.helpers import sandbox as helpers
from tests.helpers.builders import make_call
from tests.helpers.tokens import FAKE_TOKEN

T = 1_700_000_000
WEEK = 7 * DAY_S


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


def make_sandbox(clock: ManualClock, **kwargs: Any) -> SandboxApp:
    """30 days of calls on the test's clock; the canary token is an Admin."""
    options: dict[str, Any] = {"now": T, "seed": 1, "n_logs": 2000, "days": 30}
    options.update(kwargs)
    return helpers.make_sandbox(clock, **options)


@pytest.fixture
def app(clock: ManualClock) -> SandboxApp:
    return make_sandbox(clock)


def make_client(app: SandboxApp, clock: ManualClock, token: str = FAKE_TOKEN) -> MyOperatorClient:
    # One attempt per request: retries are the engine's business in these tests.
    return helpers.manual_client(httpx.ASGITransport(app=app), clock, token=token)


@pytest.fixture
async def client(app: SandboxApp, clock: ManualClock) -> AsyncIterator[MyOperatorClient]:
    c = make_client(app, clock)
    yield c
    await c.aclose()


def make_engine(
    client: MyOperatorClient, store: CallStore, clock: ManualClock, **kwargs: object
) -> SyncEngine:
    options: dict[str, object] = {"jitter": 0.0, "sleep": clock.sleep}
    options.update(kwargs)
    return SyncEngine(client, store, clock=clock, **options)  # type: ignore[arg-type]


@pytest.fixture
def engine(client: MyOperatorClient, store: CallStore, clock: ManualClock) -> SyncEngine:
    return make_engine(client, store, clock)


@pytest.fixture
async def tasks() -> AsyncIterator[list[asyncio.Task[None]]]:
    """Tasks a test starts; cancelled and awaited at the end whatever happened."""
    started: list[asyncio.Task[None]] = []
    yield started
    for task in started:
        task.cancel()
    await asyncio.gather(*started, return_exceptions=True)


def server_ids(state: SandboxState, low: int, high: int) -> set[str]:
    return {c.id for c in state.calls if low <= c.start_time <= high}


def stored_ids(store: CallStore) -> set[str]:
    return {r.id for r in store.fetch_rows(CallQuery(), 0, 1_000_000)}


def searches(state: SandboxState) -> list[tuple[int | None, int | None, int, str]]:
    """(from, to, log_from, search_key) of every /search the sandbox received."""
    out = []
    for r in state.requests_to("/search"):
        p = r.params
        out.append((
            int(p["from"]) if "from" in p else None,
            int(p["to"]) if "to" in p else None,
            int(p.get("log_from", "0")),
            p.get("search_key", ""),
        ))
    return out


def state_of(engine: SyncEngine) -> str:
    """The engine's state, read fresh (and not narrowed by an earlier assert)."""
    return engine.status.state

# -- feed ----------------------------------------------------------------------------------


async def test_first_sync_stores_exactly_the_last_week_losslessly(
    engine: SyncEngine, store: CallStore, state: SandboxState
) -> None:
    result = await engine.sync_once()

    expected = server_ids(state, T - WEEK, T)
    assert len(expected) > 300  # several pages of 100
    assert stored_ids(store) == expected == {c.id for c in result.new_calls}
    for call in result.new_calls:  # the cache gives back what the client parsed
        assert store.get(call.id) == call
    pages = -(-len(expected) // 100)
    assert searches(state) == [(T - WEEK, T, 100 * i, "") for i in range(pages)]
    assert result.pages == pages and result.api_total == len(expected)
    assert store.coverage() == [(T - WEEK, T)]
    assert state_of(engine) == "idle" and engine.status.last_success == T
    assert engine.status.api_total == len(expected)


async def test_incremental_sync_fetches_only_the_new_calls_once(
    engine: SyncEngine, store: CallStore, state: SandboxState, clock: ManualClock
) -> None:
    await engine.sync_once()
    held = store.count()
    newest = store.newest_start_time()
    assert newest is not None
    clock.advance(300)
    added = [state.add_call(talk_s=30), state.add_call(answered=False, incoming=True)]
    first_requests = len(searches(state))

    result = await engine.sync_once()

    assert {c.id for c in result.new_calls} == {c.id for c in added}
    assert store.count() == held + 2
    new_requests = searches(state)[first_requests:]
    # One request, reaching back past the newest held call and the late window.
    assert new_requests == [(min(newest - 120, T - 3600), T + 300, 0, "")]
    assert store.coverage() == [(T - WEEK, T + 300)]

    clock.advance(60)
    again = await engine.sync_once()
    assert again.new_calls == () and store.count() == held + 2


async def test_calls_logged_late_are_never_missed(clock: ManualClock, tmp_path: Path) -> None:
    """Live calls are logged when they end, with their start time (talks of up to 30 min).
    Syncing every minute for three hours must still hold every call in the covered range."""

    async def missed_after_three_hours(late_window_s: int, name: str) -> set[str]:
        live_clock = ManualClock(T)
        app = make_sandbox(live_clock, live_calls_every=40.0)
        client = make_client(app, live_clock)
        with CallStore.open(tmp_path / name) as store:
            engine = make_engine(client, store, live_clock, late_window_s=late_window_s)
            for _ in range(180):
                await engine.sync_once()
                live_clock.advance(60)
            (low, high), = store.coverage()
            logged = {  # calls that had ended (been logged) by the last sync
                c.id for c in app.sandbox.calls if low <= c.start_time and c.end_time <= high
            }
            missed = logged - stored_ids(store)
        await client.aclose()
        return missed

    assert await missed_after_three_hours(3600, "default.db") == set()
    # The control: with only the 2-minute overlap, long calls slip through.
    assert len(await missed_after_three_hours(0, "overlap-only.db")) > 0


async def test_sync_interrupted_by_a_dropped_connection_resumes_after_restart(
    app: SandboxApp, state: SandboxState, db_path: Path, clock: ManualClock
) -> None:
    state.faults.add("drop:count=1,skip=2,path=/search")
    client = make_client(app, clock)
    with CallStore.open(db_path) as store:
        engine = make_engine(client, store, clock)
        with pytest.raises(NetworkError):
            await engine.sync_once()
        assert store.count() == 200  # pages 1 and 2 are kept
        assert state_of(engine) == "offline" and engine.status.offline_since == T
        assert '"offset": 200' in (store.get_meta(META_FEED_CURSOR) or "")
    await client.aclose()

    clock.advance(1800)  # the app starts again half an hour later
    before = len(searches(state))
    client = make_client(app, clock)
    with CallStore.open(db_path) as store:
        engine = make_engine(client, store, clock)
        await engine.sync_once()
        resumed = searches(state)[before:]
        assert resumed[0] == (T - WEEK, T, 200, "")  # the same fixed range, where it stopped
        assert resumed[-1][1] == T + 1800  # then the incremental range up to now
        assert stored_ids(store) == server_ids(state, T - WEEK, T + 1800)
        assert store.coverage() == [(T - WEEK, T + 1800)]
        assert store.get_meta(META_FEED_CURSOR) is None
    await client.aclose()


async def test_load_older_extends_coverage_back(
    engine: SyncEngine, store: CallStore, state: SandboxState
) -> None:
    await engine.sync_once()
    before = len(searches(state))
    result = await engine.load_older(days=3)
    low = T - WEEK - 3 * DAY_S
    assert {(f, t) for f, t, _, _ in searches(state)[before:]} == {(low, T - WEEK - 1)}
    assert {c.id for c in result.new_calls} == server_ids(state, low, T - WEEK - 1)
    assert stored_ids(store) == server_ids(state, low, T)
    assert store.coverage() == [(low, T)]


# -- keeping N days ------------------------------------------------------------------------


async def test_calls_older_than_kept_are_pruned_and_never_fetched_again(
    client: MyOperatorClient, store: CallStore, state: SandboxState, clock: ManualClock
) -> None:
    engine = make_engine(client, store, clock, initial_window_s=3 * WEEK)
    await engine.sync_once()
    assert store.oldest_start_time() is not None
    assert store.oldest_start_time() < T - 2 * WEEK  # type: ignore[operator]

    # "Keep calls for 7 days": lowered, the older calls go at once.
    engine.keep_s = WEEK
    pruned: list[int] = []
    engine.add_pruned_listener(pruned.append)
    removed = await engine.prune()
    assert removed == len(server_ids(state, T - 3 * WEEK, T - WEEK - 1)) > 0
    assert pruned == [T - WEEK]
    assert stored_ids(store) == server_ids(state, T - WEEK, T)
    assert store.coverage() == [(T - WEEK, T)]

    # A day later (a restart): the sync starts no earlier than the horizon, even with an
    # interrupted range left from before it, and prunes what aged past it since.
    clock.advance(DAY_S)
    now = T + DAY_S
    store.set_meta(
        META_FEED_CURSOR, json.dumps({"from": T - 2 * WEEK, "to": T - WEEK + DAY_S, "offset": 0})
    )
    again = make_engine(client, store, clock, initial_window_s=3 * WEEK)
    again.keep_s = WEEK
    before = len(searches(state))
    await again.sync_once()
    asked = searches(state)[before:]
    assert asked and all(f is not None and f >= now - WEEK for f, _t, _o, _k in asked)
    assert min(c.start_time for c in store.fetch(CallQuery(), 0, 100_000)) >= now - WEEK
    assert store.coverage()[0][0] >= now - WEEK

    # "Load older" has nothing to fetch beyond the horizon: no request at all.
    before = len(searches(state))
    assert again.at_horizon()
    result = await again.load_older(days=7)
    assert result.new_calls == () and searches(state)[before:] == []


async def test_without_keep_everything_stays_and_load_older_goes_on(
    engine: SyncEngine, store: CallStore, state: SandboxState
) -> None:
    await engine.sync_once()
    assert await engine.prune() == 0 and not engine.at_horizon()
    await engine.load_older(days=3)
    assert store.coverage() == [(T - WEEK - 3 * DAY_S, T)]


async def test_search_remote_asks_the_uncovered_range_and_merges(
    engine: SyncEngine, store: CallStore, state: SandboxState
) -> None:
    await engine.sync_once()
    old = next(c for c in state.calls if c.start_time < T - 20 * DAY_S)
    fragment = old.caller_number_raw[-7:]
    before = len(searches(state))

    result = await engine.search_remote(fragment, start=T - 30 * DAY_S, end=T)

    asked = searches(state)[before:]
    assert {(f, t, key) for f, t, _, key in asked} == {(T - 30 * DAY_S, T - WEEK - 1, fragment)}
    assert old.id in {c.id for c in result.fetched}
    assert all(fragment in c.caller_number for c in result.fetched)
    stored = store.get(old.id)
    assert stored is not None and stored.start_time == old.start_time
    assert store.coverage() == [(T - WEEK, T)]  # a filtered answer proves no coverage


# -- the loop against the sandbox's faults ---------------------------------------------------


async def test_rate_limit_backs_off_for_retry_after(
    engine: SyncEngine, state: SandboxState, store: CallStore, clock: ManualClock,
    tasks: list[asyncio.Task[None]],
) -> None:
    state.faults.add("429:count=1,retry_after=30,path=/search")
    seen: list[SyncStatus] = []
    engine.add_listener(seen.append)
    tasks.append(asyncio.create_task(engine.run(interval_s=60)))

    assert await clock.next_sleep() == 30
    assert state_of(engine) == "backing_off"
    assert engine.status.retry_at == T + 30
    assert engine.status.message == "rate-limited: retrying in 30 s"
    assert store.count() == 0

    engine.request_refresh()  # F5 does not cut a Retry-After short
    await asyncio.sleep(0)
    assert clock.sleeping == 1 and len(searches(state)) == 1

    clock.advance(30)
    assert await clock.next_sleep() == 60
    final = engine.status
    assert final.state == "idle" and final.retry_at is None
    assert stored_ids(store) == server_ids(state, T + 30 - WEEK, T + 30)
    assert [s.state for s in seen] == ["syncing", "backing_off", "syncing", "idle"]


async def test_a_new_pace_applies_to_the_wait_in_progress(
    engine: SyncEngine, state: SandboxState, clock: ManualClock,
    tasks: list[asyncio.Task[None]],
) -> None:
    """The budget's room changed (a setting): the wait between syncs is measured again
    from when it began, with no sync before its time."""
    interval = [3600.0]
    tasks.append(asyncio.create_task(engine.run(interval_s=60, pace=lambda _s: interval[0])))
    assert await clock.next_sleep() == 3600.0
    synced = len(searches(state))

    clock.advance(1000.0)
    interval[0] = 1500.0
    engine.repace()
    assert await clock.next_sleep() == 500.0  # 1500 s in all, 1000 s already waited
    assert len(searches(state)) == synced and clock.sleeping == 1

    clock.advance(500.0)
    assert await clock.next_sleep() == 1500.0  # synced, and waits the new pace
    assert len(searches(state)) > synced

    synced = len(searches(state))
    clock.advance(100.0)
    interval[0] = 50.0  # shorter than already waited: the next sync goes now
    engine.repace()
    assert await clock.next_sleep() == 50.0
    assert len(searches(state)) > synced


async def test_outage_keeps_the_cache_and_backs_off_exponentially(
    engine: SyncEngine, state: SandboxState, store: CallStore, clock: ManualClock,
    tasks: list[asyncio.Task[None]],
) -> None:
    await engine.sync_once()
    held = stored_ids(store)
    for fault in ("503:count=1", "html502:count=1", "malformed:count=1"):
        state.faults.add(fault)
    tasks.append(asyncio.create_task(engine.run(interval_s=60)))

    assert await clock.next_sleep() == 5
    status = engine.status
    assert status.state == "offline"
    assert status.offline_since == T and status.retry_at == T + 5
    assert status.last_success == T
    assert status.message.startswith("offline (") and status.message.endswith("retrying in 5 s")
    assert stored_ids(store) == held  # untouched and still searchable
    some_call = store.get(min(held))
    assert some_call is not None
    assert store.count(CallQuery(text=some_call.caller_number[-6:])) >= 1

    clock.advance(5)
    assert await clock.next_sleep() == 10
    assert engine.status.offline_since == T  # kept from the first failure
    clock.advance(10)
    assert await clock.next_sleep() == 20
    clock.advance(20)
    assert await clock.next_sleep() == 60  # back: the usual interval
    final = engine.status
    assert final.state == "idle"
    assert final.offline_since is None and final.last_success == T + 35


async def test_rejected_token_stops_with_auth_failed(
    app: SandboxApp, store: CallStore, clock: ManualClock
) -> None:
    client = make_client(app, clock, token="0123456789abcdef0123456789abcdef")
    engine = make_engine(client, store, clock)
    await asyncio.wait_for(engine.run(interval_s=60), timeout=10)  # returns, no retry loop
    assert state_of(engine) == "auth_failed"
    assert "token was rejected" in engine.status.message
    assert clock.sleeping == 0 and store.count() == 0
    await client.aclose()


async def test_refresh_syncs_at_once_and_repeated_requests_coalesce(
    engine: SyncEngine, state: SandboxState, store: CallStore, clock: ManualClock,
    tasks: list[asyncio.Task[None]],
) -> None:
    tasks.append(asyncio.create_task(engine.run(interval_s=60)))
    assert await clock.next_sleep() == 60
    requests = len(searches(state))
    clock.advance(10)
    call = state.add_call()

    for _ in range(3):
        engine.request_refresh()
    assert await clock.next_sleep() == 60

    assert store.get(call.id) is not None
    assert len(searches(state)) == requests + 1  # one sync for three presses
    await asyncio.sleep(0)
    assert clock.sleeping == 1


async def test_refresh_retries_at_once_while_offline(
    engine: SyncEngine, state: SandboxState, store: CallStore, clock: ManualClock,
    tasks: list[asyncio.Task[None]],
) -> None:
    state.faults.add("503:count=1")
    tasks.append(asyncio.create_task(engine.run(interval_s=60)))
    assert await clock.next_sleep() == 5
    assert state_of(engine) == "offline"
    engine.request_refresh()
    assert await clock.next_sleep() == 60
    assert state_of(engine) == "idle" and store.count() > 0


async def test_cancelling_run_propagates_and_cleans_up_its_wait(
    engine: SyncEngine, clock: ManualClock
) -> None:
    task = asyncio.create_task(engine.run(interval_s=60))
    await clock.next_sleep()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleeping == 0


async def test_the_loop_waits_as_long_as_the_budget_paces_it(
    engine: SyncEngine, clock: ManualClock, tasks: list[asyncio.Task[None]]
) -> None:
    asked: list[float] = []

    def pace(base_s: float) -> float:
        asked.append(base_s)
        return 600.0 + len(asked)

    tasks.append(asyncio.create_task(engine.run(interval_s=60, pace=pace)))
    assert await clock.next_sleep() == 601.0
    clock.advance(601.0)
    assert await clock.next_sleep() == 602.0
    assert asked == [60, 60]


# -- through the team relay ---------------------------------------------------------------


def relay_call(call_id: str, start_time: int) -> CallLog:
    return replace(make_call(call_id), start_time=start_time, end_time=start_time + 130)


async def test_calls_the_relay_delivers_are_stored_with_their_position_and_heard_once(
    engine: SyncEngine, store: CallStore, app: SandboxApp
) -> None:
    engine.keep_s = WEEK
    heard: list[str] = []
    engine.add_new_calls_listener(lambda calls: heard.extend(c.id for c in calls))
    calls = [relay_call("old", T - WEEK - 1), relay_call("a", T - 60), relay_call("b", T - 30)]

    new = await engine.ingest(calls[:2], position="5-0", caught_up=False)
    assert [c.id for c in new] == heard == ["a"]  # the one before the horizon is not kept
    assert engine.status.state == "idle" and engine.status.last_success is None
    engine.report_link("syncing", "Catching up with the team relay…")

    await engine.ingest(calls, position="9-3", caught_up=True, covered_since=T - DAY_S)

    assert heard == ["a", "b"]
    assert stored_ids(store) == {"a", "b"}
    assert engine.relay_position() == "9-3"
    assert (engine.status.state, engine.status.message) == ("idle", "1 new call")
    assert engine.status.last_success == T
    assert store.covers(T - DAY_S, T)
    assert app.sandbox.requests == []  # the relay's calls cost MyOperator nothing


async def test_the_relay_links_state_is_the_status_in_its_own_words(
    engine: SyncEngine, clock: ManualClock
) -> None:
    engine.report_link("offline", "The team relay cannot be reached: reconnecting")
    clock.advance(30)
    engine.report_link("offline", "The team relay cannot be reached: reconnecting")
    assert engine.status.offline_since == T  # since the first, not the latest

    engine.report_link("auth_failed", "The team relay refused this agent credential.")
    assert engine.status.state == "auth_failed"
    assert engine.status.message == "The team relay refused this agent credential."
    assert engine.status.offline_since is None
