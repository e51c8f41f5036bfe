"""The account's request budget, kept in Redis: every relay replica spends from one count.

MyOperator's allowance is the account's, and the relay is the one client of it a team
has: the reconciling poll and the operations it proxies for desktops (click-to-call,
recording links, users). `RedisLedger` is the `SpendLedger` that `RequestBudget` counts
in, so any number of replicas together stay inside the allowance, and a 429's pause
holds for all of them.

- ``budget:spends``: a sorted set, one member per request, scored by when it was sent.
- ``budget:blocked-until``: nobody sends before this (a 429's Retry-After).

A Redis that cannot be reached (or refuses to write) raises `BudgetUnavailable`: the
request is refused (a 409 or 503 to the desktop, a poll tried next round) rather than
counted by one replica alone.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import redis
import redis.exceptions

from desktop_app.api.errors import BudgetUnavailable
from desktop_app.relay.engine import DEFAULT_NAMESPACE

#: The spends outlive the longest window (a day) by this much, then Redis drops the key.
_KEEP_S: Final = 2 * 86400

# Moves the block later, never earlier, in one step for every replica.
_BLOCK_UNTIL = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""


class RedisLedger:
    """A `SpendLedger` in Redis (synchronous: `RequestBudget` calls a stored ledger on a
    worker thread). `spend_if` is optimistic: it reads under WATCH and decides again when
    another replica spent in between, so two replicas never both take the last request."""

    def __init__(self, client: redis.Redis, namespace: str = DEFAULT_NAMESPACE) -> None:
        self._redis = client
        self._spends = namespace + "budget:spends"
        self._blocked = namespace + "budget:blocked-until"
        self._block_until = client.register_script(_BLOCK_UNTIL)

    @classmethod
    def from_url(cls, url: str, namespace: str = DEFAULT_NAMESPACE) -> RedisLedger:
        # A Redis that stops answering without closing the connection must not hold every
        # request the relay passes on.
        return cls(
            redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5), namespace
        )

    def spend_if(
        self, now: float, since: float, decide: Callable[[Sequence[float]], float]
    ) -> float:
        decided: list[float] = []

        def spend(pipe: redis.client.Pipeline) -> None:
            # Read under WATCH; if another replica spends before EXEC, redis-py runs
            # this again on what it spent.
            decided[:] = [decide(self._read(pipe, since))]
            pipe.multi()
            pipe.zremrangebyscore(self._spends, "-inf", since)
            if decided[0] <= 0:
                pipe.zadd(self._spends, {_member(now): now})
                pipe.expire(self._spends, _KEEP_S)

        with _reachable():
            # The pause is watched too: a 429 noted meanwhile makes it decide again.
            self._redis.transaction(spend, self._spends, self._blocked)
        return decided[0]

    def spent_since(self, since: float) -> list[float]:
        with _reachable():
            return self._read(self._redis, since)

    def add(self, times: Sequence[float], *, forget_before: float) -> None:
        with _reachable(), self._redis.pipeline(transaction=True) as pipe:
            if times:
                pipe.zadd(self._spends, {_member(at): at for at in times})
            pipe.zremrangebyscore(self._spends, "-inf", forget_before)
            pipe.expire(self._spends, _KEEP_S)
            pipe.execute()

    def blocked_until(self) -> float:
        with _reachable():
            value = self._redis.get(self._blocked)
        return 0.0 if value is None else float(value)

    def block_until(self, until: float) -> None:
        with _reachable():
            self._block_until(keys=[self._blocked], args=[repr(until), _KEEP_S])

    def close(self) -> None:
        self._redis.close()

    def _read(self, reader: redis.Redis | redis.client.Pipeline, since: float) -> list[float]:
        entries: Any = reader.zrangebyscore(
            self._spends, f"({since!r}", "+inf", withscores=True
        )
        return [float(score) for _member_name, score in entries]


def _member(at: float) -> str:
    """A member unique to one spend: two requests sent in the same microsecond both count."""
    return f"{at!r}:{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """Turns an unreachable Redis into `BudgetUnavailable`."""
    try:
        yield
    except redis.exceptions.RedisError as exc:
        # Not only a lost connection: a Redis refusing writes (a full disk, a read-only
        # replica after a failover) must not leave a replica counting alone either.
        raise BudgetUnavailable(
            "The team relay cannot reach its store, so it cannot tell how much of the "
            "account's request allowance is left; nothing was sent."
        ) from exc
