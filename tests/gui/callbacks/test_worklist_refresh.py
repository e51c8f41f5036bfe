"""The callback list's refresh after a sync runs on a worker thread; a person's own change
(mark handled) wins over an answer that was being worked out meanwhile."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.services.clock import ManualClock
from desktop_app.services.worklist import Worklist, WorklistRow
from desktop_app.store import CallStore
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.callbacks.presenter import BACKGROUND_REFRESH, WorklistPresenter
from tests.helpers.missed_calls import HOUR, ME, NUMBER, OTHER, T, call
from tests.helpers.qt import wait_until


class HeldWorklist(Worklist):
    """The real worklist, noting the thread each `compute` runs on; with `hold` set, a
    compute waits (having read the cache) until the test lets it answer."""

    def __init__(self, store: CallStore, clock: ManualClock) -> None:
        super().__init__(store, clock=clock, my_uuid=ME)
        self.computed_on: list[str] = []
        self.hold = False
        self.reading_done = threading.Event()
        self.release = threading.Event()

    def compute(self) -> list[WorklistRow]:
        rows = super().compute()
        self.computed_on.append(threading.current_thread().name)
        if self.hold:
            self.reading_done.set()
            self.release.wait(10)
        return rows


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    with CallStore.open(tmp_path / "cache.sqlite3") as opened:
        opened.upsert_calls([call("a", T - 2 * HOUR), call("b", T - HOUR, number=OTHER)])
        yield opened


async def test_the_refresh_after_new_calls_is_worked_out_off_the_gui_thread(
    qapp: object, store: CallStore
) -> None:
    worklist = HeldWorklist(store, ManualClock(T))
    model = WorklistModel()
    presenter = WorklistPresenter(worklist, model, coalesce_ms=1)
    try:
        presenter.on_new_calls([call("a", T - 2 * HOUR)])
        await wait_until(lambda: model.rowCount() == 2)
        assert worklist.computed_on and threading.current_thread().name not in set(
            worklist.computed_on
        )
        assert presenter.count == 2
    finally:
        presenter.stop()
        await presenter.aclose()


async def test_mark_handled_wins_over_a_background_refresh_read_before_it(
    qapp: object, store: CallStore
) -> None:
    worklist = HeldWorklist(store, ManualClock(T))
    model = WorklistModel()
    presenter = WorklistPresenter(worklist, model)
    try:
        presenter.refresh()
        assert {model.row_at(i).number for i in range(model.rowCount())} == {NUMBER, OTHER}
        worklist.hold = True
        presenter.refresh_in_background()
        assert await asyncio.to_thread(worklist.reading_done.wait, 10)  # read: both rows
        worklist.hold = False
        presenter.mark_handled(NUMBER)
        assert [model.row_at(i).number for i in range(model.rowCount())] == [OTHER]
        worklist.release.set()  # the stale answer (both rows) arrives now
        await wait_until(lambda: not presenter.tasks.running(BACKGROUND_REFRESH))
        assert [model.row_at(i).number for i in range(model.rowCount())] == [OTHER]
        assert [r.number for r in worklist.rows()] == [OTHER]
    finally:
        worklist.release.set()
        presenter.stop()
        await presenter.aclose()
