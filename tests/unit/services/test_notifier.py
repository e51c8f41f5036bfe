"""The notifier's rules over synthetic call sequences: once per call, across re-syncs and
restarts, a summary instead of a flood, silence under Do not disturb. No Qt."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from desktop_app.services.clock import ManualClock
from desktop_app.services.notifier import (
    CHECK_TASK,
    META_FLOOR,
    MissedCallNotice,
    MissedCallsSummary,
    Notification,
    Notifier,
)
from desktop_app.services.sync import SyncEngine
from desktop_app.services.worklist import Reach
from desktop_app.store import CallStore
from desktop_app.store.notified import MissedCallRecords
from tests.helpers.fakes import FakeLogSource
from tests.helpers.held_check import HeldRead
from tests.helpers.held_check import held as held
from tests.helpers.missed_calls import (
    ASHA,
    HOUR,
    IST,
    ME,
    NUMBER,
    OTHER,
    RAHUL,
    T,
    call,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


class Recorder:
    def __init__(self, notifier: Notifier) -> None:
        self.seen: list[Notification] = []
        notifier.add_listener(self.seen.append)

    def take(self) -> list[Notification]:
        seen = list(self.seen)
        self.seen.clear()
        return seen


def make(store: CallStore, clock: ManualClock, **kwargs: object) -> tuple[Notifier, Recorder]:
    options: dict[str, object] = {"tz": IST, "my_uuid": ME}
    options.update(kwargs)
    notifier = Notifier(store, clock, **options)  # type: ignore[arg-type]
    return notifier, Recorder(notifier)


def notices(seen: list[Notification]) -> list[MissedCallNotice]:
    assert all(isinstance(n, MissedCallNotice) for n in seen), seen
    return [n for n in seen if isinstance(n, MissedCallNotice)]


# -- single calls -----------------------------------------------------------------------


async def test_a_new_missed_call_is_announced_once_with_caller_department_time_and_tries(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([
        call("yesterday", T - 20 * HOUR),  # Sunday: not today
        call("morning", T - 4 * HOUR, answered=True),  # got through this morning
        call("noon", T - 2 * HOUR),  # missed at noon
    ])
    await notifier.check()  # the first start: the noon call, alone, is announced as itself
    rec.take()

    clock.advance(120)
    store.upsert_calls([call("now", T + 60, department="Billing", rang=(ASHA, ME))])
    (note,) = notices(await notifier.check())

    assert rec.take() == [note]
    assert note.call_id == "now" and note.caller_e164 == NUMBER
    assert note.caller == "098372 11131"  # national format for an Indian number
    assert note.department == "Billing" and note.start_time == T + 60
    assert note.attempts_today == 3  # morning, noon, now: yesterday's does not count
    assert note.reach.reach is Reach.MISSED_BY_ME
    assert note.title == "Missed call from 098372 11131"
    assert note.message == "Billing · 14:01 · 3rd try today · rang you"

    assert await notifier.check() == [] and rec.take() == []


async def test_answered_and_outgoing_calls_are_never_announced(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([
        call("answered", T - 60, answered=True),
        call("callback-missed", T - 50, incoming=False),
        call("callback", T - 40, incoming=False, answered=True),
    ])
    assert await notifier.check() == [] and rec.take() == []


async def test_a_missed_call_taken_by_a_colleague_leg_says_so(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, _ = make(store, clock)
    store.upsert_calls([call("c", T - 30, rang=(RAHUL,))])
    (note,) = notices(await notifier.check())
    assert note.reach.reach is Reach.MISSED_BY_TEAM and note.reach.rang_me is False
    assert "rang you" not in note.message and "try today" not in note.message


# -- never twice --------------------------------------------------------------------------


async def test_overlapping_resyncs_do_not_announce_again(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    first = [call("a", T - 100), call("b", T - 50, number=OTHER)]
    store.upsert_calls(first)
    assert len(notices(await notifier.check())) == 2
    for _ in range(3):  # the sync's overlap re-fetches the same calls
        clock.advance(60)
        store.upsert_calls(first)
        notifier.on_new_calls(first)
        await notifier.wait_checked()
        assert await notifier.check() == []
    assert rec.take() and rec.take() == []


async def test_a_restart_with_the_same_cache_file_announces_nothing_again(
    db_path: Path, clock: ManualClock
) -> None:
    with CallStore.open(db_path) as store:
        notifier, _ = make(store, clock)
        store.upsert_calls([call("a", T - 100), call("b", T - 50, number=OTHER)])
        assert len(notices(await notifier.check())) == 2
        floor = notifier.floor

    clock.advance(300)
    with CallStore.open(db_path) as store:
        notifier, _ = make(store, clock)
        assert notifier.floor == floor  # the same watermark, not a new first start
        assert await notifier.check() == []
        store.upsert_calls([call("c", T + 200)])
        assert [n.call_id for n in notices(await notifier.check())] == ["c"]


async def test_a_call_logged_late_below_one_already_announced_is_still_announced(
    store: CallStore, clock: ManualClock
) -> None:
    """Calls are logged when they end: a long ring can show up after a later call."""
    notifier, _ = make(store, clock)
    store.upsert_calls([call("later", T - 30)])
    assert [n.call_id for n in notices(await notifier.check())] == ["later"]
    clock.advance(60)
    store.upsert_calls([call("earlier", T - 90, number=OTHER)])
    assert [n.call_id for n in notices(await notifier.check())] == ["earlier"]


# -- first start and absences ------------------------------------------------------------


async def test_first_start_summarises_the_last_hours_and_ignores_older_history(
    store: CallStore, clock: ManualClock
) -> None:
    week = [call(f"old{i}", T - 2 * 86400 - i * HOUR, number=f"+9198000000{i:02d}")
            for i in range(30)]
    today = [call(f"today{i}", T - 5 * HOUR + i * 600, number=f"+9197000000{i:02d}")
             for i in range(14)]
    store.upsert_calls([*week, *today])

    notifier, rec = make(store, clock)
    assert notifier.floor == T - 12 * HOUR

    (summary,) = await notifier.check()
    assert isinstance(summary, MissedCallsSummary)
    assert summary.count == 14 and summary.since == T - 5 * HOUR
    assert summary.title == "14 missed calls since 09:00"
    assert summary.newest_call_id == "today13"
    assert set(summary.call_ids) == {c.id for c in today}
    assert "14 numbers" in summary.message
    assert rec.take() == [summary]
    assert await notifier.check() == []


async def test_first_start_with_an_empty_cache_announces_nothing(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    assert await notifier.check() == [] and rec.take() == []
    assert store.get_meta(META_FLOOR) == str(T - 12 * HOUR)


async def test_after_an_absence_several_stale_calls_become_one_summary(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, _ = make(store, clock)
    clock.advance(2 * HOUR)  # the laptop slept
    store.upsert_calls([call("a", T + 10 * 60), call("b", T + HOUR), call("c", T + 2 * HOUR - 30)])
    (summary,) = await notifier.check()
    assert isinstance(summary, MissedCallsSummary)
    assert summary.count == 3 and summary.title == "3 missed calls since 14:10"


async def test_a_single_stale_call_is_announced_as_itself(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, _ = make(store, clock)
    clock.advance(2 * HOUR)
    store.upsert_calls([call("a", T + 10 * 60)])
    (note,) = notices(await notifier.check())
    assert note.call_id == "a" and "14:10" in note.message


async def test_a_burst_of_fresh_calls_is_summarised_from_the_threshold(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, _ = make(store, clock, summary_threshold=5)
    store.upsert_calls([call(f"a{i}", T - 60 + i, number=f"+9198000000{i:02d}") for i in range(4)])
    assert len(notices(await notifier.check())) == 4
    store.upsert_calls([call(f"b{i}", T - 30 + i, number=f"+9198000001{i:02d}") for i in range(5)])
    (summary,) = await notifier.check()
    assert isinstance(summary, MissedCallsSummary) and summary.count == 5


async def test_calls_older_than_the_lookback_are_never_announced_and_pruned(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, _ = make(store, clock, lookback_s=HOUR)
    store.upsert_calls([call("a", T - 30)])
    assert len(await notifier.check()) == 1
    clock.advance(2 * HOUR)
    store.upsert_calls([call("late", T - 40 * 60, number=OTHER)])  # below the new floor
    assert await notifier.check() == []
    assert notifier.floor == T + HOUR
    count = store.connection.execute("SELECT count(*) FROM notified").fetchone()[0]
    assert count == 0  # "a" is below the floor: no longer needed


async def test_the_floor_never_goes_down_when_the_clock_is_set_back(
    db_path: Path, clock: ManualClock
) -> None:
    with CallStore.open(db_path) as store:
        notifier, _ = make(store, clock, lookback_s=HOUR)
        clock.advance(3 * HOUR)
        await notifier.check()
        high = notifier.floor
    clock.now = T  # NTP set the clock back
    with CallStore.open(db_path) as store:
        notifier, _ = make(store, clock, lookback_s=HOUR)
        assert notifier.floor == high
        store.upsert_calls([call("between", T - 10)])  # below the floor reached before
        assert await notifier.check() == []


# -- do not disturb ------------------------------------------------------------------------


async def test_do_not_disturb_silences_but_counts_and_never_announces_later(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    notifier.set_silenced(True)
    store.upsert_calls([call("a", T - 60), call("b", T - 30, number=OTHER)])
    assert await notifier.check() == [] and rec.take() == []
    assert notifier.silenced_count == 2
    clock.advance(60)
    store.upsert_calls([call("c", T + 30)])
    await notifier.check()
    assert notifier.silenced_count == 3

    notifier.set_silenced(False)
    assert await notifier.check() == []  # what was silenced stays silent
    assert notifier.silenced_count == 3  # until DND starts again
    store.upsert_calls([call("d", T + 50)])
    assert [n.call_id for n in notices(await notifier.check())] == ["d"]
    notifier.set_silenced(True)
    assert notifier.silenced_count == 0


async def test_announcing_turned_off_records_calls_but_brings_no_backlog_when_on_again(
    store: CallStore, clock: ManualClock
) -> None:
    notifier, rec = make(store, clock)
    notifier.set_announcing(False)
    store.upsert_calls([call("a", T - 60), call("b", T - 30, number=OTHER)])
    assert await notifier.check() == [] and rec.take() == []
    assert notifier.silenced_count == 0  # not do not disturb: nothing "held back"

    notifier.set_announcing(True)
    assert await notifier.check() == []  # the calls missed while off stay unannounced
    clock.advance(60)
    store.upsert_calls([call("c", T + 30)])
    assert [n.call_id for n in notices(await notifier.check())] == ["c"]


async def test_a_failing_listener_does_not_stop_the_others(
    store: CallStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _type, exc, _tb: reported.append(exc))
    notifier, rec = make(store, clock)

    def broken(_note: Notification) -> None:
        raise RuntimeError("boom")

    notifier.add_listener(broken)
    late = Recorder(notifier)
    store.upsert_calls([call("a", T - 30)])
    await notifier.check()
    assert len(rec.take()) == 1 and len(late.take()) == 1
    assert [str(exc) for exc in reported] == ["boom"]  # the bug is reported, not swallowed


# -- off the loop, one at a time ---------------------------------------------------------


async def test_the_database_work_runs_off_the_loop_thread(
    store: CallStore, clock: ManualClock, held: HeldRead
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([call("a", T - 30)])
    checking = asyncio.ensure_future(notifier.check())
    await held.wait_read()  # the loop runs on while the thread reads
    assert not checking.done() and rec.take() == []
    held.release()
    assert [n.call_id for n in notices(await checking)] == ["a"]


async def test_a_sync_landing_while_a_check_runs_gets_one_more_check_and_nothing_twice(
    store: CallStore, clock: ManualClock, held: HeldRead
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([call("a", T - 30)])
    notifier.request_check()
    await held.wait_read()  # read "a", not yet recorded
    store.upsert_calls([call("late", T - 10, number=OTHER)])
    notifier.on_new_calls([call("late", T - 10, number=OTHER)])  # the sync landed
    notifier.request_check()  # and anything else asking: still one more check
    held.release()
    await notifier.wait_checked()
    assert [n.call_id for n in notices(rec.take())] == ["a", "late"]
    assert await notifier.check() == [] and rec.take() == []


async def test_a_check_started_while_one_runs_waits_for_it_and_announces_nothing_twice(
    store: CallStore, clock: ManualClock, held: HeldRead
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([call("a", T - 30), call("b", T - 20, number=OTHER)])
    first = asyncio.ensure_future(notifier.check())
    await held.wait_read()  # read "a" and "b", not yet recorded
    second = asyncio.ensure_future(notifier.check())
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop, not a wait for time
    held.release()
    announced = [n.call_id for r in await asyncio.gather(first, second) for n in notices(r)]
    assert announced == ["a", "b"]
    assert len(rec.take()) == 2


async def test_a_check_in_flight_at_close_lets_its_thread_finish_then_ends(
    store: CallStore, clock: ManualClock, held: HeldRead
) -> None:
    notifier, rec = make(store, clock)
    store.upsert_calls([call("a", T - 30)])
    notifier.request_check()
    await held.wait_read()
    closing = asyncio.ensure_future(notifier.tasks.aclose())
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop, not a wait for time
    assert not closing.done()  # the connection must outlive the thread's transaction
    held.release()
    await closing
    assert rec.take() == []  # closing: nothing is announced any more…
    assert MissedCallRecords(store).was_notified("a")  # …and what it recorded is whole
    notifier.request_check()  # after close: nothing starts
    assert not notifier.tasks.running(CHECK_TASK)


# -- with the sync engine -----------------------------------------------------------------


async def test_attached_to_the_engine_the_first_week_is_one_summary_then_one_notice_per_call(
    store: CallStore, clock: ManualClock
) -> None:
    history = [
        call(f"h{i}", T - 7 * 86400 + i * 1800, number=f"+91980000{i:04d}",
             answered=i % 3 != 0)
        for i in range(7 * 48)
    ]
    source = FakeLogSource(history)
    engine = SyncEngine(source, store, clock=clock, page_size=20, sleep=clock.sleep)
    notifier, rec = make(store, clock)
    detach = notifier.attach(engine)

    await engine.sync_once()  # 17 pages reported as new, page by page
    await notifier.wait_checked()

    (summary,) = rec.take()
    assert isinstance(summary, MissedCallsSummary)
    in_last_12h = [c for c in history if c.start_time >= T - 12 * HOUR and not c.answered]
    assert summary.count == len(in_last_12h) == 8

    clock.advance(180)
    source.add(call("fresh", T + 100), call("fresh-ok", T + 110, answered=True))
    await engine.sync_once()
    await notifier.wait_checked()
    assert [n.call_id for n in notices(rec.take())] == ["fresh"]

    clock.advance(180)
    await engine.sync_once()  # the overlap re-fetches "fresh": nothing new
    await notifier.wait_checked()
    assert rec.take() == []

    detach()
    clock.advance(180)
    source.add(call("unheard", T + 400))
    await engine.sync_once()
    assert not notifier.tasks.running(CHECK_TASK)
    assert rec.take() == []


async def test_a_call_stored_by_a_run_killed_before_its_check_is_announced_next_start(
    db_path: Path, clock: ManualClock
) -> None:
    missed = call("stored-not-told", T - 60)
    with CallStore.open(db_path) as store:
        make(store, clock)  # the first start set the floor…
        store.upsert_calls([missed])  # …a sync stored the call, then the app was killed

    clock.advance(120)
    with CallStore.open(db_path) as store:
        source = FakeLogSource([missed])
        engine = SyncEngine(source, store, clock=clock, sleep=clock.sleep)
        notifier, rec = make(store, clock)
        notifier.attach(engine)
        result = await engine.sync_once()
        assert result.new_calls == ()  # the engine has nothing new to report
        await notifier.wait_checked()
        assert [n.call_id for n in notices(rec.take())] == ["stored-not-told"]
