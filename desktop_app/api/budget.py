"""One request budget per account, shared by every request the app makes and kept for the
agent first.

MyOperator limits an account (not a machine) to about 20 requests a minute, 100 an hour
and 500 a day, shared by every desktop of the account. Two rules follow:

- **The agent's actions always have headroom.** Each window keeps a *reserve* that only
  `Priority.RESERVED` requests (click-to-call, user changes) may spend. Everything else
  (sync, searches beyond the cache, refreshes, recording links, retries) is
  `Priority.BACKGROUND` and waits rather than take the last requests of any window.
- **Spending is counted per account, not per process.** What was spent lives in a
  `SpendLedger`; the app's is a table in the account's cache file (`store.spend`), so a
  restart or a second instance sees what the first spent. A 429 that this ledger did not
  predict means others share the account: the window the service says is full is marked
  full here too (and in the ledger), and the size of the `crowd` it reveals shrinks this
  desktop's background share for the day after.

Background work is paced, not just limited: `background_interval` says how long to wait
before the next sync so that, at that pace, the background share of every window lasts
until the window has moved on (see `pace`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeVar

from desktop_app.api.errors import BudgetUnavailable, RateLimited
from desktop_app.api.waits import format_wait

log = logging.getLogger(__name__)

_R = TypeVar("_R")


class Priority(IntEnum):
    """Who may spend the reserve: only what a person is waiting on and cannot put off."""

    #: Sync, searches beyond the cache, refreshes, recording links: may wait.
    BACKGROUND = 0
    #: Click-to-call and changes to users: may spend every request of every window.
    RESERVED = 1


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window of the account's limit; `reserve` of its `limit` is kept for
    `Priority.RESERVED` requests."""

    name: str
    limit: int
    seconds: float
    reserve: int = 0

    def allowed(self, priority: Priority) -> int:
        """How many requests of this priority the window holds."""
        return self.limit if priority is Priority.RESERVED else self.limit - self.reserve

    def inside(self, spends: Iterable[float], now: float) -> list[float]:
        """The spends (in order) that still count in this window at `now`."""
        return [t for t in spends if now - t < self.seconds]


#: 5 calls in any minute, 25 an hour and 125 a day stay possible whatever else was spent:
#: a team of ten placing one or two click-to-calls an hour each (see bench/bench_budget.py).
DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("minute", 20, 60.0, reserve=5),
    Window("hour", 100, 3600.0, reserve=25),
    Window("day", 500, 86400.0, reserve=125),
)

#: How fast a crowd seen through 429s is forgotten: by half in this time without another.
CROWD_HALF_LIFE_S = 6 * 3600.0

#: The shortest wait `acquire` sleeps before looking again.
MIN_WAIT_S = 0.05

#: The longest background pause `background_interval` asks for while requests are left:
#: a window that is nearly spent slows syncing down, it never stops it for hours.
MAX_PACED_INTERVAL_S = 30 * 60.0


class SpendLedger(Protocol):
    """Where the requests sent on one account are counted (epoch seconds)."""

    def spend_if(
        self, now: float, since: float, decide: Callable[[Sequence[float]], float]
    ) -> float:
        """Atomically: call `decide` with the spends after `since` (sorted); when it
        returns 0 or less, record one spend at `now`. Returns what `decide` returned."""
        ...

    def spent_since(self, since: float) -> list[float]:
        """Spends after `since`, sorted."""
        ...

    def add(self, times: Sequence[float], *, forget_before: float) -> None:
        """Record spends seen only through the service's refusals (others on the
        account); drop spends older than `forget_before`."""
        ...

    def blocked_until(self) -> float:
        ...

    def block_until(self, until: float) -> None:
        """Nobody sends before `until` (a 429's Retry-After); never moves it earlier."""
        ...

    def close(self) -> None:
        ...


class MemoryLedger:
    """A ledger that lasts as long as the process: for tools, tests and a cache that
    cannot be written."""

    def __init__(self, spends: Sequence[float] = (), blocked_until: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._spends = sorted(spends)
        self._blocked_until = blocked_until

    def spend_if(
        self, now: float, since: float, decide: Callable[[Sequence[float]], float]
    ) -> float:
        with self._lock:
            self._spends = [t for t in self._spends if t > since]
            wait = decide(self._spends)
            if wait <= 0:
                self._spends.append(now)
                self._spends.sort()
            return wait

    def spent_since(self, since: float) -> list[float]:
        with self._lock:
            return [t for t in self._spends if t > since]

    def add(self, times: Sequence[float], *, forget_before: float) -> None:
        with self._lock:
            self._spends = sorted(t for t in (*self._spends, *times) if t > forget_before)

    def blocked_until(self) -> float:
        return self._blocked_until

    def block_until(self, until: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, until)

    def close(self) -> None:
        """Nothing to let go of."""


@dataclass(frozen=True, slots=True)
class WindowState:
    """One window as the status bar tells it."""

    name: str
    left: int
    limit: int
    #: Requests left to background work (the reserve excluded), at least 0.
    background_left: int


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Every window's requests left and the background pace, from one read of the ledger
    (the status bar asks every second)."""

    windows: tuple[WindowState, ...]
    #: What `RequestBudget.background_interval` says for the base interval asked.
    background_interval: float


class RequestBudget:
    """Sliding-window limiter over a `SpendLedger`; see the module docstring."""

    def __init__(
        self,
        windows: tuple[Window, ...] = DEFAULT_WINDOWS,
        *,
        ledger: SpendLedger | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for window in windows:
            if window.limit < 1 or window.seconds <= 0:
                raise ValueError(f"budget window {window.name!r} needs a positive limit and span")
            if not 0 <= window.reserve < window.limit:
                raise ValueError(
                    f"budget window {window.name!r}: the reserve must leave background "
                    "work at least one request"
                )
        self._windows = windows
        self._ledger: SpendLedger = ledger if ledger is not None else MemoryLedger()
        self._clock = clock
        self._sleep = sleep
        self._longest = max((w.seconds for w in windows), default=0.0)
        #: When this process's own requests went (the ledger also holds others').
        self._own: deque[float] = deque()
        #: 429s that the ledger did not predict: others are spending the account.
        self.unexpected_refusals = 0
        #: How many desktops seem to share the account (see `crowd`), and since when.
        self._crowd_seen = 1.0
        self._crowd_at = 0.0
        self._room = TEAM_ROOM

    @classmethod
    def unlimited(
        cls,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> RequestBudget:
        """No windows, for benchmarks and bulk tools that lift the limit deliberately;
        a 429's Retry-After still pauses it."""
        return cls((), clock=clock, sleep=sleep)

    @property
    def windows(self) -> tuple[Window, ...]:
        return self._windows

    @property
    def room(self) -> int:
        """How many desktops the background pace makes room for on this account (see
        `pace`): `TEAM_ROOM` unless the person says how many share it; 1 is alone."""
        return self._room

    @room.setter
    def room(self, desktops: int) -> None:
        if desktops < 1:
            raise ValueError("the room must be at least one desktop (this one)")
        self._room = int(desktops)

    # -- reading -----------------------------------------------------------------------

    def _since(self, now: float) -> float:
        return now - self._longest

    def _spends(self, now: float) -> list[float]:
        return self._ledger_call(lambda: self._ledger.spent_since(self._since(now)))

    def crowd(self, now: float | None = None) -> float:
        """How many desktops seem to spend the account, this one included (1: alone).

        Learnt from 429s the ledger did not predict (a window's limit over this desktop's
        own requests in it). Held for the longest window (the colleagues' spending stays in
        the day's count that long), then forgotten by half every `CROWD_HALF_LIFE_S`."""
        at = self._clock() if now is None else now
        since = max(0.0, at - self._crowd_at - self._longest)
        fade: float = 0.5 ** (since / CROWD_HALF_LIFE_S)
        return 1.0 + (self._crowd_seen - 1.0) * fade

    def _wait_for(self, spends: Sequence[float], now: float, priority: Priority) -> float:
        wait = max(0.0, self._ledger.blocked_until() - now)
        others_per_own = self.crowd(now) - 1.0 if priority is Priority.BACKGROUND else 0.0
        for window in self._windows:
            in_window = window.inside(spends, now)
            allowed = window.allowed(priority)
            if len(in_window) >= allowed:
                # The spend that must leave the window for one more to fit.
                must_expire = in_window[len(in_window) - allowed]
                wait = max(wait, must_expire + window.seconds - now)
            own = window.inside(self._own, now) if others_per_own else []
            if own and len(in_window) + others_per_own * len(own) >= allowed:
                # Colleagues spend as this desktop does: its share is smaller.
                wait = max(wait, own[0] + window.seconds - now)
        return wait

    def wait_time(self, priority: Priority = Priority.BACKGROUND) -> float:
        """Seconds until one more request of `priority` may go (0 when it may go now)."""
        now = self._clock()
        return self._wait_for(self._spends(now), now, priority)

    def _states(self, spends: Sequence[float], now: float) -> tuple[WindowState, ...]:
        states = []
        for window in self._windows:
            used = len(window.inside(spends, now))
            states.append(WindowState(
                window.name,
                left=max(0, window.limit - used),
                limit=window.limit,
                background_left=max(0, window.allowed(Priority.BACKGROUND) - used),
            ))
        return tuple(states)

    def _interval(self, spends: Sequence[float], now: float, base_s: float) -> float:
        return pace(
            base_s,
            self._windows,
            spends,
            now,
            wait=self._wait_for(spends, now, Priority.BACKGROUND),
            crowd=self.crowd(now),
            room=self._room,
        )

    def status(self, base_s: float) -> BudgetStatus:
        """Requests left in every window and the background pace for `base_s`, now."""
        now = self._clock()
        spends = self._spends(now)
        return BudgetStatus(self._states(spends, now), self._interval(spends, now, base_s))

    def remaining(self) -> dict[str, int]:
        """Requests left in each window right now."""
        now = self._clock()
        return {s.name: s.left for s in self._states(self._spends(now), now)}

    def background_interval(self, base_s: float) -> float:
        """How long background work should wait before its next request; see `pace`."""
        now = self._clock()
        return self._interval(self._spends(now), now, base_s)

    # -- spending ----------------------------------------------------------------------

    async def acquire(
        self, priority: Priority = Priority.BACKGROUND, *, max_wait: float | None = None
    ) -> None:
        """Wait for a slot of `priority` and take it; raise RateLimited if that would take
        over `max_wait`.

        No lock is held while waiting: a background request waiting for the next minute
        never stands in front of a click-to-call that may go now.
        """
        while True:
            wait = await self._try_spend(priority)
            if wait <= 0:
                now = self._clock()
                self._own.append(now)
                while self._own and now - self._own[0] >= self._longest:
                    self._own.popleft()
                return
            if max_wait is not None and wait > max_wait:
                raise RateLimited(
                    "The request budget for this account is spent: the next request is "
                    f"possible in {format_wait(wait)}.",
                    retry_after=wait,
                )
            # At least a little: a wait of a rounding error would not move a clock at all.
            await self._sleep(max(wait, MIN_WAIT_S))

    async def _try_spend(self, priority: Priority) -> float:
        """Take a slot if there is one (0), else the seconds to wait. A stored ledger may
        wait a moment for another instance's write lock: never on the event loop."""
        now = self._clock()

        def decide(spends: Sequence[float]) -> float:
            return self._wait_for(spends, now, priority)

        def spend() -> float:
            return self._ledger.spend_if(now, self._since(now), decide)

        if isinstance(self._ledger, MemoryLedger):
            return self._ledger_call(spend)
        return await asyncio.to_thread(self._ledger_call, spend)

    def penalize(self, retry_after: float) -> None:
        """The service said 429: nobody sends until Retry-After has passed, and the window
        it implies is full for every instance sharing the ledger."""
        now = self._clock()
        retry_after = max(0.0, retry_after)
        self._ledger_call(lambda: self._ledger.block_until(now + retry_after))
        window = next((w for w in self._windows if retry_after <= w.seconds), None)
        if window is None:
            return
        missing = window.limit - len(window.inside(self._spends(now), now))
        if missing <= 0:
            return  # this ledger saw it coming: nobody else is spending
        self.unexpected_refusals += 1
        own = len(window.inside(self._own, now))
        self._crowd_seen = max(self.crowd(now), window.limit / max(1, own))
        self._crowd_at = now
        # Others filled the window. The oldest of their spends leaves it when the service
        # says; the rest are taken as spread evenly since, as steady use would be.
        oldest = now + retry_after - window.seconds
        step = (now - oldest) / missing
        at = [oldest + i * step for i in range(missing)]
        log.info(
            "the service refused a request the budget allowed: %d request(s) of the %s "
            "were spent elsewhere on this account", missing, window.name,
        )
        self._ledger_call(
            lambda: self._ledger.add(at, forget_before=self._since(now))
        )

    def close(self) -> None:
        """Let go of the ledger (its database connection); the budget is not used after."""
        self._ledger.close()

    # -- a ledger that fails -----------------------------------------------------------

    def _ledger_call(self, call: Callable[[], _R]) -> _R:
        """Run `call` on the ledger; when a stored ledger fails (a full disk, a read-only
        or busy file), go on counting in memory rather than refuse requests. A ledger
        shared by processes that see each other only through it (the team relay's Redis)
        raises `BudgetUnavailable` instead: that is passed on, and nothing is sent."""
        try:
            return call()
        except BudgetUnavailable:
            raise
        except Exception as exc:
            if isinstance(self._ledger, MemoryLedger):
                raise
            log.warning(
                "the request budget cannot be kept in the cache file (%s): counting in "
                "memory for this session; other instances will not see these requests", exc,
            )
            self._ledger = MemoryLedger()
            return call()


#: How many desktops the pace makes room for by default, without their seeing each other:
#: one desktop alone settles at 1/TEAM_ROOM of the background share, so that many fit in
#: it together. More than that on one account show up as 429s, and each slows down further.
#: A person who knows how many share the account says so (`RequestBudget.room`).
TEAM_ROOM = 4


def pace(
    base_s: float,
    windows: Sequence[Window],
    spends: Sequence[float],
    now: float,
    *,
    wait: float = 0.0,
    crowd: float = 1.0,
    room: int = TEAM_ROOM,
) -> float:
    """The next background interval: at least `base_s`, and per window
    ``(room - 1) * seconds / (background share - spent in the window)``, and never faster
    than the whole share spread evenly over the window (``seconds / share``).

    Desktops on other machines cannot see each other's spending until the service refuses
    one, and by then (for the day) calls would be refused too. So each spaces its requests
    as if it shared the account with `room - 1` more: it settles where it spends
    ``share / room``. A desktop alone (`room` 1) spreads the whole share evenly: the
    fastest pace that never runs the share dry before the window moves on. Where 429s have
    shown a larger `crowd`, it spaces them for that many and one more, and the longest
    interval stretches as far. Requests spent by anyone it knows of (this desktop, a second
    instance on the same cache, colleagues seen through 429s) shrink what is left, so it
    slows down as the account fills. Never shorter than `wait` (when the share is spent,
    until the window moves on); otherwise never longer than `MAX_PACED_INTERVAL_S`
    (stretched for a crowd or a larger room).
    """
    # A crowd seen through 429s, plus room for one more once others have shown up (a
    # crowd of 1, nobody else seen, adds nothing to a desktop that says it is alone).
    seen = crowd + min(1.0, max(0.0, crowd - 1.0))
    share_room = max(float(room), seen)
    interval = base_s
    for window in windows:
        allowed = window.allowed(Priority.BACKGROUND)
        left = allowed - len(window.inside(spends, now))
        even = window.seconds / max(1, allowed)
        interval = max(interval, even, (share_room - 1) * window.seconds / max(1, left))
    longest = MAX_PACED_INTERVAL_S * max(1.0, (share_room - 1) / (TEAM_ROOM - 1))
    return max(wait, min(interval, max(base_s, longest)))
