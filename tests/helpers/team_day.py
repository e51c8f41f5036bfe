"""A working day of a team on one account, in simulated time: the request budget, the sync
engine and the client as the app has them, against the emulated service in-process.

Time is a `VirtualTime`: every wait of every desktop (the budget's, the client's retries,
the sync loop's) goes through it, and it jumps to the next wake-up once nothing else can
run (no coroutine ready, no store write on a thread). A day takes seconds, and what it
measures does not depend on the machine's speed.

Each desktop has its own budget ledger (its own machine): it learns what colleagues spent
only as the service's 429s, as a real one would. An agent's use is random (seeded) at
`Use`'s rates during working hours.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import statistics
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import MyOperatorError
from desktop_app.sandbox import DEMO_TOKEN, SandboxApp, SandboxConfig, create_app
from desktop_app.services.sync import SyncEngine
from desktop_app.store import CallStore

HOUR = 3600.0
#: Midnight UTC, 2026-11-30: the day every run simulates.
DAY_START = 1_796_083_200.0
#: A click-to-call that waits longer than this for the budget counts as refused.
CALL_PATIENCE_S = 1.0


class VirtualTime:
    """A clock and a `sleep` for simulated time; `run_until` moves it."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        #: Bumped by every sleep and request: the driver waits until it stops moving.
        self.activity = 0
        self.threads = _CountingExecutor()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        self.activity += 1
        await future

    async def run_until(self, end: float, *, done: Callable[[], bool] = lambda: False) -> None:
        """Let everything run, waking sleepers in time order, until `end` (or `done`)."""
        while True:
            await self._settle()
            if done():
                return
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled
            if not self._sleepers or self._sleepers[0][0] > end:
                self.now = max(self.now, end)
                return
            when, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            future.set_result(None)

    async def _settle(self) -> None:
        quiet = 0
        while quiet < 20:
            before = self.activity
            await asyncio.sleep(0)
            busy = self.activity != before or self.threads.pending
            quiet = 0 if busy else quiet + 1


class _CountingExecutor(ThreadPoolExecutor):
    """The loop's executor, counting work not yet finished (store writes)."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.pending = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self.pending -= 1

        return super().submit(run)


class _CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: SandboxApp, time: VirtualTime) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._time = time

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._time.activity += 1
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self._time.activity += 1


@dataclass(frozen=True, slots=True)
class Use:
    """One agent's requests per working hour (Poisson), and the working day."""

    calls: float = 2.0
    searches: float = 1.0
    plays: float = 3.0
    users_refresh_every_s: float = HOUR
    day_starts_h: float = 9.0
    day_ends_h: float = 19.0

    @classmethod
    def idle(cls) -> Use:
        return cls(calls=0.0, searches=0.0, plays=0.0, users_refresh_every_s=0.0)


@dataclass
class Tally:
    """What one run saw, at the service and at the desktops."""

    calls: int = 0
    refused_calls: int = 0
    worst_call_wait_s: float = 0.0
    ordinary: int = 0
    deferred: int = 0
    first_deferred_at: float | None = None
    #: Seconds between the successful syncs of each desktop, working hours only.
    sync_gaps: list[float] = field(default_factory=list)
    requests_per_hour: list[int] = field(default_factory=list)
    refusals_429: int = 0
    call_outcomes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.requests_per_hour)

    def median_sync_gap_min(self) -> float:
        return statistics.median(self.sync_gaps) / 60 if self.sync_gaps else float("nan")


@dataclass
class _Desktop:
    number: int
    client: MyOperatorClient
    engine: SyncEngine
    store: CallStore
    rng: random.Random
    last_sync: float | None = None


async def team_day(
    desktops: int,
    use: Use,
    *,
    hours: float = 24.0,
    start_h: float = 0.0,
    interval_s: float = 180.0,
    seed: int = 1,
    live_calls_every: float = 60.0,
    final_call: bool = True,
) -> Tally:
    """Run `desktops` on one account for `hours` from `start_h` o'clock; see the module
    docstring.

    With `final_call`, one more click-to-call is made at the end, whatever came before:
    is the account still able to place a call?
    """
    start = DAY_START + start_h * HOUR
    time = VirtualTime(start)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(time.threads)
    app = create_app(SandboxConfig(
        n_logs=3000, now=start, clock=time, seed=seed, live_calls_every=live_calls_every,
    ))
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    with _stores(desktops) as stores:
        team = [
            _desktop(n, app, time, store, seed) for n, store in enumerate(stores)
        ]
        uuid = app.sandbox.users[0].uuid
        try:
            for desk in team:
                tasks.append(asyncio.ensure_future(
                    desk.engine.run(interval_s, pace=desk.client.budget.background_interval)
                ))
                desk.engine.add_listener(
                    lambda status, desk=desk: _note_sync(status.last_success, desk, use, tally)
                )
                tasks.append(asyncio.ensure_future(_agent(desk, use, time, app, uuid, tally)))
            end = start + hours * HOUR
            await time.run_until(end)
            if final_call:
                # Time goes on while it waits (if it must): a refusal, not a hang.
                final = asyncio.ensure_future(_place(team[0], time, uuid, tally))
                tasks.append(final)
                await time.run_until(end + HOUR, done=final.done)
                if not final.done():
                    tally.refused_calls += 1
                    tally.call_outcomes.append("still waiting an hour later")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for desk in team:
                await desk.client.aclose()
            time.threads.shutdown(wait=True)
    starts = [r.at for r in app.sandbox.requests if r.path != "/media" and r.status != 429]
    tally.refusals_429 = sum(1 for r in app.sandbox.requests if r.status == 429)
    tally.requests_per_hour = [
        sum(1 for at in starts if start + h * HOUR <= at < start + (h + 1) * HOUR)
        for h in range(math.ceil(hours))
    ]
    return tally


@contextmanager
def _stores(count: int) -> Iterator[list[CallStore]]:
    with tempfile.TemporaryDirectory(prefix="team-day-") as folder:
        stores = [CallStore.open(Path(folder) / f"desktop-{n}.db") for n in range(count)]
        try:
            yield stores
        finally:
            for store in stores:
                store.close()


def _desktop(n: int, app: SandboxApp, time: VirtualTime, store: CallStore, seed: int) -> _Desktop:
    rng = random.Random(seed * 1000 + n)
    client = MyOperatorClient(
        DEMO_TOKEN,
        base_url="http://sandbox",
        transport=_CountingTransport(app, time),
        budget=RequestBudget(clock=time, sleep=time.sleep),
        sleep=time.sleep,
        rng=random.Random(rng.random()),
    )
    engine = SyncEngine(client, store, clock=time, sleep=time.sleep, rng=random.Random(n))
    return _Desktop(n, client, engine, store, rng)


def _working(now: float, use: Use) -> bool:
    hour = (now - DAY_START) / HOUR % 24
    return use.day_starts_h <= hour < use.day_ends_h


def _note_sync(last_success: float | None, desk: _Desktop, use: Use, tally: Tally) -> None:
    if last_success is None or last_success == desk.last_sync:
        return
    if desk.last_sync is not None and _working(last_success, use):
        tally.sync_gaps.append(last_success - desk.last_sync)
    desk.last_sync = last_success


async def _agent(
    desk: _Desktop, use: Use, time: VirtualTime, app: SandboxApp, uuid: str, tally: Tally
) -> None:
    rates = {"call": use.calls, "search": use.searches, "play": use.plays}
    per_hour = sum(rates.values())
    next_users = time.now + use.users_refresh_every_s if use.users_refresh_every_s else None
    while True:
        wait = desk.rng.expovariate(per_hour / HOUR) if per_hour else HOUR
        if next_users is not None and time.now + wait >= next_users:
            await time.sleep(max(0.0, next_users - time.now))
            next_users += use.users_refresh_every_s
            if _working(time.now, use):  # the agent presses Refresh; nobody does at night
                await _ordinary(desk.client.all_users(), time, tally)
            continue
        await time.sleep(wait)
        if not per_hour or not _working(time.now, use):
            continue
        kind = desk.rng.choices(list(rates), weights=list(rates.values()))[0]
        if kind == "call":
            await _place(desk, time, uuid, tally)
        elif kind == "search":
            call = desk.rng.choice(app.sandbox.calls[:2000])
            await _ordinary(desk.engine.search_remote(call.caller_number_raw[-6:]), time, tally)
        else:
            recorded = [c for c in app.sandbox.calls[:500] if c.filename]
            if recorded:
                filename = desk.rng.choice(recorded).filename
                await _ordinary(desk.client.recording_link(filename), time, tally)


async def _ordinary(request: Any, time: VirtualTime, tally: Tally) -> None:
    tally.ordinary += 1
    try:
        await request
    except MyOperatorError:
        tally.deferred += 1
        if tally.first_deferred_at is None:
            tally.first_deferred_at = time.now


async def _place(desk: _Desktop, time: VirtualTime, uuid: str, tally: Tally) -> None:
    tally.calls += 1
    clicked = time.now
    number = f"98{desk.rng.randrange(10**8):08d}"
    try:
        await desk.client.click_to_call(number, "91", uuid)
    except MyOperatorError as exc:
        tally.refused_calls += 1
        tally.call_outcomes.append(f"refused: {exc.message}")
        return
    waited = time.now - clicked
    tally.worst_call_wait_s = max(tally.worst_call_wait_s, waited)
    if waited > CALL_PATIENCE_S:
        tally.refused_calls += 1
        tally.call_outcomes.append(f"waited {waited:.0f} s")
    else:
        tally.call_outcomes.append("placed")
