"""Call logs as the parser produces them, for the store, sync, feed and player tests."""

from __future__ import annotations

from desktop_app.api.models import Agent, CallLeg, CallLog, Direction, LegStatus


def make_log(
    call_id: str,
    start: int,
    *,
    number: str = "+919837211131",
    raw: str | None = None,
    direction: Direction = Direction.INCOMING,
    answered: bool = True,
    department: str = "Sales",
    agents: tuple[str, ...] = ("Asha Verma",),
    filename: str | None = "rec.mp3",
) -> CallLog:
    legs = tuple(
        CallLeg(
            status=LegStatus.ANSWER if answered and i == len(agents) - 1 else LegStatus.NOANSWER,
            action="received" if answered else "missed",
            start_time=start + i,
            duration_s=30 + i,
            received_by=(Agent(name=name, extension=str(10 + i), user_id=f"u-{i}"),),
        )
        for i, name in enumerate(agents)
    )
    return CallLog(
        id=call_id,
        start_time=start,
        end_time=start + 60,
        duration_s=60,
        direction=direction,
        answered=answered,
        caller_number=number,
        caller_number_raw=raw if raw is not None else number.removeprefix("+91"),
        department=department,
        filename=filename if answered else "",
        legs=legs,
        company_id="5d0a",
        user_id=None,
    )


def make_call(
    call_id: str = "call-1",
    *,
    filename: str | None = "rec-1.mp3",
    answered: bool = True,
    direction: Direction = Direction.INCOMING,
    legs: tuple[CallLeg, ...] | None = None,
) -> CallLog:
    """A call like the parser produces, with two legs by default."""
    if legs is None:
        legs = (
            CallLeg(
                status=LegStatus.NOANSWER,
                action="missed",
                start_time=1_716_543_200,
                duration_s=20,
                received_by=(Agent("Ravi Kumar", "14"),),
            ),
            CallLeg(
                status=LegStatus.ANSWER if answered else LegStatus.CANCEL,
                action="received" if answered else "missed",
                start_time=1_716_543_221,
                duration_s=95 if answered else 8,
                received_by=(Agent("Asha Rao", "12", "u-12"), Agent("Meera Iyer", None)),
            ),
        )
    return CallLog(
        id=call_id,
        start_time=1_716_543_200,
        end_time=1_716_543_330,
        duration_s=130,
        direction=direction,
        answered=answered,
        caller_number="+919837211131",
        caller_number_raw="9837211131",
        department="Sales",
        filename=filename if answered else "",
        legs=legs,
    )
