"""A whole workspace connected through the team relay (a real relay process and Redis, the
emulated service behind it): the feed fills from the relay's stream without the desktop
polling, a missed call's webhook reaches the feed and the missed-call notification, no
file the desktop writes holds the API token (only the relay has it) or the credential,
and a revoked credential is said in the status bar."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV, MyOperatorClient
from desktop_app.relay.client import EventStream
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.sandbox.model import SandboxUser
from desktop_app.sandbox.webhooks import after_call_payload
from desktop_app.services.notifier import MissedCallNotice, Notification
from desktop_app.services.paths import AppPaths
from desktop_app.store.callers import CallerRecords
from desktop_app.ui.notifications.feature import TrayProbes
from desktop_app.workspace import Workspace
from tests.helpers.qt import SpyChime, wait_until
from tests.helpers.redis_server import redis_server as redis_server
from tests.helpers.relay import Replica, post_webhooks
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


def through(replica: Replica, credential: str) -> dict[str, object]:
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
    return {"client": client, "relay": connect}


def caught_up(ws: Workspace) -> bool:
    status = ws.sync.presenter.status
    return status.state == "idle" and status.last_success is not None


def feed_ids(ws: Workspace) -> set[str]:
    model = ws.feed.model
    rows = (model.row_at(row) for row in range(model.rowCount()))
    return {row.id for row in rows if row is not None}


def announced(notes: list[Notification]) -> set[str]:
    ids: set[str] = set()
    for note in notes:
        ids |= {note.call_id} if isinstance(note, MissedCallNotice) else set(note.call_ids)
    return ids


async def test_a_missed_calls_webhook_reaches_the_feed_and_the_notification(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
    desktop_home: AppPaths,
) -> None:
    credential = await engine.issue_credential("Priya")
    async with open_workspace(
        feed_sandbox, tray=TrayProbes(chime=SpyChime), **through(replica, credential)
    ) as ws:
        notes: list[Notification] = []
        ws.notifications.presenter.notified.connect(notes.append)
        # The relay's own poll filled its stream; the desktop reads it, asking nothing.
        await wait_until(lambda: caught_up(ws) and ws.feed.model.rowCount() > 0, TIMEOUT)
        assert ws.relay_sync is not None
        assert ws.sync.presenter.connection_text == "Online"
        assert ws.sync.presenter.budget_text == "Requests go through the team relay"

        call = add_newest_call(feed_sandbox.state, answered=False, caller_number="9811100099")
        await post_webhooks(replica, "after-call", [after_call_payload(call)])

        await wait_until(lambda: call.id in feed_ids(ws), TIMEOUT)
        await wait_until(lambda: call.id in announced(notes), TIMEOUT)
        assert ws.shared.engine.relay_position() == await engine.last_event_id()
    # Only the relay holds the API token: nothing the desktop wrote has it, nor the
    # agent's credential (it was given for this run only).
    folders = (desktop_home.config_dir, desktop_home.data_dir, desktop_home.cache_dir,
               desktop_home.log_dir)
    written = [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    assert desktop_home.database_file() in written  # the cache, at least, was written
    for path in written:
        content = path.read_bytes()
        assert FAKE_TOKEN.encode() not in content, path
        assert credential.encode() not in content, path


async def test_a_revoked_credential_is_said_in_the_status_bar(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    credential = await engine.issue_credential("Priya")
    async with open_workspace(feed_sandbox, **through(replica, credential)) as ws:
        await wait_until(lambda: caught_up(ws), TIMEOUT)
        await engine.revoke("Priya")

        await wait_until(lambda: ws.sync.presenter.status.state == "auth_failed", TIMEOUT)
        assert ws.sync.presenter.connection_text == (
            "Relay credential refused: ask your admin for a new one"
        )


async def test_a_call_ringing_for_me_pops_up_with_the_callers_history_and_my_note(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    credential = await engine.issue_credential("Priya")
    state = feed_sandbox.state
    me, colleague = state.users[0], state.users[1]
    async with open_workspace(feed_sandbox, **through(replica, credential)) as ws:
        ws.shared.me.set(me.uuid)
        await wait_until(lambda: caught_up(ws) and ws.feed.model.rowCount() > 0, TIMEOUT)
        pop = ws.screen_pop
        assert pop is not None and not pop.panel.isVisible()
        shown: list[str] = []
        pop.presenter.cardChanged.connect(
            lambda card: shown.append(card.call_id if card is not None else "")
        )
        # A customer who called before: once missed, once answered by me.
        missed = add_newest_call(state, answered=False, caller_number="9811100123")
        earlier = add_newest_call(
            state, answered=True, caller_number="9811100123", agent_uuid=me.uuid
        )
        await post_webhooks(replica, "after-call", [
            after_call_payload(call) for call in (missed, earlier)
        ])
        await wait_until(lambda: earlier.id in feed_ids(ws), TIMEOUT)

        # Ringing for a colleague only: nothing pops here.
        await post_webhooks(replica, "in-call", [ringing("live-other", [colleague])])
        # Ringing for me (and a colleague): the card, before anyone picks up.
        await post_webhooks(replica, "in-call", [ringing("live-1", [me, colleague])])
        await wait_until(lambda: pop.panel.isVisible(), TIMEOUT)
        panel = pop.panel
        assert shown == ["live-1"]  # never the call ringing only for the colleague
        assert panel.state.text() == "Incoming call"
        assert panel.caller.text() == "098111 00123"
        assert panel.ringing.text() == f"Ringing for you and {colleague.name}"
        assert panel.history.text() == "2 earlier calls, 1 missed"
        assert panel.last_outcome.text().startswith("Last call ")
        assert f": answered by {me.name} (" in panel.last_outcome.text()

        panel.note.setPlainText("Wants the invoice resent")
        await post_webhooks(replica, "in-call", [ringing("live-1", [me], answered=True)])
        await wait_until(lambda: panel.state.text() == f"Answered by {me.name}", TIMEOUT)
        assert panel.note.toPlainText() == "Wants the invoice resent"  # not typed over

        panel.open_button.click()
        assert ws.feed.panel.search.text() == "098111 00123"
        panel.dismiss_button.click()
        assert not panel.isVisible()
        records = CallerRecords(ws.store)
        await wait_until(lambda: records.note("+919811100123") != "", TIMEOUT)
        assert records.note("+919811100123") == "Wants the invoice resent"


def ringing(
    call_id: str, agents: list[SandboxUser], *, answered: bool = False
) -> dict[str, object]:
    """An In-Call webhook as MyOperator posts it."""
    return {
        "uid": call_id,
        "clid": "+919811100123",
        "call_state": 1 if answered else 0,
        "users": [
            {"name": user.name, "user_id": user.uuid, "extension": user.extension}
            for user in agents
        ],
    }
