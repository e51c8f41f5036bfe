"""The account's request budget over simulated days: one idle desktop, and teams of 1, 3
and 10 desktops on one account with an agent's ordinary use.

Each desktop is the app's own request budget, sync engine and client against the emulated
service (its real 20/min, 100/h, 500/day limit), in simulated time (see
tests/helpers/team_day.py): a day takes seconds and the figures do not depend on this
machine's speed. Prints, per run: requests at the service (per day and in the busiest
hour), 429s, the median time between a desktop's syncs in working hours, the hours until
the first ordinary request (a search, a recording, a users refresh) was turned away for
want of budget, and the click-to-calls refused or kept waiting over a second (target 0).

    .venv/bin/python bench/bench_budget.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.team_day import DAY_START, HOUR, Tally, Use, team_day

#: Per agent and working hour (09:00-19:00): click-to-calls, searches beyond the cache,
#: recordings played; and a users refresh every two hours.
ORDINARY = Use(calls=1.0, searches=0.5, plays=1.0, users_refresh_every_s=2 * HOUR)


def lasts(tally: Tally, hours: float) -> str:
    if tally.first_deferred_at is None:
        return f"all {hours:.0f} h"
    return f"{(tally.first_deferred_at - DAY_START) / HOUR:.1f} h"


def row(name: str, tally: Tally, hours: float, took: float) -> str:
    return (
        f"{name:<26} {tally.requests:>5}/day  busiest hour {max(tally.requests_per_hour):>3}"
        f"  429s {tally.refusals_429:>3}  sync every {tally.median_sync_gap_min():5.1f} min"
        f"  allowance lasts {lasts(tally, hours):>9}"
        f"  refused calls {tally.refused_calls}/{tally.calls}  ({took:.0f} s to simulate)"
    )


async def main() -> int:
    refused = 0
    started = time.perf_counter()
    idle = await team_day(1, Use.idle(), hours=24.0)
    took = time.perf_counter() - started
    per_hour = idle.requests / 24
    print(f"one idle desktop:          {per_hour:.1f} requests/hour "
          f"({idle.requests}/day; target: the day's 375 background requests not exceeded)")
    print(row("  (same run)", idle, 24.0, took))
    refused += idle.refused_calls
    for desktops in (1, 3, 10):
        started = time.perf_counter()
        tally = await team_day(desktops, ORDINARY, hours=24.0)
        refused += tally.refused_calls
        print(row(f"{desktops} desktop(s), ordinary use", tally, 24.0,
                  time.perf_counter() - started), flush=True)
    print(f"refused click-to-calls in all runs: {refused} (target 0)")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
