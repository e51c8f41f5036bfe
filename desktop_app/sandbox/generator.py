"""Deterministic, realistic account data: the team, and a month of calls.

Everything comes from ``random.Random`` instances seeded from the config's seed (never the
global generator), so one seed always gives the same users and the same calls, which is what
lets tests assert on the data and lets a demo look the same on every machine.

The history follows an Indian business day: busy 10:00-13:00 and 15:00-18:00 IST, quiet at
night, thin on Sundays. About 65% of calls come in; a fifth of those are missed (some of
them leave a voicemail; missed calls never carry a recording). Callers repeat within a day,
some legs ring an agent who does not answer before the next one does. Generation is a single
pass with a few RNG draws per call, so 100,000 logs take about a second.
"""

from __future__ import annotations

import bisect
import gc
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from desktop_app.sandbox.config import ROLE_ADMIN, ROLE_BASIC, ROLE_MANAGER, ROLE_SUPER_ADMIN
from desktop_app.sandbox.filters import SOURCE_IVR, SOURCE_MOBILE, TAG_IDS
from desktop_app.sandbox.model import (
    ANSWERED,
    INCOMING,
    MISSED,
    OUTGOING,
    Leg,
    SandboxCall,
    SandboxUser,
)

IST_OFFSET = 19800  # UTC+05:30
DEPARTMENTS = ("Sales", "Support", "Billing", "Onboarding", "Renewals")
_DEPARTMENT_CUM = (0.30, 0.65, 0.80, 0.92)  # Sales 30%, Support 35%, Billing 15%, ...
EMAIL_DOMAIN = "sandbox-traders.example"

_FIRST_NAMES = (
    "Aarav",
    "Priya",
    "Rohan",
    "Ananya",
    "Vikram",
    "Sneha",
    "Arjun",
    "Kavya",
    "Rahul",
    "Meera",
    "Siddharth",
    "Pooja",
    "Karan",
    "Divya",
    "Aditya",
    "Neha",
    "Manish",
    "Shreya",
    "Nikhil",
    "Ishita",
    "Harsh",
    "Lakshmi",
    "Imran",
    "Fatima",
    "Gurpreet",
    "Deepa",
)
_SURNAMES = (
    "Sharma",
    "Iyer",
    "Patel",
    "Reddy",
    "Nair",
    "Gupta",
    "Singh",
    "Mehta",
    "Joshi",
    "Rao",
    "Banerjee",
    "Khan",
    "Kulkarni",
    "Das",
    "Chopra",
    "Menon",
    "Verma",
    "Pillai",
    "Agarwal",
)
_COMMENTS = (
    "Asked about delivery date of order #{n}",
    "Wants a callback after 5 pm",
    "Requested refund for invoice {n}",
    "Interested in the annual plan",
    "Address change request, ticket {n}",
    "Payment failed twice, escalated",
    "Asked for GST invoice copy",
)
_TAG_NAMES = tuple(TAG_IDS)

# Relative call volume per IST hour of day, and per weekday (Monday first).
_HOUR_WEIGHTS = (
    0.04,
    0.03,
    0.02,
    0.02,
    0.02,
    0.03,
    0.06,
    0.2,
    0.5,
    1.3,
    3.0,
    3.2,
    2.9,
    1.8,
    1.7,
    2.6,
    2.8,
    2.5,
    1.4,
    0.8,
    0.5,
    0.3,
    0.15,
    0.08,
)
_DAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.2)
_BUCKET = 1800  # half hours, so IST's half-hour offset falls on bucket boundaries


@dataclass
class Team:
    """The generated account: its users and the context calls are generated in."""

    company_id: str
    users: list[SandboxUser]


def ist_weekday(t: float) -> int:
    """Monday 0 .. Sunday 6, in India (1970-01-01 was a Thursday)."""
    return (int(t + IST_OFFSET) // 86400 + 3) % 7


def ist_hour(t: float) -> int:
    return int(t + IST_OFFSET) // 3600 % 24


def generate_team(seed: int) -> Team:
    """12-15 users: one SuperAdmin, two Admins, a Manager, the rest Basic."""
    rng = random.Random(f"{seed}/team")
    company_id = f"{rng.getrandbits(48):012x}"
    count = _between(rng, 12, 15)
    names: list[tuple[str, str]] = []
    while len(names) < count:
        pair = (rng.choice(_FIRST_NAMES), rng.choice(_SURNAMES))
        if pair not in names and all(pair[0] != first for first, _ in names):
            names.append(pair)
    numbers: set[str] = set()
    user_ids: set[str] = set()
    users: list[SandboxUser] = []
    for index, (first, last) in enumerate(names):
        role = (
            ROLE_SUPER_ADMIN
            if index == 0
            else ROLE_ADMIN
            if index in (1, 2)
            else ROLE_MANAGER
            if index == 3
            else ROLE_BASIC
        )
        number = indian_mobile(rng)
        while number in numbers:
            number = indian_mobile(rng)
        numbers.add(number)
        user_id = str(rng.randrange(10000, 100000))
        while user_id in user_ids:
            user_id = str(rng.randrange(10000, 100000))
        user_ids.add(user_id)
        departments = [DEPARTMENTS[index % len(DEPARTMENTS)]]
        if rng.random() < 0.35:
            other = rng.choice(DEPARTMENTS)
            if other not in departments:
                departments.append(other)
        user = SandboxUser(
            user_id=user_id,
            uuid=uuid_from(rng),
            name=f"{first} {last}",
            email=f"{first}.{last}@{EMAIL_DOMAIN}".lower(),
            country_code="91",
            contact_number=number,
            role=role,
            extension=11 + index,
            departments=tuple(departments),
            extension_as_string=rng.random() < 0.4,
        )
        if rng.random() < 0.3:
            alternate = indian_mobile(rng)
            if alternate not in numbers:
                user.alternate_contact_number, user.alternate_cc = alternate, "91"
        if role == ROLE_BASIC and rng.random() < 0.25:
            user.panel_access = 2
        users.append(user)
    # A few states worth seeing in a demo: someone on do-not-disturb, a SIP seat, a
    # landline, and a former colleague whose account is disabled.
    users[-2].receive_calls = 2
    users[-3].contact_type = "sip"
    users[-4].contact_type = "landline"
    users[-4].contact_number = "11" + str(rng.randrange(20000000, 70000000))
    users[-1].is_enabled = False
    users[-1].receive_calls = 2
    return Team(company_id, users)


def uuid_from(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng` (so it is reproducible, unlike `uuid.uuid4`)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def indian_mobile(rng: random.Random) -> str:
    """Ten digits starting 9/8/7/6, as Indian mobile numbers do."""
    roll = rng.random()
    lead = "9" if roll < 0.45 else "8" if roll < 0.75 else "7" if roll < 0.9 else "6"
    return f"{lead}{int(rng.random() * 1_000_000_000):09d}"


def _between(rng: random.Random, low: int, high: int) -> int:
    """`randint` without its overhead (the history draws millions of these)."""
    return low + int(rng.random() * (high - low + 1))


def caller_number(rng: random.Random) -> tuple[str, str]:
    """A customer's (country code, national number): mostly Indian mobiles."""
    if rng.random() >= 0.03:
        return "91", indian_mobile(rng)
    kind = rng.randrange(4)
    if kind == 0:
        return "971", "5" + str(rng.randrange(10**8)).zfill(8)
    if kind == 1:
        return "44", "7" + str(rng.randrange(10**9)).zfill(9)
    if kind == 2:
        return "1", str(rng.randrange(201, 990)) + str(rng.randrange(2_000_000, 10**7))
    return "65", rng.choice("89") + str(rng.randrange(10**7)).zfill(7)


class CallFactory:
    """Makes single calls; shared by the history, live arrivals and click-to-call."""

    def __init__(self, team: Team) -> None:
        self.company_id = team.company_id
        self.refresh(team.users)

    def refresh(self, users: Sequence[SandboxUser]) -> None:
        """Re-read who takes calls (users are added and edited while the sandbox runs)."""
        active = [u for u in users if u.is_enabled]
        self.callers_out = active or list(users)
        receiving = [u for u in active if u.receive_calls == 1]
        self.by_department: dict[str, list[SandboxUser]] = {}
        for department in DEPARTMENTS:
            members = [u for u in receiving if department in u.departments]
            self.by_department[department] = members or receiving or self.callers_out

    def incoming(
        self, rng: random.Random, call_id: str, start: int, cc: str, number: str
    ) -> SandboxCall:
        department = DEPARTMENTS[bisect.bisect(_DEPARTMENT_CUM, rng.random())]
        agents = self.by_department[department]
        missed = rng.random() < 0.2
        legs: list[Leg] = []
        t = start + _between(rng, 4, 20)  # the IVR menu
        filename = ""
        voicemail = False
        if not missed:
            if len(agents) > 1 and rng.random() < 0.3:
                first, second = rng.sample(agents, 2)
                ring = _between(rng, 15, 30)
                legs.append(Leg("NOANSWER", t, ring, (first.ref(),)))
                t += ring
                answerer = second
            else:
                answerer = rng.choice(agents)
            ring = _between(rng, 3, 20)
            talk = _talk_time(rng)
            legs.append(Leg("ANSWER", t + ring, talk, (answerer.ref(),)))
            t += ring + talk
            filename = f"{rng.getrandbits(96):024x}.mp3"
        elif rng.random() >= 0.1:  # else: hung up in the IVR before any agent rang
            for index in range(rng.choice((1, 1, 2))):
                group = rng.sample(agents, min(len(agents), rng.choice((1, 1, 1, 2))))
                ring = _between(rng, 8, 30)
                last = index == 1 or rng.random() < 0.5
                ds = "CANCEL" if last and rng.random() < 0.4 else "NOANSWER"
                legs.append(Leg(ds, t, ring, tuple(u.ref() for u in group)))
                t += ring
            if rng.random() < 0.15:
                voicemail = True
                t += _between(rng, 15, 60)
        call = SandboxCall(
            id=call_id,
            start_time=start,
            end_time=t,
            event=INCOMING,
            status=MISSED if missed else ANSWERED,
            caller_number_raw=number,
            caller_cc=cc,
            department=department,
            filename=filename,
            legs=tuple(legs),
            company_id=self.company_id,
            source=SOURCE_IVR,
            voicemail=voicemail,
            extra={"ivr_input": str(DEPARTMENTS.index(department) + 1)},
            **_decorations(rng, department, legs),
        )
        return call

    def outgoing(
        self,
        rng: random.Random,
        call_id: str,
        start: int,
        cc: str,
        number: str,
        agent: SandboxUser | None = None,
        end: int | None = None,
        source: int | None = None,
    ) -> SandboxCall:
        """An agent calls out; with `end`, the call is fitted to end exactly then."""
        if agent is None:
            agent = rng.choice(self.callers_out)
        answered = rng.random() < (0.6 if end is not None else 0.75)
        agent_ring = _between(rng, 2, 6)
        customer_ring = _between(rng, 5, 25)
        talk = _talk_time(rng) if answered else 0
        if end is not None:
            span = max(end - start, 2)
            agent_ring = min(agent_ring, span // 2)
            customer_ring = span - agent_ring if not answered else max(1, (span - agent_ring) // 3)
            talk = span - agent_ring - customer_ring if answered else 0
        leg_start = start + agent_ring
        if answered:
            leg = Leg("ANSWER", leg_start + customer_ring, talk, (agent.ref(),))
        else:
            leg = Leg("NOANSWER", leg_start, customer_ring, (agent.ref(),))
        department = agent.departments[0] if agent.departments else ""
        if source is None:
            source = SOURCE_MOBILE if rng.random() < 0.5 else SOURCE_IVR
        return SandboxCall(
            id=call_id,
            start_time=start,
            end_time=start + agent_ring + customer_ring + talk,
            event=OUTGOING,
            status=ANSWERED if answered else MISSED,
            caller_number_raw=number,
            caller_cc=cc,
            department=department,
            filename=f"{rng.getrandbits(96):024x}.mp3" if answered else "",
            legs=(leg,),
            company_id=self.company_id,
            source=source,
            **_decorations(rng, department, [leg]),
        )


def _talk_time(rng: random.Random) -> int:
    return min(1800, 15 + int(rng.expovariate(1 / 150)))


class _Decorations(TypedDict, total=False):
    tags: tuple[str, ...]
    comment: str
    comment_by: str
    archived: bool
    starred: bool
    times_as_strings: bool
    leg_seconds: bool


def _decorations(rng: random.Random, department: str, legs: Sequence[Leg]) -> _Decorations:
    """Tags, a comment, archive/star marks and the wire-format quirks of one call."""
    out: _Decorations = {}
    roll = rng.random()
    if roll < 0.15:
        preferred = {"Sales": "Sales lead", "Support": "Complaint"}.get(department)
        tag = preferred if preferred and rng.random() < 0.5 else rng.choice(_TAG_NAMES)
        tags = [tag]
        if rng.random() < 0.2:
            other = rng.choice(_TAG_NAMES)
            if other != tag:
                tags.append(other)
        out["tags"] = tuple(tags)
    if rng.random() < 0.08:
        out["comment"] = rng.choice(_COMMENTS).format(n=rng.randrange(1000, 99999))
        agents = [a.name for leg in legs for a in leg.agents]
        out["comment_by"] = agents[-1] if agents else "Admin"
    out["archived"] = rng.random() < 0.03
    out["starred"] = rng.random() < 0.05
    out["times_as_strings"] = rng.random() < 0.1
    out["leg_seconds"] = rng.random() < 0.25
    return out


def call_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(80):020x}"


def generate_history(
    seed: int, factory: CallFactory, n_logs: int, days: int, now: float
) -> list[SandboxCall]:
    """`n_logs` calls over the `days` before `now`, oldest first, all ended by `now`."""
    if n_logs <= 0 or days <= 0:
        return []
    # The collector would rescan the ever-growing heap of new objects several times over;
    # nothing generated here forms a cycle, so pausing it halves the generation time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate_history(seed, factory, n_logs, days, now)
    finally:
        if was_enabled:
            gc.enable()


def _generate_history(
    seed: int, factory: CallFactory, n_logs: int, days: int, now: float
) -> list[SandboxCall]:
    rng = random.Random(f"{seed}/history")
    end = int(now)
    start = end - days * 86400
    first_bucket = start // _BUCKET
    buckets = range(first_bucket, end // _BUCKET + 1)
    cum: list[float] = []
    total = 0.0
    for bucket in buckets:
        t = bucket * _BUCKET
        total += _HOUR_WEIGHTS[ist_hour(t)] * _DAY_WEIGHTS[ist_weekday(t)]
        cum.append(total)
    picks = rng.choices(buckets, cum_weights=cum, k=n_logs)
    rand = rng.random
    times = sorted(min(end, max(start, b * _BUCKET + int(rand() * _BUCKET))) for b in picks)

    regulars = [caller_number(rng) for _ in range(max(50, n_logs // 40))]
    today_key = -1
    today: list[tuple[str, str]] = []
    calls: list[SandboxCall] = []
    for t in times:
        day = (t + IST_OFFSET) // 86400
        if day != today_key:
            today_key, today = day, []
        roll = rand()
        if today and roll < 0.12:
            cc, number = today[int(rand() * len(today))]
        elif roll < 0.35:
            cc, number = regulars[int(rand() * len(regulars))]
        else:
            cc, number = caller_number(rng)
        today.append((cc, number))
        cid = call_id(rng)
        if rand() < 0.65:
            call = factory.incoming(rng, cid, t, cc, number)
        else:
            call = factory.outgoing(rng, cid, t, cc, number)
        if call.end_time > end:  # a log exists only once its call has ended
            shift_call(call, end - call.end_time)
        calls.append(call)
    calls.sort(key=lambda c: c.start_time)
    return calls


def shift_call(call: SandboxCall, delta: int) -> None:
    """Move a call (and its legs) by `delta` seconds."""
    call.start_time += delta
    call.end_time += delta
    call.legs = tuple(leg._replace(start_time=leg.start_time + delta) for leg in call.legs)


def live_call(seed: int, index: int, factory: CallFactory, ends_at: int) -> SandboxCall:
    """The `index`-th live arrival: a call that ends (and so is logged) at `ends_at`."""
    rng = random.Random(f"{seed}/live/{index}")
    cc, number = caller_number(rng)
    cid = call_id(rng)
    if rng.random() < 0.65:
        call = factory.incoming(rng, cid, ends_at, cc, number)
    else:
        call = factory.outgoing(rng, cid, ends_at, cc, number)
    shift_call(call, ends_at - call.end_time)
    return call


def click_to_call(
    seed: int,
    index: int,
    factory: CallFactory,
    agent: SandboxUser,
    cc: str,
    number: str,
    placed_at: float,
) -> SandboxCall:
    """The outgoing log a click-to-call produces, ending 5-20 s after it was placed."""
    rng = random.Random(f"{seed}/click/{index}")
    cid = call_id(rng)
    start = int(placed_at) + _between(rng, 1, 3)
    end = int(placed_at + rng.uniform(5.0, 20.0))
    return factory.outgoing(rng, cid, start, cc, number, agent=agent, end=end, source=SOURCE_IVR)
