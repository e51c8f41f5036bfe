"""What the team relay carries: MyOperator's webhooks, checked and reduced to events.

A webhook is taken as MyOperator sends it (a JSON or form body, or query parameters when the
admin chose GET) and must name its call: one that does not is refused, because it could be
neither de-duplicated nor reconciled. After Call keeps the log record as sent, so a desktop
parses it with the same `parse_call_log` its own sync uses; In-Call is reduced to the few
fields a screen-pop needs. Each event carries a de-duplication key: MyOperator retries a
delivery three times and a reconciling poll may find the same call again.

Claims on callback-list rows (an agent saying "I'm on it" for a customer's number) are
events of the same stream, made by the relay itself: every desktop hears of them live and
on resuming, with nothing else to ask (`callback_claimed`, `callback_released`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from desktop_app.api.errors import MalformedResponse
from desktop_app.api.models import Agent, CallLog
from desktop_app.api.parsing import parse_agent, parse_call_log

#: Keys an After Call record may name its call by (``/search`` hits use ``_id``).
_CALL_ID_KEYS = ("_id", "uid", "unique_id", "id")
#: After Call fields that arrive JSON-encoded when MyOperator sends a form or a GET.
_NESTED_KEYS = ("log_details",)
_MAX_TEXT = 200
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def valid_event_id(text: str) -> bool:
    return bool(_STREAM_ID.match(text))


def event_id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair ('10-2' before '9-5' as text, not as ids)."""
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class WebhookRejected(ValueError):
    """A webhook the relay cannot use; the message says why, for the sender's log."""


class EventKind(StrEnum):
    CALL_ENDED = "call.ended"
    CALL_RINGING = "call.ringing"
    CALL_ANSWERED = "call.answered"
    CALLBACK_CLAIMED = "callback.claimed"
    CALLBACK_RELEASED = "callback.released"


#: The kinds that are about calls (the rest are the team's own claims).
CALL_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.CALL_ENDED, EventKind.CALL_RINGING, EventKind.CALL_ANSWERED}
)
CLAIM_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.CALLBACK_CLAIMED, EventKind.CALLBACK_RELEASED}
)


@dataclass(frozen=True, slots=True)
class CallbackClaim:
    """An agent on a customer's callback (`claimed`), or letting it go: `until_ms` (the
    relay's clock) is when an unreleased claim lapses by itself."""

    number: str
    agent: str
    at_ms: int
    until_ms: int
    claimed: bool = True


@dataclass(frozen=True, slots=True)
class LiveCall:
    """An In-Call webhook: a call ringing or just answered, and who it rings."""

    call_id: str
    caller: str
    answered: bool
    agents: tuple[Agent, ...] = ()
    ivr_id: str | None = None


@dataclass(frozen=True, slots=True)
class RelayEvent:
    """One event of the team's stream. `id` is the stream's id (empty before it is stored):
    a desktop resumes from the last one it holds."""

    kind: EventKind
    call_id: str
    dedup_key: str
    body: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def call_log(self) -> CallLog:
        """The ended call as the desktop's cache keeps it (After Call events only)."""
        if self.kind is not EventKind.CALL_ENDED:
            raise ValueError(f"a {self.kind} event carries no call log record")
        return parse_call_log(self.body)

    def live_call(self) -> LiveCall:
        """The ringing or answered call (In-Call events only)."""
        if self.kind is EventKind.CALL_ENDED:
            raise ValueError("a call.ended event carries a call log record, not a live call")
        if self.kind not in (EventKind.CALL_RINGING, EventKind.CALL_ANSWERED):
            raise ValueError(f"a {self.kind} event carries a callback claim, not a live call")
        agents = tuple(
            Agent(
                name=str(agent.get("name", "")),
                extension=agent.get("extension"),
                user_id=agent.get("user_id"),
            )
            for agent in self.body.get("agents", ())
            if isinstance(agent, dict)
        )
        return LiveCall(
            call_id=self.call_id,
            caller=str(self.body.get("caller", "")),
            answered=self.kind is EventKind.CALL_ANSWERED,
            agents=agents,
            ivr_id=self.body.get("ivr_id"),
        )

    def callback_claim(self) -> CallbackClaim:
        """The claim or release (claim events only)."""
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"a {self.kind} event carries no callback claim")
        return CallbackClaim(
            number=str(self.body.get("number", "")),
            agent=str(self.body.get("agent", "")),
            at_ms=int(self.body.get("at_ms", 0)),
            until_ms=int(self.body.get("until_ms", 0)),
            claimed=self.kind is EventKind.CALLBACK_CLAIMED,
        )

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind.value, "call_id": self.call_id, "body": self.body},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, event_id: str, text: str | bytes) -> RelayEvent:
        data = json.loads(text)
        return cls(
            kind=EventKind(data["kind"]),
            call_id=str(data["call_id"]),
            dedup_key="",
            body=dict(data.get("body") or {}),
            id=event_id,
        )


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text[:_MAX_TEXT] or None
    return None


def _unnested(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with JSON-encoded fields decoded (a form or a GET sends them as text)."""
    record = dict(payload)
    for key in _NESTED_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                record[key] = json.loads(value)
            except ValueError:
                raise WebhookRejected(f"'{key}' is not valid JSON") from None
    return record


def after_call_event(payload: Mapping[str, Any]) -> RelayEvent:
    """An After Call webhook as a ``call.ended`` event; refused if it names no call or has
    no usable start time or direction (the desktop's parser could not place it)."""
    record = _unnested(payload)
    call_id = next((t for t in (_text(record.get(k)) for k in _CALL_ID_KEYS) if t), None)
    if call_id is None:
        raise WebhookRejected("the After Call record names no call (_id or uid)")
    record["_id"] = call_id
    try:
        parse_call_log(record)
    except MalformedResponse as exc:
        raise WebhookRejected(str(exc)) from None
    return RelayEvent(
        kind=EventKind.CALL_ENDED,
        call_id=call_id,
        dedup_key=f"{call_id}:ended",
        body=record,
    )


def _agents(value: object) -> list[Agent]:
    """In-Call's `users`: a list of objects or names, possibly sent as a JSON string."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            try:
                value = json.loads(text)
            except ValueError:
                raise WebhookRejected("'users' is not valid JSON") from None
        else:
            value = [name for name in (part.strip() for part in text.split(",")) if name]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    agents: list[Agent] = []
    for item in value:
        if isinstance(item, dict):
            agent = parse_agent(item)
        elif (plain_name := _text(item)) is not None:
            agent = Agent(plain_name)
        else:
            continue
        if agent is not None:  # always, for an object
            agents.append(
                Agent(
                    name=_text(agent.name) or "",
                    extension=_text(agent.extension),
                    user_id=_text(agent.user_id),
                )
            )
    return agents


def in_call_event(payload: Mapping[str, Any]) -> RelayEvent:
    """An In-Call webhook as ``call.ringing`` or ``call.answered``.

    Its key holds the call, the state and whom it rings: a repeat is dropped, but a call
    that moves on to ring other agents is news for them."""
    call_id = _text(payload.get("uid"))
    if call_id is None:
        raise WebhookRejected("the In-Call event names no call (uid)")
    state = _text(payload.get("call_state"))
    if state not in ("0", "1"):
        raise WebhookRejected("the In-Call event's call_state is neither 0 nor 1")
    kind = EventKind.CALL_ANSWERED if state == "1" else EventKind.CALL_RINGING
    agents = _agents(payload.get("users"))
    whom = hashlib.sha1(
        json.dumps(sorted((a.user_id or "", a.name) for a in agents)).encode()
    ).hexdigest()[:12]
    return RelayEvent(
        kind=kind,
        call_id=call_id,
        dedup_key=f"{call_id}:{kind.value}:{whom}",
        body={
            "caller": _text(payload.get("clid")) or "",
            "agents": [
                {"name": a.name, "user_id": a.user_id, "extension": a.extension} for a in agents
            ],
            "ivr_id": _text(payload.get("public_ivr_id")),
        },
    )


def claim_event(claim: CallbackClaim) -> RelayEvent:
    """A claim or release as the team's stream carries it. The relay's claim scripts
    write this shape themselves (`RelayEngine.claim_callback`: in the same step as the
    claim); this is its reading for desktops' tests and fakes."""
    kind = EventKind.CALLBACK_CLAIMED if claim.claimed else EventKind.CALLBACK_RELEASED
    return RelayEvent(
        kind=kind,
        call_id="",
        dedup_key="",
        body={
            "number": claim.number,
            "agent": claim.agent,
            "at_ms": claim.at_ms,
            "until_ms": claim.until_ms,
        },
    )
