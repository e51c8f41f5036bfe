"""Filter chips built from the account's ``/filters`` tree, one group per header.

The widget only shows chips and reports which are checked; what a selection means (a local
query, an API expression) is the presenter's business.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QSizePolicy,
    QToolButton,
    QWidget,
    QWidgetItem,
)

from desktop_app.api.models import FilterGroup


def short_header(name: str) -> str:
    """"Event of logs" reads as "Event" beside its chips."""
    text = name.strip()
    for suffix in (" of logs", " of log", " of calls"):
        if text.lower().endswith(suffix):
            return text[: -len(suffix)]
    return text


class FlowLayout(QLayout):
    """Lays items left to right and wraps, like words in a paragraph (Qt's flow example)."""

    def __init__(
        self, parent: QWidget | None = None, spacing: int = 14, line_spacing: int = 4
    ) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._line_spacing = line_spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, *, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_height > 0:
                x = area.x()
                y += line_height + self._line_spacing
                line_height = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + m.bottom()


class FilterChipBar(QWidget):
    """Checkable chips grouped under their header's name."""

    #: The set of checked filter ids changed (read `selected_ids`).
    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterChips")
        self.setAccessibleName("Call filters")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self._layout = FlowLayout(self)
        self._chips: dict[int, QToolButton] = {}
        self._groups: tuple[FilterGroup, ...] = ()
        # Groups not yet built: one is built and shown per turn of the event loop, as a
        # group's widgets, their polish under the stylesheet and the relayout take a few
        # milliseconds each, and all of them at once held the window for more than a
        # frame while a sync ran. `_checked_unbuilt`: their filters checked meanwhile.
        self._unbuilt: list[FilterGroup] = []
        self._checked_unbuilt: set[int] = set()
        self._reveal = QTimer(self)
        self._reveal.setObjectName("filterChipsReveal")
        self._reveal.setInterval(0)
        self._reveal.timeout.connect(self._reveal_next)
        self._placeholder = QLabel("Filters load when MyOperator answers…", self)
        self._placeholder.setObjectName("filterChipsPlaceholder")
        self._placeholder.setEnabled(False)
        self._layout.addItem(QWidgetItem(self._placeholder))

    @property
    def groups(self) -> tuple[FilterGroup, ...]:
        return self._groups

    def chip(self, filter_id: int) -> QToolButton | None:
        """The chip of `filter_id`, once its group is built (see `revealing`)."""
        return self._chips.get(filter_id)

    def chip_named(self, name: str) -> QToolButton | None:
        """The chip whose filter is called `name` (case-insensitive), for tests and a11y."""
        wanted = name.strip().casefold()
        for group in self._groups:
            for f in group.filters:
                if f.name.strip().casefold() == wanted:
                    return self._chips.get(f.id)
        return None

    def selected_ids(self) -> list[int]:
        """The checked filters, those of groups still to be built included."""
        built = [fid for fid, chip in self._chips.items() if chip.isChecked()]
        return built + sorted(self._checked_unbuilt)

    def set_groups(self, groups: Sequence[FilterGroup]) -> None:
        """Rebuild the chips, keeping the checked state of filters that still exist; the
        groups are built and shown one per turn of the event loop (`revealing`)."""
        previously = set(self.selected_ids())
        while (item := self._layout.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None and widget is not self._placeholder:
                widget.deleteLater()
        self._chips.clear()
        self._groups = tuple(g for g in groups if g.filters)
        self._unbuilt = list(self._groups)
        self._checked_unbuilt = {f.id for g in self._groups for f in g.filters} & previously
        self._placeholder.setVisible(not self._groups)
        if not self._groups:
            self._layout.addItem(QWidgetItem(self._placeholder))
        self._layout.invalidate()
        self.updateGeometry()
        if self._unbuilt:
            self._reveal.start()
        else:
            self._reveal.stop()
        if previously != set(self.selected_ids()):
            self.selectionChanged.emit()

    @property
    def revealing(self) -> bool:
        """Groups of the last `set_groups` are still being built, a group per turn."""
        return bool(self._unbuilt)

    def _reveal_next(self) -> None:
        if not self._unbuilt:
            self._reveal.stop()
            return
        box = self._build(self._unbuilt.pop(0))
        self._layout.addItem(QWidgetItem(box))
        box.show()
        if not self._unbuilt:
            self._reveal.stop()
        self._layout.invalidate()
        self.updateGeometry()

    def _build(self, group: FilterGroup) -> QWidget:
        """One group's header and chips, in one unit of the flow so that a header never
        ends a line alone; its chips join the Tab chain after the chips built before."""
        # The chips' place in the window's Tab chain: after the chips built so far, or
        # where the bar is (between the feed's Filters button and its table).
        previous: QWidget | None = next(reversed(self._chips.values()), None)
        if previous is None:
            previous = self.previousInFocusChain()
            while previous is not None and self.isAncestorOf(previous):  # the last build's
                previous = previous.previousInFocusChain()
        box = QWidget(self)
        box.setObjectName(f"filterGroup_{group.id}")
        box.setAccessibleName(f"{group.name} filters")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        header = QLabel(short_header(group.name) + ":", box)
        header.setObjectName(f"filterHeader_{group.id}")
        header.setEnabled(False)
        row.addWidget(header)
        for f in group.filters:
            chip = QToolButton(box)
            chip.setText(f.name)
            chip.setCheckable(True)
            chip.setChecked(f.id in self._checked_unbuilt)
            self._checked_unbuilt.discard(f.id)
            chip.setProperty("chip", True)
            chip.setObjectName(f"filterChip_{f.id}")
            chip.setAccessibleName(f"Filter: {f.name}")
            chip.setToolTip(f"Show only {f.name.lower()} calls ({short_header(group.name)})")
            chip.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            chip.toggled.connect(self._on_toggled)
            row.addWidget(chip)
            self._chips[f.id] = chip
            if previous is not None:
                QWidget.setTabOrder(previous, chip)
            previous = chip
        return box

    def clear_selection(self) -> None:
        changed = bool(self._checked_unbuilt)
        self._checked_unbuilt.clear()
        for chip in self._chips.values():
            if chip.isChecked():
                blocked = chip.blockSignals(True)
                chip.setChecked(False)
                chip.blockSignals(blocked)
                changed = True
        if changed:
            self.selectionChanged.emit()

    def _on_toggled(self, _checked: bool) -> None:
        self.selectionChanged.emit()
