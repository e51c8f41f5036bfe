"""A desktop's test of a pasted relay address and credential (`check_relay`), against a
real relay process: whose credential it is, a revoked one, a relay that has no API token
yet, an address that is not a relay, and one where nothing answers."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.services.account import RELAY_REFUSED_SENTENCE, check_relay, clean_credential
from tests.e2e.relay.conftest import Replica
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.tokens import FAKE_TOKEN


async def test_the_relay_says_whose_credential_it_is_and_refuses_a_revoked_one(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
) -> None:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url})
    replica = start_relay()
    uuid = server.state.users[0].uuid
    credential = await engine.issue_credential("Priya Sharma", admin=True, user=uuid)

    said = await check_relay(replica.base_url + "/", credential)
    assert said.ok and said.agent == "Priya Sharma" and said.admin and said.user == uuid
    assert said.sentence == "The relay knows you as Priya Sharma."

    await engine.revoke("Priya Sharma")
    refused = await check_relay(replica.base_url, credential)
    assert not refused.ok and refused.sentence == RELAY_REFUSED_SENTENCE


async def test_a_relay_without_the_api_token_is_no_way_in_yet(
    relay_environ: dict[str, str], start_relay: Callable[[], Replica], engine: RelayEngine
) -> None:
    relay_environ.pop("MYOPERATOR_TOKEN", None)
    replica = start_relay()
    credential = await engine.issue_credential("Arjun")

    said = await check_relay(replica.base_url, credential)
    assert not said.ok and said.agent == "Arjun"
    assert "has no MyOperator API token yet" in said.sentence


async def test_an_address_that_is_not_a_relay_or_answers_nothing_says_so(
    server: SandboxServer,
) -> None:
    credential = "mor_" + "A" * 43
    not_a_relay = await check_relay(server.base_url, credential)
    assert not not_a_relay.ok
    assert not_a_relay.sentence.startswith("There is no team relay at that address")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nothing = await check_relay(f"http://127.0.0.1:{port}", credential, timeout_s=5)
    assert not nothing.ok and "could not be reached" in nothing.sentence
    for said in (not_a_relay, nothing):
        assert credential not in said.sentence


@pytest.mark.parametrize(
    "pasted",
    [
        "mor_" + "x" * 43,
        '  "mor_' + "x" * 43 + '"\n',
        "mor_" + "x" * 20 + "\n" + "x" * 23,  # broken across lines by a chat window
        "\u200bmor_" + "x" * 43,
    ],
)
def test_a_pasted_credential_is_trimmed_to_itself(pasted: str) -> None:
    assert clean_credential(pasted) == "mor_" + "x" * 43


@pytest.mark.parametrize(
    ("pasted", "said"),
    [("", "empty"), ("0123456789abcdef0123456789abcdef", "starts with mor_")],
)
def test_what_is_not_a_credential_is_said_without_repeating_it(pasted: str, said: str) -> None:
    with pytest.raises(ValueError, match=said) as refused:
        clean_credential(pasted)
    assert not pasted or pasted not in str(refused.value)
