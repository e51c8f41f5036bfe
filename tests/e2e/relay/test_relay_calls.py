"""The desktop's own `MyOperatorClient`, pointed at two relay replicas, against the emulated
service: the team-wide dial guard lets one agent call a customer back and tells the others
who is; a call clearly not placed frees the number; an unclear outcome keeps it held; the
users and filters come from the relay's cache; changing users is for admins; no valid
credential, nothing passed on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV, MyOperatorClient, RetryPolicy
from desktop_app.api.errors import (
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.models import CallPlaced, UserUpdate
from desktop_app.relay.budget import RedisLedger
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.services.dialer import DialGuard, DialKind
from tests.e2e.relay.conftest import Replica
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.redis_server import RedisServer
from tests.helpers.relay import NAMESPACE
from tests.helpers.tokens import FAKE_TOKEN


@pytest.fixture
def replicas(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
) -> list[Replica]:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url})
    return [start_relay(), start_relay()]


@pytest.fixture
async def desktops() -> AsyncIterator[Callable[[Replica, str], MyOperatorClient]]:
    """A desktop's client on a replica: its agent credential where the token would go."""
    made: list[MyOperatorClient] = []

    def connect(replica: Replica, credential: str) -> MyOperatorClient:
        client = MyOperatorClient(
            credential,
            base_url=replica.base_url + "/v1/myoperator",
            budget=RequestBudget.unlimited(),
            as_bearer=True,
        )
        made.append(client)
        return client

    yield connect
    for client in made:
        await client.aclose()


@pytest.fixture
async def priya_and_arjun(
    replicas: list[Replica],
    engine: RelayEngine,
    desktops: Callable[[Replica, str], MyOperatorClient],
) -> tuple[MyOperatorClient, MyOperatorClient]:
    """Two agents' desktops, one on each replica."""
    return (
        desktops(replicas[0], await engine.issue_credential("Priya")),
        desktops(replicas[1], await engine.issue_credential("Arjun")),
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
    server: SandboxServer,
    priya_and_arjun: tuple[MyOperatorClient, MyOperatorClient],
) -> None:
    priya, arjun = priya_and_arjun
    uuid = agent_uuid(server)

    async def call(client: MyOperatorClient, number: str, cc: str | None) -> object:
        try:
            return await client.click_to_call(number, cc, uuid)
        except ValidationError as exc:
            return exc

    # The same customer, written two ways, by both agents, on both replicas, at once.
    answers = await asyncio.gather(*(
        call(client, number, cc)
        for client, (number, cc) in zip(
            [priya, arjun] * 4, [("9811100033", "91"), ("+91 98111 00033", None)] * 4,
            strict=True,
        )
    ))

    placed = [a for a in answers if isinstance(a, CallPlaced)]
    assert len(placed) == 1 and placed[0].unique_id
    assert calls_to(server, "9811100033") == 1
    refusals = [a.message for a in answers if isinstance(a, ValidationError)]
    assert len(refusals) == 7
    named = {m.split(" is calling")[0] for m in refusals if " is calling this number back" in m}
    assert len(named) == 1 and named <= {"Priya", "Arjun"}  # the one who called
    assert all(
        m.startswith(("You called this number back", f"{next(iter(named))} is calling"))
        for m in refusals
    )


async def test_a_call_the_service_clearly_refused_frees_the_number_for_a_colleague(
    server: SandboxServer,
    priya_and_arjun: tuple[MyOperatorClient, MyOperatorClient],
) -> None:
    priya, arjun = priya_and_arjun
    uuid = agent_uuid(server)
    unknown_agent = uuid[:-1] + ("0" if uuid[-1] != "0" else "1")

    with pytest.raises(ValidationError, match="support_user_id"):
        await priya.click_to_call("9811100044", "91", unknown_agent)

    placed = await arjun.click_to_call("9811100044", "91", uuid)
    assert placed.unique_id


async def test_an_unclear_outcome_keeps_the_number_held(
    server: SandboxServer,
    priya_and_arjun: tuple[MyOperatorClient, MyOperatorClient],
) -> None:
    priya, arjun = priya_and_arjun
    uuid = agent_uuid(server)
    # Placed at the service, but the answer never comes back.
    server.state.faults.add("drop:path=/clickOcall,after=1,count=1")

    with pytest.raises(OutcomeUnknown):
        await priya.click_to_call("9811100055", "91", uuid)
    with pytest.raises(ValidationError, match=r"^Priya is calling this number back"):
        await arjun.click_to_call("9811100055", "91", uuid)
    assert calls_to(server, "9811100055") == 1


async def test_the_users_and_filters_come_from_the_relays_cache_until_a_change(
    server: SandboxServer,
    replicas: list[Replica],
    engine: RelayEngine,
    desktops: Callable[[Replica, str], MyOperatorClient],
) -> None:
    admin = desktops(replicas[0], await engine.issue_credential("Meera", admin=True))
    agents = [desktops(r, await engine.issue_credential(f"Agent {n}"))
              for n, r in enumerate(replicas * 3)]
    before = len(server.state.requests_to("/user", "GET"))
    filters_before = len(server.state.requests_to("/filters"))

    lists = [await agent.all_users() for agent in agents]
    for agent in agents:
        await agent.filters()

    assert len({tuple(u.uuid for u in users) for users in lists}) == 1
    assert len(server.state.requests_to("/user", "GET")) == before + 1
    assert len(server.state.requests_to("/filters")) == filters_before + 1
    # A change through the relay: the next list is read afresh, and shows it.
    target = lists[0][-1]
    await admin.update_user(UserUpdate(uuid=target.uuid, name="Renamed Through Relay"))
    fresh = await agents[1].all_users()
    assert any(u.name == "Renamed Through Relay" for u in fresh)
    assert len(server.state.requests_to("/user", "GET")) == before + 2
    with pytest.raises(PermissionDenied, match="not allowed to add or change users"):
        await agents[0].update_user(UserUpdate(uuid=target.uuid, name="Not Allowed"))


async def test_nothing_is_passed_on_without_a_valid_credential(
    server: SandboxServer,
    replicas: list[Replica],
    engine: RelayEngine,
    desktops: Callable[[Replica, str], MyOperatorClient],
) -> None:
    credential = await engine.issue_credential("Priya")
    revoked = desktops(replicas[0], credential)
    await engine.revoke("Priya")
    stranger = desktops(replicas[1], "mor_not-a-real-credential")
    uuid = agent_uuid(server)
    searches = len(server.state.requests_to("/search"))

    # A valid credential in the URL (where proxies log it) is not taken either.
    in_url = MyOperatorClient(
        await engine.issue_credential("Arjun"),
        base_url=replicas[0].base_url + "/v1/myoperator",
        budget=RequestBudget.unlimited(),
    )
    for client in (revoked, stranger, in_url):
        with pytest.raises(TokenRejected):
            await client.click_to_call("9811100066", "91", uuid)
        with pytest.raises(TokenRejected):
            await client.search_logs(page_size=5)
    await in_url.aclose()
    assert calls_to(server, "9811100066") == 0
    assert len(server.state.requests_to("/search")) == searches


async def test_the_team_spends_one_allowance_and_a_call_still_has_its_reserve(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    redis_server: RedisServer,
    desktops: Callable[[Replica, str], MyOperatorClient],
) -> None:
    searches_before = len(server.state.requests_to("/search"))
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url})
    replicas = [start_relay(), start_relay()]
    team = [desktops(replica, await engine.issue_credential(f"Agent {n}"))
            for n, replica in enumerate(replicas * 2)]
    once = RetryPolicy(attempts=1)

    refused: RateLimited | None = None
    for n in range(20):  # more than a minute's background share, from four desktops
        try:
            await team[n % 4].search_logs(page_size=5, retry=once)
        except RateLimited as exc:
            refused = exc
            break

    assert refused is not None and refused.retry_after is not None
    assert 0 < refused.retry_after <= 60
    # The poll and the desktops' searches together: the minute's 20 less the calls' 5,
    # counted in Redis as each was let go (the poll's last may still be on its way).
    ledger = RedisLedger.from_url(redis_server.url, NAMESPACE)
    try:
        minute_ago = time.time() - 60  # the relays' clock: this process's, faked or not
        assert len(ledger.spent_since(minute_ago)) == 15
        assert len(server.state.requests_to("/search")) - searches_before <= 15
        placed = await team[3].click_to_call("9811100077", "91", agent_uuid(server))
        assert placed.unique_id
        assert len(ledger.spent_since(minute_ago)) == 16
    finally:
        ledger.close()


async def test_the_dialer_says_who_is_calling_back_in_the_relays_words(
    server: SandboxServer,
    priya_and_arjun: tuple[MyOperatorClient, MyOperatorClient],
) -> None:
    uuid = agent_uuid(server)
    priya, arjun = (DialGuard(client) for client in priya_and_arjun)

    placed = await priya.dial("98111 00088", "91", uuid)
    refused = await arjun.dial("+91 98111 00088", None, uuid)

    assert placed.kind is DialKind.PLACED
    assert refused.kind is DialKind.FAILED
    assert refused.message.startswith("Priya is calling this number back (since ")
    assert refused.message.endswith("; your call was not placed.")
    assert calls_to(server, "9811100088") == 1


async def test_an_agent_switches_their_own_do_not_disturb_and_nothing_else(
    server: SandboxServer,
    replicas: list[Replica],
    engine: RelayEngine,
    desktops: Callable[[Replica, str], MyOperatorClient],
) -> None:
    me, colleague = [user for user in server.state.users if user.is_enabled][:2]
    my_name = me.name
    priya_credential = await engine.issue_credential("Priya", user=me.uuid)
    priya = desktops(replicas[0], priya_credential)
    unlinked = desktops(replicas[1], await engine.issue_credential("Arjun"))

    await priya.set_receives_calls(me.uuid, False)
    switched = server.state.find_user(me.uuid)
    assert switched is not None and switched.receive_calls == 2  # MyOperator's "no"
    await priya.set_receives_calls(me.uuid, True)

    puts = len(server.state.requests_to("/user", "PUT"))
    with pytest.raises(PermissionDenied, match="not a colleague's"):
        await priya.set_receives_calls(colleague.uuid, False)
    with pytest.raises(PermissionDenied, match="not allowed to add or change users"):
        await priya.update_user(UserUpdate(uuid=me.uuid, name="Renamed By Herself"))
    with pytest.raises(PermissionDenied, match="does not know which user they are"):
        await unlinked.set_receives_calls(me.uuid, False)
    # Her own switch, with a rename in the query string (which the relay forwards too).
    async with httpx.AsyncClient(base_url=replicas[0].base_url) as raw:
        smuggled = await raw.put(
            "/v1/myoperator/user",
            params={"name": "Renamed By Herself"},
            data={"uuid": me.uuid, "receive_calls": "1"},
            headers={"Authorization": f"Bearer {priya_credential}"},
        )
    assert smuggled.status_code == 403
    assert "not allowed to add or change users" in smuggled.json()["message"]
    assert len(server.state.requests_to("/user", "PUT")) == puts  # none reached MyOperator
    left = server.state.find_user(colleague.uuid)
    assert left is not None and left.receive_calls == 1
    herself = server.state.find_user(me.uuid)
    assert herself is not None and herself.name == my_name
