"""Shared pieces of the benchmarks (not a benchmark itself: `run_all` runs ``bench_*.py``).

- `Figure` / `report`: print one figure with its target, e.g.
  ``search keystroke → view (median): 12.3 ms (target ≤ 50 ms) OK``;
- `median`, `percentile`;
- `proc_status_mib`: VmRSS / VmHWM of this process from ``/proc/self/status``;
- `SandboxProcess`: the emulated service over loopback in a *separate* process, so its
  request handling does not share the measured process's GIL (a real account's service is
  remote; only the demo runs it in-process);
- `on_painted` / `paint_after`: a callback / future once a widget finished a paint;
- `run_in_app`: a coroutine run as `desktop_app.app.main` runs the app (binding check,
  theme, GUI-thread garbage collector, qasync loop); `open_workspace`: the app's own
  `Workspace.open` on a cache under a given home, request budget lifted;

Run as a script (``python bench/_support.py sandbox --logs N --latency MS``) it is that
separate service process: it prints its base URL and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
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

    @property
    def ok(self) -> bool:
        return self.value <= self.target

    def line(self) -> str:
        digits = 0 if self.unit == "MB" else (2 if self.unit == "s" else 1)
        target = f"{self.target:g}"
        text = (
            f"{self.name}: {self.value:.{digits}f} {self.unit} "
            f"(target ≤ {target} {self.unit}) {'OK' if self.ok else 'OVER'}"
        )
        return f"{text}   [{self.note}]" if self.note else text


def report(
    name: str, value: float, target: float, unit: str, note: str = ""
) -> Figure:
    figure = Figure(name, value, target, unit, note)
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
    **options: Any,
) -> Workspace:
    """A workspace as the app builds it (`Workspace.open`), on the cache
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
    return Workspace.open(
        client,
        store,
        Settings(settings),
        state=state,
        recordings_dir=paths.recordings_dir(),
        engine_options=engine_options,
        options=WorkspaceOptions(**options),
        theme=_theme,
    )


async def close_workspace(workspace: Workspace) -> None:
    await workspace.aclose()
    workspace.window.close_now()
    workspace.window.deleteLater()


# ----------------------------------------------------------------- sandbox in a process


class SandboxProcess:
    """``with SandboxProcess(logs=..., latency_ms=...) as base_url:`` the emulated service
    (rate limit lifted) in a child process on a free loopback port."""

    def __init__(self, *, logs: int, latency_ms: int = 0, days: int = 30, seed: int = 7) -> None:
        self._args = [
            "--logs", str(logs), "--latency", str(latency_ms), "--days", str(days),
            "--seed", str(seed),
        ]
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "sandbox", *self._args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self._stop()
            raise RuntimeError(f"the sandbox process did not start: {line!r}")
        return line

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the child serves until its stdin closes
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _serve(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=int, required=True)
    parser.add_argument("--latency", type=int, default=0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from desktop_app.sandbox import DEMO_TOKEN as SANDBOX_TOKEN
    from desktop_app.sandbox import SandboxConfig, SandboxServer

    if SANDBOX_TOKEN != DEMO_TOKEN:
        raise SystemExit("bench/_support.py: DEMO_TOKEN differs from the sandbox's")
    config = SandboxConfig(
        seed=args.seed, n_logs=args.logs, days=args.days, rate_limit=None,
        latency_ms=args.latency,
    )
    with SandboxServer(config) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or exits)


def main(argv: Sequence[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        return _serve(argv[1:])
    raise SystemExit("usage: _support.py sandbox --logs N [--latency MS] [--days D]")


if __name__ == "__main__":
    main()
