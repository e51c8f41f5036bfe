"""Everything one emulated account knows: users, calls, limits, faults, what it was sent.

Live calls are materialised lazily: every request first calls `SandboxState.advance`, which
adds the calls whose time has come on the injected clock. Nothing runs in the background,
so the sandbox behaves the same under ``httpx.ASGITransport`` (no lifespan, no tasks) as
under uvicorn, and a test moves time by moving its clock instead of sleeping.

The calls are kept sorted by start time with a parallel list of start times, so ``from`` /
``to`` are two bisections and a page is a slice; a ``search_key`` or ``filters`` query scans
precomputed lowercase text and filter bit masks once and caches the matches until the data
changes, so paging through a filtered result costs one scan, not one per page.
"""

from __future__ import annotations

import bisect
import heapq
import random
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_app.sandbox import generator
from desktop_app.sandbox.config import SandboxConfig
from desktop_app.sandbox.errors import ApiError
from desktop_app.sandbox.faults import FaultInjector
from desktop_app.sandbox.filters import FILTERS, SOURCE_IVR, FilterDef
from desktop_app.sandbox.media import RecordingLibrary
from desktop_app.sandbox.model import (
    ANSWERED,
    INCOMING,
    MISSED,
    OUTGOING,
    Leg,
    SandboxCall,
    SandboxUser,
)
from desktop_app.sandbox.ratelimit import RateLimiter
from desktop_app.sandbox.users import validate_new_user, validate_update

if TYPE_CHECKING:
    from desktop_app.sandbox.webhooks import WebhookEmitter

#: Live arrivals materialised by one `advance` at most (a clock jumped far ahead).
MAX_LIVE_BACKLOG = 10_000
_CACHE_SIZE = 32
_DIRECT_SCAN = 4096  # a from/to window smaller than this is scanned without the cache


@dataclass
class RecordedRequest:
    """One request as the server saw it; `params` never contain the token.

    `processed` tells whether a handler ran (a fault with ``after=1`` processes the request
    and still fails it); `status` is what the client was sent (None: no response at all);
    `fault` names the fault kind applied, if any.
    """

    method: str
    path: str
    params: dict[str, str]
    at: float
    has_token: bool = False
    processed: bool = False
    status: int | None = None
    fault: str | None = None


@dataclass(frozen=True)
class PlacedCall:
    """A click-to-call the server accepted (and so would have dialled)."""

    unique_id: str
    agent_uuid: str
    customer_cc: str
    customer_number: str
    placed_at: float


@dataclass
class _Matches:
    version: int
    calls: list[SandboxCall]
    starts: list[int] = field(default_factory=list)


class CallIndex:
    """Calls sorted by start time (oldest first), with by-id and by-file lookups."""

    def __init__(self) -> None:
        self._calls: list[SandboxCall] = []
        self._starts: list[int] = []
        self.by_id: dict[str, SandboxCall] = {}
        self.by_file: dict[str, SandboxCall] = {}
        self.version = 0
        self._cache: OrderedDict[tuple[str, tuple[int, ...] | None], _Matches] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    @property
    def oldest_first(self) -> list[SandboxCall]:
        return self._calls

    def load(self, calls: Sequence[SandboxCall]) -> None:
        for call in calls:
            self._register(call)
        self._calls = sorted([*self._calls, *calls], key=lambda c: c.start_time)
        self._starts = [c.start_time for c in self._calls]
        self.version += 1

    def add(self, call: SandboxCall) -> None:
        self._register(call)
        at = bisect.bisect_right(self._starts, call.start_time)
        self._starts.insert(at, call.start_time)
        self._calls.insert(at, call)
        self.version += 1

    def _register(self, call: SandboxCall) -> None:
        if call.id in self.by_id:
            raise ValueError(f"duplicate call id {call.id}")
        self.by_id[call.id] = call
        if call.filename:
            self.by_file[call.filename] = call

    def query(
        self,
        start: int | None,
        end: int | None,
        offset: int,
        size: int,
        search: str,
        terms: tuple[int, ...] | None,
    ) -> tuple[int, list[SandboxCall]]:
        """(total matches, one page newest first) of calls with start in [start, end]."""
        calls, starts = self._calls, self._starts
        lo = 0 if start is None else bisect.bisect_left(starts, start)
        hi = len(starts) if end is None else bisect.bisect_right(starts, end)
        if search or terms is not None:
            if hi - lo <= _DIRECT_SCAN:
                calls = _scan(calls[lo:hi], search, terms)
                lo, hi = 0, len(calls)
            else:
                matches = self._matches(search, terms)
                calls, starts = matches.calls, matches.starts
                lo = 0 if start is None else bisect.bisect_left(starts, start)
                hi = len(starts) if end is None else bisect.bisect_right(starts, end)
        total = max(0, hi - lo)
        top = hi - offset
        bottom = max(lo, top - size)
        page = calls[bottom:top][::-1] if top > lo else []
        return total, page

    def _matches(self, search: str, terms: tuple[int, ...] | None) -> _Matches:
        key = (search, terms)
        cached = self._cache.get(key)
        if cached is not None and cached.version == self.version:
            self._cache.move_to_end(key)
            return cached
        found = _scan(self._calls, search, terms)
        entry = _Matches(self.version, found, [c.start_time for c in found])
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry


def _scan(
    calls: list[SandboxCall], search: str, terms: tuple[int, ...] | None
) -> list[SandboxCall]:
    if terms is not None:
        if len(terms) == 1:
            (term,) = terms
            calls = [c for c in calls if c.mask & term == term]
        else:
            calls = [c for c in calls if any(c.mask & t == t for t in terms)]
    if search:
        calls = [c for c in calls if search in c.search_text]
    return calls


class SandboxState:
    """The account behind one sandbox app (``app.state.sandbox``).

    Thread-safe: under `SandboxServer` requests are served on the server's thread while
    a test arms faults, injects calls or reads `requests` from its own.
    """

    def __init__(self, config: SandboxConfig) -> None:
        if config.live_calls_every is not None and config.live_calls_every <= 0:
            raise ValueError("live_calls_every must be positive (or None for no live calls)")
        self.config = config
        self._lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.placed_calls: list[PlacedCall] = []
        self.faults = FaultInjector(config.seed, config.faults)
        self.rate_limiter = RateLimiter(config.rate_limit)
        self.recordings = RecordingLibrary()
        self.link_secret = secrets.token_bytes(32)
        started = config.clock()
        self.now = float(config.now) if config.now is not None else started
        team = generator.generate_team(config.seed)
        self.company_id = team.company_id
        self._users: list[SandboxUser] = team.users
        self._factory = generator.CallFactory(team)
        self._index = CallIndex()
        self._index.load(
            generator.generate_history(
                config.seed, self._factory, config.n_logs, config.days, self.now
            )
        )
        self._live_start = max(self.now, started)
        self._live_count = 0
        self._pending: list[tuple[int, int, SandboxCall]] = []
        self._sequence = 0
        self._logged_listeners: list[Callable[[SandboxCall], None]] = []
        #: What posts the account's webhooks while it is served (`SandboxConfig.webhooks`).
        self.webhooks: WebhookEmitter | None = None

    # ---- time -------------------------------------------------------------------------

    def clock(self) -> float:
        return self.config.clock()

    def on_logged(self, listener: Callable[[SandboxCall], None]) -> Callable[[], None]:
        """Hear of each call logged from now on (on the thread that logs it: the webhooks'
        emitter hands it over to its own); returns an unsubscriber."""
        with self._lock:
            self._logged_listeners.append(listener)
        return lambda: self._logged_listeners.remove(listener)

    def _logged(self, calls: Sequence[SandboxCall]) -> None:
        for listener in list(self._logged_listeners):
            for call in calls:
                listener(call)

    def advance(self) -> int:
        """Materialise the live arrivals and click-to-call logs due by now; returns how many."""
        added = self._advance()
        self._logged(added)
        return len(added)

    def _advance(self) -> list[SandboxCall]:
        now = self.clock()
        added: list[SandboxCall] = []
        with self._lock:
            every = self.config.live_calls_every
            if every is not None:
                due = int((now - self._live_start) // every)
                if due - self._live_count > MAX_LIVE_BACKLOG:
                    self._live_count = due - MAX_LIVE_BACKLOG
                while self._live_count < due:
                    self._live_count += 1
                    ends_at = int(self._live_start + self._live_count * every)
                    call = generator.live_call(
                        self.config.seed, self._live_count, self._factory, ends_at
                    )
                    self._index.add(call)
                    added.append(call)
            while self._pending and self._pending[0][0] <= now:
                _, _, call = heapq.heappop(self._pending)
                self._index.add(call)
                added.append(call)
        return added

    # ---- reading ----------------------------------------------------------------------

    @property
    def users(self) -> list[SandboxUser]:
        with self._lock:
            return list(self._users)

    @property
    def calls(self) -> list[SandboxCall]:
        """Every logged call, newest first (after materialising what is due)."""
        self.advance()
        with self._lock:
            return self._index.oldest_first[::-1]

    @property
    def filters(self) -> tuple[FilterDef, ...]:
        return FILTERS

    @property
    def pending_calls(self) -> list[SandboxCall]:
        """Click-to-call logs not yet due, soonest first."""
        with self._lock:
            return [call for _, _, call in sorted(self._pending)]

    def find_user(self, uuid: str) -> SandboxUser | None:
        with self._lock:
            return next((u for u in self._users if u.uuid == uuid), None)

    def call_by_id(self, call_id: str) -> SandboxCall | None:
        with self._lock:
            return self._index.by_id.get(call_id)

    def call_by_filename(self, filename: str) -> SandboxCall | None:
        with self._lock:
            return self._index.by_file.get(filename)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests to `path` (and `method`), oldest first."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (method is None or r.method == method)
            ]

    def search(
        self,
        start: int | None,
        end: int | None,
        offset: int,
        size: int,
        search: str = "",
        terms: tuple[int, ...] | None = None,
    ) -> tuple[int, list[SandboxCall]]:
        with self._lock:
            return self._index.query(start, end, offset, size, search.lower(), terms)

    # ---- writing ----------------------------------------------------------------------

    def record(self, method: str, path: str, params: Mapping[str, str]) -> RecordedRequest:
        entry = RecordedRequest(
            method=method,
            path=path,
            params={k: v for k, v in params.items() if k != "token"},
            at=self.clock(),
            has_token="token" in params,
        )
        with self._lock:
            self.requests.append(entry)
        return entry

    def set_rate_limit(self, limits: tuple[tuple[int, float], ...] | None) -> None:
        """Change (or with None lift) the per-token limits; counts so far are kept."""
        self.rate_limiter.limits = limits

    def add_user(self, params: Mapping[str, str]) -> SandboxUser:
        with self._lock:
            changes = validate_new_user(params, self._users)
            rng = random.Random(f"{self.config.seed}/user/{len(self._users)}")
            user_ids = {u.user_id for u in self._users}
            user_id = str(rng.randrange(10000, 100000))
            while user_id in user_ids:
                user_id = str(rng.randrange(10000, 100000))
            user = SandboxUser(
                user_id=user_id,
                uuid=generator.uuid_from(rng),
                name="",
                email="",
                country_code="",
                contact_number="",
                role=8,
            )
            for key, value in changes.items():
                setattr(user, key, value)
            self._users.append(user)
            self._factory.refresh(self._users)
            return user

    def update_user(self, params: Mapping[str, str]) -> SandboxUser:
        with self._lock:
            uuid = params.get("uuid", "").strip()
            if not uuid:
                raise ApiError("uuid is required")
            user = next((u for u in self._users if u.uuid == uuid), None)
            if user is None:
                raise ApiError("User not found", 404)
            for key, value in validate_update(params, user, self._users).items():
                setattr(user, key, value)
            self._factory.refresh(self._users)
            return user

    def click_to_call(self, agent: SandboxUser, customer_cc: str, customer_number: str) -> str:
        """Queue a click-to-call; its outgoing log appears 5-20 s later. Returns its id."""
        placed_at = self.clock()
        with self._lock:
            self._sequence += 1
            call = generator.click_to_call(
                self.config.seed,
                self._sequence,
                self._factory,
                agent,
                customer_cc,
                customer_number,
                placed_at,
            )
            self.placed_calls.append(
                PlacedCall(call.id, agent.uuid, customer_cc, customer_number, placed_at)
            )
            heapq.heappush(self._pending, (call.end_time, self._sequence, call))
            return call.id

    def add_call(
        self,
        *,
        start_time: float | None = None,
        incoming: bool = True,
        answered: bool = True,
        caller_number: str = "9876543210",
        country_code: str = "91",
        agent_uuid: str | None = None,
        department: str | None = None,
        ring_s: int = 10,
        talk_s: int = 60,
        voicemail: bool = False,
        tags: Sequence[str] = (),
        comment: str = "",
        archived: bool = False,
        starred: bool = False,
        source: int = SOURCE_IVR,
    ) -> SandboxCall:
        """Inject one specific call (by default one that has just ended) for a test.

        The agent defaults to the first user; an answered call gets a recording whose
        file name is derived from the call's id.
        """
        with self._lock:
            agent = self.find_user(agent_uuid) if agent_uuid else self._users[0]
            if agent is None:
                raise ValueError(f"no user with uuid {agent_uuid}")
            self._sequence += 1
            rng = random.Random(f"{self.config.seed}/injected/{self._sequence}")
            talk = talk_s if answered else 0
            start = int(start_time if start_time is not None else self.clock() - ring_s - talk)
            leg = Leg(
                "ANSWER" if answered else "NOANSWER",
                start + ring_s,
                talk if answered else ring_s,
                (agent.ref(),),
            )
            call = SandboxCall(
                id=generator.call_id(rng),
                start_time=start,
                end_time=start + ring_s + talk,
                event=INCOMING if incoming else OUTGOING,
                status=ANSWERED if answered else MISSED,
                caller_number_raw=caller_number,
                caller_cc=country_code,
                department=department
                if department is not None
                else (agent.departments[0] if agent.departments else ""),
                filename=f"{rng.getrandbits(96):024x}.mp3" if answered else "",
                legs=(leg,),
                company_id=self.company_id,
                source=source,
                voicemail=voicemail and not answered,
                tags=tuple(tags),
                comment=comment,
                comment_by=agent.name if comment else "",
                archived=archived,
                starred=starred,
            )
            self._index.add(call)
        self._logged([call])
        return call

    def insert_call(self, call: SandboxCall) -> None:
        """Add a call built by hand (its id must be new)."""
        with self._lock:
            self._index.add(call)
        self._logged([call])
