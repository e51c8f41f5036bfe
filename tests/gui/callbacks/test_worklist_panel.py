"""Missed calls end to end against the emulated service in live mode: a missed call
arrives, one sync later it is notified exactly once (not again after another sync, nor
after a restart on the same cache) and is on the callback list; a connected call clears
it; mark handled and undo. Time is a `ManualClock` shared by the service and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.sandbox import SandboxApp
from desktop_app.services.availability import DndController
from desktop_app.services.clock import ManualClock
from desktop_app.services.notifier import (
    MissedCallNotice,
    MissedCallsSummary,
    Notification,
    Notifier,
)
from desktop_app.services.settings import Settings
from desktop_app.services.sync import SyncEngine
from desktop_app.services.worklist import WorkingHours, Worklist
from desktop_app.store import CallStore
from desktop_app.ui.callbacks.model import NumberRole, WorklistColumn, WorklistModel
from desktop_app.ui.callbacks.panel import WorklistPanel
from desktop_app.ui.callbacks.presenter import WorklistPresenter
from desktop_app.ui.notifications.banner import NotificationBanner
from desktop_app.ui.notifications.presenter import NotificationPresenter
from desktop_app.ui.notifications.tray import TrayController
from tests.helpers.qt import wait_until
from tests.helpers.sandbox import make_sandbox
from tests.helpers.tokens import FAKE_TOKEN

IST = timezone(timedelta(hours=5, minutes=30))
#: Monday 11 March 2024, 14:00 in India.
T = int(datetime(2024, 3, 11, 14, 0, tzinfo=IST).timestamp())
CUSTOMER = "9000000001"
CUSTOMER_E164 = "+919000000001"
OTHER = "9000000002"
OTHER_E164 = "+919000000002"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def sandbox(clock: ManualClock) -> SandboxApp:
    return make_sandbox(clock, now=T, seed=5, n_logs=600, days=10, live_calls_every=900.0)


@pytest.fixture
async def client(sandbox: SandboxApp) -> AsyncIterator[MyOperatorClient]:
    c = MyOperatorClient(
        FAKE_TOKEN, base_url="http://sandbox", transport=httpx.ASGITransport(app=sandbox),
        budget=RequestBudget.unlimited(), retry=RetryPolicy(attempts=1),
    )
    yield c
    await c.aclose()


@dataclass
class App:
    """The missed-call pieces wired as the main window would wire them."""

    store: CallStore
    engine: SyncEngine
    notes: list[Notification]
    presenter: NotificationPresenter
    worklist: WorklistPresenter
    model: WorklistModel
    panel: WorklistPanel
    banner: NotificationBanner
    tray: TrayController
    host: QWidget
    calls_back: list[str] = field(default_factory=list)

    def noticed(self, call_id: str) -> int:
        """How many times a call was announced, alone or in a summary."""
        return sum(
            1 for n in self.notes
            if (isinstance(n, MissedCallNotice) and n.call_id == call_id)
            or (isinstance(n, MissedCallsSummary) and call_id in n.call_ids)
        )

    def numbers(self) -> list[str]:
        return [r.number for r in self.model.rows()]

    async def close(self) -> None:
        self.worklist.stop()
        await self.presenter.aclose()
        self.tray.stop()
        self.host.close()
        self.host.deleteLater()
        self.store.close()


def open_app(
    db: Path, clock: ManualClock, client: MyOperatorClient, me: str, settings: QSettings
) -> App:
    store = CallStore.open(db, clock=clock)
    engine = SyncEngine(client, store, clock=clock, sleep=clock.sleep)
    notifier = Notifier(store, clock, my_uuid=me, tz=IST)
    presenter = NotificationPresenter(notifier, DndController(client, me, meta=store))
    presenter.attach(engine)
    hours = WorkingHours(tz=IST)
    model = WorklistModel(clock=clock, tz=IST)
    worklist = WorklistPresenter(
        Worklist(store, clock=clock, my_uuid=me, hours=hours), model, coalesce_ms=20
    )
    panel = WorklistPanel()
    panel.attach_model(model)
    host = QWidget()
    banner = NotificationBanner(host)
    layout = QVBoxLayout(host)
    layout.addWidget(banner)
    layout.addWidget(panel)
    tray = TrayController(
        Settings(settings), settings, banner, window=host, tray_available=lambda: False
    )
    notes: list[Notification] = []
    app = App(store, engine, notes, presenter, worklist, model, panel, banner, tray, host)

    presenter.notified.connect(notes.append)
    presenter.notified.connect(tray.notify)
    engine.add_new_calls_listener(worklist.on_new_calls)
    worklist.countChanged.connect(tray.set_unhandled_count)
    worklist.undoChanged.connect(panel.set_undo)
    worklist.rowsChanged.connect(banner.keep_numbers)
    panel.markHandledRequested.connect(worklist.mark_handled)
    panel.undoRequested.connect(worklist.undo)
    panel.callBackRequested.connect(app.calls_back.append)
    tray.markHandledRequested.connect(worklist.mark_handled)
    tray.callBackRequested.connect(app.calls_back.append)
    tray.start()
    worklist.start()
    host.resize(900, 420)
    host.show()
    return app


async def sync(app: App) -> None:
    await app.engine.sync_once()
    await app.presenter.notifier.wait_checked()  # the check after it, off the loop
    app.worklist.refresh()  # what the coalescing timer does a moment later


async def test_a_missed_call_is_notified_once_listed_and_cleared_by_a_connected_call(
    tmp_path: Path, clock: ManualClock, client: MyOperatorClient, sandbox: SandboxApp,
    qtbot: QtBot, qtmodeltester: ModelTester,
) -> None:
    state = sandbox.sandbox
    me = state.users[0].uuid
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    db = tmp_path / "calls.db"
    app = open_app(db, clock, client, me, settings)
    try:
        await app.engine.sync_once()  # the first week: one summary, never a flood
        await app.presenter.notifier.wait_checked()
        (summary,) = app.notes
        assert isinstance(summary, MissedCallsSummary) and summary.count >= 2
        await wait_until(lambda: app.worklist.count > 0)  # the coalesced refresh ran
        first_count = app.worklist.count
        assert app.tray.unhandled_count == first_count
        app.notes.clear()

        clock.advance(120)
        missed = state.add_call(incoming=True, answered=False, caller_number=CUSTOMER,
                                agent_uuid=me, department="Support")
        await app.engine.sync_once()
        await app.presenter.notifier.wait_checked()
        assert app.noticed(missed.id) == 1
        note = next(n for n in app.notes if isinstance(n, MissedCallNotice)
                    and n.call_id == missed.id)
        assert note.caller_e164 == CUSTOMER_E164 and note.department == "Support"
        assert note.reach.rang_me and "rang you" in note.message
        assert any(c.note == note for c in app.banner.cards)  # no tray: in the window

        await wait_until(lambda: CUSTOMER_E164 in app.numbers())
        row = app.model.row_at(app.model.row_of(CUSTOMER_E164))
        assert row is not None and row.attempts == 1 and row.missed_by_me
        assert app.tray.unhandled_count == app.worklist.count == first_count + 1
        qtmodeltester.check(app.model)

        clock.advance(180)
        await sync(app)  # the overlap re-fetches the call: not announced again
        assert app.noticed(missed.id) == 1

        # The customer tries again: notified with the count, one row with two tries.
        clock.advance(240)
        again = state.add_call(incoming=True, answered=False, caller_number=CUSTOMER,
                               agent_uuid=me, department="Support")
        await sync(app)
        assert app.noticed(again.id) == 1
        second = next(n for n in app.notes if isinstance(n, MissedCallNotice)
                      and n.call_id == again.id)
        assert second.attempts_today == 2 and "2nd try today" in second.message
        row = app.model.row_at(app.model.row_of(CUSTOMER_E164))
        assert row is not None and row.attempts == 2
    finally:
        await app.close()

    # A restart on the same cache: nothing is announced again; the row is still there.
    clock.advance(300)
    app = open_app(db, clock, client, me, settings)
    try:
        # Worked out off the GUI thread at start: the row shows a moment after opening.
        await wait_until(lambda: CUSTOMER_E164 in app.numbers())
        await sync(app)
        assert app.noticed(missed.id) == 0 and app.noticed(again.id) == 0

        # Someone calls the customer back and reaches them: the row clears itself.
        clock.advance(120)
        state.add_call(incoming=False, answered=True, caller_number=CUSTOMER, agent_uuid=me)
        await sync(app)
        assert CUSTOMER_E164 not in app.numbers()
        assert app.noticed(missed.id) == 0
    finally:
        await app.close()


async def test_mark_handled_and_undo_from_the_panel(
    tmp_path: Path, clock: ManualClock, client: MyOperatorClient, sandbox: SandboxApp,
    qtbot: QtBot, qtmodeltester: ModelTester,
) -> None:
    state = sandbox.sandbox
    me = state.users[0].uuid
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    app = open_app(tmp_path / "calls.db", clock, client, me, settings)
    try:
        await sync(app)
        clock.advance(120)
        for _ in range(3):  # a repeat caller: priority
            state.add_call(incoming=True, answered=False, caller_number=OTHER,
                           agent_uuid=state.users[1].uuid)
            clock.advance(30)
        await sync(app)
        index = app.model.row_of(OTHER_E164)
        assert index >= 0
        row = app.model.row_at(index)
        assert row is not None and row.priority and row.missed_by_me is False
        flags = app.model.index(index, WorklistColumn.FLAGS)
        assert flags.data() == "Priority"
        assert app.model.index(index, WorklistColumn.MISSED_BY).data() == "Team"
        assert app.model.index(index, WorklistColumn.ATTEMPTS).data() == "3"
        assert app.model.index(index, 0).data(NumberRole) == OTHER_E164
        qtmodeltester.check(app.model)

        before = app.worklist.count
        assert app.panel.select_number(OTHER_E164)
        assert app.panel.call_back_button.isEnabled()
        qtbot.mouseClick(app.panel.call_back_button, Qt.MouseButton.LeftButton)
        assert app.calls_back == [OTHER_E164]  # prefills the dialer; the row stays
        assert OTHER_E164 in app.numbers()

        qtbot.mouseClick(app.panel.handled_button, Qt.MouseButton.LeftButton)
        assert OTHER_E164 not in app.numbers()
        assert app.worklist.count == before - 3 == app.tray.unhandled_count
        assert app.panel.undo_button.isEnabled()
        assert app.panel.undo_button.text() == "Undo: 090000 00002 handled"

        qtbot.mouseClick(app.panel.undo_button, Qt.MouseButton.LeftButton)
        assert OTHER_E164 in app.numbers() and app.worklist.count == before
        assert not app.panel.undo_button.isEnabled()
        qtmodeltester.check(app.model)
    finally:
        await app.close()
