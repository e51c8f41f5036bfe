"""The sandbox's own records of users and calls, and how the live service prints them.

Independent of `desktop_app.api.models` on purpose: the emulation must not share the
client's assumptions, or a wrong assumption would pass every test. The wire shapes are
produced here (`to_api`, `to_hit`), including the quirks a tolerant client must survive:
times sometimes as strings, leg durations as ``"HH:MM:SS"`` or plain seconds, extensions
as strings or numbers, and keys the client does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from desktop_app.sandbox.filters import (
    EVENT_INCOMING,
    EVENT_OUTGOING,
    PROPERTY_ARCHIVED,
    PROPERTY_NOTED,
    PROPERTY_STARRED,
    STATUS_CONNECTED,
    STATUS_MISSED,
    STATUS_VOICEMAIL,
    TAG_IDS,
    TYPE_CALL,
)

INCOMING = 1
OUTGOING = 2
ANSWERED = 1
MISSED = 2

_TYPE_BIT = 1 << TYPE_CALL
_INCOMING_BIT = 1 << EVENT_INCOMING
_OUTGOING_BIT = 1 << EVENT_OUTGOING
_CONNECTED_BIT = 1 << STATUS_CONNECTED
_MISSED_BIT = 1 << STATUS_MISSED
_VOICEMAIL_BIT = 1 << STATUS_VOICEMAIL
_NOTED_BIT = 1 << PROPERTY_NOTED
_ARCHIVED_BIT = 1 << PROPERTY_ARCHIVED
_STARRED_BIT = 1 << PROPERTY_STARRED

PANEL_URL = "https://panel.myoperator.co/logs/recording?file="


def hms(seconds: int) -> str:
    """``"HH:MM:SS"``, the service's duration format."""
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass(slots=True)
class SandboxUser:
    """A user of the account (an agent); mutable because ``PUT /user`` edits it."""

    user_id: str
    uuid: str
    name: str
    email: str
    country_code: str
    contact_number: str
    role: int
    extension: int | None = None
    alternate_cc: str = ""
    alternate_contact_number: str = ""
    is_enabled: bool = True
    panel_access: int = 1
    receive_calls: int = 1
    contact_type: str = "mobile"
    departments: tuple[str, ...] = ()
    extension_as_string: bool = False

    def to_api(self) -> dict[str, object]:
        extension: object = self.extension
        if self.extension is not None and self.extension_as_string:
            extension = str(self.extension)
        return {
            "user_id": self.user_id,
            "uuid": self.uuid,
            "name": self.name,
            "email": self.email,
            "country_code": self.country_code,
            "contact_number": self.contact_number,
            "alternate_number": self.alternate_contact_number,
            "alternate_contact_number": self.alternate_contact_number,
            "alternate_cc": self.alternate_cc,
            "extension": extension,
            "is_enabled": "1" if self.is_enabled else "0",
            "role": self.role,
            "panel_access": self.panel_access,
            "receive_calls": self.receive_calls,
            "contact_type": self.contact_type,
            # Unknown to the client on purpose.
            "departments": list(self.departments),
        }

    def ref(self) -> AgentRef:
        ext = "" if self.extension is None else str(self.extension)
        return AgentRef(self.name, ext, self.uuid)


class AgentRef(NamedTuple):
    """An agent as a log remembers them (a snapshot: renaming a user keeps old logs)."""

    name: str
    extension: str
    user_id: str


class Leg(NamedTuple):
    """One attempt to reach agents: ``_ds`` ANSWER / NOANSWER / CANCEL."""

    ds: str
    start_time: int
    duration_s: int
    agents: tuple[AgentRef, ...]


@dataclass(slots=True)
class SandboxCall:
    """One call log. `mask` and `search_text` are derived once, for cheap scans."""

    id: str
    start_time: int
    end_time: int
    event: int
    status: int
    caller_number_raw: str
    caller_cc: str
    department: str
    filename: str
    legs: tuple[Leg, ...]
    company_id: str
    source: int
    voicemail: bool = False
    tags: tuple[str, ...] = ()
    comment: str = ""
    comment_by: str = ""
    archived: bool = False
    starred: bool = False
    times_as_strings: bool = False
    leg_seconds: bool = False
    extra: dict[str, object] = field(default_factory=dict)
    mask: int = 0
    search_text: str = ""

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Recompute the filter bits and the search text after a change."""
        mask = _TYPE_BIT | (1 << self.source)
        mask |= _INCOMING_BIT if self.event == INCOMING else _OUTGOING_BIT
        if self.status == ANSWERED:
            mask |= _CONNECTED_BIT
        else:
            mask |= _MISSED_BIT
            if self.voicemail:
                mask |= _VOICEMAIL_BIT
        for tag in self.tags:
            if tag in TAG_IDS:
                mask |= 1 << TAG_IDS[tag]
        if self.comment:
            mask |= _NOTED_BIT
        if self.archived:
            mask |= _ARCHIVED_BIT
        if self.starred:
            mask |= _STARRED_BIT
        self.mask = mask
        raw = self.caller_number_raw
        parts = [raw, f"+{self.caller_cc}{raw}", self.department, self.id, self.comment]
        for leg in self.legs:
            for agent in leg.agents:
                parts.append(agent.name)
        self.search_text = " ".join(parts).lower()

    @property
    def caller_number(self) -> str:
        return f"+{self.caller_cc}{self.caller_number_raw}"

    @property
    def duration_s(self) -> int:
        return self.end_time - self.start_time

    @property
    def answered(self) -> bool:
        return self.status == ANSWERED

    @property
    def agent_user_id(self) -> str:
        """The agent who took the call, else the first one rung, else ""."""
        for leg in self.legs:
            if leg.ds == "ANSWER" and leg.agents:
                return leg.agents[0].user_id
        for leg in self.legs:
            if leg.agents:
                return leg.agents[0].user_id
        return ""

    def to_source(self) -> dict[str, object]:
        start: object = self.start_time
        end: object = self.end_time
        if self.times_as_strings:
            start, end = str(self.start_time), str(self.end_time)
        legs: list[dict[str, object]] = []
        for leg in self.legs:
            duration: object = leg.duration_s if self.leg_seconds else hms(leg.duration_s)
            legs.append(
                {
                    "_ds": leg.ds,
                    "action": "received" if leg.ds == "ANSWER" else "missed",
                    "duration": duration,
                    "start_time": leg.start_time,
                    "received_by": [
                        {"name": a.name, "extension": a.extension, "user_id": a.user_id}
                        for a in leg.agents
                    ],
                }
            )
        comments: list[dict[str, object]] = []
        if self.comment:
            comments.append({"text": self.comment, "by": self.comment_by, "time": self.end_time})
        return {
            "company_id": self.company_id,
            "caller_number_raw": self.caller_number_raw,
            "caller_number": self.caller_number,
            "start_time": start,
            "end_time": end,
            "duration": hms(self.duration_s),
            "event": self.event,
            "status": self.status,
            "filename": self.filename,
            "fileurl": PANEL_URL + self.filename if self.filename else "",
            "department_name": self.department,
            "log_details": legs,
            # Keys the client does not know and must ignore.
            "comments": comments,
            "tags": list(self.tags),
            "additional_parameters": dict(self.extra),
        }

    def to_hit(self) -> dict[str, object]:
        return {
            "_index": "logs",
            "_id": self.id,
            "_score": None,
            "user_id": self.agent_user_id,
            "_source": self.to_source(),
        }
