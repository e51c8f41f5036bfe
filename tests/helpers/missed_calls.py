"""Synthetic calls for the notifier and worklist tests: who rang, who answered, which way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from desktop_app.api.models import Agent, CallLeg, CallLog, Direction, LegStatus

ME = "uuid-me"
ASHA = "uuid-asha"
RAHUL = "uuid-rahul"
NAMES = {ME: "Me Myself", ASHA: "Asha Verma", RAHUL: "Rahul Rao"}
NUMBER = "+919837211131"
OTHER = "+919812345678"

IST = timezone(timedelta(hours=5, minutes=30))
#: Monday 11 March 2024, 14:00 in India.
T = int(datetime(2024, 3, 11, 14, 0, tzinfo=IST).timestamp())
HOUR = 3600
DAY = 86400


def call(
    call_id: str,
    start: int,
    *,
    number: str = NUMBER,
    incoming: bool = True,
    answered: bool = False,
    department: str = "Sales",
    rang: Sequence[str] = (ASHA,),
    answered_by: str | None = None,
) -> CallLog:
    """A call whose legs ring `rang` in turn; `answered_by` (one of them) takes it.

    An answered call without `answered_by` is taken by the last one rung.
    """
    taker = answered_by if answered_by is not None else (rang[-1] if answered and rang else None)
    legs = tuple(
        CallLeg(
            status=LegStatus.ANSWER if uuid == taker else LegStatus.NOANSWER,
            action="received" if uuid == taker else "missed",
            start_time=start + 5 * i,
            duration_s=30,
            received_by=(Agent(name=NAMES.get(uuid, uuid), extension=str(10 + i), user_id=uuid),),
        )
        for i, uuid in enumerate(rang)
    )
    return CallLog(
        id=call_id,
        start_time=start,
        end_time=start + 40,
        duration_s=40,
        direction=Direction.INCOMING if incoming else Direction.OUTGOING,
        answered=answered,
        caller_number=number,
        caller_number_raw=number.removeprefix("+91"),
        department=department,
        filename="rec.mp3" if answered else "",
        legs=legs,
        company_id="5d0a",
    )
