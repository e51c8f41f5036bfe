"""One request budget per account, shared by every request the app makes.

MyOperator limits an account (not a machine) to about 20 requests a minute, 100 an hour
and 500 a day. Firing freely would spend the day's allowance before lunch and starve the
colleagues who share the account, so every request waits here for its turn instead of
failing, and a 429's Retry-After pauses everyone.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from desktop_app.api.errors import RateLimited
from desktop_app.services.formatting import format_wait


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    limit: int
    seconds: float


DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("minute", 20, 60.0),
    Window("hour", 100, 3600.0),
    Window("day", 500, 86400.0),
)


class RequestBudget:
    """Sliding-window limiter: `acquire` waits until every window has room."""

    def __init__(
        self,
        windows: tuple[Window, ...] = DEFAULT_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for window in windows:
            if window.limit < 1 or window.seconds <= 0:
                raise ValueError(f"budget window {window.name!r} needs a positive limit and span")
        self._windows = windows
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._turn = asyncio.Lock()
        self._longest = max((w.seconds for w in windows), default=0.0)

    @classmethod
    def unlimited(
        cls,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> RequestBudget:
        """No windows, for benchmarks and bulk tools that lift the limit deliberately;
        a 429's Retry-After still pauses it."""
        return cls((), clock=clock, sleep=sleep)

    @property
    def windows(self) -> tuple[Window, ...]:
        return self._windows

    def _forget_old(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self._longest:
            self._sent.popleft()

    def wait_time(self) -> float:
        """Seconds until one more request may go (0 when it may go now)."""
        now = self._clock()
        self._forget_old(now)
        wait = max(0.0, self._blocked_until - now)
        sent = list(self._sent)
        for window in self._windows:
            in_window = [t for t in sent if now - t < window.seconds]
            if len(in_window) >= window.limit:
                oldest_that_must_expire = in_window[len(in_window) - window.limit]
                wait = max(wait, oldest_that_must_expire + window.seconds - now)
        return wait

    def remaining(self) -> dict[str, int]:
        """Requests left in each window right now, for the status bar."""
        now = self._clock()
        self._forget_old(now)
        return {
            w.name: max(0, w.limit - sum(1 for t in self._sent if now - t < w.seconds))
            for w in self._windows
        }

    def penalize(self, retry_after: float) -> None:
        """The service said 429: nobody sends until Retry-After has passed."""
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, retry_after))

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Wait for a slot and take it; raise RateLimited if that would take over `max_wait`."""
        async with self._turn:
            while True:
                wait = self.wait_time()
                if wait <= 0:
                    self._sent.append(self._clock())
                    return
                if max_wait is not None and wait > max_wait:
                    raise RateLimited(
                        "The request budget for this account is spent: "
                        f"next request possible in {format_wait(wait)}.",
                        retry_after=wait,
                    )
                await self._sleep(wait)
