"""One relay replica as MyOperator and a desktop meet it over loopback HTTP: webhooks
refused without their secret, stored once, answered 503 while Redis is down; the event
stream resumed from the last id, and closed to a revoked credential."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from desktop_app.relay.client import EventStream, RelayAuthError
from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import EventKind, RelayEvent, after_call_event
from tests.e2e.relay.conftest import HOOK_AUTH, HOOK_SECRET, Desktop, Replica
from tests.helpers.redis_server import RedisServer
from tests.unit.relay.test_events import after_call_record, in_call

AUTH = {HOOK_AUTH[0]: HOOK_AUTH[1]}


@pytest.fixture
async def engine(redis_server: RedisServer) -> AsyncIterator[RelayEngine]:
    engine = RelayEngine.from_url(redis_server.url, "test:relay:")
    yield engine
    await engine.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def replica(start_relay: Callable[[], Replica]) -> Replica:
    return start_relay()


async def next_event(events: AsyncIterator[RelayEvent]) -> RelayEvent:
    return await asyncio.wait_for(anext(events), timeout=10)


async def test_a_webhook_without_the_secret_path_or_the_auth_header_is_refused(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    record = after_call_record()

    wrong_path = await http.post(replica.hook("after-call", "x" * 32), json=record, headers=AUTH)
    no_header = await http.post(replica.hook("after-call"), json=record)
    wrong_header = await http.post(
        replica.hook("after-call"), json=record, headers={HOOK_AUTH[0]: "guess"}
    )

    assert wrong_path.status_code == 404
    assert no_header.status_code == 401
    assert wrong_header.status_code == 401
    assert HOOK_AUTH[0] in no_header.json()["message"]
    assert await engine.events_after("0-0") == []


async def test_a_webhook_is_stored_once_however_often_it_is_delivered(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    record = after_call_record()

    first = await http.post(replica.hook("after-call"), json=record, headers=AUTH)
    retry = await http.post(replica.hook("after-call"), json=record, headers=AUTH)

    assert first.status_code == retry.status_code == 200
    assert (first.json()["duplicate"], retry.json()["duplicate"]) == (False, True)
    assert [e.call_id for e in await engine.events_after("0-0")] == ["call-1"]


async def test_webhooks_sent_as_a_form_or_as_a_get_are_taken_too(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    form = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in in_call().items()}
    record = after_call_record(_id="by-get")
    query = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in record.items()}

    by_form = await http.post(replica.hook("in-call"), data=form, headers=AUTH)
    by_get = await http.get(replica.hook("after-call"), params=query, headers=AUTH)

    assert by_form.status_code == by_get.status_code == 200
    events = await engine.events_after("0-0")
    assert [(e.kind, e.call_id) for e in events] == [
        (EventKind.CALL_RINGING, "live-9"),
        (EventKind.CALL_ENDED, "by-get"),
    ]
    assert events[0].live_call().agents[0].name == "Priya"
    assert events[1].call_log().agents == ("Priya",)


async def test_a_webhook_the_relay_cannot_use_gets_a_400_with_the_reason(
    replica: Replica, http: httpx.AsyncClient
) -> None:
    no_id = after_call_record(_id=None)

    answer = await http.post(replica.hook("after-call"), json=no_id, headers=AUTH)
    not_json = await http.post(
        replica.hook("in-call"), content=b"<xml/>", headers={**AUTH, "Content-Type": "text/xml"}
    )

    assert answer.status_code == 400
    assert "names no call" in answer.json()["message"]
    assert not_json.status_code == 400


async def test_a_desktop_gets_what_it_missed_then_live_events_and_resumes_after_a_drop(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    credential = await engine.issue_credential("Priya")
    for n in range(3):
        await post_after_call(http, replica, f"old-{n}")
    desktop = Desktop(EventStream(replica.base_url, credential))
    try:
        await asyncio.wait_for(desktop.stream.caught_up.wait(), timeout=10)
        assert desktop.call_ids == ["old-0", "old-1", "old-2"]

        await http.post(replica.hook("in-call"), json=in_call(), headers=AUTH)
        await desktop.wait_until(lambda d: len(d.events) == 4)
        live = desktop.events[-1]
        assert (live.kind, live.call_id) == (EventKind.CALL_RINGING, "live-9")
        assert desktop.stream.last_event_id == live.id
    finally:
        await desktop.aclose()

    # The desktop was off while two more calls ended: it resumes after the last it had.
    for n in range(2):
        await post_after_call(http, replica, f"new-{n}")
    resumed = Desktop(EventStream(replica.base_url, credential, last_event_id=live.id))
    try:
        await asyncio.wait_for(resumed.stream.caught_up.wait(), timeout=10)
        assert resumed.call_ids == ["new-0", "new-1"]
    finally:
        await resumed.aclose()


async def post_after_call(http: httpx.AsyncClient, replica: Replica, call_id: str) -> None:
    answer = await http.post(
        replica.hook("after-call"), json=after_call_record(_id=call_id), headers=AUTH
    )
    assert answer.status_code == 200


async def test_an_unknown_or_revoked_credential_gets_nothing(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    credential = await engine.issue_credential("Arjun")
    await http.post(replica.hook("after-call"), json=after_call_record(), headers=AUTH)
    url = replica.base_url + "/v1/events"

    anonymous = await http.get(url)
    unknown = await http.get(url, headers={"Authorization": "Bearer mor_" + "A" * 43})
    await engine.revoke("Arjun")
    revoked = await http.get(url, headers={"Authorization": f"Bearer {credential}"})

    for answer in (anonymous, unknown, revoked):
        assert answer.status_code == 401
        assert "call-1" not in answer.text
    stream = EventStream(replica.base_url, credential)
    with pytest.raises(RelayAuthError, match="not valid"):
        await next_event(stream.events())
    await stream.aclose()


async def test_a_credential_revoked_mid_stream_is_cut_off_within_a_heartbeat(
    replica: Replica, engine: RelayEngine
) -> None:
    credential = await engine.issue_credential("Arjun")
    desktop = Desktop(EventStream(replica.base_url, credential))
    await asyncio.wait_for(desktop.stream.caught_up.wait(), timeout=10)

    await engine.revoke("Arjun")

    await desktop.wait_until(lambda d: d.error is not None)  # heartbeat: 0.3 s
    assert "revoked" in str(desktop.error)
    await desktop.aclose()


async def test_a_bad_last_event_id_is_refused(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    credential = await engine.issue_credential("Priya")

    answer = await http.get(
        replica.base_url + "/v1/events",
        headers={"Authorization": f"Bearer {credential}", "Last-Event-ID": "latest"},
    )

    assert answer.status_code == 400


async def test_with_redis_down_webhooks_get_503_so_myoperator_retries_and_none_is_lost(
    replica: Replica, http: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    await asyncio.to_thread(redis_server.stop)

    down = await http.post(replica.hook("after-call"), json=after_call_record(), headers=AUTH)
    health_down = await http.get(replica.base_url + "/v1/health")

    assert down.status_code == 503
    assert health_down.status_code == 503
    await asyncio.to_thread(redis_server.start)
    retried = await http.post(replica.hook("after-call"), json=after_call_record(), headers=AUTH)
    assert retried.status_code == 200
    assert retried.json()["duplicate"] is False
    assert (await http.get(replica.base_url + "/v1/health")).json()["redis"] is True


async def test_the_relay_prints_neither_the_webhook_secret_nor_a_credential(
    start_relay: Callable[[], Replica], http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    replica = start_relay()
    credential = await engine.issue_credential("Priya")
    await http.post(replica.hook("after-call"), json=after_call_record(), headers=AUTH)
    await http.post(replica.hook("after-call", "x" * 32), json={}, headers=AUTH)
    await http.get(replica.base_url + "/v1/events", headers={"Authorization": "Bearer nope"})
    stream = EventStream(replica.base_url, credential)
    events = stream.events()
    assert (await next_event(events)).call_id == "call-1"
    await events.aclose()
    await stream.aclose()

    replica.proc.terminate()
    out, err = replica.proc.communicate(timeout=10)

    for secret in (HOOK_SECRET, HOOK_AUTH[1], credential):
        assert secret not in out + err


async def test_a_desktop_that_leaves_mid_catch_up_is_not_written_to_any_more(
    replica: Replica, http: httpx.AsyncClient, engine: RelayEngine
) -> None:
    """A desktop closing its window while it catches up on thousands of events: the
    replica notices before its next write, rather than writing into a closed connection
    (asyncio logs "socket.send() raised exception" from the fifth such write)."""
    credential = await engine.issue_credential("Priya")
    for n in range(3000):
        await engine.append(after_call_event(after_call_record(_id=f"old-{n}")))
    async with http.stream(
        "GET", replica.base_url + "/v1/events",
        headers={"Authorization": f"Bearer {credential}"},
    ) as answer:
        async for line in answer.aiter_lines():
            if line.startswith("id:"):
                break  # the first event of the catch-up: then the desktop is gone
    # Still answering, and never wrote on after the desktop had gone.
    assert (await http.get(replica.base_url + "/v1/health")).status_code == 200
    replica.proc.terminate()
    _, log = replica.proc.communicate(timeout=10)
    assert "socket.send() raised exception" not in log
