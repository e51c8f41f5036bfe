"""The relay's state in a real Redis: de-duplication across replicas, the stream's order,
credentials kept only as digests, the poller's lease, and all of it across a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import CallbackClaim, EventKind, after_call_event, in_call_event
from tests.helpers.redis_server import RedisServer
from tests.unit.relay.test_events import after_call_record, in_call

NAMESPACE = "test:engine:"


@pytest.fixture
async def engines(redis_server: RedisServer) -> AsyncIterator[tuple[RelayEngine, RelayEngine]]:
    """Two engines on separate connections, as two relay replicas would have."""
    first = RelayEngine.from_url(redis_server.url, NAMESPACE)
    second = RelayEngine.from_url(redis_server.url, NAMESPACE)
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_the_same_webhook_given_to_two_replicas_at_once_is_stored_once(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    first, second = engines
    event = after_call_event(after_call_record())

    results = await asyncio.gather(*(engine.append(event) for engine in (first, second) * 10))

    stored = [result for result in results if result is not None]
    assert len(stored) == 1
    assert [e.call_id for e in await first.events_after("0-0")] == ["call-1"]


async def test_events_come_back_in_order_after_any_id(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    engine, _ = engines
    ids = []
    for n in range(5):
        stored = await engine.append(after_call_event(after_call_record(_id=f"c{n}")))
        assert stored is not None
        ids.append(stored)

    assert [e.call_id for e in await engine.events_after("0-0")] == [f"c{n}" for n in range(5)]
    assert [e.call_id for e in await engine.events_after(ids[2])] == ["c3", "c4"]
    assert [e.id for e in await engine.events_after(ids[0], count=2)] == ids[1:3]
    assert await engine.last_event_id() == ids[-1]
    assert await engine.events_after(ids[-1]) == []


async def test_a_waiting_read_wakes_for_the_next_event(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    reader, writer = engines
    waiting = asyncio.ensure_future(reader.wait_events("$", block_ms=20_000))

    # "$" means "after whatever is there when the read starts": append until it is seen.
    async def append_until_woken() -> None:
        n = 0
        while not waiting.done():
            await writer.append(in_call_event(in_call(uid=f"live-{n}")))
            n += 1
            await asyncio.wait({waiting}, timeout=0.05)

    await asyncio.wait_for(append_until_woken(), timeout=20)
    events = waiting.result()
    assert events and events[0].call_id.startswith("live-")


async def test_credentials_are_kept_as_digests_and_revoking_one_ends_it(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    engine, other = engines
    credential = await engine.issue_credential("Priya")

    assert await other.agent_for(credential) == "Priya"
    assert await other.agent_for(credential + "x") is None
    assert await other.agent_for("not-a-credential") is None
    stored = b""
    async for key in engine.redis.scan_iter(f"{NAMESPACE}*"):
        stored += key + repr(await engine.redis.dump(key)).encode()
    assert credential.encode() not in stored

    replacement = await engine.issue_credential("Priya")
    assert await other.agent_for(credential) is None
    assert await other.agent_for(replacement) == "Priya"
    assert [a.name for a in await other.agents()] == ["Priya"]

    assert await engine.revoke("Priya")
    assert await other.agent_for(replacement) is None
    assert await other.agents() == []
    assert not await engine.revoke("Priya")


@pytest.mark.parametrize("name", ["", "x" * 65, "Priya\nAdmin", "a/b"])
async def test_an_agent_name_that_could_not_be_listed_plainly_is_refused(
    engines: tuple[RelayEngine, RelayEngine], name: str
) -> None:
    from desktop_app.relay.engine import AgentNameInvalid

    engine, _ = engines
    with pytest.raises(AgentNameInvalid):
        await engine.issue_credential(name)


async def test_one_poller_holds_the_lease_until_it_resigns(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    first, second = engines

    results = await asyncio.gather(
        *(engine.lead(owner, 60_000) for engine, owner in ((first, "a"), (second, "b")) * 5)
    )

    leader = await first.leader()
    assert leader in ("a", "b")
    assert sum(results) == 5  # only the winner's five tries succeed (it renews)
    holder, contender = (first, second) if leader == "a" else (second, first)
    other_name = "b" if leader == "a" else "a"
    assert not await contender.lead(other_name, 60_000)
    await contender.resign(other_name)  # resigning what one does not hold changes nothing
    assert await first.leader() == leader
    await holder.resign(leader)
    assert await contender.lead(other_name, 60_000)
    assert await first.leader() == other_name


async def test_a_lease_not_renewed_passes_to_another_poller(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    first, second = engines
    assert await first.lead("a", 50)

    # The lease runs out on Redis's clock: ask until it has (each answer is a round trip).
    async def until_second_leads() -> None:
        while not await second.lead("b", 60_000):
            await second.ping()

    await asyncio.wait_for(until_second_leads(), timeout=10)
    assert await first.leader() == "b"


async def test_events_credentials_and_seen_keys_survive_a_redis_restart(
    redis_server: RedisServer,
) -> None:
    engine = RelayEngine.from_url(redis_server.url, NAMESPACE)
    event = after_call_event(after_call_record())
    assert await engine.append(event) is not None
    credential = await engine.issue_credential("Arjun")
    await engine.aclose()

    await asyncio.to_thread(redis_server.restart)

    engine = RelayEngine.from_url(redis_server.url, NAMESPACE)
    try:
        assert [e.call_id for e in await engine.events_after("0-0")] == ["call-1"]
        assert await engine.agent_for(credential) == "Arjun"
        assert await engine.append(event) is None
    finally:
        await engine.aclose()


async def test_the_dial_guard_holds_a_number_for_one_agent_for_its_time(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    first, second = engines
    priya = await first.claim_dial("919811100033", "Priya", 60_000)
    arjun = await second.claim_dial("919811100033", "Arjun", 60_000)
    again = await second.claim_dial("919811100033", "Priya", 60_000)
    other_number = await second.claim_dial("919811100034", "Arjun", 60_000)

    assert (priya.taken, arjun.taken, again.taken, other_number.taken) == (
        True, False, False, True
    )
    assert (arjun.agent, again.agent, arjun.at_ms) == ("Priya", "Priya", priya.at_ms)
    assert 0 < await first.redis.pttl(NAMESPACE + "dial:919811100033") <= 60_000
    await second.release_dial(arjun)  # a refused claim lets go of nothing
    assert not (await first.claim_dial("919811100033", "Arjun", 60_000)).taken
    await first.release_dial(priya)
    assert (await second.claim_dial("919811100033", "Arjun", 60_000)).taken


async def test_a_callback_claim_and_its_release_are_told_by_the_same_script(
    engines: tuple[RelayEngine, RelayEngine],
) -> None:
    first, second = engines
    number = "+919811100071"
    start = await first.events_after("0-0")

    taken = await first.claim_callback(number, "Priya", 1_800_000)
    refused = await second.claim_callback(number, "Arjun", 1_800_000)
    not_hers = await second.release_callback(number, "Arjun")
    released = await second.release_callback(number, "Priya")

    assert (taken.done, refused.done, not_hers.done, released.done) == (
        True, False, False, True
    )
    told = (await first.events_after(start[-1].id if start else "0-0"))
    # One event per change, none for a refusal; ms exact (13 digits, through Lua's JSON).
    assert [event.kind for event in told] == [
        EventKind.CALLBACK_CLAIMED, EventKind.CALLBACK_RELEASED
    ]
    claimed, let_go = (event.callback_claim() for event in told)
    assert taken.holder is not None
    assert claimed == taken.holder
    assert let_go == CallbackClaim(number, "Priya", taken.holder.at_ms, released.now_ms, False)
    # An event read back has no de-duplication key: appending it again is refused, not
    # stored under the one empty key that would swallow every later one.
    with pytest.raises(ValueError, match="without a de-duplication key"):
        await first.append(told[0])
