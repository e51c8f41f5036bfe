"""The feed's table model over a real cache: lazy keyset paging, merging new calls where
they belong, server rows beside cache rows, and what each cell says (not colour alone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFont
from pytestqt.modeltest import ModelTester

from desktop_app.api.models import CallLog, Direction
from desktop_app.store import CallQuery, CallStore
from desktop_app.ui.common.theme import DARK_COLORS, LIGHT_COLORS
from desktop_app.ui.feed.model import (
    PAGE_SIZE,
    CallIdRole,
    Column,
    FeedModel,
    MissedRole,
    row_from_log,
)
from tests.helpers.builders import make_log

NOW = int(time.time())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    store = CallStore.open(tmp_path / "calls.sqlite3")
    yield store
    store.close()


def fill(store: CallStore, n: int, *, newest: int = NOW - 60, step: int = 60) -> list[CallLog]:
    logs = [
        make_log(
            f"c{i:04d}", newest - i * step, number=f"+9198{i:08d}",
            answered=i % 4 != 0, direction=Direction.INCOMING if i % 3 else Direction.OUTGOING,
            agents=("Asha Verma",) if i % 2 else ("Ravi Kumar",),
        )
        for i in range(n)
    ]
    store.upsert_calls(logs)
    return logs


def ids(model: FeedModel) -> list[str]:
    return [r.id for r in model.loaded_rows()]


def counted(model: FeedModel, store: CallStore) -> int | None:
    """What the presenter does off the GUI thread: count the view's matches in the cache
    and tell the model."""
    if model.needs_count:
        model.set_local_total(model.query, store.count(model.query))
    return model.total_count


def fetch_all(model: FeedModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


def test_rows_are_read_lazily_in_pages(qapp: object, store: CallStore) -> None:
    fill(store, 450)
    model = FeedModel(store)
    model.set_query(CallQuery())
    assert model.rowCount() == PAGE_SIZE
    assert model.total_count is None and model.needs_count  # not counted in the reset
    assert counted(model, store) == 450
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE_SIZE
    fetch_all(model)
    assert model.rowCount() == 450
    assert not model.canFetchMore(QModelIndex())
    assert ids(model) == [r.id for r in store.fetch_rows(CallQuery(), 0, 1000)]


def test_calls_sharing_a_second_across_a_page_boundary_are_neither_lost_nor_repeated(
    qapp: object, store: CallStore
) -> None:
    same = NOW - 5000
    logs = [make_log(f"a{i:03d}", NOW - i) for i in range(150)]
    logs += [make_log(f"t{i:03d}", same) for i in range(120)]  # straddles row 200
    logs += [make_log(f"z{i:03d}", same - 1 - i) for i in range(40)]
    store.upsert_calls(logs)
    model = FeedModel(store)
    model.set_query(CallQuery())
    fetch_all(model)
    assert sorted(ids(model)) == sorted(log.id for log in logs)
    starts = [r.start_time for r in model.loaded_rows()]
    assert starts == sorted(starts, reverse=True)


def test_new_calls_are_inserted_at_the_top(qapp: object, store: CallStore) -> None:
    fill(store, 300)
    model = FeedModel(store)
    model.set_query(CallQuery())
    top_before = ids(model)[:3]
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    fresh = [make_log(f"new{i}", NOW - 10 + i) for i in range(3)]
    store.upsert_calls(fresh)
    model.refresh(since=min(c.start_time for c in fresh))
    assert inserted == [(0, 2)]
    assert resets == []
    assert ids(model)[:3] == ["new2", "new1", "new0"]
    assert ids(model)[3:6] == top_before
    assert model.needs_count  # the cache changed: counted again, off the GUI thread
    assert counted(model, store) == 303


def test_calls_older_than_every_loaded_row_are_not_read_until_scrolled_to(
    qapp: object, store: CallStore
) -> None:
    """A first sync stores pages oldest last: each one costs the window no read."""
    fill(store, 100)  # one short page: everything is loaded
    model = FeedModel(store)
    model.set_query(CallQuery())
    assert model.loaded_count == 100 and not model.canFetchMore(QModelIndex())
    older = [make_log(f"old{i}", NOW - 100 * 60 - 1 - i) for i in range(100)]
    store.upsert_calls(older)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        model.refresh(since=min(c.start_time for c in older),
                      until=max(c.start_time for c in older))
    finally:
        store.connection.set_trace_callback(None)
    assert statements == []
    assert model.loaded_count == 100
    assert model.canFetchMore(QModelIndex())  # they come with the next page
    fetch_all(model)
    assert model.loaded_count == 200 and ids(model)[100:102] == ["old0", "old1"]
    # Not recounted yet: the stale count (100) never reads below the rows loaded.
    assert model.needs_count and model.total_count == 200


def test_a_count_begun_before_the_cache_changed_is_shown_and_counted_again(
    qapp: object, store: CallStore
) -> None:
    """A sync's next page lands while the count of the previous one runs: its figure is
    shown, and the view still asks for a count, so the last figure is never left low."""
    fill(store, 300)
    model = FeedModel(store)
    model.set_query(CallQuery())
    as_of = model.changes
    total = store.count(model.query)  # what the worker thread counts...
    fresh = [make_log(f"new{i}", NOW - 10 + i) for i in range(3)]
    store.upsert_calls(fresh)  # ...while the next page is stored
    model.refresh(since=min(c.start_time for c in fresh), until=max(c.start_time for c in fresh))
    model.set_local_total(model.query, total, as_of=as_of)
    assert model.total_count == 300 and model.needs_count
    assert counted(model, store) == 303 and not model.needs_count


def test_a_late_call_lands_at_its_chronological_place(qapp: object, store: CallStore) -> None:
    logs = fill(store, 50)
    model = FeedModel(store)
    model.set_query(CallQuery())
    late = make_log("late", logs[10].start_time - 1)
    store.upsert_calls([late])
    model.refresh()
    assert ids(model).index("late") == 11


def test_a_changed_call_is_updated_in_place(qapp: object, store: CallStore) -> None:
    logs = fill(store, 20)
    model = FeedModel(store)
    model.set_query(CallQuery())
    row = ids(model).index(logs[4].id)
    assert not model.index(row, Column.RECORDING).data()
    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    store.upsert_calls([make_log(logs[4].id, logs[4].start_time, answered=True,
                                 filename="later.mp3")])
    model.refresh()
    assert changed == [row]
    assert model.index(row, Column.RECORDING).data() == "Yes"
    assert model.rowCount() == 20


def test_refresh_keeps_the_query(qapp: object, store: CallStore) -> None:
    fill(store, 40)
    model = FeedModel(store)
    model.set_query(CallQuery(answered=False))
    store.upsert_calls([make_log("answered-new", NOW, answered=True),
                        make_log("missed-new", NOW + 1, answered=False)])
    model.refresh()
    assert "missed-new" in ids(model)
    assert "answered-new" not in ids(model)
    assert all(not r.answered for r in model.loaded_rows())


def test_server_rows_join_the_cache_rows(qapp: object, store: CallStore) -> None:
    fill(store, 30)
    model = FeedModel(store)
    model.set_query(CallQuery(text="Ravi"))
    local = model.total_count
    assert local == 15 and not model.needs_count  # one short page: its length is the total
    extra = row_from_log(make_log("srv1", NOW - 95, agents=("Someone Else",)))
    assert model.merge_extra([extra]) == 1
    assert model.merge_extra([extra]) == 0  # never twice
    assert model.total_count == local + 1
    assert "srv1" in ids(model)
    starts = [r.start_time for r in model.loaded_rows()]
    assert starts == sorted(starts, reverse=True)


def test_a_server_only_view_shows_just_the_server_rows(qapp: object, store: CallStore) -> None:
    fill(store, 30)
    model = FeedModel(store)
    model.set_query(CallQuery(), local=False)
    assert model.rowCount() == 0
    assert not model.canFetchMore(QModelIndex())
    model.merge_extra([row_from_log(make_log(f"s{i}", NOW - i)) for i in range(5)])
    assert ids(model) == [f"s{i}" for i in range(5)]
    store.upsert_calls([make_log("cached-new", NOW + 5)])
    model.refresh()
    assert "cached-new" not in ids(model)


def test_calls_the_cache_let_go_of_leave_the_view_from_the_bottom(
    qapp: object, store: CallStore, qtmodeltester: ModelTester
) -> None:
    logs = fill(store, 450)
    model = FeedModel(store)
    model.set_query(CallQuery())
    fetch_all(model)
    qtmodeltester.check(model)
    cut = logs[300].start_time  # calls 301.. are older than that: kept long enough
    assert store.prune_older_than(cut) == 149
    assert model.drop_older_than(cut) == 149
    assert model.rowCount() == 301 and counted(model, store) == 301
    assert ids(model)[-1] == logs[300].id and not model.canFetchMore(QModelIndex())
    # Rows not loaded yet are simply never loaded: the model pages on from what is left.
    model.set_query(CallQuery())
    assert model.drop_older_than(logs[250].start_time) == 0  # not loaded: nothing to drop
    store.prune_older_than(logs[250].start_time)
    model.drop_older_than(logs[250].start_time)
    fetch_all(model)
    assert model.rowCount() == model.total_count == 251
    qtmodeltester.check(model)


def test_export_covers_rows_not_scrolled_to_yet(qapp: object, store: CallStore) -> None:
    fill(store, 450)
    model = FeedModel(store)
    model.set_query(CallQuery(directions=frozenset({Direction.INCOMING})))
    exported = model.rows_for_export()
    assert len(exported) == counted(model, store) > model.rowCount()
    assert all(r.direction is Direction.INCOMING for r in exported)


def test_missed_incoming_calls_stand_out_in_more_than_colour(
    qapp: object, store: CallStore
) -> None:
    store.upsert_calls([
        make_log("missed", NOW - 30, answered=False, number="+919812345678"),
        make_log("answered", NOW - 60),
        make_log("unanswered-out", NOW - 90, answered=False, direction=Direction.OUTGOING),
    ])
    model = FeedModel(store)
    model.set_query(CallQuery())
    missed, answered, outgoing = (model.index(i, Column.STATUS) for i in range(3))
    assert missed.data() == "Missed"
    assert missed.data(MissedRole) is True
    font = missed.data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    assert missed.data(Qt.ItemDataRole.BackgroundRole) == LIGHT_COLORS.missed_bg
    assert missed.data(Qt.ItemDataRole.DecorationRole) is not None
    sentence = missed.data(Qt.ItemDataRole.AccessibleTextRole)
    assert sentence.startswith("Missed incoming call from 098123 45678")
    assert answered.data() == "Answered"
    assert answered.data(MissedRole) is False
    assert answered.data(Qt.ItemDataRole.FontRole) is None
    assert answered.data(Qt.ItemDataRole.BackgroundRole) is None
    assert outgoing.data() == "Not answered"
    assert outgoing.data(MissedRole) is False
    assert model.index(0, Column.TALK).data() == "—"
    model.set_colors(DARK_COLORS)
    assert model.index(0, Column.STATUS).data(Qt.ItemDataRole.BackgroundRole) == (
        DARK_COLORS.missed_bg
    )


def test_cells_read_as_a_person_expects(qapp: object, store: CallStore) -> None:
    store.upsert_calls([make_log("c1", NOW - 30, number="+919812345678",
                                 agents=("Asha Verma", "Ravi Kumar"), department="Billing")])
    model = FeedModel(store, clock=lambda: float(NOW))
    model.set_query(CallQuery())
    cell = {c: model.index(0, c).data() for c in Column}
    assert cell[Column.TIME].startswith(("Today ", "Yesterday "))
    assert cell[Column.DIRECTION] == "Incoming"
    assert cell[Column.CALLER] == "098123 45678"
    assert cell[Column.DEPARTMENT] == "Billing"
    assert cell[Column.AGENTS] == "Asha Verma, Ravi Kumar"
    assert cell[Column.TALK] == "0:31"
    assert cell[Column.RECORDING] == "Yes"
    assert model.index(0, 0).data(CallIdRole) == "c1"
    flags = model.index(0, Column.CALLER).flags()
    assert flags & Qt.ItemFlag.ItemIsEnabled and flags & Qt.ItemFlag.ItemIsSelectable
    assert not flags & Qt.ItemFlag.ItemIsEditable
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert headers == ["Time", "Direction", "Status", "Caller", "Department", "Agent(s)",
                       "Talk time", "Recording"]


def test_a_row_read_today_reads_yesterday_once_the_day_turns(
    qapp: object, store: CallStore
) -> None:
    """A row's texts are worked out once and kept, but not past the local day they
    were written on (nor before it: a clock set back)."""
    noon = datetime.combine(datetime.fromtimestamp(NOW).date(), dt_time(12)).timestamp()
    store.upsert_calls([make_log("c1", int(noon))])
    now = [noon + 60]
    model = FeedModel(store, clock=lambda: now[0])
    model.set_query(CallQuery())
    cell = model.index(0, Column.TIME)
    assert cell.data() == "Today 12:00:00"
    now[0] = noon + 86_400  # the next day's noon
    assert cell.data() == "Yesterday 12:00:00"
    now[0] = noon + 3 * 86_400
    assert not cell.data().startswith(("Today", "Yesterday"))
    now[0] = noon + 60
    assert cell.data() == "Today 12:00:00"


def test_a_row_changed_in_the_cache_reads_anew(qapp: object, store: CallStore) -> None:
    """Texts already shown for a call follow its new content (a recording arrived)."""
    store.upsert_calls([make_log("c1", NOW - 30, filename=None, department="Sales")])
    model = FeedModel(store)
    model.set_query(CallQuery())
    assert model.index(0, Column.RECORDING).data() == ""
    assert model.index(0, Column.DEPARTMENT).data() == "Sales"
    store.upsert_calls([make_log("c1", NOW - 30, filename="rec.mp3", department="Billing")])
    model.refresh()
    assert model.index(0, Column.RECORDING).data() == "Yes"
    assert model.index(0, Column.DEPARTMENT).data() == "Billing"
    assert "department Billing" in model.index(0, Column.TIME).data(
        Qt.ItemDataRole.ToolTipRole
    )


def exercise(model: FeedModel, store: CallStore) -> None:
    fetch_all(model)
    store.upsert_calls([make_log("n1", NOW + 1), make_log("n2", NOW - 600)])
    model.refresh()
    model.merge_extra([row_from_log(make_log("x1", NOW - 30_000))])
    model.set_query(CallQuery(text="98000"))
    model.set_query(CallQuery(), local=False)
    model.merge_extra([row_from_log(make_log("x2", NOW - 3))])
    assert model.rowCount() == 1


def test_model_passes_qt_model_tester(qtmodeltester: ModelTester, store: CallStore) -> None:
    fill(store, 150)
    model = FeedModel(store)
    model.set_query(CallQuery())
    qtmodeltester.check(model)
    exercise(model, store)


def test_model_passes_the_model_tester_while_paging(
    qtmodeltester: ModelTester, store: CallStore
) -> None:
    """The tester calls fetchMore from its own modelReset handler: the model defers that
    page instead of inserting rows while the reset is still being delivered."""
    fill(store, 460)
    model = FeedModel(store)
    model.set_query(CallQuery())
    qtmodeltester.check(model)
    exercise(model, store)
    model.set_query(CallQuery())
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() >= 200
