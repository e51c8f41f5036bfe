"""Do not disturb against the emulated service (in-process): what is sent, and what the
state says when sending fails. No Qt."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.sandbox import SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.services.availability import (
    META_CALLS_OFF,
    DndController,
    DndState,
    indicator_text,
)
from desktop_app.services.clock import ManualClock
from desktop_app.store import CallStore
from tests.helpers.tokens import FAKE_TOKEN

BASIC = "0123456789abcdef0123456789abcdef"


class Meta:
    """A stand-in for the cache's meta table."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_meta(self, key: str) -> str | None:
        return self.values.get(key)

    def set_meta(self, key: str, value: str | int | float | None) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = str(value)


@pytest.fixture
def app() -> SandboxApp:
    return create_app(
        SandboxConfig(seed=3, n_logs=50, days=2, now=1_700_000_000, clock=lambda: 1_700_000_000,
                      rate_limit=None, tokens={FAKE_TOKEN: 2, BASIC: 8})
    )


def make_client(app: SandboxApp, token: str = FAKE_TOKEN) -> MyOperatorClient:
    return MyOperatorClient(
        token, base_url="http://sandbox", transport=httpx.ASGITransport(app=app),
        budget=RequestBudget.unlimited(), retry=RetryPolicy(attempts=1),
    )


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[MyOperatorClient]:
    c = make_client(app)
    yield c
    await c.aclose()


@pytest.fixture
def me(state: SandboxState) -> str:
    return state.users[0].uuid


def puts(state: SandboxState) -> list[dict[str, str]]:
    return [r.params for r in state.requests_to("/user", "PUT")]


def receive_calls(state: SandboxState, uuid: str) -> int:
    user = state.find_user(uuid)
    assert user is not None
    return user.receive_calls


async def test_silencing_alone_sends_nothing(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    dnd = DndController(client, me)
    seen: list[DndState] = []
    dnd.add_listener(seen.append)
    assert (await dnd.turn_on()).on
    assert (await dnd.turn_off()).on is False
    assert puts(state) == []
    assert [s.on for s in seen] == [True, False]
    assert seen[0].text == "Do not disturb: notifications silenced"


async def test_stopping_calls_switches_receive_calls_off_and_back_on(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    meta = Meta()
    dnd = DndController(client, me, meta=meta)
    seen: list[DndState] = []
    dnd.add_listener(seen.append)

    on = await dnd.turn_on(stop_calls=True)
    assert on.on and on.receiving_calls is False and on.calls_stopped is True
    assert on.error is None and not on.busy
    assert "calls are not routed to you" in on.text
    assert puts(state) == [{"uuid": me, "receive_calls": "2"}]
    assert receive_calls(state, me) == 2
    assert meta.values == {META_CALLS_OFF: "1"}
    assert any(s.busy for s in seen)  # the switch shows it is working meanwhile

    off = await dnd.turn_off()
    assert not off.on and off.receiving_calls is True and off.calls_stopped is False
    assert puts(state)[1:] == [{"uuid": me, "receive_calls": "1"}]
    assert receive_calls(state, me) == 1
    assert meta.values == {}


async def test_failing_to_switch_calls_back_on_is_said_plainly_and_can_be_retried(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    meta = Meta()
    dnd = DndController(client, me, meta=meta)
    await dnd.turn_on(stop_calls=True)

    state.faults.add("503:path=/user,method=PUT,count=1")
    failed = await dnd.turn_off()
    assert not failed.on  # notifications are back…
    assert failed.retry_action == "calls_on"  # …but calls may not be
    assert failed.receiving_calls is None and failed.calls_stopped is None
    assert failed.error is not None and failed.error.startswith("Calls may still not reach you")
    assert failed.text == failed.error
    assert meta.values == {META_CALLS_OFF: "1"}  # still owed a "calls on"
    assert receive_calls(state, me) == 2

    retried = await dnd.retry()
    assert retried.error is None and retried.retry_action is None
    assert retried.receiving_calls is True and receive_calls(state, me) == 1
    assert meta.values == {}
    assert len(puts(state)) == 3  # off, the failed on, the retry


async def test_a_refusal_to_stop_calls_keeps_dnd_and_says_calls_still_ring(
    app: SandboxApp, state: SandboxState, me: str
) -> None:
    """A Basic user may not update users in the sandbox: the PUT is refused (403)."""
    meta = Meta()
    async with make_client(app, BASIC) as basic:
        dnd = DndController(basic, me, meta=meta)
        state_after = await dnd.turn_on(stop_calls=True)
        assert state_after.on and state_after.receiving_calls is True
        assert state_after.calls_stopped is False
        assert state_after.error is not None
        assert state_after.error.startswith("Notifications are silenced, but calls still reach")
        assert state_after.retry_action == "calls_off"
        assert meta.values == {}

        off = await dnd.turn_off()  # calls were never stopped: nothing to switch back on
        assert off == DndState(receiving_calls=True)
    assert len(puts(state)) == 1


async def test_after_a_restart_calls_this_app_stopped_are_switched_back_on(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    meta = Meta()
    await DndController(client, me, meta=meta).turn_on(stop_calls=True)

    restarted = DndController(client, me, meta=meta)
    assert restarted.state.on and restarted.state.receiving_calls is False
    await restarted.turn_off()
    assert receive_calls(state, me) == 1 and meta.values == {}


async def test_without_my_uuid_only_silencing_is_possible(
    client: MyOperatorClient, state: SandboxState
) -> None:
    dnd = DndController(client, None)
    assert not dnd.can_stop_calls
    result = await dnd.turn_on(stop_calls=True)
    assert result.on and result.error is not None and "not known yet" in result.error
    assert puts(state) == []
    assert (await dnd.turn_off()).error is None


async def test_set_on_and_dismiss(client: MyOperatorClient, state: SandboxState, me: str) -> None:
    dnd = DndController(client, me)
    state.faults.add("500:path=/user,method=PUT,count=1")
    failed = await dnd.set_on(True, stop_calls=True)
    assert failed.retry_action == "calls_off" and failed.receiving_calls is None
    dismissed = dnd.dismiss_error()
    assert dismissed.error is None and dismissed.on
    assert (await dnd.set_on(False)).on is False  # may be off: switched on to be sure
    assert [p["receive_calls"] for p in puts(state)] == ["2", "1"]


# ------------------------------------------- the cache refusing a write never sticks the switch


def fill_the_disk(store: CallStore) -> None:
    """A real full cache file: SQLite answers "database or disk is full"."""
    conn = store.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (2000, 200, 20, 1):  # use up the free space left, down to the last bytes
        with contextlib.suppress(sqlite3.OperationalError):
            for i in range(500):
                store.set_meta(f"filler{size}-{i}", "x" * size)


async def test_calls_back_on_are_kept_when_the_cache_cannot_note_it(
    client: MyOperatorClient, state: SandboxState, me: str, store: CallStore
) -> None:
    """The PUT succeeded, then noting it in the cache failed: the switch was left busy
    for good (turn_on, turn_off and retry all return early on a busy switch)."""
    dnd = DndController(client, me, meta=store)
    await dnd.turn_on(stop_calls=True)
    assert store.get_meta(META_CALLS_OFF) == "1"
    store.connection.execute("PRAGMA query_only = ON")  # the cache refuses every write

    off = await dnd.turn_off()
    assert not off.busy
    assert off.receiving_calls is True and receive_calls(state, me) == 1  # what is true
    assert off.retry_action is None  # nothing to send again
    assert off.error is not None and off.text == off.error
    assert off.error.startswith("Calls reach you again, but the app could not note it (")
    assert off.error.count(".") == 1 and off.error.endswith(".")  # one sentence

    # The switch still works.
    store.connection.execute("PRAGMA query_only = OFF")
    again = await dnd.turn_on(stop_calls=True)
    assert again.on and again.receiving_calls is False and again.error is None
    assert [p["receive_calls"] for p in puts(state)] == ["2", "1", "2"]


async def test_a_full_cache_stops_nothing_and_the_retry_sends_once_there_is_room(
    client: MyOperatorClient, state: SandboxState, me: str, store: CallStore
) -> None:
    """Calls off must be noted before sending (so a restart switches them back on): a
    full disk there sends nothing and says so."""
    dnd = DndController(client, me, meta=store)
    fill_the_disk(store)

    failed = await dnd.turn_on(stop_calls=True)
    assert failed.on and not failed.busy  # notifications are silenced all the same
    assert failed.error == (
        "Notifications are silenced, but calls were not stopped (the call cache could not "
        "be saved: the disk is full)."
    )
    assert failed.retry_action == "calls_off"
    assert puts(state) == [] and store.get_meta(META_CALLS_OFF) is None

    store.connection.execute("PRAGMA max_page_count = 1073741823")
    retried = await dnd.retry()
    assert retried.error is None and retried.receiving_calls is False
    assert receive_calls(state, me) == 2 and store.get_meta(META_CALLS_OFF) == "1"


class BugOnce:
    """The real client behind a switch whose first call hits a bug in this app (not an
    answer of the service): what the transport layer can no longer produce on demand."""

    def __init__(self, client: MyOperatorClient) -> None:
        self._client = client
        self.bugs = 0

    async def set_receives_calls(self, uuid: str, receives_calls: bool) -> str | None:
        if self.bugs == 0:
            self.bugs += 1
            raise KeyError(f"token={FAKE_TOKEN}")
        return await self._client.set_receives_calls(uuid, receives_calls)


async def test_a_failure_that_is_no_answer_leaves_the_switch_usable_and_unclear(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    dnd = DndController(BugOnce(client), me, meta=Meta())
    with pytest.raises(KeyError):  # still raised: the task's supervisor reports the bug
        await dnd.turn_on(stop_calls=True)
    failed = dnd.state
    assert not failed.busy and failed.on
    assert failed.receiving_calls is None and failed.calls_stopped is None  # unclear
    assert failed.retry_action == "calls_off"
    assert failed.error == (
        "It is not known whether stopping calls worked (something unexpected went wrong "
        "(KeyError: 'token=***')): retry to be sure."
    )

    retried = await dnd.retry()
    assert retried.error is None and retried.receiving_calls is False
    assert receive_calls(state, me) == 2


async def test_dnd_knows_since_when_it_is_on(
    client: MyOperatorClient, state: SandboxState, me: str
) -> None:
    clock = ManualClock(1_000.0)
    dnd = DndController(client, me, meta=Meta(), clock=clock)
    assert dnd.state.since is None
    assert (await dnd.turn_on()).since == 1_000.0
    clock.advance(90)
    # Asking again (now also stopping calls) keeps when it began.
    assert (await dnd.turn_on(stop_calls=True)).since == 1_000.0
    assert (await dnd.turn_off()).since is None
    clock.advance(30)
    assert (await dnd.turn_on()).since == 1_120.0


def test_dnd_restored_after_a_restart_has_no_start_it_could_claim() -> None:
    meta = Meta()
    meta.set_meta(META_CALLS_OFF, "1")
    restored = DndController(None, "someone", meta=meta, clock=ManualClock(5.0)).state
    assert restored.on and restored.since is None
    assert indicator_text(restored, 5_000.0) == "Do not disturb · on"


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (0, "Do not disturb · on for less than a minute"),
        (59, "Do not disturb · on for less than a minute"),
        (60, "Do not disturb · on for 1 min"),
        (12 * 60 + 59, "Do not disturb · on for 12 min"),
        (60 * 60, "Do not disturb · on for 1 h"),
        (2 * 3600 + 5 * 60, "Do not disturb · on for 2 h 5 min"),
        (-30, "Do not disturb · on for less than a minute"),  # a clock set back
    ],
)
def test_the_indicator_says_how_long_in_whole_minutes(elapsed: int, text: str) -> None:
    state = DndState(on=True, since=10_000.0)
    assert indicator_text(state, 10_000.0 + elapsed) == text
    assert indicator_text(DndState(), 10_000.0 + elapsed) == ""
