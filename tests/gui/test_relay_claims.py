"""Claims on the callback list through a real relay (process, Redis, the emulated service
behind): a colleague's claim, made through the relay's HTTP API, shows on this desktop's
row; this agent's "I'm on it" is refused in the relay's words while the colleague holds
the number, and reaches the relay once it is free."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV, MyOperatorClient
from desktop_app.relay.claims import RelayClaims
from desktop_app.relay.client import EventStream
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.sandbox.webhooks import after_call_payload
from desktop_app.ui.callbacks.model import ClaimRole, WorklistColumn
from desktop_app.ui.callbacks.panel import CLAIM_TEXT, RELEASE_TEXT
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.redis_server import redis_server as redis_server
from tests.helpers.relay import NAMESPACE, Replica, post_webhooks
from tests.helpers.relay import relay_engine as relay_engine
from tests.helpers.relay import relay_environ as relay_environ
from tests.helpers.relay import start_relay as start_relay
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import TIMEOUT, WorkspaceOpener, add_newest_call


@pytest.fixture
def replica(
    feed_sandbox: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
) -> Replica:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: feed_sandbox.base_url})
    return start_relay()


def through(replica: Replica, credential: str, claims: RelayClaims) -> dict[str, object]:
    """What `Workspace.open` takes to connect through the relay as this agent."""

    def connect(position: str | None, backfill_s: int) -> EventStream:
        return EventStream(
            replica.base_url, credential, last_event_id=position, backfill_s=backfill_s,
            retry_first_s=0.05, retry_most_s=0.2,
        )

    client = MyOperatorClient(
        credential, base_url=replica.base_url + "/v1/myoperator",
        budget=RequestBudget.unlimited(), as_bearer=True,
    )
    return {"client": client, "relay": connect, "claims": claims}


def claim_shown(ws: Workspace, number: str) -> str | None:
    model = ws.callbacks.model
    row = model.row_of(number)
    return None if row < 0 else model.data(model.index(row, 0), ClaimRole)


async def test_a_colleagues_claim_shows_on_the_row_and_mine_reaches_the_relay(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    priya_credential = await engine.issue_credential("Priya")
    arjun = RelayClaims(replica.base_url, await engine.issue_credential("Arjun"))
    priya = RelayClaims(replica.base_url, priya_credential)
    try:
        async with open_workspace(feed_sandbox, **through(replica, priya_credential, priya)) as ws:
            call = add_newest_call(feed_sandbox.state, answered=False, caller_number="9811100077")
            await post_webhooks(replica, "after-call", [after_call_payload(call)])
            number = "+919811100077"
            await wait_until(lambda: ws.callbacks.model.row_of(number) >= 0, TIMEOUT)
            panel = ws.callbacks.panel
            assert panel.claim_button.isVisibleTo(panel)

            await arjun.claim(number)  # another desktop, through the relay's API

            await wait_until(lambda: claim_shown(ws, number) == "Arjun is on it", TIMEOUT)
            model = ws.callbacks.model
            missed_by = model.index(model.row_of(number), WorklistColumn.MISSED_BY)
            assert str(model.data(missed_by)).startswith("Arjun is on it · ")

            # Mine, while Arjun holds it: refused, in the relay's words.
            assert panel.select_number(number)
            assert panel.claim_button.text() == CLAIM_TEXT
            panel.claim_button.click()
            status = ws.window.statusBar()
            await wait_until(lambda: "already on this callback" in status.currentMessage(),
                             TIMEOUT)
            assert re.fullmatch(r"Arjun is already on this callback \(since \d+ s ago\)\.",
                                status.currentMessage())

            await arjun.release(number)
            await wait_until(lambda: claim_shown(ws, number) is None, TIMEOUT)
            panel.claim_action.trigger()  # the context menu's, Ctrl+I

            await wait_until(lambda: claim_shown(ws, number) == "You are on it", TIMEOUT)
            held = await engine.redis.get(NAMESPACE + "claim:" + number)
            assert held is not None and held.decode().endswith(":Priya")
            assert panel.claim_button.text() == RELEASE_TEXT
    finally:
        await arjun.aclose()  # Priya's is the workspace's: closed with it
