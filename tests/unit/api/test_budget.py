"""The request budget delays rather than fails, keeps a reserve for calls, is shared by
every instance on the cache file, and a 429 pauses everyone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from desktop_app.api.budget import (
    CROWD_HALF_LIFE_S,
    MAX_PACED_INTERVAL_S,
    TEAM_ROOM,
    Priority,
    RequestBudget,
    SpendLedger,
    Window,
    pace,
)
from desktop_app.api.errors import RateLimited
from desktop_app.services.clock import ManualClock
from desktop_app.store.spend import SpendRecords


def fake_time() -> ManualClock:
    """A clock that only moves when someone sleeps on it."""
    return ManualClock(1000.0, sleep_advances=True)


def make_budget(time: ManualClock, *windows: Window) -> RequestBudget:
    chosen = windows or (Window("minute", 3, 60.0),)
    return RequestBudget(chosen, clock=time, sleep=time.sleep)


async def test_requests_within_the_limit_go_at_once() -> None:
    time = fake_time()
    budget = make_budget(time)
    for _ in range(3):
        await budget.acquire()
    assert time.slept == []
    assert budget.remaining() == {"minute": 0}


async def test_a_request_over_the_limit_waits_for_the_oldest_to_expire() -> None:
    time = fake_time()
    budget = make_budget(time)
    for _ in range(3):
        await budget.acquire()
        time.now += 10
    await budget.acquire()
    # The first went at 1000; the fourth may go at 1060, and it is now 1030.
    assert time.slept == [pytest.approx(30.0)]
    assert budget.remaining() == {"minute": 0}


async def test_every_window_is_respected() -> None:
    time = fake_time()
    budget = make_budget(time, Window("minute", 5, 60.0), Window("hour", 6, 3600.0))
    for _ in range(6):
        await budget.acquire()
        time.now += 61
    assert budget.remaining() == {"minute": 5, "hour": 0}
    assert budget.wait_time() == pytest.approx(3600 - 6 * 61)


async def test_penalize_blocks_until_retry_after() -> None:
    time = fake_time()
    budget = make_budget(time)
    budget.penalize(42.0)
    await budget.acquire()
    assert time.slept == [pytest.approx(42.0)]


async def test_max_wait_turns_a_long_wait_into_rate_limited() -> None:
    time = fake_time()
    budget = make_budget(time)
    budget.penalize(500.0)
    with pytest.raises(RateLimited) as caught:
        await budget.acquire(max_wait=60.0)
    assert caught.value.retry_after == pytest.approx(500.0)
    assert time.slept == []


async def test_unlimited_never_waits() -> None:
    budget = RequestBudget.unlimited()
    for _ in range(1000):
        await budget.acquire()
    assert budget.remaining() == {}
    assert budget.wait_time() == 0


def test_invalid_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestBudget((Window("minute", 0, 60.0),))


# -- the reserve ---------------------------------------------------------------------------


def reserved_budget(time: ManualClock, ledger: SpendLedger | None = None) -> RequestBudget:
    """5 a minute, 2 of them kept for calls; 20 an hour, 5 kept."""
    return RequestBudget(
        (Window("minute", 5, 60.0, reserve=2), Window("hour", 20, 3600.0, reserve=5)),
        ledger=ledger, clock=time, sleep=time.sleep,
    )


async def test_background_work_never_takes_the_reserve() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)
    for _ in range(3):
        await budget.acquire(Priority.BACKGROUND)
    assert budget.wait_time(Priority.BACKGROUND) == pytest.approx(60.0)
    assert budget.wait_time(Priority.RESERVED) == 0
    for _ in range(2):
        await budget.acquire(Priority.RESERVED)
    assert budget.remaining() == {"minute": 0, "hour": 15}
    assert time.slept == []


async def test_a_waiting_background_request_never_stands_before_a_call() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)
    for _ in range(3):
        await budget.acquire(Priority.BACKGROUND)
    waiting = asyncio.ensure_future(budget.acquire(Priority.BACKGROUND))
    assert await time.next_sleep() == pytest.approx(60.0)
    # The call goes at once, while the sync still waits for the next minute.
    await asyncio.wait_for(budget.acquire(Priority.RESERVED), timeout=5)
    assert not waiting.done()
    time.advance(60.0)
    await asyncio.wait_for(waiting, timeout=5)


async def test_a_reserve_as_large_as_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="reserve"):
        RequestBudget((Window("minute", 5, 60.0, reserve=5),))


# -- others on the account -----------------------------------------------------------------


async def test_a_429_the_ledger_did_not_predict_fills_the_window_it_names() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)
    await budget.acquire(Priority.BACKGROUND)
    # Colleagues spent the minute: the service asks for 40 s.
    budget.penalize(40.0)
    assert budget.unexpected_refusals == 1
    assert budget.remaining()["minute"] == 0
    time.advance(40.0)
    # The oldest of the others' spends leaves when the service said; the rest are taken
    # as spread over the minute, and leave one by one. The hour counts them all.
    assert budget.remaining() == {"minute": 1, "hour": 15}
    assert budget.wait_time(Priority.RESERVED) == 0
    time.advance(20.0)
    assert budget.remaining() == {"minute": 5, "hour": 15}


async def test_a_429_the_ledger_predicted_adds_nothing() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)
    for _ in range(5):
        await budget.acquire(Priority.RESERVED)
    budget.penalize(60.0)
    assert budget.unexpected_refusals == 0
    assert budget.remaining() == {"minute": 0, "hour": 15}


# -- pacing --------------------------------------------------------------------------------


def test_pace_spreads_the_background_share_over_each_window() -> None:
    windows = (Window("minute", 20, 60.0, reserve=5), Window("day", 500, 86400.0, reserve=100))
    room = TEAM_ROOM - 1  # alone, it leaves room for that many more desktops
    assert pace(30.0, windows, [], 0.0) == pytest.approx(room * 86400 / 400)
    # Half the day's share spent (by anyone): twice the spacing.
    spent = [-float(i) for i in range(200)]
    assert pace(30.0, windows, spent, 0.0) == pytest.approx(room * 86400 / 200)
    # Never under the base interval; never longer than the cap while requests are left.
    assert pace(900.0, windows, [], 0.0) == 900.0
    nearly_all = [-float(i) for i in range(399)]
    assert pace(30.0, windows, nearly_all, 0.0) == MAX_PACED_INTERVAL_S
    # The share is spent: wait for the window, however long that is.
    assert pace(30.0, windows, nearly_all, 0.0, wait=5000.0) == 5000.0
    # A crowd of ten seen through 429s: spaced for ten times this desktop's spending, and
    # the cap stretched as far.
    assert pace(30.0, windows, [], 0.0, crowd=10.0) == pytest.approx(10 * 86400 / 400)
    assert pace(30.0, windows, nearly_all, 0.0, crowd=10.0) == pytest.approx(
        MAX_PACED_INTERVAL_S * 10 / room
    )


def test_the_room_is_how_many_desktops_the_pace_leaves_room_for() -> None:
    windows = (Window("minute", 20, 60.0, reserve=5), Window("day", 500, 86400.0, reserve=100))
    assert pace(30.0, windows, [], 0.0) == pace(30.0, windows, [], 0.0, room=TEAM_ROOM)
    # Ten desktops say so: each spaces its requests for nine more.
    assert pace(30.0, windows, [], 0.0, room=10) == pytest.approx(9 * 86400 / 400)
    # Alone: the whole background share spread evenly over the day, never bursts then
    # nothing; as others spend, it slows down (and waits when the share is gone).
    alone = pace(30.0, windows, [], 0.0, room=1)
    assert alone == pytest.approx(86400 / 400)
    assert alone < pace(30.0, windows, [], 0.0)
    half_spent = [-float(i) for i in range(200)]
    assert pace(30.0, windows, half_spent, 0.0, room=1) == pytest.approx(86400 / 400)
    assert pace(30.0, windows, half_spent, 0.0, room=1, wait=900.0) == 900.0
    # A crowd seen through 429s still counts, whatever the person said.
    assert pace(30.0, windows, [], 0.0, room=1, crowd=5.0) == pytest.approx(5 * 86400 / 400)


def test_the_budgets_room_is_set_live_and_paces_at_once() -> None:
    time = ManualClock(1000.0)
    budget = RequestBudget(
        (Window("hour", 100, 3600.0, reserve=25),), clock=time, sleep=time.sleep
    )
    assert budget.room == TEAM_ROOM
    shared = budget.background_interval(30.0)
    budget.room = 1
    assert budget.background_interval(30.0) == pytest.approx(3600 / 75)
    assert budget.background_interval(30.0) < shared
    budget.room = 8
    assert budget.background_interval(30.0) == pytest.approx(7 * 3600 / 75)
    with pytest.raises(ValueError):
        budget.room = 0


async def test_background_interval_grows_as_the_account_is_spent() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)
    quiet = budget.background_interval(1.0)
    for _ in range(3):
        await budget.acquire(Priority.BACKGROUND)
    assert budget.background_interval(1.0) > quiet
    assert budget.background_interval(1.0) >= budget.wait_time(Priority.BACKGROUND)


# -- a stored ledger -----------------------------------------------------------------------


async def test_restarts_and_second_instances_share_what_was_spent(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    time = ManualClock(1_700_000_000.0)
    first = SpendRecords.open(db)
    second = SpendRecords.open(db)
    try:
        one, two = reserved_budget(time, first), reserved_budget(time, second)
        await one.acquire(Priority.BACKGROUND)
        await two.acquire(Priority.BACKGROUND)
        await one.acquire(Priority.BACKGROUND)
        assert one.remaining() == two.remaining() == {"minute": 2, "hour": 17}
        assert two.wait_time(Priority.BACKGROUND) == pytest.approx(60.0)
        one.penalize(30.0)
        assert two.wait_time(Priority.RESERVED) == pytest.approx(30.0)
    finally:
        first.close()
        second.close()
    restarted = SpendRecords.open(db)
    try:
        assert reserved_budget(time, restarted).remaining() == {"minute": 0, "hour": 15}
    finally:
        restarted.close()


async def test_a_ledger_that_cannot_be_written_falls_back_to_memory(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    time = ManualClock(1_700_000_000.0)
    records = SpendRecords.open(db)
    budget = reserved_budget(time, records)
    records.close()  # as good as a vanished or unreadable file
    await budget.acquire(Priority.RESERVED)
    await budget.acquire(Priority.BACKGROUND)
    assert budget.remaining() == {"minute": 3, "hour": 18}


async def test_spends_stamped_by_a_clock_that_went_back_are_dropped(tmp_path: Path) -> None:
    records = SpendRecords.open(tmp_path / "cache.db")
    try:
        ahead = ManualClock(1_700_090_000.0)
        await reserved_budget(ahead, records).acquire(Priority.BACKGROUND)
        now = ManualClock(1_700_000_000.0)
        budget = reserved_budget(now, records)
        await budget.acquire(Priority.BACKGROUND)
        assert budget.remaining() == {"minute": 4, "hour": 19}
    finally:
        records.close()


async def test_a_crowd_seen_through_a_429_shrinks_this_desktops_background_share() -> None:
    time = ManualClock(1000.0)
    budget = reserved_budget(time)  # 5 a minute (2 kept), 20 an hour (5 kept)
    await budget.acquire(Priority.BACKGROUND)
    assert budget.crowd() == 1.0
    quiet = budget.background_interval(1.0)
    budget.penalize(30.0)  # the minute was full: 5 requests, 1 of them this desktop's
    assert budget.crowd() == pytest.approx(5.0)
    assert budget.background_interval(1.0) > quiet
    time.advance(60.0)  # the minute is free again, but colleagues spend as this one does
    await budget.acquire(Priority.BACKGROUND)
    assert budget.wait_time(Priority.BACKGROUND) > 0  # 1 + 4 others per own: the hour's 15
    assert budget.wait_time(Priority.RESERVED) == 0  # calls go
    time.advance(3600.0 - 60.0)  # held for the longest window, where their spends count
    assert budget.crowd() == pytest.approx(5.0)
    time.advance(CROWD_HALF_LIFE_S)
    assert budget.crowd() == pytest.approx(3.0)  # then forgotten by half
