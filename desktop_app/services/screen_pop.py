"""The screen-pop: who is calling, before the agent picks up (no Qt).

When the team relay says a call is ringing for this agent (an In-Call webhook naming
them among the agents it rings, or any ringing call while "who am I" is not set), the
agent sees at once who calls, how often they called before and how many of those were
missed, how the last one went, and their own note about the caller, kept in the cache
and shown again the next time the number calls. Reading the cache and writing the note
run on a worker thread, over a connection the window does not read through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from desktop_app.api.models import CallLog, Direction, LegStatus
from desktop_app.api.parsing import e164
from desktop_app.relay.events import LiveCall
from desktop_app.services.formatting import (
    DEFAULT_HOME_REGION,
    format_duration,
    format_number,
    local_datetime,
)
from desktop_app.store.callers import CallerHistory, CallerRecords


@dataclass(frozen=True, slots=True)
class CallerCard:
    """What the screen-pop shows for one ringing call, every line ready to read."""

    call_id: str
    #: The caller in E.164 ("" when the number cannot be read: no history, no note).
    caller_e164: str
    caller: str
    #: "Ringing for you", or whom it rings.
    ringing: str
    #: "3 earlier calls, 1 missed", or "First call from this number".
    history: str
    #: "Last call 2 Dec 10:14: answered by Asha Rao (3:05)" ("" when there was none).
    last_outcome: str
    last_call_id: str | None
    note: str
    answered_by: str = ""

    @property
    def answered(self) -> bool:
        return bool(self.answered_by)


def rings_for_me(call: LiveCall, me: str | None) -> bool:
    """Whether `call` pops up here: it rings this agent (or "me" is not set: every
    ringing call does, rather than none)."""
    if call.answered:
        return False
    if not me:
        return True
    return any(agent.user_id == me for agent in call.agents)


def describe_history(history: CallerHistory) -> str:
    if history.calls == 0:
        return "First call from this number"
    calls = f"{history.calls} earlier call{'s' if history.calls != 1 else ''}"
    return f"{calls}, {history.missed} missed" if history.missed else calls


def describe_last(call: CallLog | None) -> str:
    if call is None:
        return ""
    when = local_datetime(call.start_time).strftime("%d %b %H:%M")
    if call.direction is Direction.OUTGOING:
        how = "called back" if call.answered else "called back, no answer"
    elif call.answered:
        who = next((
            agent.name for leg in call.legs if leg.status is LegStatus.ANSWER
            for agent in leg.received_by if agent.name
        ), "")
        talk = format_duration(call.duration_s)
        how = f"answered by {who} ({talk})" if who else f"answered ({talk})"
    else:
        how = "missed"
    return f"Last call {when}: {how}"


class ScreenPops:
    """Builds the caller cards and keeps the notes, over a cache connection of its own."""

    def __init__(
        self,
        records: CallerRecords,
        *,
        home_region: str = DEFAULT_HOME_REGION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._home_region = home_region
        self._clock = clock

    async def card_for(self, call: LiveCall, me: str | None) -> CallerCard:
        number = e164(call.caller) or ""
        history, note = await asyncio.to_thread(self._read, number)
        latest = history.latest[0] if history.latest else None
        return CallerCard(
            call_id=call.call_id,
            caller_e164=number,
            caller=format_number(number, self._home_region) if number else (
                call.caller or "Unknown number"
            ),
            ringing=_ringing(call, me),
            history=describe_history(history),
            last_outcome=describe_last(latest),
            last_call_id=None if latest is None else latest.id,
            note=note,
        )

    @staticmethod
    def answered(card: CallerCard, call: LiveCall) -> CallerCard:
        """The card once `call` (the same call, answered) says who picked up."""
        who = next((agent.name for agent in call.agents if agent.name), "someone")
        return replace(card, answered_by=who)

    async def save_note(self, caller_e164: str, text: str) -> None:
        if caller_e164:
            await asyncio.to_thread(
                self._records.set_note, caller_e164, text, int(self._clock())
            )

    def _read(self, number: str) -> tuple[CallerHistory, str]:
        if not number:
            return CallerHistory(0, 0, ()), ""
        # Before now: the call ringing is not in the log yet, but a redelivered one may be.
        history = self._records.history(number, before=int(self._clock()) - 1)
        return history, self._records.note(number)


def _ringing(call: LiveCall, me: str | None) -> str:
    if me and any(agent.user_id == me for agent in call.agents):
        others = [a.name for a in call.agents if a.user_id != me and a.name]
        return "Ringing for you" + (f" and {', '.join(others)}" if others else "")
    names = [agent.name for agent in call.agents if agent.name]
    return f"Ringing for {', '.join(names)}" if names else "Ringing"
