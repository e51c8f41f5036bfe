"""Injectable time: a clock is ``() -> float`` (UTC seconds), a sleep ``(s) -> awaitable``.

Services take both as parameters so tests drive time by hand instead of sleeping.
`ManualClock` is that hand: time moves only when `advance` is called, or, for code whose
waits a test only wants to count, by each `sleep` itself (``sleep_advances=True``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ManualClock:
    """A clock plus a matching `sleep` whose sleepers wake only when time is advanced.

    With ``sleep_advances`` a `sleep` moves the clock forward by what it asked for and
    returns at once: time passes exactly as the code under test waits, and no test has to
    advance it. Either way `slept` lists every wait asked for, in order.
    """

    def __init__(self, start: float = 0.0, *, sleep_advances: bool = False) -> None:
        self.now = float(start)
        self.sleep_advances = sleep_advances
        self.slept: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._started: asyncio.Queue[float] | None = None

    def __call__(self) -> float:
        return self.now

    def _queue(self) -> asyncio.Queue[float]:
        if self._started is None:
            self._started = asyncio.Queue()
        return self._started

    async def sleep(self, seconds: float) -> None:
        """Block until the clock has been advanced by `seconds` (or cancelled).

        With ``sleep_advances``, advance it by `seconds` here and return without blocking.
        """
        self.slept.append(seconds)
        self._queue().put_nowait(seconds)
        if self.sleep_advances:
            self.advance(max(0.0, seconds))
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.now + max(0.0, seconds), future)
        self._sleepers.append(entry)
        try:
            await future
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    async def next_sleep(self) -> float:
        """Wait until some coroutine calls `sleep`; return the seconds it asked for."""
        return await self._queue().get()

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        self.now += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self.now and not future.done():
                future.set_result(None)
