"""Claims on callbacks through two relay replicas (real processes, a real Redis), asked with
the desktop's own `RelayClaims`: one agent on a customer at a time, the other refused with
the holder's name; every desktop's stream carrying each claim and release; a lapsed claim
freeing the number; simultaneous claims from both replicas giving one winner; a revoked
credential, and an unreachable store, refused."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest

from desktop_app.relay.claim_routes import CLAIM_HOLD_MS
from desktop_app.relay.claims import ClaimRefused, ClaimUnavailable, RelayClaims
from desktop_app.relay.client import EventStream, RelayAuthError
from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import CLAIM_KINDS, CallbackClaim, EventKind
from tests.e2e.relay.conftest import Desktop, Replica
from tests.helpers.redis_server import RedisServer
from tests.helpers.relay import NAMESPACE

NUMBER = "+919811100071"


@pytest.fixture
async def agents() -> AsyncIterator[Callable[[Replica, str], RelayClaims]]:
    made: list[RelayClaims] = []

    def connect(replica: Replica, credential: str) -> RelayClaims:
        made.append(RelayClaims(replica.base_url, credential))
        return made[-1]

    yield connect
    for claims in made:
        await claims.aclose()


@pytest.fixture
async def desktops() -> AsyncIterator[Callable[[Replica, str], Desktop]]:
    made: list[Desktop] = []

    def follow(replica: Replica, credential: str) -> Desktop:
        made.append(Desktop(EventStream(replica.base_url, credential)))
        return made[-1]

    yield follow
    for desktop in made:
        await desktop.aclose()


def claims_seen(desktop: Desktop) -> list[tuple[EventKind, CallbackClaim]]:
    return [(e.kind, e.callback_claim()) for e in desktop.events if e.kind in CLAIM_KINDS]


def kinds_by(desktop: Desktop) -> list[tuple[str, str]]:
    return [(kind.value, claim.agent) for kind, claim in claims_seen(desktop)]


async def test_one_agent_on_a_callback_the_other_told_who_and_both_desktops_see_it(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    agents: Callable[[Replica, str], RelayClaims],
    desktops: Callable[[Replica, str], Desktop],
) -> None:
    first, second = start_relay(), start_relay()
    priya_credential = await engine.issue_credential("Priya")
    arjun_credential = await engine.issue_credential("Arjun")
    priya, arjun = agents(first, priya_credential), agents(second, arjun_credential)
    priyas_desktop = desktops(first, priya_credential)
    arjuns_desktop = desktops(second, arjun_credential)

    claim = await priya.claim("+91 98111 00071")  # normalised by the relay

    assert (claim.number, claim.agent) == (NUMBER, "Priya")
    assert claim.until_ms - claim.at_ms == CLAIM_HOLD_MS
    with pytest.raises(ClaimRefused) as refused:
        await arjun.claim(NUMBER)
    assert re.fullmatch(
        r"Priya is already on this callback \(since \d+ s ago\)\.", str(refused.value)
    )
    with pytest.raises(ClaimRefused, match=r"^Priya is on this callback: only they can"):
        await arjun.release(NUMBER)
    for desktop in (priyas_desktop, arjuns_desktop):
        await desktop.wait_until(lambda d: kinds_by(d) == [("callback.claimed", "Priya")])
        assert claims_seen(desktop)[0][1] == claim

    assert await priya.release(NUMBER) is True
    taken = await arjun.claim(NUMBER)

    assert taken.agent == "Arjun"
    expected = [
        ("callback.claimed", "Priya"), ("callback.released", "Priya"),
        ("callback.claimed", "Arjun"),
    ]
    for desktop in (priyas_desktop, arjuns_desktop):
        await desktop.wait_until(lambda d: kinds_by(d) == expected)
    # Claiming one's own again renews it, from when it began.
    renewed = await arjun.claim(NUMBER)
    assert renewed.at_ms == taken.at_ms and renewed.until_ms >= taken.until_ms


async def test_a_lapsed_claim_frees_the_number(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    agents: Callable[[Replica, str], RelayClaims],
) -> None:
    first, second = start_relay(), start_relay()
    priya = agents(first, await engine.issue_credential("Priya"))
    arjun = agents(second, await engine.issue_credential("Arjun"))
    await priya.claim(NUMBER)
    with pytest.raises(ClaimRefused):
        await arjun.claim(NUMBER)

    # Its time runs out in Redis (a non-positive expiry ends the key now: no waiting).
    await engine.redis.pexpire(NAMESPACE + "claim:" + NUMBER, 0)

    assert await priya.release(NUMBER) is False  # lapsed: nothing left to release
    assert (await arjun.claim(NUMBER)).agent == "Arjun"
    with pytest.raises(ClaimRefused, match=r"^Arjun is already on this callback"):
        await priya.claim(NUMBER)


async def test_simultaneous_claims_on_two_replicas_give_one_winner(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    agents: Callable[[Replica, str], RelayClaims],
    desktops: Callable[[Replica, str], Desktop],
) -> None:
    first, second = start_relay(), start_relay()
    priya_credential = await engine.issue_credential("Priya")
    priya = agents(first, priya_credential)
    arjun = agents(second, await engine.issue_credential("Arjun"))
    watcher = desktops(first, priya_credential)

    async def claim(claims: RelayClaims) -> CallbackClaim | ClaimRefused:
        try:
            return await claims.claim(NUMBER)
        except ClaimRefused as exc:
            return exc

    answers = await asyncio.gather(*(claim(each) for each in [priya, arjun] * 4))

    winners = {a.agent for a in answers if isinstance(a, CallbackClaim)}
    assert len(winners) == 1
    winner = next(iter(winners))
    refusals = [str(a) for a in answers if isinstance(a, ClaimRefused)]
    assert len(refusals) == 4
    assert all(r.startswith(f"{winner} is already on this callback") for r in refusals)
    await watcher.wait_until(lambda d: len(claims_seen(d)) == 4)
    assert {claim.agent for _kind, claim in claims_seen(watcher)} == {winner}


async def test_no_claim_without_a_valid_credential_or_with_the_store_down(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    redis_server: RedisServer,
    agents: Callable[[Replica, str], RelayClaims],
) -> None:
    replica = start_relay()
    priya = agents(replica, await engine.issue_credential("Priya"))
    await priya.claim(NUMBER)
    await engine.revoke("Priya")
    stranger = agents(replica, "mor_not-a-real-credential")
    arjun = agents(replica, await engine.issue_credential("Arjun"))

    for refused in (priya, stranger):
        with pytest.raises(RelayAuthError, match="not valid"):
            await refused.claim("+919811100072")
        with pytest.raises(RelayAuthError):
            await refused.release(NUMBER)
    with pytest.raises(ClaimUnavailable, match="phone number"):
        await arjun.claim("not a number")

    await asyncio.to_thread(redis_server.stop)
    with pytest.raises(ClaimUnavailable, match="cannot reach its store"):
        await arjun.claim("+919811100072")
