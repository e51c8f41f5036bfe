"""macOS delivers a clicked ``tel:`` link as a `QFileOpenEvent` sent to the QApplication:
the filter takes tel:/callto: links and lets everything else through, and the app puts the
link in the dialer (never dialled) through the path another launch's arguments take, also
when it arrives before a workspace is open.

Real events are sent with `QApplication.sendEvent`, as Qt's Cocoa plugin sends them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_app.app import AppController, forward_link_opens
from desktop_app.runtime.file_open import LinkOpenFilter
from desktop_app.sandbox import SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import TokenVault
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.sign_in import MemoryKeyring, controller_for, quit_app, shown_first_run
from tests.helpers.workspace import app_args, demo_config

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0
CLICK = "/clickOcall"


class EventRecorder(QObject):
    """An application filter installed before the one under test: Qt asks the newest
    filter first, so whatever reaches this one was passed through."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[QEvent.Type] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is QApplication.instance():
            self.seen.append(event.type())
        return False


@pytest.fixture
def recorder(qapp: QApplication) -> Iterator[EventRecorder]:
    recorder = EventRecorder()
    qapp.installEventFilter(recorder)
    yield recorder
    qapp.removeEventFilter(recorder)


@pytest.fixture
def link_filter(qapp: QApplication, recorder: EventRecorder) -> Iterator[LinkOpenFilter]:
    link_filter = LinkOpenFilter()
    qapp.installEventFilter(link_filter)
    yield link_filter
    qapp.removeEventFilter(link_filter)


def send_file_open(event: QFileOpenEvent) -> bool:
    """Deliver `event` to the application as macOS does; True when something consumed it."""
    app = QApplication.instance()
    assert app is not None
    return QApplication.sendEvent(app, event)


# ---------------------------------------------------------------------- the filter


@pytest.mark.parametrize(
    ("event", "link"),
    [
        (QFileOpenEvent(QUrl("tel:+919812345678")), "tel:+919812345678"),
        # Kept percent-encoded, as a command-line link is: the dialer's parser decodes it.
        (QFileOpenEvent(QUrl("callto:+91%2098765%2043210")), "callto:+91%2098765%2043210"),
        (QFileOpenEvent(QUrl("TEL:+919812345678")), "tel:+919812345678"),
        # Built from a string, the link is in file() and url() is file:tel:…
        (QFileOpenEvent("tel:+919812345678"), "tel:+919812345678"),
    ],
)
def test_a_tel_or_callto_link_is_taken_and_announced(
    qtbot: QtBot,
    link_filter: LinkOpenFilter,
    recorder: EventRecorder,
    event: QFileOpenEvent,
    link: str,
) -> None:
    with qtbot.waitSignal(link_filter.linkOpened, timeout=1000) as opened:
        consumed = send_file_open(event)
    assert consumed
    assert opened.args == [link]
    assert QEvent.Type.FileOpen not in recorder.seen  # consumed: Qt went no further


@pytest.mark.parametrize(
    "event",
    [
        QFileOpenEvent(QUrl("file:///tmp/x.txt")),
        QFileOpenEvent("/tmp/x.txt"),
        QFileOpenEvent(QUrl("https://example.com/tel:+919812345678")),
        QFileOpenEvent(QUrl("sip:+919812345678@example.com")),
    ],
)
def test_other_files_and_links_pass_through_untouched(
    qtbot: QtBot, link_filter: LinkOpenFilter, recorder: EventRecorder, event: QFileOpenEvent
) -> None:
    with qtbot.assertNotEmitted(link_filter.linkOpened):
        consumed = send_file_open(event)
    assert not consumed
    assert recorder.seen.count(QEvent.Type.FileOpen) == 1


def test_every_other_event_passes_through(
    qtbot: QtBot, link_filter: LinkOpenFilter, recorder: EventRecorder
) -> None:
    with qtbot.assertNotEmitted(link_filter.linkOpened):
        QApplication.sendEvent(QApplication.instance(), QEvent(QEvent.Type.User))
    assert QEvent.Type.User in recorder.seen


# ------------------------------------------------------------------- the whole app


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_where_no_such_event_comes_no_filter_sees_every_event(
    qapp: QApplication, desktop_home: AppPaths, recorder: EventRecorder, platform: str
) -> None:
    """An application-wide Python filter has every event wrapped for Python: the app
    installs none where the system never sends FileOpen."""
    controller = AppController(
        app_args("--demo"), desktop_home, environ={}, sandbox_config=demo_config(),
        demo_service=SandboxServer,
    )
    try:
        assert forward_link_opens(qapp, controller, platform=platform) is None
        assert not send_file_open(QFileOpenEvent(QUrl("tel:+919812345678")))
        assert recorder.seen.count(QEvent.Type.FileOpen) == 1  # nobody took it
    finally:
        controller.deleteLater()


def dialer_holds(ws: Workspace, e164: str) -> bool:
    parsed = ws.dialer.panel.parsed_number()
    return parsed is not None and parsed.e164 == e164


async def test_a_link_from_the_system_prefills_a_running_demo_workspace_dialer(
    qapp: QApplication, desktop_home: AppPaths
) -> None:
    controller = AppController(
        app_args("--demo"), desktop_home, environ={}, sandbox_config=demo_config(),
        demo_service=SandboxServer,
    )
    link_filter = forward_link_opens(qapp, controller, platform="darwin")
    assert link_filter is not None
    run = asyncio.ensure_future(controller.run())
    try:
        await wait_until(lambda: controller.workspace is not None, TIMEOUT)
        ws = controller.workspace
        assert ws is not None and ws.sandbox is not None
        assert ws.dialer.panel.parsed_number() is None
        ws.window.showMinimized()

        assert send_file_open(QFileOpenEvent(QUrl("tel:+919812345678")))
        assert dialer_holds(ws, "+919812345678")
        assert not ws.window.isMinimized()  # brought to the front, as for another launch
        assert ws.window.dialer_dock.isVisible()
        assert ws.sandbox.state.requests_to(CLICK) == []  # nothing dialled
    finally:
        qapp.removeEventFilter(link_filter)
        link_filter.deleteLater()
        await quit_app(controller, run)


async def test_a_link_that_arrives_before_a_workspace_is_open_lands_when_it_opens(
    qapp: QApplication, desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    """macOS may deliver the link that launched the app while the first-run window is
    still asking how to connect: it waits for the workspace instead of being lost."""
    vault = TokenVault(desktop_home.config_dir, backend=MemoryKeyring())
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    link_filter = forward_link_opens(qapp, controller, platform="darwin")
    assert link_filter is not None
    run = asyncio.ensure_future(controller.run())
    try:
        window = await shown_first_run(controller)
        assert send_file_open(QFileOpenEvent(QUrl("callto:+91%2098765%2043210")))
        assert controller.workspace is None

        QTest.mouseClick(window.demo_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: controller.workspace is not None, TIMEOUT)
        ws = controller.workspace
        assert ws is not None and ws.sandbox is not None
        assert dialer_holds(ws, "+919876543210")
        assert ws.sandbox.state.requests_to(CLICK) == []  # nothing dialled
    finally:
        qapp.removeEventFilter(link_filter)
        link_filter.deleteLater()
        await quit_app(controller, run)
