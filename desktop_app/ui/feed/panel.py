"""The log feed's widgets: the search row, filter chips, the table and its footer.

Everything here renders and forwards. What a search or a chip means, when to ask the
server, and what the counts say are decided by `FeedPresenter`.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import (
    QAbstractItemModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.feed.chips import FilterChipBar
from desktop_app.ui.feed.model import CallIdRole, Column

AnyIndex = QModelIndex | QPersistentModelIndex

#: (label, key) of the date presets, in menu order. Keys are what the presenter reads.
DATE_PRESETS: tuple[tuple[str, str], ...] = (
    ("All calls", "all"),
    ("Today", "today"),
    ("Yesterday", "yesterday"),
    ("Last 7 days", "last7"),
    ("This month", "month"),
    ("Custom range…", "custom"),
)

_COLUMN_WIDTHS = {
    Column.TIME: 152,
    Column.DIRECTION: 92,
    Column.STATUS: 114,
    Column.CALLER: 136,
    Column.DEPARTMENT: 96,
    Column.AGENTS: 150,
    Column.TALK: 68,
    Column.RECORDING: 82,
}


class FeedTableView(QTableView):
    """A table that keeps the row being read in place when rows are inserted above it.

    If the view is scrolled to the very top, new calls simply appear there. Otherwise the
    top visible row and its pixel offset are remembered before an insertion and restored
    after it, so reading is not interrupted by the stream of new calls.
    """

    #: Scrolled to the last row and the model has nothing more locally.
    reachedEnd = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feedTable")
        self.setAccessibleName("Call log")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setObjectName("feedTableHeader")
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._anchor: tuple[int, int] | None = None
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        old = self.model()
        if old is not None:
            old.rowsAboutToBeInserted.disconnect(self._remember_anchor)
            old.rowsInserted.disconnect(self._restore_anchor)
        super().setModel(model)
        if model is None:
            return
        # Connected after the view's and its header's own handlers: when ours runs, the
        # header already knows the new rows, so row positions are current.
        model.rowsAboutToBeInserted.connect(self._remember_anchor)
        model.rowsInserted.connect(self._restore_anchor)
        header = self.horizontalHeader()
        for column, width in _COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(Column.AGENTS, QHeaderView.ResizeMode.Stretch)

    def is_at_top(self) -> bool:
        return self.verticalScrollBar().value() <= self.verticalScrollBar().minimum()

    def top_visible_row(self) -> int:
        """The first row (partly) in view, or -1 when empty."""
        return self.rowAt(0)

    def current_call_id(self) -> str | None:
        index = self.currentIndex()
        if not index.isValid():
            return None
        value = index.siblingAtColumn(0).data(CallIdRole)
        return value if isinstance(value, str) else None

    @Slot(QModelIndex, int, int)
    def _remember_anchor(self, parent: AnyIndex, first: int, last: int) -> None:
        if parent.isValid() or self.is_at_top():
            self._anchor = None
            return
        row = self.top_visible_row()
        self._anchor = (row, self.rowViewportPosition(row)) if row >= 0 else None

    @Slot(QModelIndex, int, int)
    def _restore_anchor(self, parent: AnyIndex, first: int, last: int) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None or parent.isValid():
            return
        row, offset = anchor
        if first > row:
            return  # inserted below what is being read: nothing moved
        moved_to = row + (last - first + 1)
        self.updateGeometries()  # the scroll range must include the new rows now
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + self.rowViewportPosition(moved_to) - offset)

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        model = self.model()
        if (
            model is not None
            and bar.maximum() > 0
            and value >= bar.maximum()
            and not model.canFetchMore(QModelIndex())
        ):
            self.reachedEnd.emit()


class FeedPanel(QWidget):
    """The Log feed dock's content."""

    searchTextChanged = Signal(str)
    #: The preset or the custom dates changed; read `date_selection`.
    dateSelectionChanged = Signal()
    loadMoreRequested = Signal()
    #: The selected call's id ("" when nothing is selected).
    currentCallChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feedPanel")
        self.setAccessibleName("Log feed")

        self.search = QLineEdit(self)
        self.search.setObjectName("feedSearch")
        self.search.setAccessibleName("Search calls")
        self.search.setPlaceholderText("Search number, agent or department   (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.search.textChanged.connect(self.searchTextChanged)

        self.preset = QComboBox(self)
        self.preset.setObjectName("feedDatePreset")
        self.preset.setAccessibleName("Date range")
        for label, key in DATE_PRESETS:
            self.preset.addItem(label, key)
        self.preset.currentIndexChanged.connect(self._on_preset_changed)

        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-7), self)
        self.date_from.setObjectName("feedDateFrom")
        self.date_from.setAccessibleName("From date")
        self.date_to = QDateEdit(today, self)
        self.date_to.setObjectName("feedDateTo")
        self.date_to.setAccessibleName("To date")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setVisible(False)
            edit.dateChanged.connect(self._on_custom_date)
        self._dash = QLabel("–", self)
        self._dash.setObjectName("feedDateDash")
        self._dash.setVisible(False)

        self.filters_toggle = QToolButton(self)
        self.filters_toggle.setObjectName("feedFiltersToggle")
        self.filters_toggle.setAccessibleName("Show filters")
        self.filters_toggle.setText("Filters")
        self.filters_toggle.setCheckable(True)
        self.filters_toggle.setChecked(True)
        self.filters_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        self.chips = FilterChipBar(self)
        self.filters_toggle.toggled.connect(self.chips.setVisible)

        self.notice = QLabel(self)
        self.notice.setObjectName("feedNotice")
        self.notice.setAccessibleName("Search notice")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)

        self.table = FeedTableView(self)

        self.count_label = QLabel("No calls yet", self)
        self.count_label.setObjectName("feedCount")
        self.count_label.setAccessibleName("Call count")
        self.load_more = QPushButton("Load older calls", self)
        self.load_more.setObjectName("feedLoadMore")
        self.load_more.setAccessibleName("Load older calls")
        self.load_more.setToolTip("Fetch older calls from MyOperator")
        self.load_more.clicked.connect(self.loadMoreRequested)
        self.table.reachedEnd.connect(self.loadMoreRequested)

        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.search, 1)
        top.addWidget(self.preset)
        top.addWidget(self.date_from)
        top.addWidget(self._dash)
        top.addWidget(self.date_to)
        top.addWidget(self.filters_toggle)

        footer = QHBoxLayout()
        footer.addWidget(self.count_label, 1)
        footer.addWidget(self.load_more)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.chips)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        self.setTabOrder(self.search, self.preset)

    def attach_model(self, model: QAbstractItemModel) -> None:
        self.table.setModel(model)
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._on_current_changed)

    # -------------------------------------------------------------- reading

    def date_selection(self) -> tuple[str, date, date]:
        """The preset key and the custom dates (used only when the key is ``custom``)."""
        key = str(self.preset.currentData())
        start, end = self.date_from.date(), self.date_to.date()
        return key, date(start.year(), start.month(), start.day()), date(
            end.year(), end.month(), end.day()
        )

    # ------------------------------------------------------------ rendering

    def set_count_text(self, text: str) -> None:
        self.count_label.setText(text)

    def set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def set_load_more(self, *, enabled: bool, text: str = "Load older calls") -> None:
        self.load_more.setEnabled(enabled)
        self.load_more.setText(text)

    @Slot()
    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    @Slot()
    def clear_search(self) -> None:
        self.search.clear()

    def select_preset(self, key: str) -> None:
        index = self.preset.findData(key)
        if index >= 0:
            self.preset.setCurrentIndex(index)

    # -------------------------------------------------------------- private

    @Slot(int)
    def _on_preset_changed(self, _index: int) -> None:
        custom = self.preset.currentData() == "custom"
        for widget in (self.date_from, self._dash, self.date_to):
            widget.setVisible(custom)
        self.dateSelectionChanged.emit()

    @Slot(QDate)
    def _on_custom_date(self, _date: QDate) -> None:
        if self.preset.currentData() == "custom":
            self.dateSelectionChanged.emit()

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        value = current.siblingAtColumn(0).data(CallIdRole) if current.isValid() else None
        self.currentCallChanged.emit(value if isinstance(value, str) else "")
