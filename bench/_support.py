"""Shared pieces of the benchmarks (not a benchmark itself: `run_all` runs ``bench_*.py``).

- `Figure` / `report`: print one figure with its target and, where one was measured in the
  same invocation, its floor, e.g.
  ``start → first page painted (demo, median): 0.48 s (target ≤ 0.5 s; floor 0.15 s, ×3.2) OK``:
  the floor is what the same machine needs for the least version of the same work, so the
  ratio still means something when a busy machine slows both;
- floors: `bare_window_floor` (a bare PySide6 window's start and a bare table's reset and
  repaint, in fresh processes), `idle_loop` (an idle app loop's iterations, timed by the
  same probes as a busy one: `DispatchProbe`, `TimerProbe`);
- `median`, `percentile`;
- `proc_status_mib`: VmRSS / VmHWM of this process from ``/proc/self/status``;
- `sandbox_process`: the emulated service over loopback in a *separate* process, so its
  request handling does not share the measured process's GIL (a real account's service is
  remote; the demo's is started by the app, see bench_loop_stall ``--demo``);
- `on_painted` / `paint_after`: a callback / future once a widget finished a paint;
- `run_in_app`: a coroutine run as `desktop_app.app.main` runs the app (binding check,
  theme, GUI-thread garbage collector, qasync loop); `open_workspace`: the app's own
  `Workspace.open` on a cache under a given home, request budget lifted;
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from desktop_app.services.paths import AppPaths
    from desktop_app.store import CallStore
    from desktop_app.workspace import Workspace

T = TypeVar("T")

#: The sandbox's `DEMO_TOKEN`, spelled out so that a benchmarked app process need not import
#: the sandbox (checked against it where the sandbox runs).
DEMO_TOKEN = "dec0de00dec0de00dec0de00dec0de00"


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """One measured figure against its target (lower is better)."""

    name: str
    value: float
    target: float
    unit: str
    note: str = ""
    #: The same work's least version measured in the same invocation (same unit), if any.
    floor: float | None = None

    @property
    def ok(self) -> bool:
        return self.value <= self.target

    def line(self) -> str:
        digits = 0 if self.unit == "MB" else (2 if self.unit == "s" else 1)
        bounds = f"target ≤ {self.target:g} {self.unit}"
        if self.floor is not None:
            bounds += f"; floor {self.floor:.{digits}f} {self.unit}"
            if self.floor > 0:
                bounds += f", ×{self.value / self.floor:.1f}"
        text = (
            f"{self.name}: {self.value:.{digits}f} {self.unit} "
            f"({bounds}) {'OK' if self.ok else 'OVER'}"
        )
        return f"{text}   [{self.note}]" if self.note else text


def report(
    name: str,
    value: float,
    target: float,
    unit: str,
    note: str = "",
    floor: float | None = None,
) -> Figure:
    figure = Figure(name, value, target, unit, note, floor)
    print(figure.line(), flush=True)
    return figure


def info(name: str, text: str) -> None:
    """A supporting number without a target."""
    print(f"  {name}: {text}", flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of already sorted values, nearest-rank."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def ms_list(values: Sequence[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values) + " ms"


# ------------------------------------------------------------------------------ memory


def proc_status_mib(field: str, pid: int | str = "self") -> float:
    """A ``/proc/<pid>/status`` size field (VmRSS, VmHWM, ...) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


# --------------------------------------------------------------------------- Qt helpers


def use_offscreen() -> None:
    """No display needed (and no window pops up); must run before QApplication exists."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def on_painted(
    widget: QWidget,
    callback: Callable[[], None],
    condition: Callable[[], bool] = lambda: True,
) -> None:
    """Call `callback` once, right after `widget` finished a paint that began while
    `condition()` held (checked when the Paint event arrives).

    It runs from a zero-delay timer started on the Paint event, so it comes after the
    paint itself (and after at most whatever else was already queued).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    class _Filter(QObject):
        fired = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.fired and condition():
                self.fired = True
                widget.removeEventFilter(self)
                QTimer.singleShot(0, callback)
                self.deleteLater()
            return False

    widget.installEventFilter(_Filter(widget))


def paint_after(
    widget: QWidget, condition: Callable[[], bool] = lambda: True
) -> asyncio.Future[float]:
    """A future resolved with ``time.perf_counter()`` once `widget` has been painted (see
    `on_painted`)."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not future.done():
            future.set_result(time.perf_counter())

    on_painted(widget, resolve, condition)
    return future


def run_in_app(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` the way `desktop_app.app.main` runs the app: the binding check,
    one QApplication with the app's theme, the GUI-thread garbage collector, and the
    coroutine on a qasync loop driven by Qt's event loop."""
    use_offscreen()
    import qasync
    from PySide6.QtWidgets import QApplication

    import desktop_app.app  # noqa: F401 - as in the app, everything is imported first
    from desktop_app.runtime.binding import GuiThreadGarbageCollector, binding_defect
    from desktop_app.ui.common.theme import ThemeManager, mode_from_env

    defect = binding_defect()
    if defect is not None:
        raise SystemExit(defect)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("MyOperator Desktop")
    # A workspace closed before the coroutine ends must not end the loop under it.
    app.setQuitOnLastWindowClosed(False)
    global _theme
    _theme = ThemeManager(app, mode_from_env())
    _theme.apply()
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            return runner.run(main())
    finally:
        collector.stop()


_theme: Any = None


def app_paths_under(home: Path) -> AppPaths:
    """The app's directories under `home` (as with ``MYOPERATOR_DESKTOP_HOME``), created."""
    from desktop_app.services.paths import HOME_ENV, app_paths

    return app_paths({HOME_ENV: str(home)}).ensure()


def open_workspace(
    base_url: str,
    home: Path,
    *,
    token: str | None = None,
    store: CallStore | None = None,
    engine_options: dict[str, Any] | None = None,
    whole: bool = True,
    **options: Any,
) -> Workspace:
    """A workspace as the app has it after its first paint (`Workspace.open`, then
    `Workspace.build_later`; without `whole`, as the app builds it before), on the cache
    and settings under `home`, with a client of `base_url` whose request budget is lifted.

    Not started: call ``workspace.start()`` (or parts of it). `token` defaults to the
    sandbox's demo token (the app process does not import the sandbox); `store` to the
    cache under `home`. `engine_options` build the sync engine with non-default settings
    (e.g. ``initial_window_s``); other keywords are `WorkspaceOptions` fields.
    """
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient
    from desktop_app.app import open_settings_files
    from desktop_app.services.settings import Settings
    from desktop_app.store import CallStore
    from desktop_app.workspace import Workspace, WorkspaceOptions

    paths = app_paths_under(home)
    client = MyOperatorClient(
        token or DEMO_TOKEN, base_url=base_url, budget=RequestBudget.unlimited()
    )
    if store is None:
        store = CallStore.open(paths.database_file())
    settings, state = open_settings_files(paths)
    workspace = Workspace.open(
        client,
        store,
        Settings(settings),
        state=state,
        recordings_dir=paths.recordings_dir(),
        engine_options=engine_options,
        options=WorkspaceOptions(**options),
        theme=_theme,
    )
    # Whole, as once the app has painted: the features it builds after its first paint
    # must not be built in the middle of what a benchmark measures.
    if whole:
        workspace.build_later()
    return workspace


async def close_workspace(workspace: Workspace) -> None:
    await workspace.aclose()
    workspace.window.close_now()
    workspace.window.deleteLater()


# ------------------------------------------------------------------------------- floors

#: The bare window's child script (see its docstring).
BARE_WINDOW = Path(__file__).with_name("_bare_window.py")
BARE_MARK = "BENCH_BARE "


@dataclass(frozen=True)
class BareWindowRun:
    """One bare window's process: its start (seconds from the parent's spawn to the first
    paint), its window alone (QApplication up to the first paint: built, shown, painted)
    and its table's model resets each to the repaint (seconds)."""

    start_s: float
    window_s: float
    resets_s: tuple[float, ...]


@dataclass(frozen=True)
class BareWindowFloor:
    """Medians over fresh processes of the bare window (see `bare_window_floor`)."""

    runs: tuple[BareWindowRun, ...]

    @property
    def start_s(self) -> float:
        """Start to first paint: the floor of the app's start."""
        return median([r.start_s for r in self.runs])

    @property
    def window_s(self) -> float:
        """A window built, shown and painted, imports and QApplication done."""
        return median([r.window_s for r in self.runs])

    @property
    def reset_ms(self) -> float:
        """A table's reset to its repaint, median of every reset of every run."""
        return median([t for r in self.runs for t in r.resets_s]) * 1000

    @property
    def slowest_reset_ms(self) -> float:
        """Each run's slowest reset to repaint, median of runs."""
        return median([max(r.resets_s) for r in self.runs]) * 1000


def bare_window_run(pycache: str) -> BareWindowRun:
    """One bare window process, with bytecode cached under `pycache` (as bench_startup's
    children): the clock starts here just before the spawn."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(BARE_WINDOW)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(BARE_MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"the bare window failed (exit code {proc.returncode})")
    result = json.loads(lines[-1][len(BARE_MARK):])
    marks: dict[str, float] = result["marks"]
    return BareWindowRun(
        start_s=marks["painted"] - started,
        window_s=marks["painted"] - marks["app"],
        resets_s=tuple(float(t) for t in result["resets"]),
    )


def bare_window_floor(runs: int) -> BareWindowFloor:
    """`runs` fresh bare-window processes after a warm-up that writes their bytecode."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-pycache-") as pycache:
        bare_window_run(pycache)
        return BareWindowFloor(tuple(bare_window_run(pycache) for _ in range(runs)))


#: One loop iteration or timer pass: (wall ms, GUI-thread CPU ms, start in s since the
#: probe started, GUI-thread voluntary and involuntary context switches): a voluntary one
#: is a wait (a lock, the GIL), an involuntary one the OS giving the CPU to someone else.
Sample = tuple[float, float, float, int, int]

#: A thread's clocks: (perf_counter, thread_time, voluntary, involuntary switches).
ThreadClock = tuple[float, float, int, int]


def thread_clock() -> ThreadClock:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return time.perf_counter(), time.thread_time(), usage.ru_nvcsw, usage.ru_nivcsw


def sample_since(begin: ThreadClock, origin: float) -> Sample:
    """The span from `begin` to now, `origin` being the probe's start."""
    wall, cpu, vol, invol = begin
    end = thread_clock()
    return (
        (end[0] - wall) * 1000, (end[1] - cpu) * 1000, wall - origin,
        end[2] - vol, end[3] - invol,
    )


class TimerProbe:
    """Passes of the Qt event loop, timed by a zero-interval QTimer, which Qt runs once per
    pass. It keeps the loop from ever sleeping, so its passes are mostly empty and only its
    maximum means anything. Keeps only the count and the passes over 5 ms: the loop makes
    millions."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._origin = 0.0
        self._last = thread_clock()
        self.count = 0
        self.long: list[Sample] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        if now - self._last[0] > 0.005:
            self.long.append(sample_since(self._last, self._origin))
        self._last = thread_clock()
        self.count += 1

    def start(self) -> None:
        self._last = thread_clock()
        self._origin = self._last[0]
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def samples(self) -> tuple[int, list[Sample]]:
        return self.count, self.long


class DispatchProbe:
    """The loop's own iterations, with nothing added to the loop. Qt's event dispatcher
    emits ``awake`` and then ``aboutToBlock`` at the start of each pass, sleeps until
    something is due, then delivers it; an application-wide event filter notes the first
    event delivered after ``aboutToBlock``. From there to the next ``awake`` is one
    iteration: everything one wake-up did before the loop could wait again, during which
    input could not be handled (an upper bound: events handled back to back count as one).

    The filter is installed as the loop is about to wait and removed at that first event:
    a Python filter has PySide wrap every event and object it sees, and so create, on
    first sight, the Python types of C++ objects the app never touches (the first
    selectable label's QTextDocument: 20-27 ms, the probe's own, in the measured turn).
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QAbstractEventDispatcher, QCoreApplication, QEvent, QObject

        dispatcher = QAbstractEventDispatcher.instance()
        app = QCoreApplication.instance()
        assert dispatcher is not None and app is not None
        self._dispatcher = dispatcher
        self._app = app
        self._origin = 0.0
        self._waiting = False
        self._first: ThreadClock | None = None
        self.spans: list[Sample] = []
        probe = self

        class FirstEvent(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if probe._waiting and probe._first is None:
                    probe._first = thread_clock()
                    probe._app.removeEventFilter(self)
                return False

        self._filter = FirstEvent()

    def _on_awake(self) -> None:
        if self._first is not None:
            self.spans.append(sample_since(self._first, self._origin))
        self._first = None
        self._waiting = False

    def _on_block(self) -> None:
        self._waiting = True
        self._first = None
        self._app.installEventFilter(self._filter)

    def start(self) -> None:
        self._origin = time.perf_counter()
        self.spans = []
        self._app.installEventFilter(self._filter)
        self._dispatcher.awake.connect(self._on_awake)
        self._dispatcher.aboutToBlock.connect(self._on_block)

    def stop(self) -> None:
        self._dispatcher.awake.disconnect(self._on_awake)
        self._dispatcher.aboutToBlock.disconnect(self._on_block)
        self._app.removeEventFilter(self._filter)

    def samples(self) -> tuple[int, list[Sample]]:
        return len(self.spans), list(self.spans)


def make_probe(kind: str) -> DispatchProbe | TimerProbe:
    """``dispatch`` or ``timer`` (see each)."""
    return TimerProbe() if kind == "timer" else DispatchProbe()


async def idle_loop(duration_s: float, kind: str = "dispatch") -> tuple[int, list[Sample]]:
    """The floor of a loop stall: the running app loop's iterations over `duration_s` with
    nothing started, timed by the probe a busy run uses. Show the window first (and wait
    for its paint): the measured loop must be the same kind as the busy one."""
    probe = make_probe(kind)
    probe.start()
    try:
        await asyncio.sleep(duration_s)  # the measured span itself, not a synchronisation
    finally:
        probe.stop()
    return probe.samples()


# ----------------------------------------------------------------- sandbox in a process


@contextlib.contextmanager
def sandbox_process(
    *, logs: int, latency_ms: int = 0, days: int = 30, seed: int = 7
) -> Iterator[str]:
    """``with sandbox_process(logs=..., latency_ms=...) as base_url:`` the emulated service
    (rate limit lifted) in a child process on a free loopback port: the app's own
    `SandboxProcess`, which the demo runs too."""
    from desktop_app.sandbox import DEMO_TOKEN as SANDBOX_TOKEN
    from desktop_app.sandbox import SandboxConfig
    from desktop_app.sandbox.process import SandboxProcess

    if SANDBOX_TOKEN != DEMO_TOKEN:
        raise SystemExit("bench/_support.py: DEMO_TOKEN differs from the sandbox's")
    config = SandboxConfig(
        seed=seed, n_logs=logs, days=days, rate_limit=None, latency_ms=latency_ms
    )
    with SandboxProcess(config) as service:
        yield service.base_url
