"""The account's request budget counted in a real Redis: replicas spending at once never
pass the allowance together, a 429's pause holds for all, and an unreachable Redis sends
nothing rather than counting alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis

from desktop_app.api.budget import Priority, RequestBudget, Window
from desktop_app.api.errors import BudgetUnavailable, RateLimited
from desktop_app.relay.budget import RedisLedger
from tests.helpers.redis_server import RedisServer

NAMESPACE = "test:budget:"
WINDOWS = (Window("minute", 6, 60.0, reserve=2), Window("hour", 10, 3600.0, reserve=3))


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ledgers(redis_server: RedisServer) -> Iterator[list[RedisLedger]]:
    """Three ledgers on separate connections, as three relay replicas would have."""
    made = [RedisLedger.from_url(redis_server.url, NAMESPACE) for _ in range(3)]
    yield made
    for ledger in made:
        ledger.close()


def budgets(ledgers: list[RedisLedger], clock: Clock) -> list[RequestBudget]:
    return [RequestBudget(WINDOWS, ledger=ledger, clock=clock) for ledger in ledgers]


async def test_replicas_spending_at_once_take_exactly_the_allowance(
    ledgers: list[RedisLedger],
) -> None:
    clock = Clock()
    replicas = budgets(ledgers, clock)

    async def take(budget: RequestBudget) -> bool:
        try:
            await budget.acquire(Priority.BACKGROUND, max_wait=0)
        except RateLimited:
            return False
        return True

    taken = await asyncio.gather(*(take(budget) for budget in replicas * 5))

    # 6 a minute less the reserve of 2: four background requests, whoever asked.
    assert taken.count(True) == 4
    assert len(ledgers[0].spent_since(0)) == 4
    # The reserve is still there for a call, through any replica, then nothing is.
    await replicas[2].acquire(Priority.RESERVED, max_wait=0)
    await replicas[1].acquire(Priority.RESERVED, max_wait=0)
    with pytest.raises(RateLimited):
        await replicas[0].acquire(Priority.RESERVED, max_wait=0)
    assert [replica.remaining()["minute"] for replica in replicas] == [0, 0, 0]


async def test_the_windows_move_on_for_every_replica(ledgers: list[RedisLedger]) -> None:
    clock = Clock()
    first, second, _ = budgets(ledgers, clock)
    for _ in range(4):
        await first.acquire(Priority.BACKGROUND, max_wait=0)

    assert second.wait_time(Priority.BACKGROUND) == pytest.approx(60.0)
    clock.now += 60.0
    assert second.wait_time(Priority.BACKGROUND) == 0
    await second.acquire(Priority.BACKGROUND, max_wait=0)
    assert first.remaining() == {"minute": 5, "hour": 5}


async def test_a_429_seen_by_one_replica_pauses_them_all(ledgers: list[RedisLedger]) -> None:
    clock = Clock()
    first, second, _ = budgets(ledgers, clock)
    first.penalize(30.0)
    first.penalize(5.0)  # a shorter pause never moves the first one earlier

    assert second.wait_time(Priority.RESERVED) == pytest.approx(30.0)
    with pytest.raises(RateLimited):
        await second.acquire(Priority.RESERVED, max_wait=1)
    clock.now += 30.0
    await second.acquire(Priority.RESERVED, max_wait=0)


async def test_with_redis_down_nothing_is_sent_and_nothing_counted_alone(
    ledgers: list[RedisLedger], redis_server: RedisServer
) -> None:
    clock = Clock()
    budget = budgets(ledgers, clock)[0]
    await budget.acquire(Priority.BACKGROUND, max_wait=0)
    redis_server.stop()

    with pytest.raises(BudgetUnavailable, match="nothing was sent"):
        await budget.acquire(Priority.RESERVED, max_wait=0)

    redis_server.start()
    # Still the shared ledger: it kept the spend from before the outage.
    await budget.acquire(Priority.BACKGROUND, max_wait=0)
    assert len(ledgers[1].spent_since(0)) == 2


async def test_a_redis_that_refuses_writes_sends_nothing_either(
    ledgers: list[RedisLedger], redis_server: RedisServer
) -> None:
    """Not only a lost connection: Redis out of memory (or a read-only replica after a
    failover) refuses the spend, and the replica must not go on counting alone."""
    clock = Clock()
    budget = budgets(ledgers, clock)[0]
    admin = redis.Redis.from_url(redis_server.url)
    admin.config_set("maxmemory", 1)  # every write refused: "OOM command not allowed"
    try:
        for _ in range(2):  # and again: the budget did not switch to a ledger of its own
            with pytest.raises(BudgetUnavailable):
                await budget.acquire(Priority.RESERVED, max_wait=0)
    finally:
        admin.config_set("maxmemory", 0)
        admin.close()
    await budget.acquire(Priority.RESERVED, max_wait=0)
    assert len(ledgers[1].spent_since(0)) == 1
