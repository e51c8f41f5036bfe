"""The Qt event loop while a 10,000-call sync runs against a service 150 ms away.

The emulated service runs in a separate process on loopback (``SandboxConfig(n_logs=10000,
latency_ms=150, rate_limit=None)``: every response is delayed 150 ms), as a real account's
service is remote; ``--in-process`` runs it on a thread of the app's process instead, as
the demo does (its request handling then competes for the app's GIL).

Each run is a fresh app process (the heap, and so the garbage collector's work, is the
app's own): the real workspace (`Workspace.open`: window, feed, docks, presenters) on an
empty cache, the client's request budget lifted (`RequestBudget.unlimited()`), the sync
engine's first window widened to 31 days so that the first sync fetches all 10,000 calls
(100 pages). The window is shown, the probe started, then `Workspace.start` (filters,
users, worklist, tray, sync loop) is called from the loop; the run ends when the first
sync reports "idle".

Probes (``--probe``):

- ``dispatch`` (default): the loop's own iterations, with nothing added to the loop. Qt's
  event dispatcher emits ``awake`` and then ``aboutToBlock`` at the start of each pass,
  sleeps until something is due, then delivers it; an application-wide event filter notes
  the first event delivered after ``aboutToBlock``. From there to the next ``awake`` is one
  iteration: everything one wake-up did before the loop could wait again, during which
  input could not be handled. Its maximum is the longest stall, its 99th percentile the
  "one frame" figure (both upper bounds: events handled back to back count as one).
- ``timer``: a repeating zero-interval QTimer, which Qt runs once per pass: the time
  between two callbacks is one pass. It keeps the loop from ever sleeping, so its passes
  are mostly empty and only its maximum means anything (a cross-check of the stall).

With each long iteration the GUI thread's CPU time over it is shown, and its context
switches (voluntary + involuntary): CPU time well under the wall time means the thread
was waiting, for a lock or the GIL (voluntary switches) or for a CPU (involuntary: other
threads and processes on the 2 cores).
Garbage collections over 5 ms (the app runs them on the GUI thread) are shown too.

    .venv/bin/python bench/bench_loop_stall.py [--runs 3] [--logs 10000] [--probe dispatch]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _support

MAX_STALL_TARGET_MS = 50.0
P99_TARGET_MS = 17.0
LATENCY_MS = 150
DAY_S = 86400
MARK = "BENCH_STALL "

#: (wall ms, GUI-thread CPU ms, start in s since the probe started, GUI-thread voluntary
#: and involuntary context switches): a voluntary one is a wait (a lock, the GIL), an
#: involuntary one the OS giving the CPU to someone else.
Sample = tuple[float, float, float, int, int]


def _thread_clock() -> tuple[float, float, int, int]:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return time.perf_counter(), time.thread_time(), usage.ru_nvcsw, usage.ru_nivcsw


def _sample(begin: tuple[float, float, int, int], origin: float) -> Sample:
    wall, cpu, vol, invol = begin
    end = _thread_clock()
    return (
        (end[0] - wall) * 1000, (end[1] - cpu) * 1000, wall - origin,
        end[2] - vol, end[3] - invol,
    )


class TimerProbe:
    """Passes of the Qt event loop, timed by a zero-interval QTimer (see the docstring).
    Keeps only the count and the passes over 5 ms: the loop makes millions."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self._timer = QTimer()
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._origin = 0.0
        self._last = _thread_clock()
        self.count = 0
        self.long: list[Sample] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        if now - self._last[0] > 0.005:
            self.long.append(_sample(self._last, self._origin))
        self._last = _thread_clock()
        self.count += 1

    def start(self) -> None:
        self._last = _thread_clock()
        self._origin = self._last[0]
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def samples(self) -> tuple[int, list[Sample]]:
        return self.count, self.long


class DispatchProbe:
    """The loop's own iterations, timed from the dispatcher's signals and the first event
    after each sleep (see the module docstring)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QAbstractEventDispatcher, QCoreApplication, QEvent, QObject

        dispatcher = QAbstractEventDispatcher.instance()
        app = QCoreApplication.instance()
        assert dispatcher is not None and app is not None
        self._dispatcher = dispatcher
        self._app = app
        self._origin = 0.0
        self._waiting = False
        self._first: tuple[float, float, int, int] | None = None
        self.spans: list[Sample] = []
        probe = self

        class FirstEvent(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if probe._waiting and probe._first is None:
                    probe._first = _thread_clock()
                return False

        self._filter = FirstEvent()

    def _on_awake(self) -> None:
        if self._first is not None:
            self.spans.append(_sample(self._first, self._origin))
        self._first = None
        self._waiting = False

    def _on_block(self) -> None:
        self._waiting = True
        self._first = None

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


class GcWatch:
    """Collections over 5 ms while installed: (ms, generation, seconds since start)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._origin = self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._began = now
        elif now - self._began > 0.005:
            self.pauses.append(
                ((now - self._began) * 1000, info["generation"], self._began - self._origin)
            )

    def __enter__(self) -> GcWatch:
        self._origin = time.perf_counter()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)


# -------------------------------------------------------------------------------- child


async def one_sync(base_url: str, n_logs: int, kind: str) -> dict[str, Any]:
    from desktop_app.services.sync import SyncStatus

    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        workspace = _support.open_workspace(
            base_url, Path(tmp), engine_options={"initial_window_s": 31 * DAY_S},
            sync_interval_s=3600.0,
        )
        try:
            shown = _support.paint_after(workspace.feed.panel.table.viewport())
            workspace.window.show()
            await shown
            loop = asyncio.get_running_loop()
            synced: asyncio.Future[SyncStatus] = loop.create_future()

            def on_status(status: SyncStatus) -> None:
                if status.state == "idle" and status.last_success and not synced.done():
                    synced.set_result(status)
                elif status.state in ("offline", "auth_failed") and not synced.done():
                    synced.set_exception(RuntimeError(f"sync failed: {status.message}"))

            workspace.sync.presenter.statusChanged.connect(on_status)
            probe = TimerProbe() if kind == "timer" else DispatchProbe()
            with GcWatch() as gc_watch:
                probe.start()
                started = time.perf_counter()
                loop.call_soon(workspace.start)
                async with asyncio.timeout(180):
                    await synced
                elapsed = time.perf_counter() - started
                probe.stop()
            stored = workspace.store.count()
        finally:
            await _support.close_workspace(workspace)
    count, samples = probe.samples()
    if stored < n_logs * 0.99:
        raise SystemExit(f"the sync stored {stored} of {n_logs} calls")
    return {
        "elapsed_s": elapsed, "stored": stored, "count": count, "samples": samples,
        "gc": sorted(gc_watch.pauses, reverse=True)[:3],
    }


def child(base_url: str, n_logs: int, kind: str) -> None:
    result = _support.run_in_app(lambda: one_sync(base_url, n_logs, kind))
    print(MARK + json.dumps(result), flush=True)


def one_run(base_url: str, n_logs: int, kind: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", base_url, "--logs", str(n_logs), "--probe", kind],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"the sync run failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK):])
    return result


@contextlib.contextmanager
def service(n_logs: int, in_process: bool) -> Iterator[str]:
    """The base URL of the emulated service; ``in-process:`` asks the child to start it."""
    if in_process:
        yield "in-process:"
        return
    with _support.SandboxProcess(logs=n_logs, latency_ms=LATENCY_MS) as base_url:
        yield base_url


async def in_process_sync(n_logs: int, kind: str) -> dict[str, Any]:
    from desktop_app.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(n_logs=n_logs, rate_limit=None, latency_ms=LATENCY_MS)
    server = await asyncio.to_thread(SandboxServer(config).start)
    try:
        return await one_sync(server.base_url, n_logs, kind)
    finally:
        await asyncio.to_thread(server.stop)


# ------------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--logs", type=int, default=10_000)
    parser.add_argument("--probe", choices=("dispatch", "timer"), default="dispatch")
    parser.add_argument("--in-process", action="store_true",
                        help="the emulated service on a thread of the app's process (demo)")
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "in-process:":
        result = _support.run_in_app(lambda: in_process_sync(args.logs, args.probe))
        print(MARK + json.dumps(result), flush=True)
        return
    if args.child:
        child(args.child, args.logs, args.probe)
        return

    with service(args.logs, args.in_process) as base_url:
        runs = [one_run(base_url, args.logs, args.probe) for _ in range(args.runs)]

    maxima: list[float] = []
    p99s: list[float] = []
    for i, r in enumerate(runs, 1):
        samples: list[Sample] = [
            (float(w), float(c), float(at), int(v), int(i)) for w, c, at, v, i in r["samples"]
        ]
        walls = sorted(s[0] for s in samples)
        maxima.append(walls[-1] if walls else 0.0)
        if args.probe == "dispatch":
            p99s.append(_support.percentile(walls, 99))
        worst = ", ".join(
            f"{wall:.0f} ms (CPU {cpu:.0f}, switches {vol}+{invol}) at {at:.1f} s"
            for wall, cpu, at, vol, invol in sorted(samples, reverse=True)[:3]
        )
        pauses = ", ".join(f"gen{g} {ms:.0f} ms at {at:.1f} s" for ms, g, at in r["gc"]) or "none"
        shown = (f"p99 {p99s[-1]:.1f} ms, median {_support.percentile(walls, 50):.2f} ms; "
                 if args.probe == "dispatch" else "")
        _support.info(
            f"run {i}",
            f"{r['stored']:,} calls in {r['elapsed_s']:.1f} s; {r['count']:,} "
            f"{'iterations' if args.probe == 'dispatch' else 'passes'}: {shown}"
            f"> 17 ms: {sum(w > P99_TARGET_MS for w in walls)}, "
            f"> 50 ms: {sum(w > MAX_STALL_TARGET_MS for w in walls)}; longest: {worst}; "
            f"GC pauses > 5 ms: {pauses}",
        )
    where = "in the app's process" if args.in_process else "in a separate process"
    note = (f"{args.runs} runs, {args.probe} probe, service {where}, "
            f"{LATENCY_MS} ms latency; load average {os.getloadavg()[0]:.1f}")
    _support.report(
        f"{args.logs:,}-call sync: longest event-loop stall (median of runs)",
        _support.median(maxima), MAX_STALL_TARGET_MS, "ms", note=note,
    )
    _support.report(
        f"{args.logs:,}-call sync: longest event-loop stall (worst run)",
        max(maxima), MAX_STALL_TARGET_MS, "ms",
    )
    if p99s:
        _support.report(
            f"{args.logs:,}-call sync: 99th percentile loop iteration (median of runs)",
            _support.median(p99s), P99_TARGET_MS, "ms",
        )


if __name__ == "__main__":
    main()
