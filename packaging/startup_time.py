"""Start-up of the bundle against the source tree: launch → the demo workspace open.

Each run starts the program fresh (offscreen, an empty temporary home, its own
single-instance folder) with ``--demo`` and stops the clock when its log says
"workspace open (demo)": the emulated service started, the cache opened, the window built
and shown. The app is then asked to quit with SIGTERM, as a session logout would. One
warm-up run each (the disk cache, Python's bytecode), then the median of the runs.

The same program, measured the same way, on the same machine in the same minute: the
ratio holds where the absolute figures move with the machine's load.
``bench/bench_startup.py`` measures the first page painted from source in detail.

    .venv/bin/python packaging/startup_time.py dist/myoperator-desktop/myoperator-desktop
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPEN_MARK = "workspace open (demo)"
TIMEOUT_S = 60.0


def one_run(command: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="startup-") as home:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="offscreen",
            MYOPERATOR_DESKTOP_HOME=home,
            MYOPERATOR_DESKTOP_RUNTIME_DIR=os.path.join(home, "run"),
        )
        log = Path(home) / "logs" / "myoperator-desktop.log"
        started = time.monotonic()
        process = subprocess.Popen(
            [*command, "--demo"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while OPEN_MARK not in _text(log):
                if process.poll() is not None:
                    raise SystemExit(f"startup: {command[0]} exited {process.returncode}")
                if time.monotonic() - started > TIMEOUT_S:
                    raise SystemExit(f"startup: {command[0]} did not open in {TIMEOUT_S:.0f} s")
                time.sleep(0.005)  # a measurement's polling, not a test's synchronisation
            elapsed = time.monotonic() - started
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if code != 0:
            raise SystemExit(f"startup: {command[0]} quit with exit code {code} after SIGTERM")
        return elapsed


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def measure(command: list[str], runs: int) -> float:
    one_run(command)  # warm-up
    return statistics.median(one_run(command) for _ in range(runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle_program", help="the bundle's myoperator-desktop")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    bundle = measure([args.bundle_program], args.runs)
    source = measure([sys.executable, "-m", "desktop_app"], args.runs)
    print(
        f"startup: launch → demo workspace open, median of {args.runs}: "
        f"bundle {bundle:.2f} s, source {source:.2f} s ({bundle / source:.2f}×)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
