"""The log feed against the emulated service: search (local at once, the server where the
cache cannot answer), filter chips, date presets, load more, selection, and new calls
arriving without moving the row being read."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.modeltest import ModelTester

from desktop_app.api.models import Direction
from desktop_app.sandbox import SandboxServer
from desktop_app.sandbox.filters import compile_filters
from desktop_app.services.formatting import format_number
from desktop_app.store import CallRow
from desktop_app.ui.feed.model import PAGE_SIZE
from desktop_app.ui.feed.presenter import NUMBER_FORMATS, preset_range
from desktop_app.workspace import Workspace
from tests.helpers.builders import make_log
from tests.helpers.qt import signal_future, wait_until
from tests.helpers.workspace import WorkspaceOpener, add_newest_call, first_sync

TIMEOUT = 15.0


async def settled(ws: Workspace) -> None:
    """The typed search applied locally, the server's part (if any) merged and the cache's
    matches counted (off the GUI thread, after the rows are shown)."""
    await wait_until(
        lambda: ws.feed.model.query.text == ws.feed.panel.search.text().strip(), TIMEOUT
    )
    feed = ws.feed.presenter
    await wait_until(lambda: not feed.remote_pending and not feed.loading_more, TIMEOUT)
    await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)


def rows(ws: Workspace) -> list[CallRow]:
    return ws.feed.model.loaded_rows()


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# --------------------------------------------------------------------------- search


async def test_search_narrows_instantly_by_a_number_fragment(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    # The server is asked only after a long pause here, to see the cache answer alone.
    async with open_workspace(feed_sandbox, remote_delay_ms=60_000) as ws:
        await first_sync(ws)
        await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)  # counted
        before = ws.feed.model.total_count
        target = ws.feed.model.row_at(7)
        assert target is not None
        fragment = target.caller_raw[2:6]
        resets: list[bool] = []
        ws.feed.model.modelReset.connect(lambda: resets.append(True))
        applied = signal_future(ws.feed.model.modelReset)
        QTest.keyClicks(ws.feed.panel.search, fragment)
        await asyncio.wait_for(applied, 2.0)
        assert resets == [True]  # one query for the four keystrokes (debounced)
        assert ws.feed.model.query.text == fragment
        assert ws.feed.presenter.remote_pending  # the server has not been asked yet
        shown = rows(ws)
        assert target.id in {r.id for r in shown}
        assert all(fragment in r.caller_e164 or fragment in r.caller_raw for r in shown)
        assert 0 < ws.feed.model.total_count < before


async def test_search_by_agent_name_then_the_server_completes_the_count(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        agent = next(r.agents for r in rows(ws) if r.agents).split(", ")[0]
        first_name = agent.split()[0]
        ws.feed.panel.search.setText(first_name.lower())
        await settled(ws)
        shown = rows(ws)
        assert shown
        local = [r for r in shown if first_name.lower() in r.agents.lower()]
        assert local, "the cache finds the agent's calls"
        # The feed says how many of the matches it shows.
        server_total = feed_sandbox.state.search(None, None, 0, 1, first_name.lower())[0]
        label = ws.feed.panel.count_label.text()
        if server_total > ws.feed.model.total_count:
            assert label == f"{ws.feed.model.total_count:,} of {server_total:,} calls"
        else:
            assert label == f"{ws.feed.model.total_count:,} calls"


async def test_escape_clears_the_search_and_shows_everything_again(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        await settled(ws)
        everything = ws.feed.model.total_count
        ws.feed.panel.search.setText("zzzz-no-such-call")
        await settled(ws)
        assert ws.feed.model.rowCount() == 0
        QTest.keyClick(ws.window, Qt.Key.Key_Escape)
        assert ws.feed.panel.search.text() == ""
        assert ws.feed.model.query.text == ""  # cleared at once, no debounce
        assert ws.feed.model.total_count == everything


# -------------------------------------------------------------------------- filters


async def test_filter_chips_come_from_the_server_and_filter_locally_and_remotely(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        chips = ws.feed.panel.chips
        await wait_until(lambda: chips.chip_named("Missed") is not None, TIMEOUT)
        await wait_until(lambda: not chips.revealing, TIMEOUT)  # shown a group per turn
        assert [g.name for g in chips.groups][:2] == ["Source of logs", "Event of logs"]
        missed, incoming = chips.chip_named("Missed"), chips.chip_named("Incoming")
        voicemail = chips.chip_named("Voicemail")
        assert missed and incoming and voicemail
        assert missed.accessibleName() == "Filter: Missed"

        QTest.mouseClick(missed, Qt.MouseButton.LeftButton)
        assert missed.isChecked()
        assert ws.feed.presenter.filter_expression == "13"
        assert ws.feed.model.local and ws.feed.model.rowCount() > 0
        assert all(not r.answered for r in rows(ws))

        QTest.mouseClick(incoming, Qt.MouseButton.LeftButton)
        assert ws.feed.presenter.filter_expression == "5 AND 13"
        assert all(r.direction is Direction.INCOMING and not r.answered for r in rows(ws))
        model = ws.feed.model
        assert all(model.index(i, 2).data() == "Missed" for i in range(model.rowCount()))

        # Voicemail is not in the cached records: the server's answer is shown instead.
        QTest.mouseClick(voicemail, Qt.MouseButton.LeftButton)
        assert ws.feed.presenter.filter_expression == "5 AND 13 OR 5 AND 14"
        assert not ws.feed.model.local
        assert "Voicemail" in ws.feed.panel.notice.text()
        assert ws.feed.panel.notice.isVisible()
        await settled(ws)
        total, page = feed_sandbox.state.search(
            None, None, 0, 100, "", compile_filters("5 AND 13 OR 5 AND 14")
        )
        assert {r.id for r in rows(ws)} == {c.id for c in page}
        assert ws.feed.presenter.api_total == total

        for chip in (missed, incoming, voicemail):
            QTest.mouseClick(chip, Qt.MouseButton.LeftButton)
        assert ws.feed.presenter.filter_expression is None
        assert ws.feed.model.local
        assert not ws.feed.panel.notice.isVisible()


# ---------------------------------------------------------------------------- dates


async def test_yesterday_is_served_from_the_cache_exactly(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        ws.feed.panel.select_preset("yesterday")
        start, end = preset_range("yesterday", date.today())
        assert start is not None and end is not None
        assert (ws.feed.model.query.start, ws.feed.model.query.end) == (start, end)
        assert not ws.feed.presenter.remote_pending  # the first sync covered yesterday
        shown = rows(ws)
        assert shown and all(start <= r.start_time <= end for r in shown)
        expected = feed_sandbox.state.search(start, end, 0, 1)[0]
        assert ws.feed.model.total_count == expected
        assert ws.feed.panel.count_label.text() == f"{expected:,} calls"
        assert not ws.feed.panel.load_more.isEnabled()

        ws.feed.panel.select_preset("today")
        today_start, today_end = preset_range("today", date.today())
        assert today_end is None  # open: calls arriving now belong to it
        assert all(r.start_time >= today_start for r in rows(ws))


async def test_a_custom_range_outside_the_cache_is_fetched_from_the_server(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        assert not ws.feed.panel.date_from.isVisible()
        ws.feed.panel.select_preset("custom")
        assert ws.feed.panel.date_from.isVisible() and ws.feed.panel.date_to.isVisible()
        first, last = date.today() - timedelta(days=20), date.today() - timedelta(days=18)
        ws.feed.panel.date_to.setDate(QDate(last.year, last.month, last.day))
        ws.feed.panel.date_from.setDate(QDate(first.year, first.month, first.day))
        start, end = preset_range("custom", date.today(), (first, last))
        assert (ws.feed.model.query.start, ws.feed.model.query.end) == (start, end)
        await settled(ws)
        assert start is not None and end is not None
        total, page = feed_sandbox.state.search(start, end, 0, 100)
        assert total > 0
        assert {r.id for r in rows(ws)} == {c.id for c in page}
        assert all(start <= r.start_time <= end for r in rows(ws))


# ------------------------------------------------------------------------ load more


async def test_scrolling_to_the_end_loads_older_calls(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        await wait_until(lambda: ws.feed.presenter.api_total is not None, TIMEOUT)
        everything = len(feed_sandbox.state.calls)
        before = ws.feed.model.total_count
        oldest = min(r.start_time for r in rows(ws))
        assert ws.feed.panel.count_label.text() == f"{before:,} of {everything:,} calls"
        assert ws.feed.panel.load_more.isEnabled()

        table = ws.feed.panel.table
        while ws.feed.model.canFetchMore(QModelIndex()):
            ws.feed.model.fetchMore(QModelIndex())
        finished = signal_future(ws.feed.presenter.loadMoreFinished)
        table.scrollToBottom()
        table.verticalScrollBar().setValue(table.verticalScrollBar().maximum())
        await asyncio.wait_for(finished, TIMEOUT)
        # The older calls are stored; the footer's count follows off the GUI thread.
        await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)
        assert ws.feed.model.total_count > before
        assert min(r.start_time for r in ws.feed.model.rows_for_export()) < oldest
        assert ws.feed.panel.count_label.text() == (
            f"{ws.feed.model.total_count:,} of {everything:,} calls"
        )

        again = signal_future(ws.feed.presenter.loadMoreFinished)
        QTest.mouseClick(ws.feed.panel.load_more, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(again, TIMEOUT)
        await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)
        assert ws.feed.model.total_count > before


# -------------------------------------------------------------------------- details


async def test_selecting_a_row_shows_it_in_the_call_detail_dock(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        row = ws.feed.model.row_at(3)
        assert row is not None
        selected = signal_future(ws.feed.presenter.callSelected)
        ws.feed.panel.table.selectRow(3)
        (call,) = await asyncio.wait_for(selected, TIMEOUT)
        assert call.id == row.id
        assert ws.call_detail.panel.call is not None and ws.call_detail.panel.call.id == row.id
        assert ws.call_detail.panel.field_text("number") == format_number(row.caller_e164)
        assert ws.call_detail.panel.field_text("result") == (
            "Answered" if row.answered else "Missed"
        )
        ws.feed.panel.table.clearSelection()
        ws.feed.panel.table.setCurrentIndex(QModelIndex())
        assert ws.call_detail.panel.call is None


# --------------------------------------------------------------------- new arrivals


async def test_new_calls_do_not_move_the_row_being_read(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        table = ws.feed.panel.table
        assert ws.feed.model.rowCount() > 80
        table.scrollTo(ws.feed.model.index(40, 0), QAbstractItemView.ScrollHint.PositionAtTop)
        table.verticalScrollBar().setValue(table.verticalScrollBar().value() + 7)  # mid-row
        reading = table.rowAt(0)
        reading_id = ws.feed.model.row_at(reading).id  # type: ignore[union-attr]
        offset = table.rowViewportPosition(reading)
        assert reading > 0 and not table.is_at_top()

        added = [
            feed_sandbox.state.add_call(caller_number=f"90000000{i:02d}", answered=i != 1)
            for i in range(3)
        ]
        ws.window.refresh_action.trigger()
        await wait_until(lambda: ws.feed.model.row_of(reading_id) == reading + 3, TIMEOUT)
        # Above the row being read (among the newest: the demo's own calls may be newer
        # in busy hours, as the new ones started a ring and a talk ago).
        rows_of_added = [ws.feed.model.row_of(call.id) for call in added]
        assert all(row is not None and row < reading for row in rows_of_added)
        assert table.rowAt(0) == reading + 3
        assert table.rowViewportPosition(reading + 3) == offset


async def test_at_the_top_new_calls_come_into_view(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        await wait_until(lambda: ws.feed.presenter.api_total is not None, TIMEOUT)
        table = ws.feed.panel.table
        table.scrollToTop()
        assert table.is_at_top()
        call = add_newest_call(feed_sandbox.state, caller_number="9000000099", answered=False)
        ws.window.refresh_action.trigger()
        await wait_until(lambda: ws.feed.model.row_of(call.id) == 0, TIMEOUT)
        assert table.is_at_top()
        assert table.rowAt(0) == 0
        assert ws.feed.model.index(0, 2).data() == "Missed"
        # The server's total counts the new call too.
        everything = len(feed_sandbox.state.calls)
        assert ws.feed.presenter.api_total == everything
        assert ws.feed.panel.count_label.text() == (
            f"{ws.feed.model.total_count:,} of {everything:,} calls"
        )


# ---------------------------------------------------------------------- model test


async def test_the_live_feed_model_passes_the_model_tester(
    qtmodeltester: ModelTester, open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        qtmodeltester.check(ws.feed.model)
        add_newest_call(feed_sandbox.state, caller_number="9000000077")
        ws.window.refresh_action.trigger()
        await wait_until(
            lambda: ws.feed.model.row_at(0) is not None
            and ws.feed.model.row_at(0).caller_raw == "9000000077",  # type: ignore[union-attr]
            TIMEOUT,
        )
        ws.feed.panel.search.setText("0000")
        await settled(ws)
        assert ws.feed.model.rowCount() >= 1


async def test_the_exact_count_comes_after_the_rows_off_the_gui_thread(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """More matches than a page: the rows show at once, the footer says it is counting,
    and the count (taken on another connection, in a worker thread) replaces that."""
    async with open_workspace(feed_sandbox, remote_delay_ms=60_000) as ws:
        await first_sync(ws)
        await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)
        newest = max(r.start_time for r in rows(ws))
        extra = [
            make_log(f"many-{i:03d}", newest - 1 - i, agents=("Countable Person",))
            for i in range(PAGE_SIZE + 50)
        ]
        ws.store.upsert_calls(extra)
        labels: list[str] = []
        ws.feed.presenter.countTextChanged.connect(labels.append)
        ws.feed.panel.search.setText("countable")
        await wait_until(lambda: ws.feed.model.query.text == "countable", TIMEOUT)
        assert ws.feed.model.rowCount() == PAGE_SIZE and ws.feed.model.total_count is None
        assert ws.feed.panel.count_label.text().startswith("Counting calls…")
        await wait_until(lambda: not ws.feed.model.needs_count, TIMEOUT)
        assert ws.feed.model.total_count == PAGE_SIZE + 50
        assert f"of {PAGE_SIZE + 50:,}" in ws.feed.panel.count_label.text() or (
            f"{PAGE_SIZE + 50:,} calls" in ws.feed.panel.count_label.text()
        )
        assert any(label.startswith("Counting calls…") for label in labels)


async def test_the_cached_countries_number_formats_are_readied_after_the_start(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        task = ws.feed.presenter.tasks.task(NUMBER_FORMATS)  # waiting out the first paint
        assert task is not None
        await asyncio.wait_for(asyncio.wait([task]), TIMEOUT)
        assert task.exception() is None
