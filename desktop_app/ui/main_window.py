"""The main window: docks, menus, shortcuts, status bar, and the saved layout.

Every panel is a QDockWidget (move, float, tab, close; the View menu brings each back), so
an agent can arrange the feed and the call detail the way their screen allows, and the
arrangement comes back next time (``saveState``/``saveGeometry`` in the INI settings).

The window holds no business logic: it forwards requests as signals and renders what the
presenters report. Closing is a request too (`closeRequested`): the composition root shuts
the services down cleanly, then calls `close_now`.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenuBar,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.feed_view import FeedPanel
from desktop_app.ui.theme import (
    LIGHT_COLORS,
    ThemeColors,
    banner_stylesheet,
    chip_stylesheet,
)

APP_TITLE: Final = "MyOperator Desktop"
DEMO_TEXT: Final = "Demo workspace — emulated MyOperator service, no real calls"
#: Bumped when the dock set changes, so an old saved state is not forced onto new docks.
LAYOUT_VERSION: Final = 1
KEY_GEOMETRY: Final = "window/geometry"
KEY_STATE: Final = "window/state"
KEY_FEED_HEADER: Final = "feed/header"

PLACEHOLDERS: Final = {
    "users": (
        "Users",
        "The team's users, with add and edit for admins, are coming in a later release.",
    ),
    "dialer": (
        "Dialer",
        "One-click calling (MyOperator rings your phone, then the customer) is coming in a "
        "later release.",
    ),
}


class MainWindow(QMainWindow):
    """Docks: Log feed, Call detail, Users, Dialer."""

    refreshRequested = Signal()
    #: The user chose where to export the current view.
    exportPathChosen = Signal(str)
    #: Space outside text fields.
    playPauseRequested = Signal()
    #: The window was asked to close (title bar, Ctrl+Q); see `close_now`.
    closeRequested = Signal()

    def __init__(
        self,
        feed: FeedPanel,
        detail: QWidget | None,
        settings: QSettings,
        *,
        demo: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAccessibleName(APP_TITLE)
        self.setWindowTitle(f"{APP_TITLE} — {DEMO_TEXT}" if demo else APP_TITLE)
        self.setDockOptions(
            QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AnimatedDocks
        )
        self.setDocumentMode(True)
        self.resize(1280, 800)
        self._settings = settings
        self._demo = demo
        self._closing_allowed = False
        self._export_dialog: QFileDialog | None = None
        self._colors: ThemeColors = LIGHT_COLORS
        self._connection_state = ""
        self.feed = feed

        # All panels are docks; the central widget only exists because QMainWindow needs one.
        central = QWidget(self)
        central.setObjectName("centralPlaceholder")
        central.setMaximumSize(0, 0)
        central.hide()
        self.setCentralWidget(central)

        self.feed_dock = self._dock("feedDock", "Log feed", feed)
        if detail is None:
            detail = _placeholder(
                "callDetailPlaceholder", "Call details appear here when you select a call."
            )
        self.detail = detail
        self.detail_dock = self._dock("detailDock", "Call detail", detail)
        self.users_dock = self._dock(
            "usersDock", PLACEHOLDERS["users"][0], _placeholder("usersPlaceholder",
                                                                PLACEHOLDERS["users"][1])
        )
        self.dialer_dock = self._dock(
            "dialerDock", PLACEHOLDERS["dialer"][0], _placeholder("dialerPlaceholder",
                                                                  PLACEHOLDERS["dialer"][1])
        )
        self.docks = (self.feed_dock, self.detail_dock, self.users_dock, self.dialer_dock)
        self._arrange_default()
        self._default_state = self.saveState(LAYOUT_VERSION)

        self._build_top(demo)
        self._build_actions()
        self._build_status_bar()

    # -------------------------------------------------------------- layout

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setAccessibleName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        return dock

    def _arrange_default(self) -> None:
        for dock in self.docks:
            if dock.isFloating():
                dock.setFloating(False)
            self.removeDockWidget(dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.feed_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.tabifyDockWidget(self.detail_dock, self.users_dock)
        self.tabifyDockWidget(self.users_dock, self.dialer_dock)
        for dock in self.docks:
            dock.show()
        self.detail_dock.raise_()
        width = max(self.width(), 900)
        self.resizeDocks(
            [self.feed_dock, self.detail_dock],
            [int(width * 0.68), int(width * 0.32)],
            Qt.Orientation.Horizontal,
        )

    def restore_layout(self) -> bool:
        """Put back the saved geometry and dock layout; False when there was none."""
        geometry = self._settings.value(KEY_GEOMETRY)
        state = self._settings.value(KEY_STATE)
        header = self._settings.value(KEY_FEED_HEADER)
        restored = False
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            restored = self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            restored = self.restoreState(state, LAYOUT_VERSION) or restored
        if isinstance(header, QByteArray) and not header.isEmpty():
            self.feed.table.horizontalHeader().restoreState(header)
        return restored

    def save_layout(self) -> None:
        self._settings.setValue(KEY_GEOMETRY, self.saveGeometry())
        self._settings.setValue(KEY_STATE, self.saveState(LAYOUT_VERSION))
        self._settings.setValue(KEY_FEED_HEADER, self.feed.table.horizontalHeader().saveState())
        self._settings.sync()

    @Slot()
    def reset_layout(self) -> None:
        """Every dock back where it started, and visible."""
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.detail_dock.raise_()
        for key in (KEY_STATE, KEY_FEED_HEADER):
            self._settings.remove(key)

    # -------------------------------------------------------------- building

    def _build_top(self, demo: bool) -> None:
        """The menu bar, with the demo banner under it (outside the saved dock state)."""
        top = QWidget(self)
        top.setObjectName("topArea")
        layout = QVBoxLayout(top)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        menu_bar = QMenuBar(top)
        menu_bar.setObjectName("menuBar")
        menu_bar.setAccessibleName("Menu bar")
        layout.addWidget(menu_bar)
        self.banner = QLabel(DEMO_TEXT, top)
        self.banner.setObjectName("demoBanner")
        self.banner.setAccessibleName("Demo workspace notice")
        self.banner.setToolTip(
            "Everything here comes from an emulated MyOperator service running inside the "
            "app. No real customer is called and no real account is touched."
        )
        self.banner.setVisible(demo)
        layout.addWidget(self.banner)
        self._menu_bar = menu_bar
        self.setMenuWidget(top)

    def _action(self, name: str, text: str, shortcut: QKeySequence | str | None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.export_action = self._action("actionExport", "&Export view as CSV…", "Ctrl+E")
        self.export_action.triggered.connect(self.ask_export_path)
        self.quit_action = self._action("actionQuit", "&Quit", "Ctrl+Q")
        self.quit_action.triggered.connect(self.close)
        self.find_action = self._action("actionFind", "&Find…", "Ctrl+F")
        self.find_action.triggered.connect(self._focus_search)
        self.refresh_action = self._action("actionRefresh", "&Refresh now", "F5")
        self.refresh_action.triggered.connect(self.refreshRequested)
        self.reset_layout_action = self._action("actionResetLayout", "Reset &layout", None)
        self.reset_layout_action.triggered.connect(self.reset_layout)

        file_menu = self._menu_bar.addMenu("&File")
        file_menu.setObjectName("menuFile")
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = self._menu_bar.addMenu("&View")
        view_menu.setObjectName("menuView")
        for dock in self.docks:
            toggle = dock.toggleViewAction()
            toggle.setObjectName(f"toggle_{dock.objectName()}")
            view_menu.addAction(toggle)
        view_menu.addSeparator()
        view_menu.addAction(self.find_action)
        view_menu.addAction(self.refresh_action)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_layout_action)
        self.view_menu = view_menu

        self.clear_search_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.clear_search_shortcut.setObjectName("shortcutClearSearch")
        self.clear_search_shortcut.activated.connect(self._on_escape)
        self.play_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.play_shortcut.setObjectName("shortcutPlayPause")
        self.play_shortcut.activated.connect(self._on_space)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("statusBar")
        bar.setAccessibleName("Status")
        self.connection_label = self._status_label("statusConnection", "Connection", "Starting…")
        self.last_sync_label = self._status_label("statusLastSync", "Last sync", "Not synced yet")
        self.budget_label = self._status_label("statusBudget", "Requests left", "")
        self.budget_label.setToolTip(
            "Requests left in the account's shared budget (MyOperator allows about 20 a "
            "minute, 100 an hour and 500 a day for the whole account)"
        )
        for label in (self.connection_label, self.last_sync_label, self.budget_label):
            bar.addPermanentWidget(label)

    def _status_label(self, name: str, accessible: str, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setContentsMargins(8, 0, 8, 0)
        return label

    # ------------------------------------------------------------- rendering

    @Slot(str)
    def set_connection_text(self, text: str) -> None:
        self.connection_label.setText(text)

    def set_connection_state(self, state: str) -> None:
        """Colour the connection text by state (the words carry the meaning; colour helps)."""
        self._connection_state = state
        self._style_connection()

    def _style_connection(self) -> None:
        colors = self._colors
        color = {
            "idle": colors.answered_fg,
            "offline": colors.missed_fg,
            "auth_failed": colors.missed_fg,
            "backing_off": colors.banner_fg,
        }.get(self._connection_state)
        weight = "normal" if self._connection_state in ("idle", "syncing") else "bold"
        self.connection_label.setStyleSheet(
            f"QLabel#statusConnection {{ color: {color.name()}; font-weight: {weight}; }}"
            if color is not None
            else ""
        )

    @Slot(str)
    def set_last_sync_text(self, text: str) -> None:
        self.last_sync_label.setText(text)

    @Slot(str)
    def set_budget_text(self, text: str) -> None:
        self.budget_label.setText(text)

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    @Slot(bool, str)
    def show_result(self, _ok: bool, text: str) -> None:
        self.show_message(text)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.banner.setStyleSheet(banner_stylesheet(colors))
        self.feed.chips.setStyleSheet(chip_stylesheet(colors))
        self._style_connection()

    # ------------------------------------------------------------- requests

    @Slot()
    def ask_export_path(self) -> None:
        """A non-blocking save dialog (a modal exec inside the qasync loop would break it)."""
        if self._export_dialog is not None and self._export_dialog.isVisible():
            self._export_dialog.raise_()
            return
        dialog = QFileDialog(self, "Export calls as CSV")
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("calls.csv")
        dialog.fileSelected.connect(self.exportPathChosen)
        dialog.finished.connect(dialog.deleteLater)
        self._export_dialog = dialog
        dialog.open()

    @property
    def export_dialog(self) -> QFileDialog | None:
        return self._export_dialog

    @Slot()
    def _focus_search(self) -> None:
        if not self.feed_dock.isVisible():
            self.feed_dock.show()
        self.feed_dock.raise_()
        self.feed.focus_search()

    @Slot()
    def _on_escape(self) -> None:
        self.feed.clear_search()

    @Slot()
    def _on_space(self) -> None:
        """Space plays or pauses, except where Space means something else."""
        focus = QApplication.focusWidget()
        if isinstance(focus, QLineEdit | QTextEdit | QPlainTextEdit | QAbstractSpinBox):
            return  # those take Space as text before shortcuts; nothing to do here
        if isinstance(focus, QAbstractButton):
            focus.animateClick()
            return
        if isinstance(focus, QComboBox):
            focus.showPopup()
            return
        self.playPauseRequested.emit()

    # -------------------------------------------------------------- closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing waits for the services to shut down; see `closeRequested`."""
        if self._closing_allowed:
            self.save_layout()
            event.accept()
            return
        event.ignore()
        self.closeRequested.emit()

    def close_now(self) -> None:
        """Close for real (after the services have stopped)."""
        self._closing_allowed = True
        self.close()


def _placeholder(name: str, text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setAccessibleName(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMargin(24)
    label.setEnabled(False)
    return label
