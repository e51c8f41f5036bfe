"""Simulated days of the request budget, sync engine and client against the emulated
service (see tests/helpers/team_day.py): the account's allowance is never spent to the
point of refusing a call."""

from __future__ import annotations

from desktop_app.app import DEMO_SYNC_INTERVAL_S
from tests.helpers.team_day import Use, team_day

#: Heavier than bench/bench_budget.py's day: an agent trying the demo out.
BUSY = Use(calls=6.0, searches=3.0, plays=6.0, users_refresh_every_s=1800.0)


async def test_two_hours_of_the_demo_with_busy_use_end_with_calls_placeable() -> None:
    day = await team_day(
        1, BUSY, hours=2.0, start_h=10.0, interval_s=DEMO_SYNC_INTERVAL_S,
        live_calls_every=20.0,
    )
    assert day.calls >= 6
    assert day.refused_calls == 0, day.call_outcomes
    assert day.call_outcomes[-1] == "placed"  # the one made at the end
    assert day.worst_call_wait_s == 0.0
    assert day.refusals_429 == 0  # alone on the account, its own count is the service's
    assert max(day.requests_per_hour) <= 100
    assert day.sync_gaps  # it kept syncing


async def test_three_desktops_on_one_account_keep_a_working_day_placeable() -> None:
    day = await team_day(3, Use(), hours=10.0, start_h=9.0)
    assert day.calls >= 20
    assert day.refused_calls == 0, day.call_outcomes
    assert day.call_outcomes[-1] == "placed"
    assert max(day.requests_per_hour) <= 100
