"""The sync engine against a scripted log source, for what needs exact control: calls
arriving between two pages, a record changing, a cancel mid-request, a broken server,
the paging arithmetic of the overlap and late window.

The same behaviours against the real client and the sandbox are in ``test_sync.py``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from desktop_app.api.errors import (
    MalformedResponse,
    NetworkError,
    ServerError,
)
from desktop_app.api.models import CallLog
from desktop_app.services.clock import ManualClock
from desktop_app.services.sync import (
    DAY_S,
    META_FEED_CURSOR,
    META_OLDER_CURSOR,
    SyncEngine,
)
from desktop_app.store import CallQuery, CallStore
from tests.helpers.builders import make_log
from tests.helpers.fakes import FakeLogSource

T = 1_700_000_000  # "now" at the start of each test
HOUR = 3600


def hourly(first: int, last: int, prefix: str = "h") -> list[CallLog]:
    """One call an hour with start times in [first, last]."""
    return [make_log(f"{prefix}{t}", t) for t in range(first, last + 1, HOUR)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def history() -> list[CallLog]:
    return hourly(T - 10 * DAY_S, T)  # 241 calls over ten days


@pytest.fixture
def source(history: list[CallLog]) -> FakeLogSource:
    return FakeLogSource(history)


def engine_for(
    source: FakeLogSource, store: CallStore, clock: ManualClock, **kwargs: object
) -> SyncEngine:
    options: dict[str, object] = {"page_size": 50, "jitter": 0.0, "sleep": clock.sleep}
    options.update(kwargs)
    return SyncEngine(source, store, clock=clock, **options)  # type: ignore[arg-type]


def stored_ids(store: CallStore) -> set[str]:
    return {r.id for r in store.fetch_rows(CallQuery(), 0, 100_000)}


def in_range(logs: list[CallLog], low: int, high: int) -> set[str]:
    return {c.id for c in logs if low <= c.start_time <= high}


def state_of(engine: SyncEngine) -> str:
    """The engine's state, read fresh (and not narrowed by an earlier assert)."""
    return engine.status.state

# -- first sync, incremental -------------------------------------------------------------


async def test_incremental_sync_overlaps_and_deduplicates(
    source: FakeLogSource, store: CallStore, clock: ManualClock
) -> None:
    engine = engine_for(source, store, clock, overlap_s=120, late_window_s=0)
    await engine.sync_once()
    source.requests.clear()

    late = make_log("late", T - 60)  # started before the last sync's end, logged after it
    fresh = [make_log(f"new{i}", T + 100 * i) for i in range(1, 6)]
    source.add(late, *fresh)
    clock.advance(900)
    result = await engine.sync_once()

    assert [(r.start, r.end, r.offset) for r in source.requests] == [(T - 120, T + 900, 0)]
    assert {c.id for c in result.new_calls} == {"late", *(c.id for c in fresh)}
    assert f"h{T}" not in {c.id for c in result.new_calls}  # the overlap's repeat is not new
    assert store.count() == 169 + 6
    assert store.coverage() == [(T - 7 * DAY_S, T + 900)]


async def test_incremental_starts_from_the_newest_call_not_the_last_sync_time(
    store: CallStore, clock: ManualClock
) -> None:
    source = FakeLogSource([make_log("a", T - 5000)])
    engine = engine_for(source, store, clock, overlap_s=120)
    await engine.sync_once()
    clock.advance(600)
    source.requests.clear()
    await engine.sync_once()
    # A call that started after "a" but was logged only after the first sync (a long
    # call) is caught because the range starts at the newest held call, not at T.
    assert source.requests[0].start == T - 5000 - 120
    assert state_of(engine) == "idle"


async def test_long_call_logged_late_is_caught_by_the_late_window(
    store: CallStore, clock: ManualClock
) -> None:
    # A call every minute for the last 3 hours.
    source = FakeLogSource(make_log(f"m{t}", t) for t in range(T - 3 * HOUR, T + 1, 60))
    engine = engine_for(source, store, clock, page_size=20)
    await engine.sync_once()
    # A 40-minute call that started long before the newest synced call ends now.
    source.add(make_log("long", T - 2400))
    clock.advance(60)
    source.requests.clear()

    result = await engine.sync_once()

    assert [c.id for c in result.new_calls] == ["long"]
    assert source.requests[0].start == T - 3600
    # 62 calls in [T - 1 h, T + 60]; "long" is the 42nd newest, on page 3. Paging stops
    # there, a page early: the cache now holds the API's total for the range.
    assert [r.offset for r in source.requests] == [0, 20, 40]
    assert store.coverage() == [(T - 7 * DAY_S, T + 60)]


async def test_incremental_over_a_busy_held_range_costs_one_request(
    store: CallStore, clock: ManualClock
) -> None:
    source = FakeLogSource(make_log(f"m{t}", t) for t in range(T - 2 * HOUR, T + 1, 10))
    engine = engine_for(source, store, clock, page_size=50)
    await engine.sync_once()
    source.add(make_log("fresh", T + 20))
    clock.advance(30)
    source.requests.clear()
    result = await engine.sync_once()
    assert len(source.requests) == 1  # 361 calls in range, all but one already held
    assert [c.id for c in result.new_calls] == ["fresh"]


async def test_an_updated_record_replaces_the_stored_one(
    source: FakeLogSource, store: CallStore, clock: ManualClock
) -> None:
    source.add(make_log("rec", T - 30, filename=""))
    engine = engine_for(source, store, clock)
    await engine.sync_once()
    before = store.get("rec")
    assert before is not None and not before.has_recording

    source.add(make_log("rec", T - 30, filename="rec.mp3"))
    clock.advance(60)
    result = await engine.sync_once()
    assert "rec" not in {c.id for c in result.new_calls}
    after = store.get("rec")
    assert after is not None and after.has_recording


async def test_calls_arriving_during_paging_do_not_shift_pages(
    source: FakeLogSource, store: CallStore, clock: ManualClock, history: list[CallLog]
) -> None:
    arrivals = iter(range(1, 1000))

    def a_call_arrives(_: object) -> None:  # a new call lands at the top after every page
        n = next(arrivals)
        clock.advance(10)
        source.add(make_log(f"live{n}", T + 10 * n))

    source.after_request = a_call_arrives
    engine = engine_for(source, store, clock)
    await engine.sync_once()
    assert stored_ids(store) == in_range(history, T - 7 * DAY_S, T)  # nothing skipped

    source.after_request = None
    await engine.sync_once()
    assert {f"live{n}" for n in range(1, 5)} <= stored_ids(store)


# -- interruption and resume ---------------------------------------------------------------


async def test_cancelled_sync_leaves_consistent_rows_and_cursor(
    source: FakeLogSource, db_path: Path, clock: ManualClock, history: list[CallLog]
) -> None:
    gate = asyncio.Event()
    started_third = asyncio.Event()

    async def hold_third_page(_: object) -> None:
        if len(source.requests) == 3:
            started_third.set()
            await gate.wait()

    source.before_answer = hold_third_page
    with CallStore.open(db_path) as store:
        engine = engine_for(source, store, clock)
        task = asyncio.create_task(engine.sync_once())
        await started_third.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert store.count() == 100
        assert '"offset": 100' in (store.get_meta(META_FEED_CURSOR) or "")
        assert state_of(engine) == "idle"  # not left "syncing"

    source.before_answer = None
    with CallStore.open(db_path) as store:
        await engine_for(source, store, clock).sync_once()
        assert stored_ids(store) == in_range(history, T - 7 * DAY_S, T)


async def test_same_page_twice_is_reported_not_looped(
    store: CallStore, clock: ManualClock
) -> None:
    source = FakeLogSource(hourly(T - DAY_S, T))
    source.ignore_offset = True
    engine = engine_for(source, store, clock, page_size=10)
    with pytest.raises(MalformedResponse):
        await engine.sync_once()
    assert len(source.requests) == 2


# -- load older, remote search -------------------------------------------------------------


async def test_interrupted_load_older_resumes_on_next_request(
    source: FakeLogSource, store: CallStore, clock: ManualClock, history: list[CallLog]
) -> None:
    engine = engine_for(source, store, clock, page_size=10)
    await engine.sync_once()
    n = len(source.requests)
    source.fail_at[n + 2] = ServerError("502 from proxy", status=502)
    with pytest.raises(ServerError):
        await engine.load_older(days=1)
    assert store.get_meta(META_OLDER_CURSOR) is not None
    await engine.load_older(days=1)
    assert stored_ids(store) == in_range(history, T - 8 * DAY_S, T)
    assert store.coverage() == [(T - 8 * DAY_S, T)]


async def test_search_remote_in_a_covered_range_needs_no_request(
    source: FakeLogSource, store: CallStore, clock: ManualClock
) -> None:
    engine = engine_for(source, store, clock)
    await engine.sync_once()
    source.requests.clear()
    result = await engine.search_remote("9837", start=T - DAY_S, end=T)
    assert source.requests == [] and result.pages == 0


async def test_search_remote_with_filters_asks_the_whole_range_up_to_a_page_limit(
    source: FakeLogSource, store: CallStore, clock: ManualClock
) -> None:
    engine = engine_for(source, store, clock, page_size=10)
    await engine.sync_once()
    source.requests.clear()
    result = await engine.search_remote("", start=T - 20 * DAY_S, end=T, filters="5 AND 13",
                                        max_pages=3)
    assert len(source.requests) == 3
    assert {(r.start, r.end, r.filters, r.search) for r in source.requests} == {
        (T - 20 * DAY_S, T, "5 AND 13", None)
    }
    assert not result.complete and len(result.fetched) == 30


# -- the loop: backoff, offline, auth, refresh ---------------------------------------------


async def run_until_sleeping(
    engine: SyncEngine, clock: ManualClock
) -> tuple[asyncio.Task[None], float]:
    """Start the loop and wait until it first waits; return the task and that wait."""
    task = asyncio.create_task(engine.run(interval_s=60.0))
    return task, await clock.next_sleep()


@pytest.fixture
async def cleanup() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_offline_keeps_cache_and_first_failure_time_with_growing_backoff(
    source: FakeLogSource, store: CallStore, clock: ManualClock,
    cleanup: list[asyncio.Task[None]],
) -> None:
    engine = engine_for(source, store, clock)
    await engine.sync_once()
    held = stored_ids(store)
    source.fail_next.extend(
        [NetworkError("no route"), ServerError("503", status=503), MalformedResponse("<html>")]
    )

    task, first_wait = await run_until_sleeping(engine, clock)
    cleanup.append(task)
    assert first_wait == 5
    assert state_of(engine) == "offline"
    assert engine.status.offline_since == T
    assert engine.status.retry_at == T + 5
    assert engine.status.last_success == T
    assert "no route" in engine.status.message and "retrying in 5 s" in engine.status.message
    assert stored_ids(store) == held  # the cache is still there, whole

    clock.advance(5)
    assert await clock.next_sleep() == 10
    assert engine.status.offline_since == T  # kept from the first failure
    assert engine.status.retry_at == T + 5 + 10
    clock.advance(10)
    assert await clock.next_sleep() == 20
    clock.advance(20)
    assert await clock.next_sleep() == 60  # back online
    final = engine.status
    assert final.state == "idle"
    assert final.offline_since is None
    assert final.last_success == T + 35


def test_page_size_beyond_the_api_maximum_is_refused(store: CallStore) -> None:
    with pytest.raises(ValueError, match="page_size"):
        SyncEngine(FakeLogSource(), store, page_size=101)


async def test_backoff_is_capped_and_jittered(store: CallStore, clock: ManualClock) -> None:
    import random

    engine = SyncEngine(FakeLogSource(), store, clock=clock, rng=random.Random(3))
    delays = [engine._backoff(n) for n in range(1, 12)]
    assert all(0.8 * 300 <= d <= 300 for d in delays[7:])
    assert 4.0 <= delays[0] <= 5.0
    assert len(set(delays)) == len(delays)


# -- listeners, persisted status -----------------------------------------------------------


async def test_listeners_get_new_calls_per_page_and_status_changes(
    source: FakeLogSource, store: CallStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _type, exc, _tb: reported.append(exc))
    engine = engine_for(source, store, clock)
    batches: list[int] = []
    states: list[str] = []
    engine.add_new_calls_listener(lambda calls: batches.append(len(calls)))
    unsubscribe = engine.add_listener(lambda s: states.append(s.state))

    def broken(_: object) -> None:
        raise RuntimeError("a buggy listener must not stop the sync")

    engine.add_listener(broken)
    await engine.sync_once()
    assert batches == [50, 50, 50, 19]
    assert states == ["syncing", "idle"]
    assert engine.status.message == "169 new calls"
    # The listener's bug is reported (to the excepthook), once per status it missed.
    assert [str(exc) for exc in reported] == ["a buggy listener must not stop the sync"] * 2

    unsubscribe()
    clock.advance(10)
    await engine.sync_once()
    assert states == ["syncing", "idle"]
    assert batches == [50, 50, 50, 19]  # the overlap brought nothing new


async def test_last_success_survives_a_restart(
    source: FakeLogSource, db_path: Path, clock: ManualClock
) -> None:
    with CallStore.open(db_path) as store:
        await engine_for(source, store, clock).sync_once()
    clock.advance(100)
    with CallStore.open(db_path) as store:
        engine = engine_for(source, store, clock)
        assert engine.status.last_success == T
        assert engine.status.api_total == 169
        assert state_of(engine) == "idle"
