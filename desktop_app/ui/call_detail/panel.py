"""The call-detail panel: everything about one call, its legs, and its recording.

It renders and forwards only: `show_call` shows a call and says so (`callShown`), the
buttons say what the person asked for (`callBackRequested`, `numberCopied`), and its
`PlayerWidget` is bound to the recording presenter by `call_detail.feature.bind`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import CallLog, Direction
from desktop_app.services.formatting import (
    DEFAULT_HOME_REGION,
    format_duration,
    format_local_time,
    format_number,
)
from desktop_app.ui.call_detail.legs_model import Column, LegsModel
from desktop_app.ui.call_detail.player import PlayerWidget

EMPTY_TEXT = "Select a call to see its details"
_MIN_AGENTS_WIDTH = 130


def callable_number(call: CallLog) -> str:
    """The number to copy or ring back: E.164 when known, else what the log gave."""
    return call.caller_number or call.caller_number_raw


class CallDetailPanel(QWidget):
    """Shows one `CallLog` (or an empty state) with its legs and an embedded player.

    Embeddable as-is in a dock: ``CallDetailPanel()``, then `call_detail.feature.bind`;
    the feed's selection reaches `show_call`, and the workspace connects
    `callBackRequested` to the dialer.
    """

    callShown = Signal(object)
    """Emitted by `show_call` with the call (None: nothing selected): its recording follows."""
    callBackRequested = Signal(str)
    """The customer's number (E.164 when known) to ring back."""
    numberCopied = Signal(str)
    """The number just put on the clipboard."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        home_region: str = DEFAULT_HOME_REGION,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("callDetailPanel")
        self.setAccessibleName("Call details")
        self._home_region = home_region
        self._call: CallLog | None = None
        self._legs_model = LegsModel(self)
        self._player = PlayerWidget(self)
        self._build()
        self.show_call(None)

    # ------------------------------------------------------------ reading

    @property
    def call(self) -> CallLog | None:
        return self._call

    @property
    def player(self) -> PlayerWidget:
        return self._player

    @property
    def legs_model(self) -> LegsModel:
        return self._legs_model

    @property
    def legs_view(self) -> QTableView:
        return self._legs_view

    def field_text(self, name: str) -> str:
        """The text shown for a field (``time``, ``direction``, ``result``, ``number``,
        ``department``, ``talk``, ``duration``): what a person reads, for tests and a11y."""
        return self._fields[name].text()

    # ------------------------------------------------------------ actions

    @Slot(object)
    def show_call(self, call: CallLog | None) -> None:
        """Show `call` (None: the empty state) and say so (`callShown`): the recording
        presenter then loads its recording into the player."""
        self._call = call
        self.callShown.emit(call)
        if call is None:
            self._legs_model.set_legs(())
            self._stack.setCurrentWidget(self._empty)
            return
        incoming = call.direction is Direction.INCOMING
        number = callable_number(call)
        shown = format_number(number, self._home_region) if number else ""
        f = self._fields
        f["number"].setText(shown or "Unknown number")
        f["number"].setToolTip(number)
        self._number_caption.setText("Caller" if incoming else "Called")
        f["time"].setText(format_local_time(call.start_time))
        f["direction"].setText("Incoming" if incoming else "Outgoing")
        f["result"].setText("Answered" if call.answered else "Missed")
        f["department"].setText(call.department or "—")
        f["talk"].setText(format_duration(call.talk_s) if call.answered else "—")
        f["duration"].setText(format_duration(call.duration_s))
        self._copy.setEnabled(bool(number))
        self._call_back.setEnabled(bool(number))
        self._call_back.setToolTip(f"Ring {shown} back" if shown else "No number to ring back")
        self._legs_model.set_legs(call.legs)
        self._legs_caption.setText(
            f"Legs ({len(call.legs)})" if call.legs else "Legs: MyOperator sent none for this call"
        )
        self._legs_view.setVisible(bool(call.legs))
        self._stack.setCurrentWidget(self._details)

    @Slot()
    def copy_number(self) -> None:
        """Put the number (E.164: it pastes into any dialer) on the clipboard."""
        if self._call is None:
            return
        number = callable_number(self._call)
        if not number:
            return
        QGuiApplication.clipboard().setText(number)
        self.numberCopied.emit(number)

    @Slot()
    def request_call_back(self) -> None:
        if self._call is None:
            return
        number = callable_number(self._call)
        if number:
            self.callBackRequested.emit(number)

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        self._stack = QStackedWidget(self)
        self._stack.setObjectName("callDetailStack")

        self._empty = QLabel(EMPTY_TEXT, self._stack)
        self._empty.setObjectName("callDetailEmpty")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._stack.addWidget(self._empty)

        content = QWidget()
        content.setObjectName("callDetailContent")
        self._fields: dict[str, QLabel] = {}

        self._number_caption = QLabel("Caller", content)
        self._number_caption.setObjectName("callDetailNumberCaption")
        number = self._field("number", content)
        font = QFont(number.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        number.setFont(font)

        self._copy = QPushButton("&Copy number", content)
        self._copy.setObjectName("callDetailCopyNumber")
        self._copy.setAccessibleName("Copy number")
        self._copy.setToolTip("Copy the number to the clipboard")
        self._copy.clicked.connect(self.copy_number)
        self._call_back = QPushButton("Call &back", content)
        self._call_back.setObjectName("callDetailCallBack")
        self._call_back.setAccessibleName("Call back")
        self._call_back.clicked.connect(self.request_call_back)

        header = QVBoxLayout()
        header.setSpacing(2)
        header.addWidget(self._number_caption)
        header.addWidget(number)
        buttons = QHBoxLayout()
        buttons.addWidget(self._copy)
        buttons.addWidget(self._call_back)
        buttons.addStretch(1)
        header.addLayout(buttons)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, label in (
            ("time", "Time"),
            ("direction", "Direction"),
            ("result", "Result"),
            ("department", "Department"),
            ("talk", "Talk time"),
            ("duration", "Duration"),
        ):
            field = self._field(key, content)
            caption = QLabel(label, content)
            caption.setBuddy(field)
            form.addRow(caption, field)
        self._fields["duration"].setToolTip("The whole call, ringing included")

        self._legs_caption = QLabel("Legs", content)
        self._legs_caption.setObjectName("callDetailLegsCaption")
        view = QTableView(content)
        view.setObjectName("callDetailLegs")
        view.setAccessibleName("Call legs")
        view.setModel(self._legs_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        view.setAlternatingRowColors(True)
        view.setWordWrap(True)  # several agents rung at once make a long "Rang" cell
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.horizontalHeader().setStretchLastSection(False)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)
        self._legs_view = view
        self._legs_model.modelReset.connect(self._fit_legs_height)

        recording_caption = QLabel("Recording", content)
        recording_caption.setObjectName("callDetailRecordingCaption")
        for caption in (self._legs_caption, recording_caption):
            bold = QFont(caption.font())
            bold.setBold(True)
            caption.setFont(bold)

        line = QFrame(content)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)

        layout = QVBoxLayout(content)
        layout.addLayout(header)
        layout.addWidget(line)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self._legs_caption)
        layout.addWidget(view)
        layout.addSpacing(6)
        layout.addWidget(recording_caption)
        layout.addWidget(self._player)
        layout.addStretch(1)

        scroll = QScrollArea(self._stack)
        scroll.setObjectName("callDetailScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        self._details = scroll
        self._stack.addWidget(scroll)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._stack)

    def _field(self, key: str, parent: QWidget) -> QLabel:
        label = QLabel(parent)
        label.setObjectName(f"callDetail_{key}")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        self._fields[key] = label
        return label

    @Slot()
    def _fit_legs_height(self) -> None:
        """Fit the legs table to the panel: the "Rang" column takes the width the others
        leave (never under a readable minimum), and the table is as tall as its rows (up to
        six), so the panel scrolls, not the table."""
        view = self._legs_view
        header = view.horizontalHeader()
        others = 0
        for column in Column:
            if column is not Column.AGENTS:
                view.resizeColumnToContents(column)
                others += header.sectionSize(column)
        header.resizeSection(
            Column.AGENTS, max(_MIN_AGENTS_WIDTH, view.viewport().width() - others)
        )
        rows_header = view.verticalHeader()
        for row in range(self._legs_model.rowCount()):
            wanted = max(rows_header.defaultSectionSize(), view.sizeHintForRow(row) + 6)
            rows_header.resizeSection(row, wanted)
        rows = min(self._legs_model.rowCount(), 6)
        height = view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth()
        height += sum(view.verticalHeader().sectionSize(r) for r in range(rows))
        if rows == 0:
            height += view.verticalHeader().defaultSectionSize()
        if view.horizontalHeader().length() > view.viewport().width():
            height += view.horizontalScrollBar().sizeHint().height()  # narrow dock
        if view.height() != height:
            view.setFixedHeight(height)

    # ------------------------------------------------------------ keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space plays or pauses the recording while the panel has focus."""
        if event.key() == Qt.Key.Key_Space and not event.modifiers() and self._call is not None:
            self._player.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The legs table would take Space for selection; here it means play/pause."""
        if watched is self._legs_view.viewport() and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._fit_legs_height)  # after the resize settles
        if (
            watched is self._legs_view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Space
            and not event.modifiers()
        ):
            self._player.toggle_play()
            return True
        return super().eventFilter(watched, event)
