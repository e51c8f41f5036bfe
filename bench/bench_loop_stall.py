"""The Qt event loop while a 10,000-call sync runs against a service 150 ms away, beside the
same loop idle.

The emulated service runs in a separate process on loopback (``SandboxConfig(n_logs=10000,
latency_ms=150, rate_limit=None)``: every response is delayed 150 ms), as a real account's
service is remote. With ``--demo`` it runs as the demo runs it: each app process starts its
own with `desktop_app.sandbox.process.SandboxProcess` (before the probe starts).

Each run is a fresh app process (the heap, and so the garbage collector's work, is the
app's own): the real workspace (`Workspace.open`: window, feed, docks, presenters) on an
empty cache, the client's request budget lifted (`RequestBudget.unlimited()`), the sync
engine's first window widened to 31 days so that the first sync fetches all 10,000 calls
(100 pages). The window is shown and left to settle (``--settle``, 1 s after its first
paint: until then it paints its other widgets and collects, 30-75 ms iterations with
nothing started), the probe started, then `Workspace.start` (filters, users, worklist,
tray, sync loop) is called from the loop; the run ends when the first sync reports "idle".

After each run, its floor: another fresh app process, the same workspace shown, nothing
started, its loop probed as long as the sync took (`_support.idle_loop`). Each figure is
printed beside the same figure of the idle runs, so a busy machine, which slows both,
shows as a higher floor rather than as the app's fault.

Targets: a frame at 60 Hz (17 ms) for the longest stall of every run, so the figure
against it is the worst run's longest stall; the median of runs and the 99th percentile
are shown against it too.

Probes (``--probe``; `_support.DispatchProbe`, `_support.TimerProbe`):

- ``dispatch`` (default): the loop's own iterations, with nothing added to the loop: from
  the first event delivered after a wake-up to the loop's next wake-up, everything one
  wake-up did before the loop could wait again, during which input could not be handled.
  Its maximum is the longest stall, its 99th percentile the "one frame" figure (both upper
  bounds: events handled back to back count as one).
- ``timer``: a repeating zero-interval QTimer, which Qt runs once per pass: the time
  between two callbacks is one pass. It keeps the loop from ever sleeping, so its passes
  are mostly empty and only its maximum means anything (a cross-check of the stall).

With each long iteration the GUI thread's CPU time over it is shown, and its context
switches (voluntary + involuntary): CPU time well under the wall time means the thread
was waiting, for a lock or the GIL (voluntary switches) or for a CPU (involuntary: other
threads and processes on the 2 cores).
Garbage collections over 5 ms (the app runs them on the GUI thread) are shown too.

    .venv/bin/python bench/bench_loop_stall.py [--runs 3] [--logs 10000] [--probe dispatch]
                                               [--demo]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _support

if TYPE_CHECKING:
    from desktop_app.workspace import Workspace

TARGET_MS = 17.0  # a frame at 60 Hz: the longest stall of every run, and so its p99
LATENCY_MS = 150
DAY_S = 86400
MARK = "BENCH_STALL "
#: The idle run's client: nothing is started, so nothing is ever sent.
UNREACHABLE = "http://127.0.0.1:9"


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


async def measure(
    base_url: str, n_logs: int, kind: str, settle_s: float, idle_s: float | None
) -> dict[str, Any]:
    """The workspace shown on an empty cache and left `settle_s` after its first paint,
    then its first sync (`idle_s` None) or `idle_s` seconds of its loop with nothing
    started (the floor)."""
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        workspace = _support.open_workspace(
            base_url, Path(tmp), engine_options={"initial_window_s": 31 * DAY_S},
            sync_interval_s=3600.0,
        )
        try:
            shown = _support.paint_after(workspace.feed.panel.table.viewport())
            workspace.window.show()
            await shown
            # The measured span, not a synchronisation: what the window does after its
            # first paint (its other widgets' paints, a collection) is neither the sync's
            # nor an idle loop's.
            await asyncio.sleep(settle_s)
            with GcWatch() as gc_watch:
                started = time.perf_counter()
                if idle_s is None:
                    count, samples = await first_sync(workspace, kind)
                else:
                    count, samples = await _support.idle_loop(idle_s, kind)
                elapsed = time.perf_counter() - started
            stored = workspace.store.count()
        finally:
            await _support.close_workspace(workspace)
    if idle_s is None and stored < n_logs * 0.99:
        raise SystemExit(f"the sync stored {stored} of {n_logs} calls")
    return {
        "elapsed_s": elapsed, "stored": stored, "count": count, "samples": samples,
        "gc": sorted(gc_watch.pauses, reverse=True)[:3],
    }


async def first_sync(workspace: Workspace, kind: str) -> tuple[int, list[_support.Sample]]:
    """`Workspace.start` called from the loop, the loop probed until the first sync is idle."""
    from desktop_app.services.sync import SyncStatus

    loop = asyncio.get_running_loop()
    synced: asyncio.Future[SyncStatus] = loop.create_future()

    def on_status(status: SyncStatus) -> None:
        if status.state == "idle" and status.last_success and not synced.done():
            synced.set_result(status)
        elif status.state in ("offline", "auth_failed") and not synced.done():
            synced.set_exception(RuntimeError(f"sync failed: {status.message}"))

    workspace.sync.presenter.statusChanged.connect(on_status)
    probe = _support.make_probe(kind)
    probe.start()
    try:
        loop.call_soon(start_as_the_app_does, workspace)
        async with asyncio.timeout(180):
            await synced
    finally:
        probe.stop()
    return probe.samples()


def start_as_the_app_does(workspace: Workspace) -> None:
    """`AppController._open`: the workspace started, then everything built so far moved
    out of the collector's way (`gc.freeze`), so that later collections stay short."""
    workspace.start()
    gc.freeze()


async def demo_sync(n_logs: int, kind: str, settle_s: float) -> dict[str, Any]:
    """The sync against the emulated service as the demo runs it: a process the app's
    process starts (`desktop_app.sandbox.process.SandboxProcess`)."""
    from desktop_app.sandbox import SandboxConfig
    from desktop_app.sandbox.process import SandboxProcess

    config = SandboxConfig(n_logs=n_logs, rate_limit=None, latency_ms=LATENCY_MS)
    service = await asyncio.to_thread(SandboxProcess(config).start)
    try:
        return await measure(service.base_url, n_logs, kind, settle_s, None)
    finally:
        await asyncio.to_thread(service.stop)


def child(args: argparse.Namespace) -> None:
    if args.idle_child is not None:
        work = measure(UNREACHABLE, args.logs, args.probe, args.settle, args.idle_child)
    elif args.child == DEMO:
        work = demo_sync(args.logs, args.probe, args.settle)
    else:
        work = measure(args.child, args.logs, args.probe, args.settle, None)
    result = _support.run_in_app(lambda: work)
    print(MARK + json.dumps(result), flush=True)


def one_run(child_args: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """One fresh app process: a sync (``--child``) or an idle loop (``--idle-child``)."""
    common = ["--logs", str(args.logs), "--probe", args.probe, "--settle", str(args.settle)]
    proc = subprocess.run(
        [sys.executable, __file__, *child_args, *common],
        capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"the run {child_args} failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK):])
    return result


#: ``--child`` of a sync against the service as the demo runs it (the child starts it).
DEMO = "demo:"


@contextlib.contextmanager
def service(n_logs: int, demo: bool) -> Iterator[str]:
    """What the sync children are given: the base URL of the emulated service in a process
    of this benchmark's, or `DEMO` (each child starts its own, as the demo does)."""
    if demo:
        yield DEMO
        return
    with _support.sandbox_process(logs=n_logs, latency_ms=LATENCY_MS) as base_url:
        yield base_url


# ------------------------------------------------------------------------------- report


def walls_of(run: dict[str, Any]) -> list[float]:
    """A run's iterations (or long passes), wall ms, sorted."""
    return sorted(float(sample[0]) for sample in run["samples"])


def longest(run: dict[str, Any]) -> float:
    walls = walls_of(run)
    return walls[-1] if walls else 0.0


def describe(run: dict[str, Any], kind: str) -> str:
    """A run's counts, its longest iterations with their CPU time and context switches,
    and its longest garbage collections."""
    walls = walls_of(run)
    samples: list[_support.Sample] = [
        (float(w), float(c), float(at), int(v), int(i)) for w, c, at, v, i in run["samples"]
    ]
    worst = ", ".join(
        f"{wall:.0f} ms (CPU {cpu:.0f}, switches {vol}+{invol}) at {at:.1f} s"
        for wall, cpu, at, vol, invol in sorted(samples, reverse=True)[:3]
    ) or "none"
    pauses = ", ".join(f"gen{g} {ms:.0f} ms at {at:.1f} s" for ms, g, at in run["gc"]) or "none"
    shown = (f"p99 {_support.percentile(walls, 99):.1f} ms, "
             f"median {_support.percentile(walls, 50):.2f} ms; "
             if kind == "dispatch" else "")
    return (
        f"{run['count']:,} {'iterations' if kind == 'dispatch' else 'passes'}: {shown}"
        f"> {TARGET_MS:g} ms: {sum(w > TARGET_MS for w in walls)}; longest: {worst}; "
        f"GC pauses > 5 ms: {pauses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--logs", type=int, default=10_000)
    parser.add_argument("--probe", choices=("dispatch", "timer"), default="dispatch")
    parser.add_argument("--settle", type=float, default=1.0, metavar="SECONDS",
                        help="from the window's first paint to the probe's start "
                             "(0: probe its settling too, as before the floor was measured)")
    parser.add_argument("--demo", action="store_true",
                        help="the emulated service as the demo runs it (started by the app)")
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--idle-child", metavar="SECONDS", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.idle_child is not None:
        child(args)
        return

    runs: list[dict[str, Any]] = []
    idles: list[dict[str, Any]] = []
    with service(args.logs, args.demo) as where:
        for _ in range(args.runs):
            runs.append(one_run(["--child", where], args))
            # The floor beside it: as long, the same window, nothing started.
            idles.append(one_run(["--idle-child", f"{runs[-1]['elapsed_s']:.3f}"], args))

    for i, (run, idle) in enumerate(zip(runs, idles, strict=True), 1):
        _support.info(
            f"run {i}",
            f"{run['stored']:,} calls in {run['elapsed_s']:.1f} s; {describe(run, args.probe)}",
        )
        _support.info(f"run {i}, idle floor", describe(idle, args.probe))

    where = ("as the demo runs it (a process the app starts)" if args.demo
             else "in a process of the benchmark's")
    note = (f"{args.runs} runs, each beside an idle run as long, {args.probe} probe from "
            f"{args.settle:g} s after the first paint, service {where}; "
            f"load average {os.getloadavg()[0]:.1f}")
    name = f"{args.logs:,}-call sync at {LATENCY_MS} ms latency" + (" (demo)" if args.demo else "")
    maxima = [longest(r) for r in runs]
    idle_maxima = [longest(r) for r in idles]
    _support.report(
        f"{name}: longest event-loop stall (worst of {args.runs} runs)",
        max(maxima), TARGET_MS, "ms", note=note, floor=max(idle_maxima),
    )
    _support.report(
        f"{name}: longest event-loop stall (median of runs)",
        _support.median(maxima), TARGET_MS, "ms", floor=_support.median(idle_maxima),
    )
    if args.probe == "dispatch":
        _support.report(
            f"{name}: 99th percentile loop iteration (median of runs)",
            _support.median([_support.percentile(walls_of(r), 99) for r in runs]),
            TARGET_MS, "ms",
            floor=_support.median([_support.percentile(walls_of(r), 99) for r in idles]),
        )


if __name__ == "__main__":
    main()
