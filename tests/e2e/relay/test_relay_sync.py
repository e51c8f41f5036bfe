"""A desktop's cache kept through the team relay (services/relay_sync.py) with a real relay,
Redis and SQLite file: the backlog arrives on connecting, a webhook reaches the store and
the listeners at once, a restart resumes after the last stored event with nothing
repeated, a live ringing call is heard (a replayed one is not), and a revoked credential
ends the loop with the status saying so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.api.models import CallLog
from desktop_app.relay.client import EventStream
from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import LiveCall
from desktop_app.services.relay_sync import RelaySync
from desktop_app.services.sync import SyncEngine, SyncStatus
from desktop_app.store import CallQuery, CallStore
from tests.e2e.relay.conftest import Replica
from tests.helpers.relay import post_webhooks
from tests.unit.relay.test_events import after_call_record, in_call


def ended(n: int) -> dict[str, object]:
    return after_call_record(_id=f"call-{n}", start_time=1_796_000_000 + 60 * n)


class Desktop:
    """A desktop's sync side: the cache file, its engine and the relay loop on a task."""

    def __init__(self, path: Path, replica: Replica, credential: str) -> None:
        self.store = CallStore.open(path)
        self.client = MyOperatorClient(
            credential, base_url=replica.base_url + "/v1/myoperator",
            budget=RequestBudget.unlimited(), as_bearer=True,
        )
        self.engine = SyncEngine(self.client, self.store)
        self.heard: list[str] = []
        self.live: list[LiveCall] = []
        self.statuses: list[SyncStatus] = []
        self._changed = asyncio.Event()
        self.engine.add_new_calls_listener(self._new_calls)
        self.engine.add_listener(self._status)

        def connect(position: str | None, backfill_s: int) -> EventStream:
            return EventStream(replica.base_url, credential, last_event_id=position,
                               backfill_s=backfill_s)

        self.sync = RelaySync(self.engine, connect)
        self.sync.add_live_call_listener(self._live_call)
        self.task = asyncio.ensure_future(self.sync.run())

    def _new_calls(self, calls: Sequence[CallLog]) -> None:
        self.heard.extend(call.id for call in calls)
        self._changed.set()

    def _status(self, status: SyncStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    def _live_call(self, call: LiveCall) -> None:
        self.live.append(call)
        self._changed.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(20):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    def caught_up(self) -> bool:
        """Whether the engine said "idle" since this desktop started (it starts "idle")."""
        return any(status.state == "idle" for status in self.statuses)

    def stored_ids(self) -> list[str]:
        return sorted(call.id for call in self.store.fetch(CallQuery(), limit=1000))

    async def aclose(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.aclose()
        self.store.close()


async def test_the_backlog_then_each_webhook_reaches_the_store_and_a_restart_repeats_nothing(
    start_relay: Callable[[], Replica], engine: RelayEngine, tmp_path: Path
) -> None:
    replica = start_relay()
    credential = await engine.issue_credential("Priya")
    await post_webhooks(replica, "after-call", [ended(n) for n in range(30)])

    desktop = Desktop(tmp_path / "cache.db", replica, credential)
    try:
        await desktop.wait_until(desktop.caught_up)
        assert sorted(desktop.heard) == sorted(f"call-{n}" for n in range(30))
        assert [s.state for s in desktop.statuses][:1] == ["syncing"]
        # Vouched for from where the relay began the stream (a week back by its clock).
        [(low, high)] = desktop.store.coverage()
        assert low <= 1_796_000_000 and high >= int(time.time()) - 60

        await post_webhooks(replica, "after-call", [ended(30)])
        await desktop.wait_until(lambda: "call-30" in desktop.heard)
        assert "call-30" in desktop.stored_ids()
        position = desktop.engine.relay_position()
        assert position == await engine.last_event_id()
    finally:
        await desktop.aclose()

    await post_webhooks(replica, "after-call", [ended(n) for n in range(31, 36)])
    again = Desktop(tmp_path / "cache.db", replica, credential)
    try:
        await again.wait_until(again.caught_up)
        assert sorted(again.heard) == sorted(f"call-{n}" for n in range(31, 36))
        assert len(again.stored_ids()) == 36
    finally:
        await again.aclose()


async def test_a_live_ringing_call_is_heard_and_a_replayed_one_is_not(
    start_relay: Callable[[], Replica], engine: RelayEngine, tmp_path: Path
) -> None:
    replica = start_relay()
    credential = await engine.issue_credential("Priya")
    await post_webhooks(replica, "in-call", [in_call(uid="before-connecting")])

    desktop = Desktop(tmp_path / "cache.db", replica, credential)
    try:
        await desktop.wait_until(desktop.caught_up)
        await post_webhooks(replica, "in-call", [in_call(uid="ringing-now")])
        await desktop.wait_until(lambda: bool(desktop.live))

        assert [call.call_id for call in desktop.live] == ["ringing-now"]
        assert desktop.live[0].caller == "+919812345678"
        assert desktop.stored_ids() == []  # a ringing call is no log record
    finally:
        await desktop.aclose()


async def test_a_revoked_credential_ends_the_loop_and_says_why(
    start_relay: Callable[[], Replica], engine: RelayEngine, tmp_path: Path
) -> None:
    replica = start_relay()
    credential = await engine.issue_credential("Priya")
    desktop = Desktop(tmp_path / "cache.db", replica, credential)
    try:
        await desktop.wait_until(desktop.caught_up)
        await engine.revoke("Priya")

        async with asyncio.timeout(20):
            await desktop.task  # returns: retrying would never succeed
        assert desktop.engine.status.state == "auth_failed"
        assert "team relay refused this agent credential" in desktop.engine.status.message
    finally:
        await desktop.aclose()
