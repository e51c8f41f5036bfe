"""The request budget delays rather than fails, and a 429 pauses everyone."""

from __future__ import annotations

import pytest

from desktop_app.api.budget import RequestBudget, Window
from desktop_app.api.errors import RateLimited
from desktop_app.services.clock import ManualClock


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
