"""The dialer panel and presenter over the emulated service (in-process, one ManualClock).

Every "one click is one request" claim is counted at the server: the click-to-call
requests that reached it (``state.requests_to("/clickOcall")``) and the calls it placed.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.models import CallPlaced, User
from desktop_app.sandbox import SandboxApp, SandboxServer, SandboxState
from desktop_app.services.clock import ManualClock
from desktop_app.services.dial_flow import OUTCOME_KINDS
from desktop_app.services.dialer import ClickToCallClient, DialerSettings, DialGuard, DialOutcome
from desktop_app.services.paths import AppPaths
from desktop_app.services.settings import Settings
from desktop_app.store.dials import DialRecords, DialState
from desktop_app.ui.dialer.clipboard import SHORTCUT, ClipboardDialer
from desktop_app.ui.dialer.feature import bind
from desktop_app.ui.dialer.model import (
    KIND_CHECKING,
    KIND_ERROR,
    KIND_INFO,
    KIND_OUTCOME,
    KIND_PLACED,
    KIND_UNKNOWN,
)
from desktop_app.ui.dialer.panel import DialerPanel
from desktop_app.ui.dialer.presenter import (
    DialerPresenter,
    agents_from_users,
)
from tests.helpers.dialing import (
    CLICK,
    CUSTOMER,
    ClickTransport,
    T,
    agent_of,
    make_client,
    make_sandbox,
)
from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener

PARSED = "✓ +91 98123 45678 · India"


@dataclass
class Rig:
    clock: ManualClock
    app: SandboxApp
    transport: ClickTransport
    client: MyOperatorClient
    guard: DialGuard
    settings: DialerSettings
    presenter: DialerPresenter
    panel: DialerPanel
    agent: str
    statuses: list[tuple[str, str]] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)

    @property
    def state(self) -> SandboxState:
        return self.app.sandbox

    def posts(self) -> int:
        return len(self.state.requests_to(CLICK))

    def kinds(self) -> list[str]:
        return [kind for _text, kind in self.statuses]

    def last_kind(self) -> str:
        return self.statuses[-1][1] if self.statuses else ""

    def click_call(self, qtbot: QtBot) -> None:
        qtbot.mouseClick(self.panel.call_button, Qt.MouseButton.LeftButton)

    async def settle(self) -> None:
        """Let a started dial finish (its request is served in-process)."""
        await wait_until(lambda: not self.presenter.busy)

    async def advance_until(
        self, condition: Callable[[], bool], step: float = 5.0, within: float = 10.0
    ) -> None:
        """Move the clock whenever something sleeps on it, until `condition` holds."""
        async with asyncio.timeout(within):
            while not condition():
                await asyncio.sleep(0.01)
                if self.clock.sleeping:
                    self.clock.advance(step)


def dialer_settings_in(path: Path) -> DialerSettings:
    """The dialer's settings in an INI file, as the app keeps them (settings.ini)."""
    return DialerSettings(Settings(QSettings(str(path), QSettings.Format.IniFormat)))


def reopened(settings: DialerSettings) -> DialerSettings:
    """The same settings file, read afresh."""
    settings.settings.sync()
    backend = settings.settings.backend
    assert isinstance(backend, QSettings)
    return dialer_settings_in(Path(backend.fileName()))


def build_rig(
    qtbot: QtBot,
    tmp_path: Path,
    *,
    records: DialRecords | None = None,
    guard_type: type[DialGuard] = DialGuard,
    click_client: ClickToCallClient | None = None,
) -> Rig:
    clock = ManualClock(T)
    app = make_sandbox(clock)
    transport = ClickTransport(app)
    client = make_client(transport, clock)
    guard = guard_type(
        click_client or client, None, clock, records=records, sleep=clock.sleep, settle_s=60.0
    )
    agent = agent_of(app.sandbox)
    settings = dialer_settings_in(tmp_path / "settings.ini")
    settings.set_me_uuid(agent)
    presenter = DialerPresenter(
        guard, settings, sleep=clock.sleep, check_delays_s=(10.0, 10.0, 20.0, 30.0, 60.0)
    )
    panel = DialerPanel()
    qtbot.addWidget(panel)
    bind(panel, presenter)
    presenter.set_agents([(u.uuid, u.name) for u in app.sandbox.users if u.is_enabled])
    rig = Rig(clock, app, transport, client, guard, settings, presenter, panel, agent)
    presenter.statusChanged.connect(lambda text, kind: rig.statuses.append((text, kind)))
    presenter.callLogged.connect(rig.logged.append)
    panel.resize(340, 640)
    panel.show()
    return rig


async def close_rig(rig: Rig) -> None:
    await rig.presenter.aclose()
    await rig.client.aclose()


@pytest.fixture
async def rig(qtbot: QtBot, tmp_path: Path) -> AsyncIterator[Rig]:
    built = build_rig(qtbot, tmp_path)
    yield built
    await close_rig(built)


# ------------------------------------------------------------------------ the field


@pytest.mark.parametrize(
    "text",
    ["+91 98123 45678", "098123 45678", "(0)98-123-45678", "98123\u00a045678", "0091 9812345678",
     "tel:+91-98123-45678"],
)
async def test_pasted_forms_show_the_parsed_number(rig: Rig, text: str) -> None:
    rig.panel.number_edit.setText(text)
    assert rig.panel.parsed_label.text() == PARSED
    assert rig.panel.call_button.isEnabled()
    assert rig.posts() == 0


async def test_pasting_with_the_keyboard(rig: Rig, qtbot: QtBot) -> None:
    QGuiApplication.clipboard().setText(" +91 (0)98123-45678 ")
    rig.panel.number_edit.setFocus()
    qtbot.keyClick(rig.panel.number_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert rig.panel.parsed_label.text() == PARSED


async def test_what_cannot_be_dialled_is_refused_live(rig: Rig) -> None:
    rig.panel.number_edit.setText("98123 4567")
    assert "not a valid phone number for +91" in rig.panel.parsed_label.text()
    assert not rig.panel.call_button.isEnabled()
    rig.panel.number_edit.setText("call me")
    assert "not a phone number" in rig.panel.parsed_label.text()
    assert not rig.panel.call_button.isEnabled()
    rig.panel.number_edit.clear()
    assert "Type or paste a number" in rig.panel.parsed_label.text()


async def test_the_country_reads_national_numbers(rig: Rig) -> None:
    rig.panel.set_country("44")
    assert rig.panel.country_code() == "44"
    rig.panel.number_edit.setText("020 7946 0958")
    assert rig.panel.parsed_label.text() == "✓ +44 20 7946 0958 · United Kingdom"


async def test_no_error_while_the_number_is_still_being_typed(rig: Rig, qtbot: QtBot) -> None:
    """One typed digit is not a wrong number yet: the error waits until the number could
    be whole, or the person leaves the field or presses Enter. Call stays disabled."""
    panel = rig.panel
    edit = panel.number_edit
    qtbot.keyClicks(edit, "9")
    assert panel.parsed_label.text() == "Keep typing: not a whole number yet."
    assert not panel.call_button.isEnabled()
    qtbot.keyClicks(edit, "8123 4567")  # nine digits: a mobile has ten
    assert panel.parsed_label.text() == "Keep typing: not a whole number yet."
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # Enter: now it is just wrong, and not sent
    assert "98123 4567" in panel.parsed_label.text()
    assert "is not a valid phone number for +91" in panel.parsed_label.text()
    assert rig.posts() == 0 and not rig.presenter.busy
    qtbot.keyClicks(edit, "8")
    assert panel.parsed_label.text() == PARSED
    assert panel.call_button.isEnabled()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert panel.parsed_label.text() == "Keep typing: not a whole number yet."
    qtbot.keyClicks(edit, "x")  # not a digit: said at once
    assert "is not a phone number" in panel.parsed_label.text()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    # Leaving the field says what is wrong too.
    panel.activateWindow()
    edit.setFocus()
    await wait_until(edit.hasFocus, within=2)
    panel.country_combo.setFocus()
    await wait_until(lambda: not edit.hasFocus(), within=2)
    assert "is not a valid phone number for +91" in panel.parsed_label.text()
    assert not panel.call_button.isEnabled()


async def test_keypad_buttons_and_digit_keys(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    for key in "98123":
        qtbot.mouseClick(panel.keypad_buttons[key], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.keypad_buttons["⌫"], Qt.MouseButton.LeftButton)
    assert panel.number_text() == "9812"
    rig.panel.call_button.setFocus()
    for key in (Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_6, Qt.Key.Key_7):
        qtbot.keyClick(panel, key)  # typed while the field does not have the focus
    assert panel.number_text() == "981234567"
    qtbot.keyClick(panel, Qt.Key.Key_8)
    assert panel.parsed_label.text() == PARSED
    assert rig.posts() == 0


async def test_the_agent_defaults_to_me_and_can_be_remembered(rig: Rig, qtbot: QtBot) -> None:
    combo = rig.panel.agent_combo
    assert rig.panel.agent_uuid() == rig.agent
    assert combo.currentText().endswith("(me)")
    assert not rig.panel.remember_button.isEnabled()
    other = next(i for i in range(combo.count()) if combo.itemData(i) != rig.agent)
    combo.setCurrentIndex(other)
    chosen = rig.panel.agent_uuid()
    qtbot.mouseClick(rig.panel.remember_button, Qt.MouseButton.LeftButton)
    assert rig.settings.me_uuid == chosen
    assert reopened(rig.settings).me_uuid == chosen
    assert combo.currentText().endswith("(me)") and rig.panel.agent_uuid() == chosen

    fresh = DialerPanel()
    qtbot.addWidget(fresh)
    bind(fresh, DialerPresenter(rig.guard, reopened(rig.settings)))
    fresh.set_agents([(u.uuid, u.name) for u in rig.state.users if u.is_enabled])
    assert fresh.agent_uuid() == chosen


def other_agent(rig: Rig) -> tuple[str, str]:
    """(uuid, name) of an enabled user who is not me."""
    return next(
        (u.uuid, u.name) for u in rig.state.users if u.is_enabled and u.uuid != rig.agent
    )


def placed_texts(rig: Rig) -> list[str]:
    return [text for text, kind in rig.statuses if kind == KIND_PLACED]


async def test_another_agent_rings_for_that_one_call_and_is_named(
    rig: Rig, qtbot: QtBot
) -> None:
    panel = rig.panel
    uuid, name = other_agent(rig)
    assert panel.rings_label.isHidden()  # me: nothing to warn about
    panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(uuid))
    assert not panel.rings_label.isHidden()
    assert panel.rings_label.text() == f"Rings {name}'s phone first, not yours."
    panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    assert [r.params["support_user_id"] for r in rig.state.requests_to(CLICK)] == [uuid]
    assert placed_texts(rig) == [
        f"Call placed: {name}'s phone rings first, then 098123 45678."
    ]
    # The choice was for that call: the next one rings me, and says so.
    assert panel.agent_uuid() == rig.agent
    assert panel.rings_label.isHidden()
    rig.clock.advance(5)
    panel.number_edit.setText("98123 45679")
    rig.click_call(qtbot)
    await rig.settle()
    assert [r.params["support_user_id"] for r in rig.state.requests_to(CLICK)] == [
        uuid, rig.agent
    ]
    assert placed_texts(rig)[-1] == "Call placed: your phone rings first, then 098123 45679."


async def test_without_me_the_chosen_agent_stays_and_is_named(rig: Rig, qtbot: QtBot) -> None:
    """No "me" remembered: nothing to go back to, so the choice stays (as before), and
    the agent is named rather than called "you"."""
    panel = rig.panel
    rig.presenter.remember_me("")
    uuid, name = other_agent(rig)
    panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(uuid))
    assert panel.rings_label.text() == f"Rings {name}'s phone first."
    panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    assert placed_texts(rig) == [
        f"Call placed: {name}'s phone rings first, then 098123 45678."
    ]
    assert panel.agent_uuid() == uuid


def test_agents_from_users_leaves_out_the_disabled() -> None:
    users = (
        User(uuid="a", name="Asha"), User(uuid="b", name="", email="b@example.com"),
        User(uuid="c", name="Off", is_enabled=False), User(uuid="d", name="On", is_enabled=True),
    )
    assert agents_from_users(users) == [("a", "Asha"), ("b", "b@example.com"), ("d", "On")]


async def test_no_agent_no_call(rig: Rig) -> None:
    rig.panel.set_me("")
    rig.panel.set_agents([])
    rig.panel.number_edit.setText(CUSTOMER)
    assert not rig.panel.call_button.isEnabled()


# ------------------------------------------------------------------------ the guard


async def test_call_is_disabled_while_in_flight(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    panel.number_edit.setText(CUSTOMER)
    rig.transport.hold()
    rig.click_call(qtbot)
    assert not panel.call_button.isEnabled()
    assert panel.call_button.text() == "Calling…"
    await wait_until(lambda: rig.guard.in_flight)
    # A double click, Enter, a held Enter: none of them gets through.
    rig.click_call(qtbot)
    panel.number_edit.setFocus()
    qtbot.keyClick(panel.number_edit, Qt.Key.Key_Return)
    held = QKeyEvent(
        QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r", True
    )
    QApplication.sendEvent(panel.number_edit, held)
    rig.presenter.request_call(CUSTOMER, "91", rig.agent)  # even past the button
    rig.transport.release()
    await rig.settle()
    assert rig.posts() == 1
    assert len(rig.state.placed_calls) == 1
    assert rig.kinds()[-1] == KIND_PLACED
    assert panel.call_button.isEnabled()
    assert rig.panel.recent_model.numbers() == ["+919812345678"]


async def test_enter_places_the_call_once(rig: Rig, qtbot: QtBot) -> None:
    rig.panel.number_edit.setText(CUSTOMER)
    rig.panel.number_edit.setFocus()
    qtbot.keyClick(rig.panel.number_edit, Qt.Key.Key_Return)
    qtbot.keyClick(rig.panel.number_edit, Qt.Key.Key_Return)
    await rig.settle()
    assert rig.posts() == 1


async def test_the_same_number_within_30_s_asks_in_the_panel(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    rig.clock.advance(5)
    rig.click_call(qtbot)
    await rig.settle()
    await wait_until(panel.confirmation_visible)
    assert panel.confirm_label.text() == "You called 098123 45678 5 s ago. Call again?"
    assert rig.posts() == 1
    qtbot.mouseClick(panel.confirm_no, Qt.MouseButton.LeftButton)
    assert not panel.confirmation_visible()
    assert rig.statuses[-1][1] == KIND_PLACED  # back to what it said before
    assert rig.posts() == 1

    rig.click_call(qtbot)
    await rig.settle()
    await wait_until(panel.confirmation_visible)
    qtbot.mouseClick(panel.confirm_yes, Qt.MouseButton.LeftButton)
    await rig.settle()
    assert not panel.confirmation_visible()
    assert rig.posts() == 2
    assert rig.kinds()[-1] == KIND_PLACED


async def test_an_unclear_call_is_checked_in_the_log(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    rig.state.faults.add("503:path=/clickOcall,count=1,after=1")
    panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    text, kind = rig.statuses[-1]
    assert kind == KIND_UNKNOWN
    assert "may have been placed" in text
    assert "may have been placed" in panel.status_label.text()
    assert panel.check_button.isVisible()
    # No redial while it is unclear, unless asked and confirmed.
    rig.clock.advance(2)
    rig.click_call(qtbot)
    await rig.settle()
    await wait_until(panel.confirmation_visible)
    assert "may have been placed" in panel.confirm_label.text()
    qtbot.mouseClick(panel.confirm_no, Qt.MouseButton.LeftButton)
    assert rig.posts() == 1
    # The app looks in the call log by itself, and finds the call once it is logged.
    await rig.advance_until(lambda: bool(set(OUTCOME_KINDS) & set(rig.kinds())))
    checking = rig.kinds().index(KIND_CHECKING)
    outcome = next(i for i, kind in enumerate(rig.kinds()) if kind in OUTCOME_KINDS)
    assert rig.kinds().index(KIND_UNKNOWN) < checking < outcome
    assert "checking the call log" in rig.statuses[checking][0]
    (placed,) = rig.state.placed_calls
    assert rig.logged == [placed.unique_id]
    final = rig.statuses[-1][0]
    assert final.startswith("The call to 098123 45678 was placed: ")
    assert rig.posts() == 1


async def test_not_in_the_log_allows_a_redial(rig: Rig, qtbot: QtBot) -> None:
    rig.state.faults.add("500:path=/clickOcall,count=1")  # refused before it was placed
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    assert rig.kinds()[-1] == KIND_UNKNOWN
    await rig.advance_until(lambda: "was not placed" in rig.panel.status_label.text())
    assert rig.posts() == 1 and not rig.state.placed_calls
    rig.click_call(qtbot)
    await rig.settle()
    assert rig.posts() == 2
    assert rig.kinds()[-1] == KIND_PLACED


async def test_check_again_looks_now(rig: Rig, qtbot: QtBot) -> None:
    rig.state.faults.add("drop:path=/clickOcall,count=1,after=1")
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    searches = len(rig.state.requests_to("/search"))
    qtbot.mouseClick(rig.panel.check_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: len(rig.state.requests_to("/search")) == searches + 1)
    await wait_until(lambda: rig.kinds()[-1] == KIND_UNKNOWN)
    assert rig.kinds()[-2] == KIND_CHECKING
    assert "not in the call log yet" in rig.panel.status_label.text()
    assert rig.posts() == 1


async def test_a_timeout_is_shown_as_may_have_been_placed(rig: Rig, qtbot: QtBot) -> None:
    rig.transport.timeouts = 1
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    assert rig.kinds()[-1] == KIND_UNKNOWN
    assert len(rig.state.placed_calls) == 1
    assert rig.posts() == 1


async def test_failures_say_nothing_was_placed(rig: Rig, qtbot: QtBot) -> None:
    rig.transport.offline = True
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    text, kind = rig.statuses[-1]
    assert kind == KIND_ERROR and "was not placed" in text
    assert rig.posts() == 0
    assert rig.panel.recent_model.numbers() == []


async def test_the_outcome_is_shown_once_the_call_is_logged(rig: Rig, qtbot: QtBot) -> None:
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    assert rig.kinds()[-1] == KIND_PLACED
    (placed,) = rig.state.placed_calls
    await rig.advance_until(lambda: rig.logged == [placed.unique_id])
    text, kind = rig.statuses[-1]
    assert kind in OUTCOME_KINDS
    source = rig.state.call_by_id(placed.unique_id)
    assert source is not None
    if source.status == 1:
        assert text.startswith("Call to 098123 45678: Answered")
    else:
        assert text == "Call to 098123 45678: Not answered."
    assert rig.panel.status_label.text() == text


# ------------------------------------------------ unclear dials an earlier run left


def earlier_dial(
    records: DialRecords, national: str, at: float, state: DialState | None, agent: str
) -> int:
    """A dial an earlier run recorded: settled as `state`, or left in flight (a crash)."""
    row = records.reserve("91", national, agent, at, lambda _view: None)
    assert isinstance(row, int)
    if state is not None:
        records.settle(row, state, at + 1)
    return row


async def test_unclear_dials_of_an_earlier_run_are_checked_at_start(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    records = DialRecords.open(path)
    rig = build_rig(qtbot, tmp_path, records=records)
    try:
        agent = rig.agent
        # An hour ago, answer lost; the call is in the log.
        found = earlier_dial(records, "9812345670", T - 3600, DialState.UNKNOWN, agent)
        logged = rig.state.add_call(
            start_time=T - 3595, incoming=False, caller_number="9812345670", talk_s=40
        )
        # Three hours ago, answer lost; no such call: long settled as not placed.
        earlier_dial(records, "9812345678", T - 3 * 3600, DialState.UNKNOWN, agent)
        # Half a minute ago, the app died mid-request: too soon to tell.
        crashed = earlier_dial(records, "9812345679", T - 30, None, agent)
        assert len(rig.guard.unknown_attempts) == 3

        rig.presenter.start()
        await wait_until(lambda: len(rig.guard.unknown_attempts) == 1)
        await wait_until(lambda: rig.last_kind() == KIND_UNKNOWN)
        assert [a.seq for a in rig.guard.unknown_attempts] == [crashed]
        assert rig.panel.status_label.text() == (
            "The call to 098123 45679 is not in the call log yet: it may still have been "
            "placed (did your phone ring?). Press Check again to look now."
        )
        assert rig.panel.check_button.isVisible()
        assert ("An earlier call to 098123 45670 was placed: Answered · talk time 0:40.",
                KIND_OUTCOME) in rig.statuses
        assert records.get(found).call_id == logged.id  # type: ignore[union-attr]
        assert rig.logged == []  # described, not selected in the feed
        assert any(kind == KIND_INFO and "098123 45678 is not in the call log: it was not "
                   "placed" in text for text, kind in rig.statuses)
        # The number settled as not placed is called without a question.
        rig.panel.number_edit.setText(CUSTOMER)
        rig.click_call(qtbot)
        await rig.settle()
        assert rig.kinds()[-1] == KIND_PLACED and not rig.panel.confirmation_visible()
        assert rig.posts() == 1
        # The crashed one is looked at again once the log can tell, without a click.
        await rig.advance_until(lambda: not rig.guard.unknown_attempts, step=30.0)
        assert records.get(crashed).state is DialState.NOT_FOUND  # type: ignore[union-attr]
        assert rig.posts() == 1
    finally:
        await close_rig(rig)
        records.close()


async def test_check_again_looks_for_an_earlier_runs_dial(qtbot: QtBot, tmp_path: Path) -> None:
    records = DialRecords.open(tmp_path / "cache.db")
    rig = build_rig(qtbot, tmp_path, records=records)
    try:
        earlier_dial(records, "9812345678", T - 10, DialState.UNKNOWN, rig.agent)
        rig.transport.offline = True  # the first look cannot reach the log
        rig.presenter.start()
        await wait_until(lambda: rig.last_kind() == KIND_UNKNOWN)
        assert "Could not look in the call log" in rig.panel.status_label.text()
        assert rig.panel.check_button.isVisible()
        rig.transport.offline = False
        call = rig.state.add_call(start_time=T - 5, incoming=False, caller_number="9812345678")
        qtbot.mouseClick(rig.panel.check_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not rig.guard.unknown_attempts)
        assert len(rig.state.requests_to("/search")) == 1  # the one look, reaching the log
        await wait_until(lambda: rig.last_kind() in OUTCOME_KINDS)
        assert rig.panel.status_label.text().startswith("The call to 098123 45678 was placed: ")
        assert rig.logged == [call.id]  # asked for now: shown in the feed too
        assert rig.posts() == 0
    finally:
        await close_rig(rig)
        records.close()


async def test_the_app_settles_an_earlier_runs_unclear_dial_when_it_starts(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    """Workspace.start starts the dialer's look at what an earlier run left (the real
    clock here: the dial was three hours ago, long enough for the log to tell)."""
    records = DialRecords.open(desktop_home.database_file())
    try:
        row = earlier_dial(
            records, "9000000001", time.time() - 3 * 3600, DialState.UNKNOWN,
            next(u.uuid for u in feed_sandbox.state.users if u.is_enabled),
        )
    finally:
        records.close()
    async with open_workspace(feed_sandbox) as ws:
        await wait_until(lambda: not ws.dialer.presenter.guard.unknown_attempts)
        assert ws.dialer.presenter.guard.records.get(row).state is DialState.NOT_FOUND  # type: ignore[union-attr]
        await wait_until(lambda: "was not placed" in ws.dialer.panel.status_label.text())
        assert not feed_sandbox.state.requests_to(CLICK)


async def test_a_call_back_rings_me_whatever_the_last_call_rang(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """Call back (the callback list's button, Enter and Space all ask this) and links
    start a new call: my phone rings first. With no "me" remembered, the choice stays."""
    async with open_workspace(feed_sandbox) as ws:
        panel = ws.dialer.panel
        await wait_until(lambda: panel.agent_combo.count() >= 2)
        (me, _), (other, name) = agents_from_users(ws.users.service.users())[:2]
        call_back = ws.callbacks.panel.callBackRequested

        panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(other))
        call_back.emit("+919812345678")
        assert panel.agent_uuid() == other  # nobody to go back to: as before
        assert panel.rings_label.text() == f"Rings {name}'s phone first."

        ws.dialer.presenter.remember_me(me)
        panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(other))
        assert panel.rings_label.text() == f"Rings {name}'s phone first, not yours."
        call_back.emit("+919812345679")
        assert panel.agent_uuid() == me
        assert panel.rings_label.isHidden()

        panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(other))
        ws.actions.open_links(["tel:+91-98123-45670"])
        assert panel.agent_uuid() == me

        # A refused link leaves nothing to call: not the number before it.
        ws.actions.open_links(["tel:abc"])
        assert panel.number_text() == "" and not panel.call_button.isEnabled()
        assert "Not a number to call" in ws.window.statusBar().currentMessage()
        assert not feed_sandbox.state.requests_to(CLICK)


# --------------------------------------------- a dial that fails: its own record decides


class GuardFailingBeforeItRecords(DialGuard):
    """A failure the real guard has no path for yet (a bug before the record is
    written): the presenter must still say the truth about this one dial."""

    async def dial(self, *args: Any, **kwargs: Any) -> DialOutcome:
        raise OSError(errno.EIO, "Input/output error")


async def test_a_dial_failing_before_its_record_was_not_placed_whatever_else_is_unclear(
    qtbot: QtBot, tmp_path: Path
) -> None:
    records = DialRecords.open(tmp_path / "cache.db")
    rig = build_rig(qtbot, tmp_path, records=records, guard_type=GuardFailingBeforeItRecords)
    try:
        # Another number's dial from an earlier run is unclear: not this dial's business.
        earlier_dial(records, "9812345670", T - 60, DialState.UNKNOWN, rig.agent)
        assert rig.guard.unknown_attempts
        rig.panel.number_edit.setText(CUSTOMER)
        rig.click_call(qtbot)
        await wait_until(lambda: rig.last_kind() == KIND_ERROR)
        assert rig.panel.status_label.text().startswith("The call was not placed: ")
        assert rig.panel.call_button.isEnabled()
        assert rig.posts() == 0
    finally:
        await close_rig(rig)
        records.close()


class ClientFailingAfterTheRecord:
    """A click-to-call client (the guard's protocol) whose request fails in a way it
    does not turn into an answer, after the dial's records became unreadable."""

    def __init__(self, records: DialRecords) -> None:
        self.records = records
        self.calls = 0

    async def click_to_call(
        self, customer_number: str, customer_cc: str | int | None, support_user_id: str
    ) -> CallPlaced:
        self.calls += 1
        self.records.close()
        raise OSError(errno.EIO, "Input/output error")


async def test_a_dial_failing_after_its_record_may_have_been_placed_even_unreadable(
    qtbot: QtBot, tmp_path: Path
) -> None:
    records = DialRecords.open(tmp_path / "cache.db")
    client = ClientFailingAfterTheRecord(records)
    rig = build_rig(qtbot, tmp_path, records=records, click_client=client)
    try:
        rig.panel.number_edit.setText(CUSTOMER)
        rig.click_call(qtbot)
        await wait_until(lambda: rig.last_kind() == KIND_UNKNOWN)
        assert client.calls == 1
        assert rig.panel.status_label.text().startswith(
            "The call may or may not have been placed: "
        )
        assert rig.panel.check_button.isVisible()
        assert rig.panel.call_button.isEnabled()
    finally:
        await close_rig(rig)


# ------------------------------------------------------------------------ prefill


async def test_call_back_and_links_prefill_without_dialling(rig: Rig) -> None:
    panel = rig.panel
    assert panel.prefill("+919812345678")  # Call back from the feed / call detail
    assert panel.number_text() == "098123 45678"
    assert panel.parsed_label.text() == PARSED
    assert panel.status_label.text() == "Ready to call +91 98123 45678: press Call."
    assert panel.prefill("tel:+44-20-7946-0958")
    assert panel.country_code() == "44"
    assert panel.number_text() == "020 7946 0958"
    assert not panel.prefill("tel:+91abc")
    assert "does not hold a phone number" in panel.status_label.text()
    assert rig.posts() == 0


async def test_a_refused_link_leaves_no_number_ready_to_call(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    assert panel.prefill("+919812345678")
    assert panel.call_button.isEnabled()
    assert not panel.prefill("tel:abc")
    assert panel.status_label.property("kind") == KIND_ERROR
    assert "does not hold a phone number" in panel.status_label.text()
    assert panel.number_text() == "" and panel.parsed_number() is None
    assert not panel.call_button.isEnabled()
    qtbot.keyClick(panel.number_edit, Qt.Key.Key_Return)  # the Enter meant for the link
    assert not rig.presenter.busy
    assert rig.posts() == 0


async def test_a_links_country_is_for_that_number_only(rig: Rig, qtbot: QtBot) -> None:
    panel = rig.panel
    edit = panel.number_edit
    assert panel.prefill("callto:+44 20 7946 0958")
    assert panel.country_combo.currentText() == "United Kingdom (+44)"  # not Guernsey
    # Mending a digit of the link's number keeps its country.
    edit.end(False)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, "9")
    assert panel.country_code() == "44"
    assert panel.parsed_label.text() == "✓ +44 20 7946 0959 · United Kingdom"
    # Typed over: a new number, read in the home country.
    edit.selectAll()
    qtbot.keyClicks(edit, "98123 00001")
    assert panel.country_combo.currentText() == "India (+91)"
    assert panel.parsed_label.text() == "✓ +91 98123 00001 · India"
    # Cleared, then typed: the same.
    assert panel.prefill("tel:+44-20-7946-0958")
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    assert panel.country_code() == "91"
    # A number whose region is known keeps it; the main country is only the fallback.
    assert panel.prefill("tel:+441534456789")
    assert panel.country_combo.currentText() == "Jersey (+44)"
    # A country the person picks is theirs: it stays.
    uk = panel.country_combo.findText("United Kingdom (+44)")
    panel.country_combo.setCurrentIndex(uk)
    panel.country_combo.activated.emit(uk)
    edit.clear()
    assert panel.country_code() == "44"


async def test_the_home_country_is_the_settings_one(rig: Rig, qtbot: QtBot) -> None:
    rig.settings.set_country_code("65")
    fresh = DialerPanel()
    qtbot.addWidget(fresh)
    presenter = DialerPresenter(rig.guard, rig.settings)
    bind(fresh, presenter)
    try:
        assert fresh.country_combo.currentText() == "Singapore (+65)"
        assert fresh.prefill("tel:+44-20-7946-0958")
        fresh.number_edit.clear()
        assert fresh.country_code() == "65"
    finally:
        await presenter.aclose()


async def test_recent_numbers_prefill(rig: Rig, qtbot: QtBot) -> None:
    rig.panel.number_edit.setText(CUSTOMER)
    rig.click_call(qtbot)
    await rig.settle()
    rig.panel.number_edit.clear()
    view = rig.panel.recent_view
    index = rig.panel.recent_model.index(0, 0)
    assert index.data() == "098123 45678"
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center()
    )
    assert rig.panel.number_text() == "098123 45678"
    assert rig.posts() == 1


async def test_dial_number_from_clipboard(rig: Rig, qtbot: QtBot) -> None:
    clipboard = QGuiApplication.clipboard()
    dialer = ClipboardDialer(rig.panel)
    prefilled: list[str] = []
    rejected: list[str] = []
    dialer.prefilled.connect(prefilled.append)
    dialer.rejected.connect(rejected.append)
    assert dialer.action.shortcut().toString() == SHORTCUT

    clipboard.setText("Hi, please call Rahul on +91 98123 45678 after 4 pm. Thanks!")
    dialer.action.trigger()
    assert prefilled == ["+919812345678"]
    assert rig.panel.number_text() == "098123 45678"

    clipboard.setText("Rahul 98123 45679 or Asha 98123 45670")
    dialer.action.trigger()
    assert rejected and "2 different numbers" in rejected[-1]
    assert rig.panel.number_text() == "098123 45678"

    clipboard.setText("no number here")
    assert not dialer.dial_from_clipboard()
    assert "No phone number" in rig.panel.status_label.text()
    assert rig.posts() == 0


async def test_the_shortcut_reaches_the_action(rig: Rig, qtbot: QtBot) -> None:
    QGuiApplication.clipboard().setText("+91 98123 45678")
    dialer = ClipboardDialer(rig.panel)
    rig.panel.addAction(dialer.action)
    rig.panel.activateWindow()
    rig.panel.number_edit.setFocus()
    await wait_until(rig.panel.isActiveWindow, within=2)
    qtbot.keyClick(
        rig.panel.number_edit, Qt.Key.Key_D,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert rig.panel.number_text() == "098123 45678"
    assert rig.posts() == 0
