"""A team behind two relay replicas: webhooks delivered to either, duplicated and out of
order; one replica killed mid-stream and Redis restarted. Every desktop ends with every
event exactly once, in the same order as every other desktop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from desktop_app.relay.client import EventStream
from desktop_app.relay.engine import RelayEngine
from tests.e2e.relay.conftest import HOOK_AUTH, Desktop, Replica
from tests.helpers.redis_server import RedisServer
from tests.unit.relay.test_events import after_call_record, in_call

AUTH = {HOOK_AUTH[0]: HOOK_AUTH[1]}
DESKTOPS = 12


class MyOperator:
    """Delivers webhooks as MyOperator does: to whichever replica the balancer picks, again
    when the answer is not a 2xx (here at once, not after 30 s), sometimes twice."""

    def __init__(self, http: httpx.AsyncClient, replicas: list[Replica], seed: int) -> None:
        self._http = http
        self.replicas = replicas
        self._random = random.Random(seed)

    async def deliver(self, kind: str, payload: dict[str, object]) -> None:
        async with asyncio.timeout(30):
            while True:
                replica = self._random.choice(self.replicas)
                try:
                    answer = await self._http.post(
                        replica.hook(kind), json=payload, headers=AUTH
                    )
                except httpx.TransportError:
                    continue
                if answer.status_code == 200:
                    return
                # 503 while Redis restarts: retry once the replica reaches it again.
                assert answer.status_code == 503, answer.text
                await self._until_healthy(replica)

    async def _until_healthy(self, replica: Replica) -> None:
        while (await self._http.get(replica.base_url + "/v1/health")).status_code != 200:
            pass


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def batch(first: int, count: int, seed: int) -> list[tuple[str, dict[str, object]]]:
    """`count` calls' webhooks (ringing, answered or not, ended), a third of them twice,
    shuffled: retries and reordering as MyOperator's deliveries show them."""
    webhooks: list[tuple[str, dict[str, object]]] = []
    for n in range(first, first + count):
        webhooks.append(("in-call", in_call(uid=f"c{n}")))
        webhooks.append(("after-call", after_call_record(_id=f"c{n}", status=1 + n % 2)))
    rng = random.Random(seed)
    webhooks += rng.sample(webhooks, len(webhooks) // 3)
    rng.shuffle(webhooks)
    return webhooks


async def test_every_desktop_ends_with_every_event_once_through_a_crash_and_a_redis_restart(
    start_relay: Callable[[], Replica],
    redis_server: RedisServer,
    http: httpx.AsyncClient,
) -> None:
    first, second = start_relay(), start_relay()
    engine = RelayEngine.from_url(redis_server.url, "test:relay:")
    credentials = [await engine.issue_credential(f"Agent {n}") for n in range(DESKTOPS)]
    await engine.aclose()
    # Half the desktops reach the first replica first, half the second; each fails over.
    desktops = [
        Desktop(
            EventStream(
                [first.base_url, second.base_url][:: 1 if n % 2 else -1],
                credential,
                retry_first_s=0.05,
                retry_most_s=0.5,
            )
        )
        for n, credential in enumerate(credentials)
    ]
    myoperator = MyOperator(http, [first, second], seed=5)
    try:
        await asyncio.gather(*(d.stream.caught_up.wait() for d in desktops))

        for kind, payload in batch(0, 15, seed=1):
            await myoperator.deliver(kind, payload)

        first.kill()  # mid-stream: its desktops fail over to the second replica
        myoperator.replicas = [second]
        for kind, payload in batch(15, 15, seed=2):
            await myoperator.deliver(kind, payload)

        await asyncio.to_thread(redis_server.stop)
        restart = asyncio.ensure_future(asyncio.to_thread(redis_server.start))
        for kind, payload in batch(30, 15, seed=3):
            await myoperator.deliver(kind, payload)
        await restart

        # A last event: the stream is ordered, so a desktop holding it holds all before it.
        await myoperator.deliver("after-call", after_call_record(_id="last"))
        await asyncio.gather(*(d.wait_until(lambda d: "last" in d.call_ids) for d in desktops))
    finally:
        await asyncio.gather(*(d.aclose() for d in desktops))

    expected = {(f"c{n}", kind) for n in range(45) for kind in ("call.ringing", "call.ended")}
    reference = [event.id for event in desktops[0].events]
    for desktop in desktops:
        received = [(event.call_id, event.kind.value) for event in desktop.events]
        assert len(received) == len(set(received)) == len(expected) + 1
        assert set(received) == expected | {("last", "call.ended")}
        assert [event.id for event in desktop.events] == reference
    assert sum(d.stream.reconnects for d in desktops) >= DESKTOPS // 2
