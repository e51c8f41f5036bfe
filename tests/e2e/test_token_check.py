"""Checking a pasted token against the emulated service on a real loopback port: each
outcome the first-run window tells apart, each after exactly one request."""

from __future__ import annotations

import socket

import pytest

from desktop_app.sandbox import SandboxServer
from desktop_app.services.account import (
    OFFLINE_SENTENCE,
    REJECTED_SENTENCE,
    SERVER_ERROR_SENTENCE,
    CheckOutcome,
    check_token,
)
from tests.helpers.tokens import FAKE_TOKEN

#: Fake, 32 hex digits, and not one of the server's tokens.
UNKNOWN_TOKEN = "0123456789abcdef0123456789abcdef"


def _searches(server: SandboxServer) -> int:
    return len(server.state.requests_to("/search"))


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_accepted_token(server: SandboxServer) -> None:
    before = _searches(server)
    check = await check_token(FAKE_TOKEN, server.base_url)
    assert check.outcome is CheckOutcome.ACCEPTED and check.ok
    assert _searches(server) - before == 1


async def test_a_rejected_token(server: SandboxServer) -> None:
    before = _searches(server)
    check = await check_token(UNKNOWN_TOKEN, server.base_url)
    assert (check.outcome, check.sentence) == (CheckOutcome.REJECTED, REJECTED_SENTENCE)
    assert _searches(server) - before == 1
    [request] = server.state.requests_to("/search")[before:]
    assert request.status == 400


async def test_no_service_at_the_address_is_offline() -> None:
    check = await check_token(FAKE_TOKEN, f"http://127.0.0.1:{_closed_port()}")
    assert (check.outcome, check.sentence) == (CheckOutcome.OFFLINE, OFFLINE_SENTENCE)


async def test_a_rate_limited_account(server: SandboxServer) -> None:
    server.state.faults.add("429:count=1,retry_after=40")
    before = _searches(server)

    check = await check_token(FAKE_TOKEN, server.base_url)

    assert check.outcome is CheckOutcome.RATE_LIMITED
    assert check.sentence.endswith("try again in 40 s.")
    assert check.retry_after == 40
    assert _searches(server) - before == 1


@pytest.mark.parametrize("fault", ["503:count=1", "html502:count=1", "500"])
async def test_a_server_error(server: SandboxServer, fault: str) -> None:
    server.state.faults.add(fault)
    before = _searches(server)

    check = await check_token(FAKE_TOKEN, server.base_url)

    assert (check.outcome, check.sentence) == (CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE)
    assert _searches(server) - before == 1  # a 502/503 is not retried here


async def test_a_dropped_connection_is_offline_and_not_retried(server: SandboxServer) -> None:
    server.state.faults.add("drop:count=1")
    before = _searches(server)
    check = await check_token(FAKE_TOKEN, server.base_url)
    assert (check.outcome, check.sentence) == (CheckOutcome.OFFLINE, OFFLINE_SENTENCE)
    assert _searches(server) - before == 1
