"""Waits read in words and minutes wherever a person sees one: "Try again in 43 min",
never "Try again in 2577 s"."""

from __future__ import annotations

import pytest

from desktop_app.api.budget import RequestBudget, Window
from desktop_app.api.errors import RateLimited
from desktop_app.api.models import CallPlaced
from desktop_app.api.waits import format_wait
from desktop_app.services.clock import ManualClock
from desktop_app.services.dialer import DialGuard, DialKind
from desktop_app.services.tasks import TaskFailure

AGENT = "0b6f3c1e-2d4a-4e8f-9a1b-3c5d7e9f1a2b"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"),
        (0.2, "1 s"),
        (40, "40 s"),
        (59.5, "1 min"),
        (60, "1 min"),
        (61, "2 min"),
        (2577, "43 min"),
        (3599, "about 1 h"),
        (3600, "about 1 h"),
        (3900, "about 1 h 5 min"),
        (86_399, "about 24 h"),
    ],
)
def test_a_wait_reads_in_seconds_minutes_or_hours(seconds: float, text: str) -> None:
    assert format_wait(seconds) == text


def test_a_failed_task_says_minutes() -> None:
    failure = TaskFailure("users-refresh", OSError(), "The users could not be loaded.", 2577.0)
    assert failure.text == "The users could not be loaded. Retrying in 43 min."


async def test_a_spent_budget_says_minutes() -> None:
    clock = ManualClock(0.0)
    budget = RequestBudget((Window("hour", 1, 3600.0),), clock=clock, sleep=clock.sleep)
    await budget.acquire()
    clock.advance(1023)
    with pytest.raises(RateLimited) as caught:
        await budget.acquire(max_wait=60)
    assert "possible in 43 min." in caught.value.message


class SpentBudgetClient:
    """A click-to-call refused before it is sent: the account's budget is spent."""

    async def click_to_call(
        self, customer_number: str, customer_cc: str, support_user_id: str
    ) -> CallPlaced:
        raise RateLimited("The request budget for this account is spent.", retry_after=2577.0)


async def test_a_refused_call_says_when_to_try_again_in_minutes() -> None:
    clock = ManualClock(1_700_000_000.0)
    guard = DialGuard(SpentBudgetClient(), None, clock, sleep=clock.sleep)
    outcome = await guard.dial("+91 98123 45678", "91", AGENT)
    assert outcome.kind is DialKind.FAILED
    assert outcome.message.endswith("was not placed. Try again in 43 min.")
