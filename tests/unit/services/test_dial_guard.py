"""The dial guard with the real client against the emulated service (in-process).

Requests are counted where they land: at the server (``state.requests_to("/clickOcall")``)
and in what it would have dialled (``state.placed_calls``). Time is one `ManualClock`
shared by the service and the guard. The failures are the service's own faults (5xx,
dropped connections, 429) and a transport that can be offline, time out after the server
got the request, or hold a request in flight.

The state machine at the end mixes clicks, double clicks, key repeats, timeouts, 5xx,
drops, going offline and back, the clock and checks of the call log, and holds the guard
to: at most one POST per deliberate action, none while a number's last call may have been
placed, and never "not placed" for a call that the server did place.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.models import Direction
from desktop_app.sandbox import SandboxApp, SandboxState
from desktop_app.services.clock import ManualClock
from desktop_app.services.dialer import (
    LOG_DELAY_S,
    CallLogFinder,
    CheckKind,
    DialerSettings,
    DialGuard,
    DialKind,
    outcome_text,
)
from desktop_app.services.identity import Identity
from desktop_app.services.phone_input import parse_dialable
from desktop_app.services.settings import (
    COUNTRY_CODE,
    DEMO_SCOPE,
    ME,
    MemoryBackend,
    Settings,
)
from desktop_app.services.sync import SyncEngine
from desktop_app.store import CallStore
from desktop_app.store.dials import DialRecords
from tests.helpers.dialing import (
    CLICK,
    CUSTOMER,
    CUSTOMER_E164,
    SETTLE_S,
    ClickTransport,
    T,
    agent_of,
    make_client,
    make_sandbox,
)

_R = TypeVar("_R")


@dataclass
class Env:
    clock: ManualClock
    app: SandboxApp
    transport: ClickTransport
    client: MyOperatorClient
    guard: DialGuard
    agent: str

    @property
    def state(self) -> SandboxState:
        return self.app.sandbox

    def posts(self) -> int:
        return len(self.state.requests_to(CLICK))

    def searches(self) -> int:
        return len(self.state.requests_to("/search"))

    def placed(self) -> int:
        return len(self.state.placed_calls)

    def arm(self, spec: str) -> None:
        self.state.faults.add(spec)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = ManualClock(T)
    app = make_sandbox(clock)
    transport = ClickTransport(app)
    client = make_client(transport, clock)
    guard = DialGuard(client, None, clock, sleep=clock.sleep, settle_s=SETTLE_S)
    yield Env(clock, app, transport, client, guard, agent_of(app.sandbox))
    await client.aclose()


async def drive(clock: ManualClock, task: Awaitable[_R], step: float = 5.0) -> _R:
    """Advance the clock whenever `task` sleeps on it, until it is done."""
    future = asyncio.ensure_future(task)
    async with asyncio.timeout(10):
        while not future.done():
            await asyncio.wait({future}, timeout=0.01)
            if clock.sleeping:
                clock.advance(step)
    return future.result()


# ---------------------------------------------------------------------------- examples


async def test_one_click_places_one_call(env: Env) -> None:
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.kind is DialKind.PLACED
    assert outcome.sent
    assert env.posts() == 1
    (placed,) = env.state.placed_calls
    assert (placed.customer_cc, placed.customer_number) == ("91", "9812345678")
    assert placed.agent_uuid == env.agent
    assert outcome.unique_id == placed.unique_id
    assert "your phone rings first" in outcome.message


async def test_a_colleagues_phone_is_named_not_yours(env: Env) -> None:
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent, agent_name="Priya Sharma")
    assert outcome.kind is DialKind.PLACED
    assert outcome.message == "Call placed: Priya Sharma's phone rings first, then 098123 45678."


async def test_a_double_click_sends_once(env: Env) -> None:
    env.transport.hold()
    first = asyncio.ensure_future(env.guard.dial(CUSTOMER, "91", env.agent))
    await asyncio.sleep(0)
    assert env.guard.in_flight
    second = await env.guard.dial(CUSTOMER, "91", env.agent)
    third = await env.guard.dial("+44 20 7946 0958", "91", env.agent)  # any number
    assert second.kind is third.kind is DialKind.BUSY
    assert not second.sent
    env.transport.release()
    assert (await first).kind is DialKind.PLACED
    # A key repeat queued behind the request, arriving as it ends: still the same click.
    assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.BUSY
    assert env.posts() == 1


async def test_the_same_number_again_within_30_s_asks_first(env: Env) -> None:
    await env.guard.dial(CUSTOMER, "91", env.agent)
    env.clock.advance(12)
    again = await env.guard.dial("+91 98123-45678", "91", env.agent)
    assert again.kind is DialKind.NEEDS_CONFIRMATION
    assert again.message == "You called 098123 45678 12 s ago. Call again?"
    assert env.posts() == 1
    # Another number is not held up.
    assert (await env.guard.dial("98123 45679", "91", env.agent)).kind is DialKind.PLACED
    env.clock.advance(2)
    confirmed = await env.guard.dial(CUSTOMER, "91", env.agent, confirmed=True)
    assert confirmed.kind is DialKind.PLACED
    assert env.posts() == 3
    env.clock.advance(31)
    assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED
    assert env.posts() == 4


@pytest.mark.parametrize(
    ("fault", "processed"),
    [
        ("503:path=/clickOcall,count=1,after=1", True),
        ("drop:path=/clickOcall,count=1,after=1", True),
        ("html502:path=/clickOcall,count=1,after=1", True),
        ("malformed:path=/clickOcall,count=1,after=1", True),
        ("500:path=/clickOcall,count=1", False),
        ("drop:path=/clickOcall,count=1", False),
        # A 429 may come after the call was queued: the client cannot tell, so unclear.
        ("429:path=/clickOcall,count=1,after=1,retry_after=0", True),
        ("429:path=/clickOcall,count=1,retry_after=0", False),
        ("timeout", True),
    ],
)
async def test_an_unclear_answer_may_have_placed_the_call(
    env: Env, fault: str, processed: bool
) -> None:
    if fault == "timeout":
        env.transport.timeouts = 1
    else:
        env.arm(fault)
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.kind is DialKind.UNKNOWN
    assert "may have been placed" in outcome.message
    assert env.posts() == 1
    assert env.placed() == int(processed)
    env.clock.advance(2)
    # Blocked until the log is checked: no request, not even with the fault gone.
    blocked = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert blocked.kind is DialKind.BLOCKED
    assert "Call again anyway?" in blocked.message
    assert env.posts() == 1
    early = await env.guard.check_unknown()
    assert early is not None and early.kind is CheckKind.UNCLEAR
    assert env.guard.is_blocked(parse_dialable(CUSTOMER))
    env.clock.advance(SETTLE_S)
    result = await env.guard.check_unknown(CUSTOMER_E164)
    assert result is not None
    if processed:
        assert result.kind is CheckKind.FOUND
        assert result.log is not None
        assert result.log.id == env.state.placed_calls[0].unique_id
        assert result.log.direction is Direction.OUTGOING
    else:
        assert result.kind is CheckKind.NOT_FOUND
        assert "was not placed" in result.message
        assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED
    assert not env.guard.is_blocked(parse_dialable(CUSTOMER))
    assert await env.guard.check_unknown() is None


async def test_found_soon_after_means_the_repeat_window_applies(env: Env) -> None:
    env.arm("503:path=/clickOcall,count=1,after=1")
    await env.guard.dial(CUSTOMER, "91", env.agent)
    env.clock.advance(21)  # the emulated service logs a placed call 5-20 s later
    result = await env.guard.check_unknown()
    assert result is not None and result.kind is CheckKind.FOUND
    again = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert again.kind is DialKind.NEEDS_CONFIRMATION
    assert env.posts() == 1


async def test_a_confirmed_redial_passes_an_unclear_block(env: Env) -> None:
    env.arm("drop:path=/clickOcall,count=1,after=1")
    await env.guard.dial(CUSTOMER, "91", env.agent)
    env.clock.advance(3)
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent, confirmed=True)
    assert outcome.kind is DialKind.PLACED
    assert env.posts() == 2
    assert env.guard.unknown_attempts == ()


async def test_dismissing_an_unclear_call_allows_a_redial(env: Env) -> None:
    env.arm("500:path=/clickOcall,count=1")
    await env.guard.dial(CUSTOMER, "91", env.agent)
    assert env.guard.dismiss_unknown(CUSTOMER_E164)
    assert not env.guard.dismiss_unknown(CUSTOMER_E164)
    env.clock.advance(2)
    assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED


async def test_nothing_leaves_while_offline_and_nothing_is_blocked(env: Env) -> None:
    env.transport.offline = True
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.kind is DialKind.FAILED
    assert "was not placed" in outcome.message
    assert env.posts() == 0
    env.transport.offline = False
    env.clock.advance(2)
    assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED


async def test_rate_limited_is_not_placed(env: Env) -> None:
    """Only the app's own budget proves nothing left; a 429 from the service is unclear
    (see test_an_unclear_answer_may_have_placed_the_call)."""
    env.client.budget.penalize(30)
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.kind is DialKind.FAILED
    assert "rate-limiting" in outcome.message
    assert env.posts() == 0 and env.placed() == 0
    env.clock.advance(31)
    assert (await env.guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED


async def test_the_service_refusing_is_not_placed(env: Env) -> None:
    disabled = next(u.uuid for u in env.state.users if not u.is_enabled)
    outcome = await env.guard.dial(CUSTOMER, "91", disabled)
    assert outcome.kind is DialKind.FAILED
    assert "refused" in outcome.message and "disabled" in outcome.message
    assert env.placed() == 0


async def test_invalid_input_sends_nothing(env: Env) -> None:
    assert (await env.guard.dial("12345", "91", env.agent)).kind is DialKind.FAILED
    no_agent = await env.guard.dial(CUSTOMER, "91", "")
    assert no_agent.kind is DialKind.FAILED
    assert no_agent.message == "Choose the agent who takes the call."
    assert env.posts() == 0


async def test_cancelled_in_flight_counts_as_may_have_been_placed(env: Env) -> None:
    env.transport.hold()
    task = asyncio.ensure_future(env.guard.dial(CUSTOMER, "91", env.agent))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not env.guard.in_flight
    assert env.guard.is_blocked(parse_dialable(CUSTOMER))
    env.transport.release()


async def test_follow_reports_the_outcome_once_logged(env: Env) -> None:
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.unique_id is not None
    call = await drive(env.clock, env.guard.follow(outcome.unique_id))
    assert call is not None
    assert call.id == outcome.unique_id
    source = env.state.call_by_id(call.id)
    assert source is not None
    assert call.answered is (source.status == 1)
    assert outcome_text(call).startswith("Answered" if call.answered else "Not answered")
    if call.answered:
        assert "talk time" in outcome_text(call)
    with pytest.raises(KeyError):
        await env.guard.follow("no-such-id")


async def test_follow_matches_by_number_and_time_without_an_id(env: Env) -> None:
    env.arm("503:path=/clickOcall,count=1,after=1")
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.attempt is not None and outcome.unique_id is None
    call = await drive(env.clock, env.guard.follow(outcome.attempt))
    assert call is not None and call.id == env.state.placed_calls[0].unique_id


async def test_follow_gives_up_when_the_call_never_shows(tmp_path: Path) -> None:
    clock = ManualClock(T)
    app = make_sandbox(clock)
    client = make_client(ClickTransport(app), clock)
    guard = DialGuard(
        client, None, clock, sleep=clock.sleep, follow_polls_s=(10.0,),
        follow_active_s=30.0, follow_timeout_s=60.0,
    )
    app.sandbox.faults.add("500:path=/clickOcall,count=1")
    outcome = await guard.dial(CUSTOMER, "91", agent_of(app.sandbox))
    assert outcome.attempt is not None
    searches = len(app.sandbox.requests_to("/search"))
    assert await drive(clock, guard.follow(outcome.attempt), step=10.0) is None
    # Searched while the call was young (10 s and 20 s after), then only listened.
    assert len(app.sandbox.requests_to("/search")) - searches == 2
    await client.aclose()


async def test_a_guard_fed_by_the_relays_stream_follows_by_listening_only(
    tmp_path: Path,
) -> None:
    """Through the team relay (`follow_active_s` 0), each search would spend the team's
    budget, and the After Call webhook brings the call anyway: no search while following."""
    clock = ManualClock(T)
    app = make_sandbox(clock)
    client = make_client(ClickTransport(app), clock)
    guard = DialGuard(
        client, None, clock, sleep=clock.sleep, follow_polls_s=(10.0,),
        follow_active_s=0.0, follow_timeout_s=60.0,
    )
    outcome = await guard.dial(CUSTOMER, "91", agent_of(app.sandbox))
    assert outcome.attempt is not None
    searches = len(app.sandbox.requests_to("/search"))
    assert await drive(clock, guard.follow(outcome.attempt), step=10.0) is None
    assert len(app.sandbox.requests_to("/search")) == searches
    await client.aclose()


async def test_the_cache_answers_without_a_request(env: Env, tmp_path: Path) -> None:
    outcome = await env.guard.dial(CUSTOMER, "91", env.agent)
    assert outcome.attempt is not None
    env.clock.advance(25)
    page = await env.client.search_logs(start=T - 60, end=int(env.clock()) + 1)
    store = CallStore.open(tmp_path / "calls.db")
    try:
        store.upsert_calls(page.logs)
        finder = CallLogFinder(env.client, store, clock=env.clock)
        searches = env.searches()
        found = await finder.find(outcome.attempt)
        assert found is not None and found.id == outcome.unique_id
        assert env.searches() == searches
        # And by number and time when the id is not the log's.
        anonymous = outcome.attempt.__class__(
            99, outcome.attempt.number, env.agent, outcome.attempt.at
        )
        again = await finder.find(anonymous)
        assert again is not None and again.id == outcome.unique_id
        assert env.searches() == searches
    finally:
        store.close()


async def test_follow_hears_the_sync_engine_without_requests_of_its_own(
    env: Env, tmp_path: Path
) -> None:
    store = CallStore.open(tmp_path / "calls.db", clock=env.clock)
    engine = SyncEngine(env.client, store, clock=env.clock, sleep=env.clock.sleep)
    finder = CallLogFinder(env.client, store, engine=engine, clock=env.clock)
    guard = DialGuard(
        env.client, finder, env.clock, sleep=env.clock.sleep, follow_polls_s=(1000.0,)
    )
    try:
        outcome = await guard.dial(CUSTOMER, "91", env.agent)
        assert outcome.attempt is not None
        follow = asyncio.ensure_future(guard.follow(outcome.attempt))
        await asyncio.sleep(0)
        env.clock.advance(25)  # logged by now; the follower's next look is far off
        searches = env.searches()
        await engine.sync_once()  # the feed's regular sync
        async with asyncio.timeout(5):
            call = await follow
        assert call is not None and call.id == outcome.unique_id
        assert env.searches() - searches == 1  # the sync's page, nothing else
    finally:
        store.close()


# ------------------------------------------------------ restarts and second instances


def guard_on(env: Env, path: Path) -> DialGuard:
    """A guard remembering in the cache file at `path`: a (re)started app, or a second
    instance, with the same client and clock."""
    return DialGuard(
        env.client, None, env.clock, records=DialRecords.open(path), sleep=env.clock.sleep,
        settle_s=SETTLE_S,
    )


async def test_an_unclear_dial_still_blocks_after_a_restart(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    before = guard_on(env, path)
    env.arm("drop:path=/clickOcall,count=1,after=1")  # placed, answer lost
    assert (await before.dial(CUSTOMER, "91", env.agent)).kind is DialKind.UNKNOWN
    before.records.close()  # quit
    env.clock.advance(22)
    after = guard_on(env, path)
    try:
        (pending,) = after.unknown_attempts
        assert pending.number.e164 == CUSTOMER_E164 and pending.at == T
        again = await after.dial(CUSTOMER, "91", env.agent)
        assert again.kind is DialKind.BLOCKED
        assert "may have been placed" in again.message
        assert env.posts() == 1
        # The log check settles it: the call was placed 22 s ago, so a redial asks first.
        result = await after.check_unknown(CUSTOMER_E164)
        assert result is not None and result.kind is CheckKind.FOUND
        assert result.log is not None and result.log.id == env.state.placed_calls[0].unique_id
        third = await after.dial(CUSTOMER, "91", env.agent)
        assert third.kind is DialKind.NEEDS_CONFIRMATION
        assert third.message == "You called 098123 45678 22 s ago. Call again?"
        assert env.posts() == 1
    finally:
        after.records.close()


async def test_the_repeat_window_and_the_double_click_outlive_a_restart(
    env: Env, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    before = guard_on(env, path)
    assert (await before.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED
    before.records.close()
    after = guard_on(env, path)
    try:
        # The same instant: the rest of the click that was being handled at the quit.
        assert (await after.dial(CUSTOMER, "91", env.agent)).kind is DialKind.BUSY
        env.clock.advance(5)
        assert (await after.dial(CUSTOMER, "91", env.agent)).kind is DialKind.NEEDS_CONFIRMATION
        assert after.seconds_since_placed(parse_dialable(CUSTOMER)) == 5
        assert env.posts() == 1
    finally:
        after.records.close()


async def test_a_second_instance_sees_a_dial_in_flight_and_its_outcome(
    env: Env, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    first, second = guard_on(env, path), guard_on(env, path)
    try:
        env.transport.hold()
        sending = asyncio.ensure_future(first.dial(CUSTOMER, "91", env.agent))
        await asyncio.sleep(0)
        assert first.in_flight and not first.is_blocked(parse_dialable(CUSTOMER))
        env.clock.advance(3)
        # Recorded before it was sent: the other instance holds back, even before the
        # request reaches the service (the first instance may be about to send it).
        assert second.is_blocked(parse_dialable(CUSTOMER))
        held = await second.dial(CUSTOMER, "91", env.agent)
        assert held.kind is DialKind.BLOCKED
        env.transport.release()
        assert (await sending).kind is DialKind.PLACED
        env.clock.advance(2)
        again = await second.dial(CUSTOMER, "91", env.agent)
        assert again.kind is DialKind.NEEDS_CONFIRMATION
        assert env.posts() == 1
        # And what the second one settles, the first one knows.
        env.arm("503:path=/clickOcall,count=1,after=1")
        assert (await second.dial(CUSTOMER, "91", env.agent, confirmed=True)).kind is (
            DialKind.UNKNOWN
        )
        env.clock.advance(25)
        assert first.is_blocked(parse_dialable(CUSTOMER))
        assert (await first.dial(CUSTOMER, "91", env.agent)).kind is DialKind.BLOCKED
        result = await first.check_unknown()
        assert result is not None and result.kind is CheckKind.FOUND
        assert not second.is_blocked(parse_dialable(CUSTOMER))
        assert env.posts() == 2
    finally:
        first.records.close()
        second.records.close()


async def test_a_cancelled_dial_counts_as_maybe_placed_after_a_restart(
    env: Env, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    before = guard_on(env, path)
    env.transport.hold()
    sending = asyncio.ensure_future(before.dial(CUSTOMER, "91", env.agent))
    await asyncio.sleep(0)
    sending.cancel()  # the app closed mid-request
    with pytest.raises(asyncio.CancelledError):
        await sending
    env.transport.release()
    before.records.close()
    env.clock.advance(2)
    after = guard_on(env, path)
    try:
        assert (await after.dial(CUSTOMER, "91", env.agent)).kind is DialKind.BLOCKED
    finally:
        after.records.close()


@pytest.mark.parametrize("trouble", ["read-only", "full"])
async def test_a_dial_that_cannot_be_recorded_is_not_sent(
    env: Env, tmp_path: Path, trouble: str
) -> None:
    path = tmp_path / "cache.db"
    DialRecords.open(path).close()
    if trouble == "read-only":
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
        expected = "the cache database is read-only"
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sqlite3.OperationalError, match="full"):  # fill what is left
            for i in range(1000):
                conn.execute(
                    "INSERT INTO dials (number, country_code, national, agent_uuid, "
                    "started_at, state) VALUES (?, '1', '', '', ?, 'not_placed')",
                    (f"+1{i:010d}", T),
                )
        expected = "the disk is full"
    records = DialRecords(conn, owns_connection=True)
    guard = DialGuard(env.client, None, env.clock, records=records)
    try:
        outcome = await guard.dial(CUSTOMER, "91", env.agent)
        assert outcome.kind is DialKind.FAILED and not outcome.sent
        assert outcome.message == (
            f"The call to 098123 45678 was not placed: this computer could not record it "
            f"first ({expected})."
        )
        assert env.posts() == 0
        assert not guard.in_flight
    finally:
        guard.records.close()


# ------------------------------------ "not in the log" is "not placed" only when it can be


def live_like_guard(env: Env, records: DialRecords | None = None) -> DialGuard:
    """The guard with the app's own windows (not the short ones of the tests above)."""
    return DialGuard(env.client, None, env.clock, records=records, sleep=env.clock.sleep)


async def test_not_in_the_log_after_a_minute_or_two_still_asks_before_a_redial(
    env: Env,
) -> None:
    """The live service logs a call when it ends: 90 s without a log is a call that may
    still be ringing or talking, not one that was never placed."""
    guard = live_like_guard(env)
    env.arm("500:path=/clickOcall,count=1")
    assert (await guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.UNKNOWN
    env.clock.advance(LOG_DELAY_S + 1)
    result = await guard.check_unknown()
    assert result is not None and result.kind is CheckKind.UNCLEAR
    assert result.message == (
        "The call to 098123 45678 is not in the call log yet — it may still be in progress "
        "(a call is logged when it ends)."
    )
    again = await guard.dial(CUSTOMER, "91", env.agent)
    assert again.kind is DialKind.BLOCKED
    assert again.message == (
        "The last call to 098123 45678 is not in the call log yet — it may still be in "
        "progress. Call again?"
    )
    assert guard.settle_s == 30 * 60  # longer than any plausible call
    env.clock.advance(guard.settle_s - LOG_DELAY_S - 2)
    assert guard.seconds_until_settled(again.attempt) == 1  # type: ignore[arg-type]
    early = await guard.check_unknown()
    assert early is not None and early.kind is CheckKind.UNCLEAR
    assert env.posts() == 1
    # Half an hour later the log has surely shown it if it was placed: it was not.
    env.clock.advance(1)
    settled = await guard.check_unknown()
    assert settled is not None and settled.kind is CheckKind.NOT_FOUND
    assert (await guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.PLACED
    assert env.posts() == 2


async def test_a_call_logged_when_it_ends_is_found_by_a_later_check(env: Env) -> None:
    guard = live_like_guard(env)
    env.arm("500:path=/clickOcall,count=1")
    assert (await guard.dial(CUSTOMER, "91", env.agent)).kind is DialKind.UNKNOWN
    env.clock.advance(300)
    result = await guard.check_unknown()
    assert result is not None and result.kind is CheckKind.UNCLEAR
    # The call was ringing all along: a ten-minute call, logged as it ends.
    env.clock.advance(400)
    call = env.state.add_call(
        start_time=T + 2, incoming=False, caller_number="9812345678", talk_s=600
    )
    found = await guard.check_unknown()
    assert found is not None and found.kind is CheckKind.FOUND
    assert found.log is not None and found.log.id == call.id
    assert not guard.is_blocked(parse_dialable(CUSTOMER))
    assert env.posts() == 1


async def test_a_dial_another_instance_is_still_sending_is_never_taken_as_not_placed(
    env: Env, tmp_path: Path
) -> None:
    """The record is written before the request budget lets the request leave: another
    instance's log check must not call it "not placed" meanwhile, or both would call."""
    path = tmp_path / "cache.db"
    sender, other = guard_on(env, path), guard_on(env, path)
    try:
        env.transport.hold()  # recorded, not sent yet (a budget wait, a slow network)
        sending = asyncio.ensure_future(sender.dial(CUSTOMER, "91", env.agent))
        await asyncio.sleep(0)
        assert sender.in_flight
        env.clock.advance(SETTLE_S + 1)  # past the log's window, counted from the record
        result = await other.check_unknown(CUSTOMER_E164)
        assert result is not None and result.kind is CheckKind.UNCLEAR
        blocked = await other.dial(CUSTOMER, "91", env.agent)
        assert blocked.kind is DialKind.BLOCKED
        env.transport.release()  # the request leaves at last
        assert (await sending).kind is DialKind.PLACED
        assert env.posts() == 1 and env.placed() == 1
    finally:
        sender.records.close()
        other.records.close()


async def test_a_request_unanswered_by_its_deadline_is_unclear_and_abandoned(
    env: Env, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    guard = guard_on(env, path)
    try:
        env.transport.hold()
        sending = asyncio.ensure_future(guard.dial(CUSTOMER, "91", env.agent))
        async with asyncio.timeout(10):
            await env.clock.next_sleep()  # the deadline started with the request
        env.clock.advance(guard.dial_deadline_s)
        outcome = await sending
        assert outcome.kind is DialKind.UNKNOWN and "may have been placed" in outcome.message
        assert outcome.error is not None
        assert "did not answer the click-to-call request within 180 s" in str(outcome.error)
        assert not guard.in_flight
        env.transport.release()
        assert env.posts() == 0  # abandoned before it reached the service
        # Its absence from the log counts from when the request was given up.
        (pending,) = guard.unknown_attempts
        assert pending.ended_at == T + guard.dial_deadline_s
        assert guard.seconds_until_settled(pending) == SETTLE_S
    finally:
        guard.records.close()


async def test_a_dial_left_in_flight_by_a_crash_settles_after_its_deadline(
    env: Env, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    crashed = DialRecords.open(path)  # a run that wrote its record and died
    crashed.reserve("91", "9812345678", env.agent, T, lambda _view: None)
    crashed.close()
    guard = guard_on(env, path)
    try:
        (pending,) = guard.unknown_attempts
        assert pending.ended_at is None
        # It could have been sent until its deadline; the window starts there.
        assert guard.seconds_until_settled(pending) == guard.dial_deadline_s + SETTLE_S
        env.clock.advance(guard.dial_deadline_s + SETTLE_S - 1)
        result = await guard.check_unknown()
        assert result is not None and result.kind is CheckKind.UNCLEAR
        env.clock.advance(1)
        result = await guard.check_unknown()
        assert result is not None and result.kind is CheckKind.NOT_FOUND
        assert guard.unknown_attempts == ()
    finally:
        guard.records.close()


# ---------------------------------------------------------------------------- settings


def test_settings_remember_me_and_recent_numbers() -> None:
    backend = MemoryBackend()
    prefs = DialerSettings(Settings(backend), max_recent=3)
    assert prefs.me_uuid is None and prefs.country_code == "91"
    prefs.set_me_uuid("3965edd0-a955-4199-80c0-754fc76cecb4")
    prefs.set_country_code("44")
    for number in ("+919812345678", "+919812345679", "+442079460958", "+919812345678",
                   "+12125550100"):
        prefs.add_recent(number)
    again = DialerSettings(Settings(backend), max_recent=3)
    assert again.me_uuid == "3965edd0-a955-4199-80c0-754fc76cecb4"
    assert again.country_code == "44"
    assert again.recent_numbers == ("+12125550100", "+919812345678", "+442079460958")
    # They are the declared settings: one value, whoever reads it.
    assert backend.values[ME.key] == "3965edd0-a955-4199-80c0-754fc76cecb4"
    assert backend.values[COUNTRY_CODE.key] == "44"
    with pytest.raises(ValueError):
        prefs.add_recent("9812345678")
    with pytest.raises(ValueError, match="country dialling code"):
        prefs.set_country_code("abcd")
    prefs.set_me_uuid(None)
    assert DialerSettings(Settings(backend)).me_uuid is None
    prefs.clear_recent()
    assert again.recent_numbers == ()


def test_the_demo_keeps_its_own_dialer_settings() -> None:
    backend = MemoryBackend()
    account = DialerSettings(Settings(backend))
    demo = DialerSettings(Settings(backend, account_scope=DEMO_SCOPE))
    account.set_country_code("44")
    demo.add_recent("+919812345678")
    assert demo.country_code == "91" and account.recent_numbers == ()


@pytest.mark.parametrize(
    "stored",
    [
        {"dialer/me": "has space", "dialer/recent": ["x", "5", "+919812345678"],
         "dialer/country_code": "abcd"},
        {"dialer/me": "tab\tinside", "dialer/recent": {"not": "a list"},
         "dialer/country_code": "0044"},
    ],
)
def test_damaged_settings_are_ignored(stored: dict[str, object]) -> None:
    prefs = DialerSettings(Settings(MemoryBackend(stored)))
    assert prefs.me_uuid is None
    assert prefs.country_code == "91"
    assert prefs.recent_numbers == ()


def test_a_change_made_elsewhere_is_heard() -> None:
    """Preferences write the settings directly: the dialer and "me" hear of it."""
    settings = Settings(MemoryBackend())
    prefs = DialerSettings(settings)
    me = Identity(prefs, changes=prefs.watch_me)
    heard: list[str | None] = []
    countries: list[str] = []
    me.add_listener(heard.append)
    prefs.watch_country(countries.append)
    settings.set(ME, "3965edd0-a955-4199-80c0-754fc76cecb4")
    settings.set(COUNTRY_CODE, "44")
    assert me.uuid == "3965edd0-a955-4199-80c0-754fc76cecb4"
    assert heard == ["3965edd0-a955-4199-80c0-754fc76cecb4"] and countries == ["44"]
    me.set(None)  # changed here: said once, not twice
    assert heard == ["3965edd0-a955-4199-80c0-754fc76cecb4", None]
    me.close()
    settings.set(ME, "3965edd0-a955-4199-80c0-754fc76cecb4")
    assert heard[-1] is None  # closed: no longer listening


# ------------------------------------------------------------------------ state machine

NUMBERS = ("98123 45678", "+91 98123 45679", "0 98123-45670")
FAULTS = {
    # name: (sandbox fault spec or None for the transport's timeout, processed, kind)
    "503_after": ("503:path=/clickOcall,count=1,after=1", True, DialKind.UNKNOWN),
    "502_html_after": ("html502:path=/clickOcall,count=1,after=1", True, DialKind.UNKNOWN),
    "drop_after": ("drop:path=/clickOcall,count=1,after=1", True, DialKind.UNKNOWN),
    "500_before": ("500:path=/clickOcall,count=1", False, DialKind.UNKNOWN),
    "drop_before": ("drop:path=/clickOcall,count=1", False, DialKind.UNKNOWN),
    "429": ("429:path=/clickOcall,count=1,retry_after=0", False, DialKind.UNKNOWN),
    "429_after": ("429:path=/clickOcall,count=1,after=1,retry_after=0", True, DialKind.UNKNOWN),
    "timeout": (None, True, DialKind.UNKNOWN),
}
_SENDING = (DialKind.PLACED, DialKind.UNKNOWN, DialKind.FAILED)


class DialGuardMachine(RuleBasedStateMachine):
    """A model of what the guard must do, checked against the guard and the server."""

    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(T)
        self.app = make_sandbox(self.clock)
        self.state = self.app.sandbox
        self.transport = ClickTransport(self.app)
        self.client = make_client(self.transport, self.clock)
        self.guard = DialGuard(
            self.client, None, self.clock, sleep=self.clock.sleep, settle_s=SETTLE_S
        )
        self.agent = agent_of(self.state)
        self.slack = self.guard.finder.slack_s
        # The model.
        self.armed: str | None = None
        self.last_placed: dict[str, float] = {}
        self.unknown: dict[str, tuple[float, str | None]] = {}  # at, placed call's id
        self.last_request_end: float | None = None
        self.posts = 0
        self.placed = 0
        self.sending_actions = 0

    def teardown(self) -> None:
        if hasattr(self, "loop"):
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()

    def run(self, coro: Awaitable[_R]) -> _R:
        async def bounded() -> _R:
            async with asyncio.timeout(10):
                return await coro

        return self.loop.run_until_complete(bounded())

    # -- the oracle -------------------------------------------------------------------

    def expected(self, e164: str, confirmed: bool) -> DialKind:
        now = self.clock()
        if self.last_request_end is not None and now - self.last_request_end < 1.0:
            return DialKind.BUSY
        if e164 in self.unknown and not confirmed:
            return DialKind.BLOCKED
        last = self.last_placed.get(e164)
        if last is not None and now - last < 30.0 and not confirmed:
            return DialKind.NEEDS_CONFIRMATION
        if self.transport.offline:
            return DialKind.FAILED
        return FAULTS[self.armed][2] if self.armed else DialKind.PLACED

    def clicks(self, number: str, confirmed: bool, times: int) -> None:
        """`times` dials of one deliberate action, all started before any finishes."""
        e164 = parse_dialable(number).e164
        expected = self.expected(e164, confirmed)
        posts, placed = self.post_count(), len(self.state.placed_calls)

        async def together() -> list[Any]:
            tasks = [self.guard.dial(number, "91", self.agent, confirmed=confirmed)
                     for _ in range(times)]
            return list(await asyncio.gather(*tasks))

        first, *rest = self.run(together())
        assert first.kind is expected, (first, expected)
        sent = expected in _SENDING and not self.transport.offline
        for other in rest:  # the rest of a double click or a key repeat
            assert other.kind is (DialKind.BUSY if expected in _SENDING else expected)
            assert not other.sent
        delta = self.post_count() - posts
        assert delta == int(sent), "one action, at most one POST"
        self.sending_actions += int(expected in _SENDING)
        self.posts += delta
        now = self.clock()
        if expected in _SENDING:
            self.last_request_end = now
        if not sent:
            return
        processed = FAULTS[self.armed][1] if self.armed else True
        if self.armed == "timeout":
            self.transport.timeouts = 0
        self.armed = None
        assert len(self.state.placed_calls) - placed == int(processed)
        self.placed += int(processed)
        call_id = self.state.placed_calls[-1].unique_id if processed else None
        if first.kind is DialKind.PLACED:
            assert first.unique_id == call_id
            self.last_placed[e164] = now
            self.unknown.pop(e164, None)
        elif first.kind is DialKind.UNKNOWN:
            self.unknown[e164] = (now, call_id)

    def post_count(self) -> int:
        return len(self.state.requests_to(CLICK))

    # -- rules ------------------------------------------------------------------------

    @rule(number=st.sampled_from(NUMBERS), confirmed=st.booleans(),
          pause=st.sampled_from([1.0, 2.0, 5.0]))
    def click(self, number: str, confirmed: bool, pause: float) -> None:
        self.clock.advance(pause)  # a person takes a moment between deliberate clicks
        self.clicks(number, confirmed, 1)

    @rule(number=st.sampled_from(NUMBERS), confirmed=st.booleans())
    def double_click(self, number: str, confirmed: bool) -> None:
        self.clock.advance(1.0)
        self.clicks(number, confirmed, 2)

    @rule(number=st.sampled_from(NUMBERS), repeats=st.integers(3, 8))
    def key_repeat(self, number: str, repeats: int) -> None:
        self.clock.advance(1.0)
        self.clicks(number, False, repeats)

    @rule(number=st.sampled_from(NUMBERS))
    def click_right_after(self, number: str) -> None:
        """A second click of a double click that arrives after the first one finished."""
        self.clicks(number, False, 1)

    @precondition(lambda self: self.armed is None)
    @rule(name=st.sampled_from(sorted(FAULTS)))
    def arm_fault(self, name: str) -> None:
        spec = FAULTS[name][0]
        if spec is None:
            self.transport.timeouts = 1
        else:
            self.state.faults.add(spec)
        self.armed = name

    @rule()
    def go_offline(self) -> None:
        self.transport.offline = True

    @rule()
    def reconnect(self) -> None:
        self.transport.offline = False

    @rule(seconds=st.sampled_from([1.0, 5.0, 15.0, 29.0, 31.0, 45.0, 61.0, 120.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: bool(self.unknown))
    @rule(data=st.data())
    def check_a_pending_call(self, data: st.DataObject) -> None:
        self.check_unknown(data.draw(st.sampled_from(sorted(self.unknown))))

    @rule(number=st.sampled_from(NUMBERS))
    def check_unknown(self, number: str) -> None:
        e164 = parse_dialable(number).e164
        result = self.run(self.guard.check_unknown(e164))
        if e164 not in self.unknown:
            assert result is None
            return
        assert result is not None
        at, call_id = self.unknown[e164]
        now = self.clock()
        self.state.advance()
        logged = [
            c for c in self.state.calls
            if c.event == 2 and f"+{c.caller_cc}{c.caller_number_raw}" == e164
            and c.start_time >= at - self.slack
        ]
        own_logged = call_id is not None and self.state.call_by_id(call_id) is not None
        if self.transport.offline:
            assert result.kind is CheckKind.UNCLEAR
            return
        if result.kind is CheckKind.NOT_FOUND:
            # The one unforgivable answer would be "not placed" for a placed call.
            assert call_id is None, "a placed call was reported as not placed"
            assert now - at >= SETTLE_S
        elif result.kind is CheckKind.FOUND:
            assert result.log is not None and result.log.id in {c.id for c in logged}
        else:
            assert not own_logged, "the call is in the log but was not found"
            assert now - at < SETTLE_S or call_id is not None
        if result.kind is CheckKind.FOUND:
            self.unknown.pop(e164)
            self.last_placed[e164] = max(self.last_placed.get(e164, 0.0), at)
        elif result.kind is CheckKind.NOT_FOUND:
            self.unknown.pop(e164)

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def posts_are_counted_at_the_server(self) -> None:
        if not hasattr(self, "state"):
            return
        assert self.post_count() == self.posts
        assert self.post_count() <= self.sending_actions
        assert len(self.state.placed_calls) == self.placed
        assert not self.guard.in_flight

    @invariant()
    def unclear_numbers_stay_blocked(self) -> None:
        if not hasattr(self, "state"):
            return
        blocked = {a.number.e164 for a in self.guard.unknown_attempts}
        assert blocked == set(self.unknown)


DialGuardMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDialGuardMachine = DialGuardMachine.TestCase
