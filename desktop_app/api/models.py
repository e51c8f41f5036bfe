"""Typed, immutable values the client returns and accepts.

Numbers are E.164 where the service gives enough to know it; times are UTC unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Role(IntEnum):
    SUPER_ADMIN = 1
    ADMIN = 2
    MANAGER = 4
    BASIC = 8

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def may_add_users(self) -> bool:
        return self in (Role.SUPER_ADMIN, Role.ADMIN)

    @property
    def may_change_other_users(self) -> bool:
        """The same power as adding (the contract's only rule about managing users)."""
        return self.may_add_users


_ROLE_LABELS = {
    Role.SUPER_ADMIN: "SuperAdmin",
    Role.ADMIN: "Admin",
    Role.MANAGER: "Manager",
    Role.BASIC: "Basic",
}


class ContactType(StrEnum):
    MOBILE = "mobile"
    SIP = "sip"
    LANDLINE = "landline"


class LegStatus(StrEnum):
    """A leg's ``_ds``: what happened when the cloud rang an agent."""

    ANSWER = "ANSWER"
    NOANSWER = "NOANSWER"
    CANCEL = "CANCEL"
    UNKNOWN = "UNKNOWN"


class Toggle(Enum):
    """The API's 1 / 2 switches (panel_access, receive_calls)."""

    ON = 1
    OFF = 2


@dataclass(frozen=True, slots=True)
class Agent:
    """Someone a leg rang (``received_by[]``)."""

    name: str
    extension: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallLeg:
    """One attempt to reach agents within a call (an entry of ``log_details``)."""

    status: LegStatus
    action: str | None
    start_time: int | None
    duration_s: int | None
    received_by: tuple[Agent, ...] = ()

    @property
    def answered(self) -> bool:
        return self.status is LegStatus.ANSWER


@dataclass(frozen=True, slots=True)
class CallLog:
    """One call from ``/search``; `id` is the stable de-duplication key."""

    id: str
    start_time: int
    end_time: int | None
    duration_s: int
    direction: Direction
    answered: bool
    caller_number: str
    caller_number_raw: str
    department: str
    filename: str | None
    legs: tuple[CallLeg, ...] = ()
    company_id: str | None = None
    user_id: str | None = None

    @property
    def has_recording(self) -> bool:
        return self.answered and bool(self.filename)

    @property
    def agents(self) -> tuple[str, ...]:
        """Names of every agent any leg rang, first-seen order, without repeats."""
        seen: dict[str, None] = {}
        for leg in self.legs:
            for agent in leg.received_by:
                if agent.name:
                    seen.setdefault(agent.name, None)
        return tuple(seen)

    @property
    def talk_s(self) -> int:
        """Talk time: the answered legs' durations (the whole-call duration includes ringing)."""
        return sum(leg.duration_s or 0 for leg in self.legs if leg.answered)

    @property
    def missed_incoming(self) -> bool:
        return self.direction is Direction.INCOMING and not self.answered


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of ``/search``; `total` counts every match of the whole query.

    `skipped` counts hits the parser could not use: they still filled the page, so a page
    with skipped hits is not mistaken for the last one.
    """

    total: int
    logs: tuple[CallLog, ...]
    offset: int
    page_size: int
    skipped: int = 0

    @property
    def is_last(self) -> bool:
        received = len(self.logs) + self.skipped
        return received < self.page_size or self.offset + received >= self.total


@dataclass(frozen=True, slots=True)
class Filter:
    id: int
    name: str
    parent_id: int

    @property
    def is_header(self) -> bool:
        return self.parent_id == 0


@dataclass(frozen=True, slots=True)
class FilterGroup:
    """A ``parent_id = 0`` header with its selectable children."""

    id: int
    name: str
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class User:
    uuid: str
    name: str
    user_id: str | None = None
    email: str | None = None
    country_code: str | None = None
    contact_number: str | None = None
    number_e164: str | None = None
    alternate_cc: str | None = None
    alternate_contact_number: str | None = None
    extension: int | None = None
    role: Role | None = None
    is_enabled: bool | None = None
    panel_access: bool | None = None
    receives_calls: bool | None = None
    contact_type: ContactType | None = None


@dataclass(frozen=True, slots=True)
class UserPage:
    users: tuple[User, ...]
    page: int
    next_page: int | None


@dataclass(frozen=True, slots=True)
class NewUser:
    """Fields of ``POST /user``; validated by `validation.validate_new_user` before sending."""

    name: str
    contact_number: str
    country_code: str
    extension: int | None = None
    email: str | None = None
    alternate_contact_number: str | None = None
    alternate_cc: str | None = None
    panel_access: bool | None = None
    receive_calls: bool | None = None
    contact_type: ContactType | None = None


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """Fields of ``PUT /user``: only those not None are sent, with the uuid."""

    uuid: str
    name: str | None = None
    contact_number: str | None = None
    country_code: str | None = None
    extension: int | None = None
    email: str | None = None
    alternate_contact_number: str | None = None
    alternate_cc: str | None = None
    panel_access: bool | None = None
    receive_calls: bool | None = None
    contact_type: ContactType | None = None


@dataclass(frozen=True, slots=True)
class CallPlaced:
    """The service queued a click-to-call; `unique_id` when it says which call."""

    unique_id: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingLink:
    """A short-lived download URL; never stored, never handed to the media player."""

    url: str = field(repr=False)
