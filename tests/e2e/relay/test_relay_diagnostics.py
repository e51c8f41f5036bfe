"""Help → Diagnostics on a desktop connected through the team relay (a real relay process
and the emulated service behind it): the checks go through the relay and speak of the
agent's credential and the relay's one budget, not of an API token this desktop does not
have."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV, MyOperatorClient
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.services.account import relay_api_url
from desktop_app.services.diagnostics import (
    RATE_LIMIT_HEADROOM,
    SERVICE_REACHABLE,
    TOKEN_ACCEPTED,
    USERS_PERMITTED,
    CheckResult,
    CheckStatus,
    DiagnosticsContext,
    run_checks,
)
from desktop_app.store import CallStore
from tests.e2e.relay.conftest import Replica
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.tokens import FAKE_TOKEN


async def keyring_works() -> str | None:
    return None


async def diagnose(replica: Replica, credential: str, store: CallStore) -> dict[str, CheckResult]:
    client = MyOperatorClient(
        credential, base_url=relay_api_url(replica.base_url),
        budget=RequestBudget.unlimited(), as_bearer=True,
    )
    context = DiagnosticsContext(
        client=client, store=store, keyring_problem=keyring_works,
        audio_problem=lambda: None, token_location="the system keyring", relay=True,
    )
    try:
        return {result.name: result async for result in run_checks(context)}
    finally:
        await client.aclose()


async def test_diagnostics_through_the_relay_speak_of_the_credential_and_the_teams_budget(
    server: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    tmp_path: Path,
) -> None:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url})
    replica = start_relay()
    credential = await engine.issue_credential("Priya")
    store = CallStore.open(tmp_path / "calls.db")
    try:
        results = await diagnose(replica, credential, store)
        assert results[SERVICE_REACHABLE].status is CheckStatus.OK
        assert results[TOKEN_ACCEPTED].status is CheckStatus.OK
        assert "relay accepted your credential" in results[TOKEN_ACCEPTED].result
        assert results[USERS_PERMITTED].status is CheckStatus.OK
        assert "whole team" in results[RATE_LIMIT_HEADROOM].result

        await engine.revoke("Priya")
        refused = await diagnose(replica, credential, store)
        assert refused[TOKEN_ACCEPTED].status is CheckStatus.FAILED
        assert "refused your credential" in refused[TOKEN_ACCEPTED].result
        assert "Replace relay credential" in refused[TOKEN_ACCEPTED].advice
        assert refused[USERS_PERMITTED].status is CheckStatus.SKIPPED
        for result in (*results.values(), *refused.values()):
            assert "API token" not in result.result + result.advice
            assert credential not in result.result + result.advice
    finally:
        store.close()
