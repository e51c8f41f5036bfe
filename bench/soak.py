"""Soak test: the real app, off screen, for many minutes against a live emulated service.

A long session is where leaks show: an agent keeps the app open all day. This runs the app
for ``--minutes`` (fractions allowed) while the emulated service takes a new call every 2 s
and, every few minutes, answers with a 429 (with Retry-After) or a 5xx; meanwhile a driver
inside the app acts like a user: it types searches into the feed, selects calls, plays
their recordings and opens the dialer on a number ("Call back"). Once a minute it prints
the app's resident memory (RSS), open file descriptors, threads (Python's and the
kernel's) and live QObjects, then the growth after the warm-up.

The two processes:

- this one runs the emulated service (`SandboxServer`, rate limit lifted so the only 429s
  are the injected ones) on a loopback port, arms the faults on schedule, reads the app's
  samples and judges them. The service is kept out of the app's process so that its data
  and threads do not count as the app's;
- the app (this file again, with ``--child``) builds the workspace the way the app does
  (`_support.run_in_app` + `_support.open_workspace`: the app's own `Workspace.open`,
  real window off screen, sync loop at the demo's 30 s interval, SQLite cache and
  recording cache on disk, QtMultimedia playing the real sample recordings, the app's
  rotating log file), with a driver and a sampler on its qasync loop. The request budget
  is lifted, as in the other benchmarks; a 429's Retry-After still pauses it.

A crash is the app process dying (a signal or a non-zero exit) or an exception nobody
handled: one reaching `sys.excepthook` (exceptions in Qt slots and async slots land
there), `threading.excepthook`, or the asyncio loop's exception handler.

``--check`` (CI) exits 1 on a crash, on a leak trend or on a run that did not exercise
what it should (no fault fired of a kind, no playback). See `judge` for the tolerances and
why. The run has a hard deadline (duration + start-up and shut-down allowances): past it,
or with no sample for `STALL_S`, the app is killed and the run fails.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/soak.py --minutes 30
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/soak.py --minutes 3 --check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import _support

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QApplication

    from desktop_app.sandbox import SandboxServer
    from desktop_app.sandbox.faults import Fault
    from desktop_app.store.calls import CallRow
    from desktop_app.workspace import Workspace

MARK = "SOAK "
#: A new call on the emulated service this often (the issue's "live mode").
LIVE_CALL_EVERY_S = 2.0
#: How often the app samples itself; one line per minute is printed from these.
SAMPLE_EVERY_S = 10.0
#: Growth is measured from the end of the warm-up: caches, pools and lazily built widgets
#: fill up in the first minutes of a session.
WARMUP_S = 300.0
#: No sample for this long means the app's event loop is stuck: the run is killed.
STALL_S = 120.0
STARTUP_ALLOWANCE_S = 120.0
SHUTDOWN_ALLOWANCE_S = 60.0
#: Faults every this often (shorter runs: a quarter of the run, so each kind fires).
FAULT_EVERY_S = 120.0
FAULT_SPECS_429 = ("429:count=2,retry_after=5",)
FAULT_SPECS_5XX = ("503:count=2", "500:count=2", "502:count=2", "html502:count=1")

# Leak judgement (see `judge`): tolerances for --check.
FD_TOLERANCE = 4
THREAD_TOLERANCE = 3
RSS_SLOPE_LIMIT_MIB_PER_MIN = 4.0
RSS_GOAL_MIB = 10.0


# ------------------------------------------------------------------------------ samples


@dataclass(frozen=True)
class Sample:
    """One look at the app process, `t` seconds after the driver started."""

    t: float
    rss_mib: float
    fds: int
    threads_py: int
    threads_os: int
    qobjects: int
    crashes: int
    actions: int


def count_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def count_os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def count_qobjects(app: QApplication) -> int:
    """QObjects reachable from the application: its children and every top-level widget
    with its descendants (the window, its docks and everything they own)."""
    from PySide6.QtCore import QObject

    total = len(app.findChildren(QObject))
    for widget in app.topLevelWidgets():
        total += 1 + len(widget.findChildren(QObject))
    return total


# ----------------------------------------------------------------------------- judging


@dataclass
class Verdict:
    """The growth after the warm-up and what `--check` makes of it."""

    warmup_s: float
    span_min: float
    rss_growth_mib: float
    rss_slope_mib_per_min: float
    fd_growth: int
    thread_growth: int
    qobject_growth: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _floor(samples: Sequence[Sample], pick: Callable[[Sample], int]) -> int:
    return min(pick(s) for s in samples)


def _slope_per_min(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS over time, MiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [s.t / 60 for s in samples]
    ys = [s.rss_mib for s in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def warmup_for(duration_s: float) -> float:
    """Five minutes, or a third of a shorter run (a 3-minute run: the first minute)."""
    return min(WARMUP_S, duration_s / 3)


def judge(samples: Sequence[Sample], warmup_s: float) -> Verdict:
    """Growth from the end of the warm-up to the end of the run, and its leak problems.

    Descriptors and threads come and go with the work in flight (a download's socket and
    ``.part`` file, the media backend's threads while a recording plays, the loop's worker
    threads), so each is compared by its *floor*: the least value over the first minute
    after the warm-up against the least over the last minute. A leak raises the floor;
    traffic does not. RSS is compared by the slope of a least-squares line through every
    sample after the warm-up, which one allocator spike cannot tip.
    """
    after = [s for s in samples if s.t >= warmup_s - SAMPLE_EVERY_S / 2]
    if len(after) < 2:
        return Verdict(warmup_s, 0.0, 0.0, 0.0, 0, 0, 0, ["too few samples after the warm-up"])
    window = 60.0
    first = [s for s in after if s.t <= after[0].t + window] or after[:1]
    last = [s for s in after if s.t >= after[-1].t - window] or after[-1:]
    verdict = Verdict(
        warmup_s=warmup_s,
        span_min=(after[-1].t - after[0].t) / 60,
        rss_growth_mib=after[-1].rss_mib - after[0].rss_mib,
        rss_slope_mib_per_min=_slope_per_min(after),
        fd_growth=_floor(last, lambda s: s.fds) - _floor(first, lambda s: s.fds),
        thread_growth=_floor(last, lambda s: s.threads_os) - _floor(first, lambda s: s.threads_os),
        qobject_growth=after[-1].qobjects - after[0].qobjects,
    )
    if verdict.fd_growth > FD_TOLERANCE:
        verdict.problems.append(
            f"open file descriptors grew by {verdict.fd_growth} after the warm-up "
            f"(tolerance {FD_TOLERANCE})"
        )
    if verdict.thread_growth > THREAD_TOLERANCE:
        verdict.problems.append(
            f"threads grew by {verdict.thread_growth} after the warm-up "
            f"(tolerance {THREAD_TOLERANCE})"
        )
    if verdict.rss_slope_mib_per_min > RSS_SLOPE_LIMIT_MIB_PER_MIN:
        verdict.problems.append(
            f"memory grew {verdict.rss_slope_mib_per_min:.2f} MiB a minute after the warm-up "
            f"(limit {RSS_SLOPE_LIMIT_MIB_PER_MIN:g})"
        )
    return verdict


# ------------------------------------------------------------------- the app (--child)


def emit(kind: str, **data: Any) -> None:
    """One line for the soak process to read."""
    print(MARK + json.dumps({"type": kind, **data}), flush=True)


class CrashWatch:
    """Counts exceptions nobody handled, wherever they surface, and reports each one."""

    def __init__(self) -> None:
        self.count = 0

    def _report(self, where: str, text: str) -> None:
        self.count += 1
        emit("crash", where=where, text=text[-4000:])

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        previous_hook = sys.excepthook
        previous_thread_hook = threading.excepthook

        def excepthook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
            self._report("sys.excepthook", "".join(traceback.format_exception(kind, exc, tb)))
            previous_hook(kind, exc, tb)

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            text = "".join(
                traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
            )
            self._report(f"thread {args.thread.name if args.thread else '?'}", text)
            previous_thread_hook(args)

        def loop_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            exc = context.get("exception")
            text = str(context.get("message", ""))
            if isinstance(exc, BaseException):
                text += "\n" + "".join(traceback.format_exception(exc))
            self._report("asyncio", text)
            loop.default_exception_handler(context)

        sys.excepthook = excepthook
        threading.excepthook = thread_hook
        loop.set_exception_handler(loop_handler)


async def first_emission(
    signals: dict[str, tuple[SignalInstance, Callable[..., bool]]],
    within: float,
    then: Callable[[], object] | None = None,
) -> str | None:
    """The name of the first signal that fires with arguments its predicate accepts, or
    None after `within` s; `then` (a click) runs once the slots are connected.
    Disconnects everything it connected: the driver must not leak connections itself."""
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    connected: list[tuple[SignalInstance, Callable[..., None]]] = []

    def make(name: str, accept: Callable[..., bool]) -> Callable[..., None]:
        def slot(*args: Any) -> None:
            if not future.done() and accept(*args):
                future.set_result(name)

        return slot

    for name, (source, accept) in signals.items():
        slot = make(name, accept)
        source.connect(slot)
        connected.append((source, slot))
    try:
        if then is not None:
            then()
        async with asyncio.timeout(within):
            return await future
    except TimeoutError:
        return None
    finally:
        for source, slot in connected:
            source.disconnect(slot)


#: The count of driver steps that raised (their tracebacks go to the app's stderr).
DRIVER_ERROR = "driver step raised"


def _any(*_args: Any) -> bool:
    return True


class Driver:
    """Acts on the workspace's widgets as a person would, at a person's pace."""

    def __init__(
        self,
        workspace: Workspace,
        rng: random.Random,
        *,
        pace: float = 1.0,
        leak: str | None = None,
    ) -> None:
        self.ws = workspace
        self.rng = rng
        #: Scales every think time (a test runs the steps with none).
        self.pace = pace
        self.counts: dict[str, int] = {}
        self._leak = leak
        self._leaked: list[Any] = []

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def actions(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("action:"))

    async def pause(self, low: float, high: float) -> None:
        """Think time between steps (pacing, not synchronisation)."""
        await asyncio.sleep(self.rng.uniform(low, high) * self.pace)

    async def until(self, condition: Callable[[], bool], within: float) -> bool:
        """Whether `condition` came true within `within` s (for state no signal announces)."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def run(self, until: float) -> None:
        steps = (self.search, self.select, self.play, self.play, self.dialer)
        while time.monotonic() < until:
            step = self.rng.choice(steps)
            self._count(f"action:{step.__name__}")
            try:
                await step()
            except Exception:  # a step gone wrong must not end the soak: it is reported
                self._count(DRIVER_ERROR)
                traceback.print_exc()
            self._inject_leak()
            await self.pause(1.0, 3.0)

    def _inject_leak(self) -> None:
        """``--leak``: a deliberate leak per action, to show that --check catches one."""
        if self._leak == "fd":
            self._leaked.append(open(os.devnull, "rb"))  # noqa: SIM115 - leaked on purpose
        elif self._leak == "thread":
            stop = threading.Event()
            thread = threading.Thread(target=stop.wait, name="soak-leak", daemon=True)
            thread.start()
            self._leaked.append(stop)
        elif self._leak == "memory":
            self._leaked.append(bytearray(os.urandom(1024 * 1024)))

    # -------------------------------------------------------------- rows

    def _rows(self, *, recorded: bool = False, limit: int = 300) -> list[tuple[int, CallRow]]:
        model = self.ws.feed.model
        rows: list[tuple[int, CallRow]] = []
        for row in range(min(model.rowCount(), limit)):
            call = model.row_at(row)
            if call is not None and (call.has_recording or not recorded):
                rows.append((row, call))
        return rows

    async def _show(self, row: int, call_id: str) -> bool:
        """Make `row` current in the feed; True once the detail panel shows that call."""
        from PySide6.QtCore import QItemSelectionModel

        table = self.ws.feed.panel.table
        index = self.ws.feed.model.index(row, 0)
        table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        table.scrollTo(index)

        def shown() -> bool:
            call = self.ws.call_detail.panel.call
            return call is not None and call.id == call_id

        return await self.until(shown, 5.0)

    # -------------------------------------------------------------- actions

    async def search(self) -> None:
        """Type part of a number (sometimes something that matches nothing), look at the
        result, maybe select one, then clear the box."""
        from PySide6.QtTest import QTest

        rows = self._rows(limit=100)
        digits = ""
        if rows:
            digits = "".join(ch for ch in self.rng.choice(rows)[1].caller_e164 if ch.isdigit())
        if len(digits) >= 6 and self.rng.random() < 0.85:
            start = self.rng.randrange(len(digits) - 5, len(digits) - 3)
            text = digits[start:start + 4]
        else:
            text = self.rng.choice(("zzq", "sales", "99999"))
        box = self.ws.feed.panel.search
        box.setFocus()
        try:
            for ch in text:
                QTest.keyClicks(box, ch)
                await self.pause(0.08, 0.2)
            if not await self.until(lambda: self.ws.feed.model.query.text == text, 5.0):
                self._count("search not applied in 5 s")
                return
            await self.pause(0.5, 1.0)
            found = self._rows(limit=20)
            self._count("searches with results" if found else "searches without results")
            if found and self.rng.random() < 0.5:
                row, call = self.rng.choice(found)
                await self._show(row, call.id)
            await self.pause(0.5, 1.5)
        finally:
            self.ws.feed.panel.clear_search()

    async def select(self) -> None:
        rows = self._rows()
        if not rows:
            self._count("nothing to select")
            return
        row, call = self.rng.choice(rows)
        self._count("selected" if await self._show(row, call.id) else "selection not shown")

    async def play(self) -> None:
        """Select a call with a recording and press Play (Retry when it said "not ready"
        or failed); listen for a while, or to the end, or pause."""
        from PySide6.QtWidgets import QPushButton

        from desktop_app.ui.call_detail.presenter import RecordingState

        rows = self._rows(recorded=True)
        if not rows:
            self._count("no recording to play")
            return
        row, call = self.rng.choice(rows)
        if not await self._show(row, call.id):
            self._count("selection not shown")
            return
        player = self.ws.call_detail.panel.player
        controller = self.ws.call_detail.recordings
        state = controller.state
        if state in (RecordingState.NOT_READY, RecordingState.ERROR):
            button = self.ws.call_detail.panel.findChild(QPushButton, "playerRetry")
        elif state in (RecordingState.AVAILABLE, RecordingState.READY):
            button = self.ws.call_detail.panel.findChild(QPushButton, "playerPlayPause")
        else:
            self._count(f"play skipped ({state.value})")
            return
        if button is None or not button.isEnabled():
            self._count(f"play button disabled ({state.value})")
            return
        failed = (RecordingState.NOT_READY.value, RecordingState.ERROR.value)
        outcome = await first_emission(
            {
                "started": (player.playbackStarted, _any),
                "not ready or error": (controller.stateChanged, lambda s: s in failed),
                "media failed": (player.mediaFailed, _any),
            },
            within=20.0,
            then=button.click,
        )
        self._count(f"play: {outcome or 'no outcome in 20 s'}")
        if outcome != "started":
            return
        if self.rng.random() < 0.4:
            finished = await first_emission({"end": (player.playbackFinished, _any)}, 30.0)
            self._count("played to the end" if finished else "did not reach the end in 30 s")
        else:
            await self.pause(1.0, 3.0)
            play_pause = self.ws.call_detail.panel.findChild(QPushButton, "playerPlayPause")
            if play_pause is not None and play_pause.text() == "Pause":
                play_pause.click()
                self._count("paused")

    async def dialer(self) -> None:
        """"Call back" on the shown call (the dialer opens with the number, nothing is
        dialled), sometimes type another number into it, then back to the call detail."""
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QPushButton

        if self.ws.call_detail.panel.call is None:
            await self.select()
        back = self.ws.call_detail.panel.findChild(QPushButton, "callDetailCallBack")
        if back is None or not back.isEnabled() or self.ws.call_detail.panel.call is None:
            self._count("no number to call back")
            return
        back.click()
        window = self.ws.window
        shown = window.dialer_dock.isVisible() and self.ws.dialer.panel.number_text() != ""
        self._count("dialer opened" if shown else "dialer did not open")
        await self.pause(1.0, 2.0)
        if self.rng.random() < 0.5:
            edit = self.ws.dialer.panel.number_edit
            edit.clear()
            number = "98" + "".join(str(self.rng.randrange(10)) for _ in range(8))
            for ch in number:
                QTest.keyClicks(edit, ch)
                await self.pause(0.05, 0.15)
            self._count("typed a number")
            await self.pause(0.5, 1.0)
        window.show_dock(window.detail_dock)


class Sampler:
    """Samples the process every `SAMPLE_EVERY_S` and reports each sample."""

    def __init__(self, app: QApplication, crashes: CrashWatch, driver: Driver) -> None:
        self.app = app
        self.crashes = crashes
        self.driver = driver
        self.origin = time.monotonic()

    def sample(self) -> Sample:
        return Sample(
            t=time.monotonic() - self.origin,
            rss_mib=_support.proc_status_mib("VmRSS"),
            fds=count_fds(),
            threads_py=threading.active_count(),
            threads_os=count_os_threads(),
            qobjects=count_qobjects(self.app),
            crashes=self.crashes.count,
            actions=self.driver.actions,
        )

    async def run(self, until: float, parent_pid: int) -> None:
        while True:
            emit("sample", **asdict(self.sample()))
            if os.getppid() != parent_pid:  # the soak process is gone: so are we
                raise SystemExit("the soak process went away")
            remaining = until - time.monotonic()
            if remaining <= 0.5:  # that was the last one (timers may fire a little early)
                return
            await asyncio.sleep(min(SAMPLE_EVERY_S, remaining))


async def app_session(args: argparse.Namespace) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from desktop_app.app import DEMO_SYNC_INTERVAL_S
    from desktop_app.services.logs import configure_logging
    from desktop_app.services.sync import SyncStatus

    home = Path(args.home)
    paths = _support.app_paths_under(home)
    configure_logging(log_dir=paths.log_dir)
    loop = asyncio.get_running_loop()
    crashes = CrashWatch()
    crashes.install(loop)
    workspace = _support.open_workspace(args.child, home, sync_interval_s=DEMO_SYNC_INTERVAL_S)
    cached: dict[str, int] = {}
    try:
        synced: asyncio.Future[None] = loop.create_future()

        def on_status(status: SyncStatus) -> None:
            if status.state == "idle" and status.last_success and not synced.done():
                synced.set_result(None)

        workspace.sync.presenter.statusChanged.connect(on_status)
        workspace.start()
        gc.freeze()  # as the app does once its workspace is built
        async with asyncio.timeout(STARTUP_ALLOWANCE_S / 2):
            await synced
        workspace.sync.presenter.statusChanged.disconnect(on_status)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        driver = Driver(workspace, random.Random(args.seed), leak=args.leak)
        sampler = Sampler(app, crashes, driver)
        cached["at start"] = workspace.store.count()
        emit("ready", pid=os.getpid())
        until = sampler.origin + args.seconds
        drive = loop.create_task(driver.run(until), name="soak-driver")
        try:
            await sampler.run(until, args.parent_pid)
        finally:
            drive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drive
        cached["at the end"] = workspace.store.count()
    finally:
        await _support.close_workspace(workspace)
    return {"counts": driver.counts, "cached": cached, "crashes": crashes.count}


def child(args: argparse.Namespace) -> None:
    result = _support.run_in_app(lambda: app_session(args))
    emit("done", **result)


# ------------------------------------------------------------------- the soak process


@dataclass
class Run:
    """What the soak process saw of one app run."""

    samples: list[Sample] = field(default_factory=list)
    crash_texts: list[str] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0})
    armed: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0})
    done: dict[str, Any] | None = None
    live_calls: int = 0
    log_errors: int = 0
    log_tracebacks: int = 0
    exit_code: int | None = None
    failure: str | None = None


def fault_schedule(duration_s: float) -> list[tuple[float, str, str]]:
    """(second, kind, spec): alternately a 429 and a 5xx, every `FAULT_EVERY_S` (or a
    quarter of a shorter run, so that each kind fires at least once)."""
    every = min(FAULT_EVERY_S, duration_s / 4)
    schedule: list[tuple[float, str, str]] = []
    at, n = every, 0
    while at < duration_s - 10:
        if n % 2 == 0:
            schedule.append((at, "429", FAULT_SPECS_429[(n // 2) % len(FAULT_SPECS_429)]))
        else:
            schedule.append((at, "5xx", FAULT_SPECS_5XX[(n // 2) % len(FAULT_SPECS_5XX)]))
        at += every
        n += 1
    return schedule


def _count_fired(run: Run, armed: Sequence[tuple[str, Fault]]) -> None:
    """How many of the armed faults of each kind have fired (at least once)."""
    for kind in run.fired:
        run.fired[kind] = sum(1 for k, fault in armed if k == kind and fault.fired)


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the app we started (only that process)."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


HEADER = (
    f"{'min':>5} {'RSS MiB':>8} {'fds':>5} {'threads py/os':>14} {'QObjects':>9} "
    f"{'crashes':>8} {'actions':>8} {'faults 429/5xx':>15}"
)


def table_line(sample: Sample, run: Run) -> str:
    threads = f"{sample.threads_py}/{sample.threads_os}"
    faults = f"{run.fired['429']}/{run.fired['5xx']}"
    return (
        f"{sample.t / 60:>5.1f} {sample.rss_mib:>8.1f} {sample.fds:>5} {threads:>14} "
        f"{sample.qobjects:>9} {sample.crashes:>8} {sample.actions:>8} {faults:>15}"
    )


@contextlib.contextmanager
def service(seed: int) -> Iterator[SandboxServer]:
    from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer

    if DEMO_TOKEN != _support.DEMO_TOKEN:
        raise SystemExit("bench/_support.py: DEMO_TOKEN differs from the sandbox's")
    config = SandboxConfig(
        seed=seed, n_logs=3000, rate_limit=None, live_calls_every=LIVE_CALL_EVERY_S
    )
    with SandboxServer(config) as server:
        yield server


def soak(duration_s: float, seed: int, leak: str | None, out: IO[str]) -> Run:
    """Run the app for `duration_s` against the service; print a row a minute."""
    run = Run()
    schedule = fault_schedule(duration_s)
    armed: list[tuple[str, Fault]] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, service(seed) as server:
        home = Path(tmp) / "home"
        stderr_path = Path(tmp) / "app-stderr.txt"
        cmd = [
            sys.executable, __file__, "--child", server.base_url, "--home", str(home),
            "--seconds", str(duration_s), "--seed", str(seed), "--parent-pid", str(os.getpid()),
        ]
        if leak:
            cmd += ["--leak", leak]
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        with stderr_path.open("w") as stderr:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
                start_new_session=True,  # Ctrl+C reaches us; we end the app ourselves
            )
        try:
            assert proc.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(
                target=_read_lines, args=(proc.stdout, lines), name="soak-reader", daemon=True
            ).start()
            _follow(proc, lines, run, schedule, armed, server, duration_s, out)
        finally:
            _stop(proc)
            run.exit_code = proc.returncode
            _count_fired(run, armed)
            run.live_calls = len(server.state.calls) - server.config.n_logs
        log = home / "logs" / "myoperator-desktop.log"
        if log.is_file():
            text = log.read_text(errors="replace")
            run.log_errors = text.count(" ERROR ")
            run.log_tracebacks = text.count("Traceback (most recent call last)")
        if run.failure is None and run.exit_code is not None and run.exit_code < 0:
            run.failure = f"the app died of {signal.Signals(-run.exit_code).name}"
        elif run.failure is None and run.exit_code != 0:
            run.failure = f"the app exited with code {run.exit_code}"
        driver_errors = (run.done or {}).get("counts", {}).get(DRIVER_ERROR)
        if run.failure is not None or run.crash_texts or driver_errors:
            tail = stderr_path.read_text(errors="replace")[-3000:]
            log_tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            out.write(f"--- app stderr (tail) ---\n{tail}\n--- app log (tail) ---\n{log_tail}\n")
    return run


def _follow(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    run: Run,
    schedule: list[tuple[float, str, str]],
    armed: list[tuple[str, Fault]],
    server: SandboxServer,
    duration_s: float,
    out: IO[str],
) -> None:
    started = time.monotonic()
    hard_deadline = started + STARTUP_ALLOWANCE_S + duration_s + SHUTDOWN_ALLOWANCE_S
    ready_at: float | None = None
    last_line = started
    next_minute = 0.0
    printed: Sample | None = None
    pending = list(schedule)
    while True:
        now = time.monotonic()
        if now > hard_deadline:
            run.failure = "the run passed its hard deadline: the app was killed"
            return
        if ready_at is None and now - started > STARTUP_ALLOWANCE_S:
            run.failure = "the app did not finish its first sync in time"
            return
        if ready_at is not None and now - last_line > STALL_S:
            run.failure = f"no sample from the app for {STALL_S:.0f} s: it was killed"
            return
        while ready_at is not None and pending and now - ready_at >= pending[0][0]:
            _at, kind, spec = pending.pop(0)
            armed.append((kind, server.state.faults.add(spec)))
            run.armed[kind] += 1
        _count_fired(run, armed)
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:  # the app's stdout closed: it ended
            proc.wait(timeout=SHUTDOWN_ALLOWANCE_S)
            if run.done is None and run.failure is None:
                run.failure = f"the app ended early (exit code {proc.returncode})"
            return
        last_line = time.monotonic()
        if not line.startswith(MARK):
            continue
        message = json.loads(line[len(MARK):])
        kind = message.pop("type")
        if kind == "ready":
            ready_at = time.monotonic()
            out.write(HEADER + "\n")
        elif kind == "sample":
            sample = Sample(**message)
            run.samples.append(sample)
            if sample.t >= next_minute - SAMPLE_EVERY_S / 2:
                out.write(table_line(sample, run) + "\n")
                out.flush()
                next_minute = (round(sample.t / 60) + 1) * 60.0
                printed = sample
        elif kind == "crash":
            run.crash_texts.append(f"{message['where']}: {message['text']}")
            out.write(f"CRASH ({message['where']}):\n{message['text']}\n")
        elif kind == "done":
            run.done = message
            if run.samples and run.samples[-1] is not printed:  # a run of a fraction of a minute
                out.write(table_line(run.samples[-1], run) + "\n")


def report(run: Run, duration_s: float, out: IO[str]) -> Verdict:
    warmup = warmup_for(duration_s)
    verdict = judge(run.samples, warmup)
    crashes = len(run.crash_texts) + (1 if run.exit_code not in (0, None) else 0)
    counts = (run.done or {}).get("counts", {})
    cached = (run.done or {}).get("cached", {})
    out.write("\n")
    actions = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(counts.items())
                        if k.startswith("action:"))
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                         if not k.startswith("action:"))
    out.write(f"driver actions: {actions or 'none'}\n  outcomes: {outcomes or 'none'}\n")
    out.write(
        f"new calls on the service: {run.live_calls}; calls in the app's cache: "
        f"{cached.get('at start', '?')} at the start, {cached.get('at the end', '?')} at the end\n"
        f"faults fired: 429 {run.fired['429']} of {run.armed['429']} armed, "
        f"5xx {run.fired['5xx']} of {run.armed['5xx']}\n"
    )
    out.write(
        f"growth after the warm-up (the first {warmup / 60:.1f} min; "
        f"over the {verdict.span_min:.1f} min after it):\n"
    )
    out.write(
        f"  RSS {verdict.rss_growth_mib:+.1f} MiB (trend {verdict.rss_slope_mib_per_min:+.2f} "
        f"MiB/min; goal < {RSS_GOAL_MIB:g} MB over a 30-minute run)\n"
        f"  open fds {verdict.fd_growth:+d}, threads {verdict.thread_growth:+d} "
        f"(floors of the first and last minute; goal flat)\n"
        f"  live QObjects {verdict.qobject_growth:+d}\n"
        f"crashes: {crashes} (goal 0); the app's log: {run.log_errors} ERROR lines, "
        f"{run.log_tracebacks} tracebacks (faults are injected: errors are expected, "
        f"tracebacks are not); load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    if run.failure:
        verdict.problems.insert(0, run.failure)
    for text in run.crash_texts:
        verdict.problems.append(f"crash: {text.splitlines()[0] if text else '?'}")
    for kind in ("429", "5xx"):
        if run.fired[kind] == 0:
            verdict.problems.append(f"no {kind} fault fired: the run did not exercise them")
    if "play: started" not in counts:
        verdict.problems.append("no recording started playing")
    if counts.get(DRIVER_ERROR):
        verdict.problems.append(
            f"{counts[DRIVER_ERROR]} driver step(s) raised (tracebacks in the app's stderr)"
        )
    out.flush()
    return verdict


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="how long the app runs (fractions allowed, e.g. 0.5)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 on a crash or a leak trend (CI)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--leak", choices=("fd", "thread", "memory"), default=None,
                        help="leak on purpose at every driver action (to test --check)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write every sample and the verdict to this file")
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    duration = args.minutes * 60
    out = sys.stdout
    out.write(
        f"soak: {args.minutes:g} min, a new call every {LIVE_CALL_EVERY_S:g} s, faults every "
        f"{min(FAULT_EVERY_S, duration / 4):.0f} s, a sample every {SAMPLE_EVERY_S:g} s; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    out.flush()
    run = soak(duration, args.seed, args.leak, out)
    verdict = report(run, duration, out)
    if verdict.problems:
        out.write("problems:\n" + "".join(f"  - {p}\n" for p in verdict.problems))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "minutes": args.minutes, "samples": [asdict(s) for s in run.samples],
            "verdict": asdict(verdict), "fired": run.fired, "done": run.done,
        }, indent=1))
    if args.check:
        out.write("check: " + ("PASS\n" if verdict.ok else "FAIL\n"))
        return 0 if verdict.ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
