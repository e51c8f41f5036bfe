"""ManualClock, the one test clock: time moves only by hand, or by each sleep when asked."""

from __future__ import annotations

import asyncio

import pytest

from desktop_app.services.clock import ManualClock


async def test_a_sleeper_wakes_only_when_time_reaches_its_deadline() -> None:
    clock = ManualClock(100.0)
    sleeper = asyncio.create_task(clock.sleep(10))
    assert await clock.next_sleep() == 10
    assert clock.sleeping == 1
    clock.advance(9.5)
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.advance(0.5)
    await asyncio.wait_for(sleeper, 1.0)
    assert clock() == 110.0
    assert clock.sleeping == 0


async def test_a_cancelled_sleeper_is_forgotten() -> None:
    clock = ManualClock()
    sleeper = asyncio.create_task(clock.sleep(5))
    await clock.next_sleep()
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert clock.sleeping == 0


async def test_every_wait_asked_for_is_listed_in_order() -> None:
    clock = ManualClock()
    first = asyncio.create_task(clock.sleep(3))
    second = asyncio.create_task(clock.sleep(1))
    await asyncio.sleep(0)
    assert clock.slept == [3, 1]
    clock.advance(3)
    await asyncio.wait_for(asyncio.gather(first, second), 1.0)


async def test_with_sleep_advances_a_sleep_moves_the_clock_and_returns_at_once() -> None:
    clock = ManualClock(1000.0, sleep_advances=True)
    await clock.sleep(7)
    await clock.sleep(0.5)
    assert clock() == 1007.5
    assert clock.slept == [7, 0.5]
    assert clock.sleeping == 0


async def test_with_sleep_advances_a_negative_wait_does_not_turn_time_back() -> None:
    clock = ManualClock(50.0, sleep_advances=True)
    await clock.sleep(-2)
    assert clock() == 50.0
    assert clock.slept == [-2]


async def test_a_self_advancing_sleep_wakes_the_sleepers_whose_time_has_come() -> None:
    clock = ManualClock(sleep_advances=False)
    waiting = asyncio.create_task(clock.sleep(4))
    await clock.next_sleep()
    clock.sleep_advances = True
    await clock.sleep(4)
    await asyncio.wait_for(waiting, 1.0)
    assert clock() == 4.0


async def test_next_sleep_reports_self_advancing_sleeps_too() -> None:
    clock = ManualClock(sleep_advances=True)
    await clock.sleep(2)
    assert await asyncio.wait_for(clock.next_sleep(), 1.0) == 2
