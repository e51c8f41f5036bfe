"""A bare PySide6 window: the floor of start-up and of a table's repaint (run by
`_support.bare_window_floor`, not a benchmark itself).

It imports only PySide6 and the standard library's smallest modules: `_support` pulls in
asyncio, which alone costs tens of milliseconds to import, and a floor must not pay for
the benchmark's own helpers. It shows a QMainWindow of the app's size holding a QTableView
over a few rows (the 16 rows of 8 columns the feed's table shows in that window), notes
its viewport's first paint, then resets the model `RESETS` times and times each reset to
the viewport painted again (the feed shows a search the same way: a model reset, a paint).

A paint counts as done from a zero-delay timer started on the Paint event, as in
`_support.on_painted`. Marks are ``time.monotonic()`` (system-wide on Linux, so the parent
can start the clock before it spawns this process); reset times are ``perf_counter``
differences. One line is printed: ``BENCH_BARE {json}``.
"""

from __future__ import annotations

import json
import sys
import time

MARK = "BENCH_BARE "
ROWS = 16
COLUMNS = 8
RESETS = 20


def main() -> int:
    marks: dict[str, float] = {"interpreter": time.monotonic()}
    from PySide6.QtCore import (
        QAbstractTableModel,
        QEvent,
        QModelIndex,
        QObject,
        QPersistentModelIndex,
        Qt,
        QTimer,
    )
    from PySide6.QtWidgets import QApplication, QMainWindow, QTableView

    AnyIndex = QModelIndex | QPersistentModelIndex
    marks["imported"] = time.monotonic()
    app = QApplication(sys.argv[:1])
    marks["app"] = time.monotonic()

    class Rows(QAbstractTableModel):
        """A few rows of short texts; `swap` resets them to another set."""

        def __init__(self) -> None:
            super().__init__()
            self.generation = 0

        def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else ROWS

        def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else COLUMNS

        def data(self, index: AnyIndex, role: int = 0) -> str | None:
            if role != Qt.ItemDataRole.DisplayRole:
                return None
            return f"+91 98{self.generation:02d}{index.row():03d} {index.column()}"

        def swap(self) -> None:
            self.beginResetModel()
            self.generation += 1
            self.endResetModel()

    model = Rows()
    window = QMainWindow()
    view = QTableView()
    view.setModel(model)
    window.setCentralWidget(view)
    window.resize(1280, 800)  # the app's main window
    viewport = view.viewport()
    resets: list[float] = []
    began = 0.0
    waiting = True  # for the first paint, then for the paint after each reset

    def painted() -> None:
        if "painted" not in marks:
            marks["painted"] = time.monotonic()
        else:
            resets.append(time.perf_counter() - began)
        if len(resets) < RESETS:
            QTimer.singleShot(0, reset)
        else:
            app.quit()

    def reset() -> None:
        nonlocal began, waiting
        waiting = True
        began = time.perf_counter()
        model.swap()

    class PaintFilter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            nonlocal waiting
            if event.type() == QEvent.Type.Paint and waiting:
                waiting = False
                QTimer.singleShot(0, painted)
            return False

    paint_filter = PaintFilter()
    viewport.installEventFilter(paint_filter)
    window.show()
    app.exec()
    print(MARK + json.dumps({"marks": marks, "resets": resets}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
