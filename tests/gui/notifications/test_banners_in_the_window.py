"""The banner in the real window at 1024×700 (the demo's banner and the tray notice
showing): missed calls leave the log feed its rows, however many arrive, and each one
rings the chime and asks the taskbar where there is no tray."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.sandbox import SandboxServer
from desktop_app.services.notifier import MissedCallNotice
from desktop_app.services.worklist import CallReach, Reach
from desktop_app.ui.notifications.feature import TrayProbes
from tests.helpers.qt import SpyChime, next_turns, wait_until
from tests.helpers.workspace import WorkspaceOpener, first_sync

#: Feed rows the window keeps at 1024×700 with the notice and any number of missed calls
#: (three banners used to leave five and push the window to 754 px).
MIN_FEED_ROWS = 7


def missed(i: int) -> MissedCallNotice:
    number = f"+9198000001{i:02d}"
    return MissedCallNotice(
        call_id=f"missed-{i}", caller_e164=number, caller=number, department="Sales",
        start_time=1_710_146_000 + i, attempts_today=1,
        reach=CallReach(Reach.MISSED_BY_ME, True, (), ()),
        title=f"Missed call from {number}", message="Sales · 14:01 · rang you",
    )


async def test_missed_calls_leave_the_feed_its_rows_at_1024x700(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alerts: list[QWidget] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: alerts.append(widget))
    async with open_workspace(feed_sandbox, demo=True, tray=TrayProbes(chime=SpyChime)) as ws:
        window, banner = ws.window, ws.notifications.banner
        window.resize(1024, 700)
        await first_sync(ws)
        table = ws.feed.panel.table
        row = table.verticalHeader().defaultSectionSize()
        assert banner.notice_text  # "the system tray is unavailable" takes its line too
        presenter = ws.notifications.presenter
        for i in range(5):
            presenter.notified.emit(missed(i))
        await wait_until(lambda: len(banner.cards) >= 5 and banner.more_button.isVisible())
        chime = ws.notifications.tray.chime
        assert isinstance(chime, SpyChime) and chime.plays >= 5
        assert alerts and set(alerts) == {window}

        await wait_until(lambda: table.viewport().height() >= MIN_FEED_ROWS * row)
        assert window.height() == 700  # not pushed past the screen
        viewport = table.viewport().height()
        banner.set_expanded(True)  # the list drops down over the feed, not into it
        await wait_until(lambda: banner.waiting.isVisible())
        await next_turns(3)  # the layout settles
        assert table.viewport().height() == viewport and window.height() == 700
        assert banner.waiting.geometry().bottom() < window.height()
