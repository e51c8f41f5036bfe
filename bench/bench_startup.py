"""Start to the first page of calls painted, in demo mode.

Each run starts a fresh Python process (``QT_QPA_PLATFORM=offscreen``, an empty temporary
``MYOPERATOR_DESKTOP_HOME``) that runs the real ``desktop_app.app.main(["--demo"])``, i.e.
what ``python -m desktop_app --demo`` runs. The clock starts in this (parent) process just
before the child is spawned, so the figure includes interpreter start-up and every import.
It stops once the feed table's viewport has finished a paint while the model holds rows:
the emulated service started, the empty demo cache opened, the window shown, the first
sync page fetched over loopback, stored, and painted. The child then asks the app to quit
through the window's own close request.

The child has its own single-instance runtime directory, so no other running app is
handed the launch. Bytecode is cached (``PYTHONPYCACHEPREFIX`` in a temporary directory,
written by a first warm-up launch that is shown apart), as it is for an installed app.

The child launches the demo's service process first, as ``python -m desktop_app`` does
(`desktop_app.__main__.run`). No app code is changed for this: the child replaces the
`Workspace` that `desktop_app.app` opens with a subclass that marks its construction and
first paint, and watches its public widgets with an event filter.

    .venv/bin/python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

TARGET_S = 0.5
MARK = "BENCH_STARTUP "
T0_ENV = "BENCH_STARTUP_T0"
CHILD_ARG = "--child"


def child() -> int:
    """The app, with marks: times are ``time.monotonic()`` (system-wide on Linux)."""
    marks: dict[str, float] = {"interpreter": time.monotonic()}
    # As `desktop_app.__main__.run` does: the demo's service launched before Qt is imported.
    from desktop_app.sandbox.process import launch_demo_early

    early = launch_demo_early(["--demo"])
    # The benchmark's helpers only now: `_support` imports asyncio, and the app launches
    # its service before importing anything of the kind (the floor's child is as careful).
    import _support
    from PySide6.QtCore import QTimer

    from desktop_app import app as app_module
    from desktop_app.workspace import Workspace

    marks["imported"] = time.monotonic()

    class Watched(Workspace):
        """The app's own workspace, with marks at its construction and first paint."""

        @classmethod
        def open(cls, *args: Any, **kwargs: Any) -> Workspace:
            marks["build_start"] = time.monotonic()
            workspace = super().open(*args, **kwargs)
            marks["built"] = time.monotonic()
            watch(workspace)
            return workspace

    def watch(workspace: Workspace) -> None:
        model = workspace.feed.model

        def on_rows(*_args: object) -> None:
            if model.rowCount() and "rows" not in marks:
                marks["rows"] = time.monotonic()

        model.rowsInserted.connect(on_rows)
        model.modelReset.connect(on_rows)

        def painted() -> None:
            marks["painted"] = time.monotonic()
            QTimer.singleShot(0, workspace.window.closeRequested.emit)  # quit, the app's way

        _support.on_painted(
            workspace.feed.panel.table.viewport(), painted, lambda: model.rowCount() > 0
        )

    app_module.Workspace = Watched  # type: ignore[misc]
    code = app_module.main(["--demo"], demo_service=early)
    marks["exited"] = time.monotonic()
    print(MARK + json.dumps(marks), flush=True)
    return code


def one_run(pycache: str) -> dict[str, float]:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="offscreen",
            MYOPERATOR_DESKTOP_HOME=home,
            # Its own single-instance lock: another app running must not take the launch.
            MYOPERATOR_DESKTOP_RUNTIME_DIR=os.path.join(home, "run"),
            # Bytecode cached as for any installed app, in a directory of this benchmark.
            PYTHONPYCACHEPREFIX=pycache,
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        started = time.monotonic()
        env[T0_ENV] = repr(started)
        proc = subprocess.run(
            [sys.executable, __file__, CHILD_ARG],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"the app run failed (exit code {proc.returncode})")
    marks: dict[str, float] = json.loads(lines[-1][len(MARK):])
    if "painted" not in marks:
        raise SystemExit("the feed was never painted with rows")
    return {name: value - started for name, value in marks.items()}


def main() -> None:
    import argparse
    import tempfile

    import _support

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-pycache-") as pycache:
        # The warm-up compiles the bytecode and warms the disk cache (Qt's plugins...).
        warm_up = one_run(pycache)
        runs = [one_run(pycache) for _ in range(args.runs)]
    # The floor beside it: a bare PySide6 window's start, as many fresh processes.
    bare = _support.bare_window_floor(args.runs)
    painted = [r["painted"] for r in runs]
    _support.report(
        "start → first page of calls painted (demo, median)",
        _support.median(painted), TARGET_S, "s", note=f"{args.runs} runs + 1 warm-up",
        floor=bare.start_s,
    )
    _support.info("runs", _support.ms_list(painted))
    _support.info("floor: a bare window's start to its first paint (runs)",
                  _support.ms_list([r.start_s for r in bare.runs]))
    _support.info("first launch (no bytecode cached yet: the warm-up)",
                  f"{warm_up['painted'] * 1000:.0f} ms")
    for name, label in (
        ("interpreter", "python up"),
        ("imported", "desktop_app.app + PySide6 imported"),
        ("build_start", "sandbox up, cache open: building the window"),
        ("built", "workspace built"),
        ("rows", "first sync page in the model"),
        ("painted", "painted"),
    ):
        _support.info(
            f"{label:44}", f"{_support.median([r[name] for r in runs]) * 1000:6.0f} ms (median)"
        )


if __name__ == "__main__":
    if sys.argv[1:] == [CHILD_ARG]:  # the app's run: nothing of the benchmark's first
        sys.exit(child())
    main()
