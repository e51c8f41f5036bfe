"""The main window: docks, menus, shortcuts, status bar, and the saved layout.

Every panel is a QDockWidget (move, float, tab, close; the View menu brings each back), so
an agent can arrange the feed, the call detail, the users, the dialer and the callback list
the way their screen allows, and the arrangement comes back next time
(``saveState``/``saveGeometry`` in the window-state INI file, kept apart from the
settings). The features hand in their panels
and the window docks each the one way (`make_dock`); a window built without a panel shows
a placeholder in its dock.

The window holds no business logic: it forwards requests as signals and renders what the
presenters report. Closing is a request too (`closeRequested`): the workspace shuts the
services down cleanly, then calls `close_now`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from PySide6.QtCore import QByteArray, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QShortcut
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
    QMenu,
    QMenuBar,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.paths import SaveFolders, SaveKind, export_file_name
from desktop_app.services.settings import SettingsBackend
from desktop_app.ui.common.docks import make_dock
from desktop_app.ui.common.theme import (
    LIGHT_COLORS,
    ThemeColors,
    banner_stylesheet,
    chip_stylesheet,
)
from desktop_app.ui.feed.panel import FeedPanel

APP_TITLE: Final = "MyOperator Desktop"
DEMO_TEXT: Final = "Demo workspace — emulated MyOperator service, no real calls"
#: The window title names the app once: the app sets no display name for Qt to append
#: (on X11 and Windows it would add " — MyOperator Desktop" to every title).
DEMO_TITLE: Final = f"{APP_TITLE} — Demo workspace"
DND_TITLE: Final = "Do not disturb"
DND_TOOLTIP: Final = (
    "Do not disturb is on: missed calls are not announced. Click \u201cTurn off\u201d, or "
    "use Call \u2192 Do not disturb."
)
#: Bumped when a saved state would misplace the docks. Adding a dock needs no bump: a
#: state saved before it existed restores the others and leaves the new one where the
#: default layout put it.
LAYOUT_VERSION: Final = 1
KEY_GEOMETRY: Final = "window/geometry"
KEY_STATE: Final = "window/state"
KEY_FEED_HEADER: Final = "feed/header"
#: Tab stops skipped at most in one press (far more than the window has).
FOCUS_CHAIN_LIMIT: Final = 500

#: Docks a window built without its panel shows (object name, title, text).
PLACEHOLDERS: Final = {
    "users": ("usersDock", "Users", "The team's users appear here."),
    "dialer": ("dialerDock", "Dialer", "One-click calling appears here."),
    "worklist": ("worklistDock", "Callback list", "Missed calls to call back appear here."),
}


class MainWindow(QMainWindow):
    """Docks: Log feed, Call detail, Users, Dialer, Callback list."""

    refreshRequested = Signal()
    #: The user chose where to export the current view.
    exportPathChosen = Signal(str)
    #: Space outside text fields.
    playPauseRequested = Signal()
    #: The window was asked to close (the title bar's button); see `close_now`. With a
    #: tray that hides the window; without one it quits.
    closeRequested = Signal()
    #: Quit the app (Ctrl+Q, File → Quit, the tray's Quit), tray or not.
    quitRequested = Signal()
    #: "Turn off" beside the status bar's do-not-disturb indicator.
    dndOffRequested = Signal()

    def __init__(
        self,
        feed: FeedPanel,
        detail: QWidget | None,
        state: SettingsBackend,
        *,
        demo: bool = False,
        users: QWidget | None = None,
        dialer: QWidget | None = None,
        worklist: QWidget | None = None,
        notifications: QWidget | None = None,
        today: Callable[[], date] = date.today,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAccessibleName(APP_TITLE)
        self._title = DEMO_TITLE if demo else APP_TITLE
        self.setWindowTitle(self._title)
        self.setDockOptions(
            QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AnimatedDocks
        )
        self.setDocumentMode(True)
        self.resize(1280, 800)
        #: The window-state file (layout, last folders), never the settings.
        self._state = state
        self._demo = demo
        self._closing_allowed = False
        self._export_dialog: QFileDialog | None = None
        self._folders = SaveFolders(state)
        self._today = today
        self._saved_path = ""
        self._colors: ThemeColors = LIGHT_COLORS
        self._connection_state = ""
        #: Background failures still standing (task name -> sentence), newest last.
        self._problems: dict[str, str] = {}
        self.feed = feed

        # All panels are docks; the central widget only exists because QMainWindow needs one.
        central = QWidget(self)
        central.setObjectName("centralPlaceholder")
        central.setMaximumSize(0, 0)
        central.hide()
        self.setCentralWidget(central)

        self.feed_dock = self._dock("feedDock", "Log feed", feed)
        #: Docks with a search box of their own (besides the feed's): see `_search_target`.
        self._search_targets: list[_SearchTarget] = []
        if detail is None:
            detail = _placeholder(
                "callDetailPlaceholder", "Call details appear here when you select a call."
            )
        self.detail = detail
        self.detail_dock = self._dock("detailDock", "Call detail", detail)
        self.users_dock = self._panel_dock(users, "users")
        self.dialer_dock = self._panel_dock(dialer, "dialer")
        self.worklist_dock = self._panel_dock(worklist, "worklist")
        self.docks = (
            self.feed_dock, self.detail_dock, self.users_dock, self.dialer_dock,
            self.worklist_dock,
        )
        self._arrange_default()
        self._default_state = self.saveState(LAYOUT_VERSION)

        self.notifications = notifications
        self._build_top(demo)
        self._build_actions()
        self._build_status_bar()
        self._build_dnd_indicator()
        self._build_account_notice()

    # -------------------------------------------------------------- layout

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        return make_dock(name, title, widget, self)

    def _panel_dock(self, panel: QWidget | None, key: str) -> QDockWidget:
        """A feature's panel in its dock, or a placeholder where the feature is absent."""
        name, title, text = PLACEHOLDERS[key]
        if panel is None:
            panel = _placeholder(f"{key}Placeholder", text)
        return self._dock(name, title, panel)

    def set_panel(self, key: str, panel: QWidget) -> None:
        """A feature built after the first paint (`PLACEHOLDERS`' `key`) takes its dock from
        the placeholder; the dock keeps its place in the layout."""
        dock = {
            "users": self.users_dock, "dialer": self.dialer_dock,
            "worklist": self.worklist_dock,
        }[key]
        placeholder = dock.widget()
        dock.setWidget(panel)
        if placeholder is not None and placeholder is not panel:
            placeholder.setParent(None)  # gone with this reference, on this thread

    def _arrange_default(self) -> None:
        for dock in self.docks:
            if dock.isFloating():
                dock.setFloating(False)
            self.removeDockWidget(dock)
        # Left: the log feed (the users directory as a tab beside it: both are wide
        # tables) with the callback list under it. Right: the call detail and the dialer.
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.feed_dock)
        self.splitDockWidget(self.feed_dock, self.worklist_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.feed_dock, self.users_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.tabifyDockWidget(self.detail_dock, self.dialer_dock)
        for dock in self.docks:
            dock.show()
        self.feed_dock.raise_()
        self.detail_dock.raise_()
        width = max(self.width(), 900)
        height = max(self.height(), 600)
        self.resizeDocks(
            [self.feed_dock, self.detail_dock],
            [int(width * 0.68), int(width * 0.32)],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.feed_dock, self.worklist_dock],
            [int(height * 0.72), int(height * 0.28)],
            Qt.Orientation.Vertical,
        )

    def restore_layout(self) -> bool:
        """Put back the saved geometry and dock layout; False when there was none."""
        geometry = self._state.value(KEY_GEOMETRY)
        state = self._state.value(KEY_STATE)
        header = self._state.value(KEY_FEED_HEADER)
        restored = False
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            restored = self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            restored = self.restoreState(state, LAYOUT_VERSION) or restored
        if isinstance(header, QByteArray) and not header.isEmpty():
            self.feed.table.horizontalHeader().restoreState(header)
        return restored

    def save_layout(self) -> None:
        self._state.setValue(KEY_GEOMETRY, self.saveGeometry())
        self._state.setValue(KEY_STATE, self.saveState(LAYOUT_VERSION))
        self._state.setValue(KEY_FEED_HEADER, self.feed.table.horizontalHeader().saveState())
        self._state.sync()

    @Slot()
    def reset_layout(self) -> None:
        """Every dock back where it started, and visible."""
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self.feed_dock.raise_()
        self.detail_dock.raise_()
        for key in (KEY_STATE, KEY_FEED_HEADER):
            self._state.remove(key)

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
        if self.notifications is not None:
            # Missed calls and notices (where no tray shows them), under the demo banner.
            layout.addWidget(self.notifications)
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
        self.quit_action.triggered.connect(self.quitRequested)
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
        #: Features add their commands here (Preferences…, before Quit).
        self.file_menu = file_menu

        # Filled by the features as they are installed (the dialer's, then the tray's).
        self.call_menu = self._menu_bar.addMenu("&Call")
        self.call_menu.setObjectName("menuCall")

        view_menu = self._menu_bar.addMenu("&View")
        view_menu.setObjectName("menuView")
        for dock in self.docks:
            toggle = dock.toggleViewAction()
            if not toggle.objectName():
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
        self.clear_search_shortcut.setWhatsThis("Clear the search")
        self.clear_search_shortcut.activated.connect(self._on_escape)
        self.play_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.play_shortcut.setObjectName("shortcutPlayPause")
        self.play_shortcut.setWhatsThis("Play or pause the recording")
        self.play_shortcut.activated.connect(self._on_space)

    def add_menu(self, title: str, name: str) -> QMenu:
        """A menu of a feature's own at the right end of the menu bar (Help, say)."""
        menu = self._menu_bar.addMenu(title)
        menu.setObjectName(name)
        return menu

    @property
    def menu_bar(self) -> QMenuBar:
        return self._menu_bar

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
        # A background task's failure, in words, until it recovers or is dismissed. A long
        # sentence is cut at the window's edge (whole in its tooltip); its Dismiss link is
        # a label of its own beside it, so it is never cut off with it.
        self.problem_label = self._status_label("statusProblem", "Problem", "")
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, self.problem_label.sizePolicy().verticalPolicy()
        )
        self.problem_label.hide()
        bar.addWidget(self.problem_label, 1)
        self.dismiss_label = self._status_label("statusDismissProblem", "Dismiss the problem", "")
        self.dismiss_label.setTextFormat(Qt.TextFormat.RichText)
        self.dismiss_label.linkActivated.connect(self._dismiss_problems)
        self.dismiss_label.hide()
        bar.addWidget(self.dismiss_label)
        self._build_saved_link()  # the first of the permanent ones, left of the sync's
        for label in (self.connection_label, self.last_sync_label, self.budget_label):
            bar.addPermanentWidget(label)

    def _build_dnd_indicator(self) -> None:
        """Do not disturb, while it is on: how long, and a link that ends it."""
        label = self._status_label("statusDnd", "Do not disturb", "")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        label.setToolTip(DND_TOOLTIP)
        label.setStyleSheet("QLabel#statusDnd { font-weight: bold; }")
        label.linkActivated.connect(lambda _link: self.dndOffRequested.emit())
        label.hide()
        self.statusBar().addPermanentWidget(label)
        self.dnd_label = label
    def _build_account_notice(self) -> None:
        """Where the token is kept, while that deserves a warning (memory only, a
        plain-text file): said in the window for as long as it is true, not once."""
        label = self._status_label("statusAccount", "Token storage", "")
        label.setWordWrap(False)
        label.hide()
        self.statusBar().addPermanentWidget(label)
        self.account_label = label

    def set_account_notice(self, short: str, detail: str = "") -> None:
        """Show (or, with "", hide) the token-storage warning; Preferences has the rest."""
        self.account_label.setText(short)
        self.account_label.setToolTip(
            f"{detail or short} Change it in Preferences \u2192 Account." if short else ""
        )
        self.account_label.setAccessibleDescription(short)
        colour = self._colors.banner_fg.name()
        self.account_label.setStyleSheet(
            f"QLabel#statusAccount {{ color: {colour}; font-weight: bold; }}"
        )
        self.account_label.setVisible(bool(short))

    @property
    def account_notice(self) -> str:
        label = self.account_label
        return label.accessibleDescription() if label.isVisibleTo(self) else ""

    def _build_saved_link(self) -> None:
        """The last file saved or exported, with a link to its folder (hidden until then)."""
        self.saved_label = self._status_label("statusSavedFile", "Saved file", "")
        self.saved_label.setTextFormat(Qt.TextFormat.RichText)
        self.saved_label.linkActivated.connect(self._show_saved_folder)
        self.saved_label.hide()
        self.statusBar().addPermanentWidget(self.saved_label)

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
            "failed": colors.missed_fg,
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
    def set_dnd_indicator(self, text: str) -> None:
        """Show do not disturb's words ("" when it is off) in the status bar and the title."""
        self.dnd_label.setText(
            f'{html.escape(text)} <a href="off">Turn off</a>' if text else ""
        )
        self.dnd_label.setAccessibleDescription(text)
        self.dnd_label.setVisible(bool(text))
        self.setWindowTitle(f"{self._title} — {DND_TITLE}" if text else self._title)

    @property
    def dnd_text(self) -> str:
        """The do-not-disturb words shown ("" when off)."""
        return self.dnd_label.accessibleDescription() if self.dnd_label.isVisibleTo(self) else ""

    @Slot(str)
    def set_budget_text(self, text: str) -> None:
        self.budget_label.setText(text)

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    @Slot(bool, str)
    def show_result(self, _ok: bool, text: str) -> None:
        self.show_message(text)

    @Slot(str, str)
    def show_problem(self, name: str, text: str) -> None:
        """A background task (`name`) failed: say so until it recovers or is dismissed."""
        self._problems.pop(name, None)
        self._problems[name] = text
        self._render_problems()

    @Slot(str)
    def clear_problem(self, name: str) -> None:
        """The task `name` did its work again: its failure no longer stands."""
        if self._problems.pop(name, None) is not None:
            self._render_problems()

    @property
    def problem_text(self) -> str:
        """The failure the status bar shows ("" when none stands)."""
        return next(reversed(self._problems.values()), "")

    def _dismiss_problems(self, _link: str = "") -> None:
        self._problems.clear()
        self._render_problems()

    def _render_problems(self) -> None:
        text = self.problem_text
        others = len(self._problems) - 1
        more = f"(and {others} more) " if others > 0 else ""  # beside the link: never cut
        self.problem_label.setText(text)
        self.problem_label.setToolTip("\n".join(self._problems.values()))
        self.problem_label.setAccessibleDescription(text)
        self.problem_label.setVisible(bool(text))
        self.dismiss_label.setText(f'{more}<a href="dismiss">Dismiss</a>')
        self.dismiss_label.setVisible(bool(text))

    @Slot(str)
    def show_saved_file(self, path: str) -> None:
        """A file was saved at `path`: name it, with a link that opens its folder."""
        self._saved_path = path
        name = Path(path).name
        self.saved_label.setText(
            f"Saved {html.escape(name)} — <a href=\"folder\">Show in folder</a>"
        )
        self.saved_label.setToolTip(path)
        self.saved_label.setAccessibleDescription(f"Saved {path}")
        self.saved_label.show()

    @property
    def saved_path(self) -> str:
        """The file the status bar's "Show in folder" link is about ("" before any)."""
        return self._saved_path

    def _show_saved_folder(self, _link: str = "") -> None:
        if self._saved_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self._saved_path).parent)))

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
        dialog.setDirectory(str(self._folders.start(SaveKind.EXPORT)))
        dialog.selectFile(export_file_name(self._today()))
        dialog.fileSelected.connect(self._export_path_chosen)
        dialog.finished.connect(dialog.deleteLater)
        self._export_dialog = dialog
        dialog.open()

    @Slot(str)
    def _export_path_chosen(self, path: str) -> None:
        self._folders.remember(SaveKind.EXPORT, path)
        self.exportPathChosen.emit(path)

    @property
    def export_dialog(self) -> QFileDialog | None:
        return self._export_dialog

    def add_search_target(
        self,
        dock: QDockWidget,
        focus_search: Callable[[], None],
        clear_search: Callable[[], None],
    ) -> None:
        """Ctrl+F and Esc inside `dock` act on its search (elsewhere on the feed's).

        One window-wide Find, so a dock must not bind Ctrl+F itself: two shortcuts for one
        key are ambiguous to Qt, which then triggers neither.
        """
        self._search_targets.append(_SearchTarget(dock, focus_search, clear_search))

    def _search_target(self) -> _SearchTarget | None:
        """The dock whose search the keys mean: the one holding the focus, if it is in
        view (None: the feed's). A dock behind another's tab is not, even when the focus
        was left in it: the keys must not reach a search nobody sees."""
        focus = QApplication.focusWidget()
        for target in self._search_targets:
            if focus is not None and target.dock.isAncestorOf(focus) and _in_view(target.dock):
                return target
        return None

    @Slot()
    def _focus_search(self) -> None:
        target = self._search_target()
        if target is not None:
            target.focus()
            return
        if not self.feed_dock.isVisible():
            self.feed_dock.show()
        self.feed_dock.raise_()
        self.feed.focus_search()

    @Slot()
    def _on_escape(self) -> None:
        target = self._search_target()
        (target.clear if target is not None else self.feed.clear_search)()

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

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab skip the docks behind another's tab: Qt keeps their widgets
        "visible", so its focus chain would walk into panels nobody can see."""
        start = QApplication.focusWidget()
        moved = super().focusNextPrevChild(next)
        for _ in range(FOCUS_CHAIN_LIMIT):
            focus = QApplication.focusWidget()
            if not moved or focus is None or focus is start or self._focus_in_view(focus):
                break
            moved = super().focusNextPrevChild(next)
        return moved

    def _focus_in_view(self, widget: QWidget) -> bool:
        return all(not dock.isAncestorOf(widget) or _in_view(dock) for dock in self.docks)

    # -------------------------------------------------------------- closing

    def show_dock(self, dock: QDockWidget) -> None:
        """Show `dock` (closed, or a hidden tab) and bring the window up if it is hidden."""
        if not self.isVisible() or self.isMinimized():
            if self.isMinimized():
                self.showNormal()
            self.show()
            self.raise_()
            self.activateWindow()
        dock.show()
        dock.raise_()

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


@dataclass(frozen=True)
class _SearchTarget:
    """A dock's search box, as the window's Find and Esc reach it."""

    dock: QDockWidget
    focus: Callable[[], None]
    clear: Callable[[], None]


def _in_view(dock: QDockWidget) -> bool:
    """Whether `dock` can be seen: a dock behind another's tab stays "visible" to Qt, but
    nothing of it is on screen."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def _placeholder(name: str, text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setAccessibleName(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMargin(24)
    label.setEnabled(False)
    return label
