"""Run every benchmark under bench/ in turn; each prints its own figures.

A benchmark listed in `VARIANTS` runs once per argument list there: bench_loop_stall's
plain run measures the sync against a service elsewhere, ``--demo`` against the service
as the demo runs it (a row of its own in the README's table).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

#: The benchmarks run more than once, with each run's arguments (others run once, plain).
VARIANTS: dict[str, list[list[str]]] = {"bench_loop_stall.py": [[], ["--demo"]]}


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def main() -> int:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{datetime.date.today()} · {cpu_model()} · {os.cpu_count()} CPUs · "
          f"Python {platform.python_version()} · load average {load}", flush=True)
    started = time.monotonic()
    failed = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        for arguments in VARIANTS.get(script.name, [[]]):
            print(f"== {' '.join([script.name, *arguments])}", flush=True)
            failed += subprocess.call([sys.executable, str(script), *arguments]) != 0
    print(f"== all benchmarks: {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
