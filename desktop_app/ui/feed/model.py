"""The log feed's table model: the call cache, read lazily, newest first.

The cache may hold hundreds of thousands of calls, so rows are read in pages as the view
scrolls (``canFetchMore``/``fetchMore``). Pages are fetched by *keyset* (calls at or
before the oldest loaded start time, minus those already loaded), not by offset: new calls
arrive at the top all day, and an offset would then skip or repeat rows.

Two sources: the cache (a `CallQuery`, the normal case) or a fixed list of calls the
server returned for a query the cache cannot answer (a filter such as *Voicemail* that the
cached records do not carry).

The model never counts: an exact count of 100,000 matches takes longer than a frame. It
reads the first page (and knows the total when that page is the last), and is told the
total (`set_local_total`) by whoever counts off the GUI thread (the presenter); paging
needs no total, a short page is the last.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from enum import IntEnum
from typing import Any, Final, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

from desktop_app.api.models import CallLog, Direction
from desktop_app.services.formatting import (
    DEFAULT_HOME_REGION,
    format_duration,
    format_local_time,
    format_number,
    local_datetime,
)
from desktop_app.store import CallQuery, CallRow, CallStore
from desktop_app.ui.common.theme import LIGHT_COLORS, ThemeColors

PAGE_SIZE: Final = 200
# A refresh re-reads at most this many of the newest matching calls.
_REFRESH_LIMIT: Final = 5000

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TIME = 0
    DIRECTION = 1
    STATUS = 2
    CALLER = 3
    DEPARTMENT = 4
    AGENTS = 5
    TALK = 6
    RECORDING = 7


HEADERS: Final = {
    Column.TIME: "Time",
    Column.DIRECTION: "Direction",
    Column.STATUS: "Status",
    Column.CALLER: "Caller",
    Column.DEPARTMENT: "Department",
    Column.AGENTS: "Agent(s)",
    Column.TALK: "Talk time",
    Column.RECORDING: "Recording",
}

CallIdRole: Final = int(Qt.ItemDataRole.UserRole) + 1
CallRowRole: Final = int(Qt.ItemDataRole.UserRole) + 2
MissedRole: Final = int(Qt.ItemDataRole.UserRole) + 3
StartTimeRole: Final = int(Qt.ItemDataRole.UserRole) + 4


_DISPLAY: Final = int(Qt.ItemDataRole.DisplayRole)
_DECORATION: Final = int(Qt.ItemDataRole.DecorationRole)
_ALIGNMENT: Final = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP: Final = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE: Final = int(Qt.ItemDataRole.AccessibleTextRole)
_FONT: Final = int(Qt.ItemDataRole.FontRole)
_BACKGROUND: Final = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND: Final = int(Qt.ItemDataRole.ForegroundRole)
_ANSWERED_ROLES: Final = frozenset({
    _DISPLAY, _DECORATION, _ALIGNMENT, _TOOLTIP, _ACCESSIBLE, _FONT, _BACKGROUND,
    _FOREGROUND, CallIdRole, CallRowRole, MissedRole, StartTimeRole,
})
_COLUMNS: Final = tuple(Column)
_COLUMN_COUNT: Final = len(_COLUMNS)
# Columns as plain ints for the per-cell paths (an enum member's lookup is slower).
_TIME: Final = int(Column.TIME)
_DIRECTION: Final = int(Column.DIRECTION)
_STATUS: Final = int(Column.STATUS)
_TALK: Final = int(Column.TALK)
_RECORDING: Final = int(Column.RECORDING)
#: Rows whose texts are kept (those painted lately: a screenful per query, across queries).
_LOOKS_KEPT: Final = 2000
_LEFT: Final = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT: Final = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def row_from_log(log: CallLog) -> CallRow:
    """The feed row of a full call (the server's answer, before or without the cache)."""
    return CallRow(
        id=log.id,
        start_time=log.start_time,
        end_time=log.end_time,
        duration_s=log.duration_s,
        talk_s=log.talk_s,
        direction=log.direction,
        answered=log.answered,
        caller_e164=log.caller_number,
        caller_raw=log.caller_number_raw,
        department=log.department,
        agents=", ".join(log.agents),
        has_recording=log.has_recording,
    )


def is_missed_incoming(row: CallRow) -> bool:
    return row.direction is Direction.INCOMING and not row.answered


def status_text(row: CallRow) -> str:
    if row.direction is Direction.INCOMING:
        return "Answered" if row.answered else "Missed"
    return "Connected" if row.answered else "Not answered"


def _sort_key(row: CallRow) -> int:
    # The list is newest first; bisect needs ascending keys.
    return -row.start_time


class _Look(NamedTuple):
    """What a painted row shows, worked out once per row rather than per cell and role
    (a repaint asks every visible cell for seven roles)."""

    row: CallRow
    texts: tuple[str, ...]  # by column
    missed: bool
    muted_status: bool  # the status cell of an unanswered call that is not a missed one


class _Day(NamedTuple):
    """The local day the row texts were written on ("Today", "Yesterday")."""

    date: date
    start: float  # its first and the next day's first second, as timestamps
    end: float


def _day_of(now: float) -> _Day:
    today = datetime.fromtimestamp(now).astimezone().date()
    start = datetime.combine(today, dt_time()).timestamp()  # naive: local time
    end = datetime.combine(today + timedelta(days=1), dt_time()).timestamp()
    return _Day(today, start, end)


class FeedModel(QAbstractTableModel):
    """Calls as table rows, read-only.

    Rows come from the cache query (paged lazily) plus *extra* rows: calls the server
    answered for this view that the cache query does not produce (the API's search matches
    fields the cache does not hold, and some filters exist only server-side). With
    ``local=False`` the view shows extra rows only.

    `flags` is QAbstractTableModel's own (enabled, selectable, no children): the view
    asks it for every cell it paints, and a Python override costs a call into Python.
    """

    #: Loaded or total counts changed (for "N of TOTAL calls"), or the total needs counting.
    countsChanged = Signal()

    def __init__(
        self,
        store: CallStore,
        *,
        home_region: str = DEFAULT_HOME_REGION,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("feedModel")
        self._store = store
        self._home_region = home_region
        self._clock = clock
        self._query = CallQuery()
        self._local = True
        self._rows: list[CallRow] = []
        self._keys: list[int] = []
        self._ids: set[str] = set()
        self._extra_ids: set[str] = set()
        # Keyset paging of the cache query: the oldest start time read so far, and how many.
        self._cursor: int | None = None
        self._local_loaded = 0
        # The cache's matches: None until counted. Every change of the cache under the
        # view (a refresh, a prune) bumps `_changes`; the total is stale while it counts
        # an earlier state (the old figure stays on show until the new one arrives).
        self._local_total: int | None = 0
        self._changes = 0
        self._counted_at = 0
        self._exhausted = False
        self._changing = 0
        self._colors = LIGHT_COLORS
        self._icons: dict[str, QIcon] = {}
        # Row texts by call id, valid for the local day they were written on.
        self._looks: dict[str, _Look] = {}
        self._day = _day_of(clock())
        self._bold = QFont()
        self._bold.setBold(True)

    # ----------------------------------------------------------------- state

    @property
    def query(self) -> CallQuery:
        return self._query

    @property
    def local(self) -> bool:
        """False while the view shows only what the server answered."""
        return self._local

    @property
    def loaded_count(self) -> int:
        return len(self._rows)

    @property
    def local_total(self) -> int | None:
        """Calls in the cache matching the query (0 when the query is not local; None
        until counted)."""
        return self._local_total

    @property
    def total_count(self) -> int | None:
        """Calls this view can show: the cache's matches plus the server's extra rows
        (None until the cache's are counted). A count made stale by a sync never reads
        below the rows already loaded meanwhile."""
        if self._local_total is None:
            return None
        return max(self._local_total, self._local_loaded) + len(self._extra_ids)

    @property
    def needs_count(self) -> bool:
        """The cache's matches are to be counted (unknown, or changed since)."""
        return self._local and (self._local_total is None or self._counted_at != self._changes)

    @property
    def changes(self) -> int:
        """How many times the cache changed under the view: read it when a count starts
        and give it back with the count (`set_local_total`'s `as_of`)."""
        return self._changes

    def set_local_total(self, query: CallQuery, total: int, *, as_of: int | None = None) -> None:
        """The cache's count of `query`'s matches, counted elsewhere as of `changes` =
        `as_of` (default: now); ignored when the view moved on to another query
        meanwhile. A count begun before the cache changed again is shown, and the view
        still `needs_count`."""
        if not self._local or query != self._query:
            return
        self._local_total = total
        self._counted_at = self._changes if as_of is None else as_of
        if total > self._local_loaded:
            self._exhausted = False  # e.g. older calls were loaded below the last row
        self.countsChanged.emit()

    def set_colors(self, colors: ThemeColors) -> None:
        """New theme: drop the painted icons and repaint every cell."""
        self._colors = colors
        self._icons.clear()
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1)
            )

    def set_query(self, query: CallQuery, *, local: bool = True) -> None:
        """Show the cache's calls matching `query` (none with ``local=False``).

        The first page is read within the reset; extra rows of the previous view are
        dropped. The total is known at once only when that page is the last.
        """
        self.beginResetModel()
        self._query = query
        self._local = local
        self._rows = []
        self._keys = []
        self._ids = set()
        self._extra_ids = set()
        self._cursor = None
        self._local_loaded = 0
        self._local_total = None if local else 0
        self._counted_at = self._changes
        self._exhausted = not local
        if local:
            batch, limit = self._next_batch()
            self._take_page(batch, limit)
        self._end_reset()
        self.countsChanged.emit()

    def _end_reset(self) -> None:
        """End a reset; a fetchMore asked for by the reset's own listeners waits a turn,
        so no rows are inserted while they are still handling the reset."""
        self._changing += 1
        try:
            self.endResetModel()
        finally:
            self._changing -= 1

    def _insert(self, position: int, rows: Sequence[CallRow]) -> None:
        """Insert a run of rows; listeners asking for more meanwhile are served next turn."""
        self._changing += 1
        try:
            self.beginInsertRows(QModelIndex(), position, position + len(rows) - 1)
            self._rows[position:position] = rows
            self._keys[position:position] = [_sort_key(r) for r in rows]
            self._ids.update(r.id for r in rows)
            self.endInsertRows()
        finally:
            self._changing -= 1

    def _take_page(self, batch: list[CallRow], limit: int) -> None:
        """Adopt a first page without insert signals (inside a reset)."""
        if len(batch) < limit:
            self._exhausted = True
            self._local_total = len(batch)
        if not batch:
            return
        self._cursor = batch[-1].start_time
        for row in batch:
            if row.id not in self._ids:
                self._rows.append(row)
                self._keys.append(_sort_key(row))
                self._ids.add(row.id)
        self._local_loaded = len(self._rows)

    def drop_older_than(self, start_time: int) -> int:
        """Let go of the rows of calls that started before `start_time` (the cache removed
        them: kept long enough); returns how many went. They are the oldest, at the end."""
        first = bisect.bisect_left(self._keys, -start_time + 1)  # keys are -start_time
        gone = self._rows[first:]
        if not gone:
            self._recount()
            return 0
        self._changing += 1
        try:
            self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
            del self._rows[first:]
            del self._keys[first:]
            for row in gone:
                self._ids.discard(row.id)
                if row.id in self._extra_ids:
                    self._extra_ids.discard(row.id)
                else:
                    self._local_loaded -= 1
            self.endRemoveRows()
        finally:
            self._changing -= 1
        if self._cursor is not None and self._cursor < start_time:
            self._cursor = self._rows[-1].start_time if self._rows else None
        self._recount()
        return len(gone)

    def _recount(self) -> None:
        """The cache changed under the view: its total is to be counted again."""
        if self._local:
            self._changes += 1
            self.countsChanged.emit()

    def merge_extra(self, rows: Iterable[CallRow]) -> int:
        """Add calls the server answered for this view; returns how many were new here."""
        added = self._merge_sorted(rows, extra=True)
        if added:
            self.countsChanged.emit()
        return added

    def refresh(self, since: int | None = None, until: int | None = None) -> None:
        """Merge calls the cache gained or changed (started between `since` and `until`
        when given).

        New calls are inserted where they belong (normally the top) with
        ``beginInsertRows``, so selections and the view's anchor survive; calls whose
        content changed (a recording became available) are replaced in place. Calls
        older than every loaded row are not read now: they come with the next page, as
        the view scrolls (a first sync's pages, oldest last, cost no read at all).
        """
        if not self._local:
            return
        self._changes += 1
        if self._cursor is None:
            self._exhausted = False
            self.fetchMore(QModelIndex())
            self.countsChanged.emit()
            return
        lower = self._cursor if since is None else max(self._cursor, since)
        if self._query.start is not None:
            lower = max(lower, self._query.start)
        upper = self._query.end
        if until is not None:
            upper = until if upper is None else min(upper, until)
        if upper is not None and upper < lower:
            self._exhausted = False  # below the last row: for fetchMore
            self.countsChanged.emit()
            return
        fresh = self._store.fetch_rows(
            replace(self._query, start=lower, end=upper), 0, _REFRESH_LIMIT
        )
        self._replace_changed(fresh)
        self._adopt_extras(fresh)
        self._merge_sorted(fresh, extra=False)
        self.countsChanged.emit()

    # ----------------------------------------------------------------- rows

    def row_at(self, row: int) -> CallRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, call_id: str) -> int | None:
        """The position of a loaded call (linear: for tests and selection restore)."""
        if call_id not in self._ids:
            return None
        for i, row in enumerate(self._rows):
            if row.id == call_id:
                return i
        return None

    def loaded_rows(self) -> list[CallRow]:
        return list(self._rows)

    def rows_for_export(self) -> list[CallRow]:
        """Every call of the current view, including those not scrolled to yet."""
        if not self._local:
            return list(self._rows)
        rows = self._store.fetch_rows(self._query, 0, -1)  # -1: no limit
        seen = {r.id for r in rows}
        rows.extend(r for r in self._rows if r.id not in seen)
        rows.sort(key=_sort_key)
        return rows

    # ------------------------------------------------------ Qt model interface

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMN_COUNT

    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not (parent.isValid() or not self._local or self._exhausted)

    def fetchMore(self, parent: AnyIndex) -> None:
        if parent.isValid() or not self._local or self._exhausted:
            return
        if self._changing:
            # Asked by a listener of a change still being delivered (a view or a model
            # tester): inserting now would nest one change in another.
            QTimer.singleShot(0, self, self._fetch_deferred)
            return
        while True:
            batch, limit = self._next_batch()
            if not batch:
                self._end_of_matches()
                return
            previous, self._cursor = self._cursor, batch[-1].start_time
            self._adopt_extras(batch)
            new = [r for r in batch if r.id not in self._ids]
            last = len(batch) < limit or self._cursor == previous
            if new:
                break
            if last:
                self._end_of_matches()
                return
        self._local_loaded += len(new)
        if self._keys and _sort_key(new[0]) < self._keys[-1]:
            self._merge_sorted(new, extra=False, count=False)
        else:
            self._insert(len(self._rows), new)
        if last:
            self._end_of_matches()
        else:
            self.countsChanged.emit()

    def _end_of_matches(self) -> None:
        """Every match is loaded: a total still unknown is what was loaded (a stale one
        is left to its recount: calls may have gone below the rows loaded)."""
        self._exhausted = True
        if self._local_total is None:
            self._local_total = self._local_loaded
        self.countsChanged.emit()

    def _fetch_deferred(self) -> None:
        if self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())

    def _next_batch(self) -> tuple[list[CallRow], int]:
        """The next page of the cache query after the keyset cursor, and the limit asked."""
        if self._cursor is None:
            return self._store.fetch_rows(self._query, 0, PAGE_SIZE), PAGE_SIZE
        cursor = self._cursor
        end = cursor if self._query.end is None else min(cursor, self._query.end)
        # Calls of the boundary second are read again and skipped by id.
        same_second = bisect.bisect_right(self._keys, -cursor) - bisect.bisect_left(
            self._keys, -cursor
        )
        limit = PAGE_SIZE + same_second
        return self._store.fetch_rows(replace(self._query, end=end), 0, limit), limit

    def _adopt_extras(self, rows: Iterable[CallRow]) -> None:
        """Extra rows the cache query now produces count as cache rows from here on."""
        if not self._extra_ids:
            return
        for row in rows:
            if row.id in self._extra_ids:
                self._extra_ids.discard(row.id)
                self._local_loaded += 1

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return HEADERS[Column(section)]
        return None

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        if role not in _ANSWERED_ROLES:
            return None
        look = self._look_at(index)
        return None if look is None else self._value(look, index.column(), role)

    def _look_at(self, index: AnyIndex) -> _Look | None:
        """The row texts of `index`'s row (None for an index outside the table)."""
        number = index.row()
        rows = self._rows
        if not (0 <= number < len(rows) and 0 <= index.column() < _COLUMN_COUNT):
            return None  # an invalid index has row -1
        row = rows[number]
        now = self._clock()
        day = self._day
        if not day.start <= now < day.end:
            self._day = _day_of(now)  # "Today" became "Yesterday"
            self._looks.clear()
        look = self._looks.get(row.id)
        if look is None or (look.row is not row and look.row != row):
            if len(self._looks) >= _LOOKS_KEPT:
                self._looks.clear()
            look = self._looks[row.id] = self._look(row)
        return look

    def _value(self, look: _Look, column: int, role: int) -> Any:
        """`role`'s value for a cell of `look`'s row; `role` is one of `_ANSWERED_ROLES`."""
        if role == _DISPLAY:
            return look.texts[column]
        if role == _FOREGROUND:
            if look.missed:
                return self._colors.missed_fg
            if column == _STATUS and look.muted_status:
                return self._colors.muted_fg
            return None
        if role == _BACKGROUND:
            return self._colors.missed_bg if look.missed else None
        if role == _FONT:
            return self._bold if look.missed else None
        if role == _DECORATION:
            return self._decoration(look, column)
        if role == _ALIGNMENT:
            return _RIGHT if column == _TALK else _LEFT
        row = look.row
        if role == _TOOLTIP:
            return self._describe(row)
        if role == _ACCESSIBLE:
            if column in (_STATUS, _TIME):
                return self._describe(row)
            return look.texts[column] or "none"
        if role == CallIdRole:
            return row.id
        if role == CallRowRole:
            return row
        if role == MissedRole:
            return look.missed
        return row.start_time  # StartTimeRole

    # -------------------------------------------------------------- private

    def _merge_sorted(self, rows: Iterable[CallRow], *, extra: bool, count: bool = True) -> int:
        """Insert rows at their chronological place; return how many were new.

        A new call goes before loaded calls of the same second (it is the newer record).
        Rows landing at one place are inserted as one run, and runs are applied from the
        bottom up so the positions computed beforehand stay valid.
        """
        runs: list[tuple[int, list[CallRow]]] = []
        seen: set[str] = set()
        for row in sorted(rows, key=_sort_key):
            if row.id in self._ids or row.id in seen:
                continue
            seen.add(row.id)
            if extra:
                self._extra_ids.add(row.id)
            elif count:
                self._local_loaded += 1
            position = bisect.bisect_left(self._keys, _sort_key(row))
            if runs and runs[-1][0] == position:
                runs[-1][1].append(row)
            else:
                runs.append((position, [row]))
        for position, run in reversed(runs):
            self._insert(position, run)
        return len(seen)

    def _replace_changed(self, fresh: Sequence[CallRow]) -> None:
        by_id = {r.id: r for r in fresh if r.id in self._ids}
        if not by_id:
            return
        for i, row in enumerate(self._rows):
            new = by_id.get(row.id)
            if new is not None and new != row and new.start_time == row.start_time:
                self._rows[i] = new
                self.dataChanged.emit(self.index(i, 0), self.index(i, _COLUMN_COUNT - 1))

    def _look(self, row: CallRow) -> _Look:
        incoming = row.direction is Direction.INCOMING
        texts = (  # in `Column` order
            self._time_text(row.start_time),
            "Incoming" if incoming else "Outgoing",
            status_text(row),
            format_number(row.caller_e164, self._home_region) or row.caller_raw,
            row.department,
            row.agents,
            format_duration(row.talk_s) if row.answered else "—",
            "Yes" if row.has_recording else "",
        )
        missed = is_missed_incoming(row)
        return _Look(row, texts, missed, not missed and not row.answered)

    def _time_text(self, timestamp: int) -> str:
        moment = local_datetime(timestamp)
        today = self._day.date
        if moment.date() == today:
            return moment.strftime("Today %H:%M:%S")
        if moment.date() == today - timedelta(days=1):
            return moment.strftime("Yesterday %H:%M:%S")
        if moment.year == today.year:
            return moment.strftime("%a %d %b %H:%M")
        return moment.strftime("%d %b %Y %H:%M")

    def _describe(self, row: CallRow) -> str:
        """A sentence for tooltips and screen readers: colour must not be the only cue."""
        direction = "incoming" if row.direction is Direction.INCOMING else "outgoing"
        who = format_number(row.caller_e164, self._home_region) or row.caller_raw
        preposition = "from" if row.direction is Direction.INCOMING else "to"
        parts = [
            f"{status_text(row)} {direction} call {preposition} {who} "
            f"at {format_local_time(row.start_time)}"
        ]
        if row.department:
            parts.append(f"department {row.department}")
        if row.agents:
            parts.append(f"agent {row.agents}")
        if row.answered:
            parts.append(f"talk time {format_duration(row.talk_s)}")
        if row.has_recording:
            parts.append("recording available")
        return ", ".join(parts)

    def _decoration(self, look: _Look, column: int) -> QIcon | None:
        row = look.row
        if column == _DIRECTION:
            return self._icon("in" if row.direction is Direction.INCOMING else "out")
        if column == _STATUS:
            if look.missed:
                return self._icon("missed")
            return self._icon("answered") if row.answered else None
        if column == _RECORDING and row.has_recording:
            return self._icon("recording")
        return None

    def _icon(self, kind: str) -> QIcon:
        icon = self._icons.get(kind)
        if icon is None:
            icon = _paint_icon(kind, self._colors)
            self._icons[kind] = icon
        return icon


def _paint_icon(kind: str, colors: ThemeColors) -> QIcon:
    """Small status glyphs drawn in code: no icon files, and they follow the theme."""
    size = 16
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    text_color = QColor("#1b1d21") if colors.dark else QColor("#ffffff")
    if kind == "missed":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.missed_fg)
        painter.drawEllipse(QRectF(1, 1, 14, 14))
        pen = QPen(text_color, 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawLine(QPointF(5, 5), QPointF(11, 11))
        painter.drawLine(QPointF(11, 5), QPointF(5, 11))
    elif kind == "answered":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.answered_fg)
        painter.drawEllipse(QRectF(1, 1, 14, 14))
        pen = QPen(text_color, 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        path = QPainterPath(QPointF(4.5, 8.5))
        path.lineTo(QPointF(7, 11))
        path.lineTo(QPointF(11.5, 5.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    elif kind == "recording":  # a speaker with one sound wave
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.muted_fg)
        speaker = QPainterPath(QPointF(2, 6))
        for x, y in ((5, 6), (9, 2.5), (9, 13.5), (5, 10), (2, 10)):
            speaker.lineTo(QPointF(x, y))
        speaker.closeSubpath()
        painter.drawPath(speaker)
        pen = QPen(colors.muted_fg, 1.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawArc(QRectF(7.5, 4.5, 6, 7), -60 * 16, 120 * 16)
    else:
        color = colors.muted_fg
        pen = QPen(color, 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        if kind == "in":  # arrow pointing down-left, into the phone
            painter.drawLine(QPointF(12, 4), QPointF(4, 12))
            painter.drawLine(QPointF(4, 12), QPointF(4, 6.5))
            painter.drawLine(QPointF(4, 12), QPointF(9.5, 12))
        else:  # arrow pointing up-right, out of the phone
            painter.drawLine(QPointF(4, 12), QPointF(12, 4))
            painter.drawLine(QPointF(12, 4), QPointF(6.5, 4))
            painter.drawLine(QPointF(12, 4), QPointF(12, 9.5))
    painter.end()
    return QIcon(pixmap)
