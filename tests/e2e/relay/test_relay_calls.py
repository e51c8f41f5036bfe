"""Click-to-call through two relay replicas and the emulated service: the team-wide dial
guard lets one agent call a customer back and tells the others who is; a call clearly not
placed frees the number; an unclear outcome keeps it held; no credential, no call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from tests.e2e.relay.conftest import Replica
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.redis_server import RedisServer
from tests.helpers.tokens import FAKE_TOKEN

NAMESPACE = "test:relay:"


@pytest.fixture
async def engine(redis_server: RedisServer) -> AsyncIterator[RelayEngine]:
    made = RelayEngine.from_url(redis_server.url, NAMESPACE)
    yield made
    await made.aclose()


@pytest.fixture
def replicas(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
) -> list[Replica]:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url})
    return [start_relay(), start_relay()]


async def call_back(
    replica: Replica, credential: str, number: str, agent_uuid: str, cc: str | None = "91"
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            replica.base_url + "/v1/calls",
            headers={"Authorization": f"Bearer {credential}"},
            json={"customer_number": number, "customer_cc": cc, "support_user_id": agent_uuid},
        )


def calls_to(server: SandboxServer, number: str) -> int:
    """Click-to-call requests the service received for `number` (the service outlives a
    test: others' calls stay in its record)."""
    return sum(
        request.params.get("customer_number") == number
        for request in server.state.requests_to("/clickOcall")
    )


def agent_uuid(server: SandboxServer) -> str:
    return next(user.uuid for user in server.state.users if user.is_enabled)


async def test_two_agents_calling_one_customer_back_through_two_replicas_place_one_call(
    server: SandboxServer, replicas: list[Replica], engine: RelayEngine
) -> None:
    priya = await engine.issue_credential("Priya")
    arjun = await engine.issue_credential("Arjun")
    uuid = agent_uuid(server)
    # The same customer, written two ways, by both agents, on both replicas, at once.
    tries = [
        call_back(replicas[n % 2], (priya, arjun)[n % 2], number, uuid, cc)
        for n, (number, cc) in enumerate([("9811100033", "91"), ("+91 98111 00033", None)] * 4)
    ]

    answers = await asyncio.gather(*tries)

    bodies: list[dict[str, Any]] = [answer.json() for answer in answers]
    placed = [body for body in bodies if body["outcome"] == "placed"]
    assert len(placed) == 1 and placed[0]["unique_id"]
    assert calls_to(server, "9811100033") == 1
    refused = [body for body in bodies if body["outcome"] != "placed"]
    assert {answer.status_code for answer in answers} == {200, 409}
    winner = {body["held_by"] for body in refused}
    assert len(winner) == 1  # every refusal names the same agent: the one who called
    name = winner.pop()
    assert name in ("Priya", "Arjun")
    others = [body["message"] for body in refused if not body["message"].startswith("You ")]
    assert others and all(
        message.startswith(f"{name} is calling this number back") for message in others
    )


async def test_a_call_the_service_clearly_refused_frees_the_number_for_a_colleague(
    server: SandboxServer, replicas: list[Replica], engine: RelayEngine
) -> None:
    priya = await engine.issue_credential("Priya")
    arjun = await engine.issue_credential("Arjun")
    uuid = agent_uuid(server)
    unknown_agent = uuid[:-1] + ("0" if uuid[-1] != "0" else "1")

    refused = await call_back(replicas[0], priya, "9811100044", unknown_agent)
    assert refused.status_code == 400
    assert refused.json()["outcome"] == "not-placed"

    answer = await call_back(replicas[1], arjun, "9811100044", uuid)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "placed"


async def test_an_unclear_outcome_keeps_the_number_held(
    server: SandboxServer, replicas: list[Replica], engine: RelayEngine
) -> None:
    priya = await engine.issue_credential("Priya")
    arjun = await engine.issue_credential("Arjun")
    uuid = agent_uuid(server)
    # Placed at the service, but the answer never comes back.
    server.state.faults.add("drop:path=/clickOcall,after=1,count=1")

    unclear = await call_back(replicas[0], priya, "9811100055", uuid)
    assert unclear.status_code == 502
    assert unclear.json()["outcome"] == "unknown"
    assert "may or may not" in unclear.json()["message"]

    second = await call_back(replicas[1], arjun, "9811100055", uuid)
    assert second.status_code == 409
    assert second.json()["message"].startswith("Priya is calling this number back")
    assert calls_to(server, "9811100055") == 1


async def test_no_call_without_a_valid_credential_or_a_valid_number(
    server: SandboxServer, replicas: list[Replica], engine: RelayEngine
) -> None:
    priya = await engine.issue_credential("Priya")
    uuid = agent_uuid(server)
    await engine.revoke("Priya")

    revoked = await call_back(replicas[0], priya, "9811100066", uuid)
    unknown = await call_back(replicas[0], "mor_not-a-real-credential", "9811100066", uuid)
    arjun = await engine.issue_credential("Arjun")
    bad_number = await call_back(replicas[1], arjun, "12", uuid)

    assert (revoked.status_code, unknown.status_code) == (401, 401)
    assert bad_number.status_code == 400
    assert bad_number.json()["field"] == "customer_number"
    assert calls_to(server, "9811100066") == calls_to(server, "12") == 0
