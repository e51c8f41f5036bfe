"""The Help menu as a feature: Diagnostics, Keyboard shortcuts, About.

Its dialogs are made on first use, parented to the window, and opened with ``show()``
(never ``exec()``: a nested loop inside the qasync loop stalls every coroutine). Opening
one that is already up brings it to the front. The diagnostics run under the presenter's
supervisor, which the workspace's adopts: closing the dialog or the workspace cancels them.
The presenter, the dialogs and the checks (``importlib.metadata`` among their imports)
are imported and made on first use too: the first paint needs only the menu's actions.

What this feature cannot know by itself comes in through `build`: where the app's folders
are, how the keyring fares and where the token is kept (the secrets' owner), and the
settings as text without secrets (the settings' owner). The defaults say "not checked",
"unknown" and nothing, so a workspace opened without them still has a working Help menu.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu

from desktop_app.services.paths import AppPaths
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.shell.main_window import MainWindow

if TYPE_CHECKING:  # imported on first use (see the module docstring)
    from desktop_app.services.diagnostics import DiagnosticsContext
    from desktop_app.ui.help.about import AboutDialog
    from desktop_app.ui.help.diagnostics_dialog import DiagnosticsDialog
    from desktop_app.ui.help.diagnostics_presenter import DiagnosticsPresenter
    from desktop_app.ui.help.shortcuts import ShortcutsDialog

SHORTCUTS_SHORTCUT: Final = "Ctrl+/"
KEYRING_NOT_CHECKED: Final = (
    "The keyring was not checked: this window was opened without a way to ask it."
)
UNKNOWN_LOCATION: Final = "unknown"

KeyringProbe = Callable[[], Awaitable[str | None]]


async def keyring_not_checked() -> str | None:
    """The default keyring probe of a workspace not told how to reach the keyring."""
    return KEYRING_NOT_CHECKED


def unknown_token_location() -> str:
    return UNKNOWN_LOCATION


def no_settings() -> Mapping[str, str]:
    return {}


def audio_problem() -> str | None:
    """None when Qt sees an audio output; else why recordings would be silent."""
    from PySide6.QtMultimedia import QMediaDevices

    if QMediaDevices.audioOutputs():
        return None
    return "No audio output device was found."


def toolkit_versions() -> dict[str, str]:
    return {"Qt": qVersion(), "PySide6": PySide6.__version__}


def all_versions() -> dict[str, str]:
    """The app's, Python's, Qt's and PySide6's versions, in that order."""
    from desktop_app.services.diagnostics import versions

    return versions(toolkit_versions())


def platform_description() -> str:
    """The operating system, and which Qt platform plugin draws the window."""
    from desktop_app.services.diagnostics import platform_text

    return f"{platform_text()} (Qt platform: {QGuiApplication.platformName()})"


def copy_to_clipboard(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)


class HelpFeature(Feature):
    def __init__(
        self, make_presenter: Callable[[], DiagnosticsPresenter], *, paths: AppPaths
    ) -> None:
        super().__init__()
        self._make_presenter = make_presenter
        self._presenter: DiagnosticsPresenter | None = None
        self._tasks: TaskSupervisor | None = None
        self.paths = paths
        self._window: MainWindow | None = None
        self.menu: QMenu | None = None
        self.diagnostics_dialog: DiagnosticsDialog | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self.diagnostics_action = _action("actionDiagnostics", "&Diagnostics…", None)
        self.diagnostics_action.setToolTip(
            "Check the connection, the token and this computer, and copy a report"
        )
        self.shortcuts_action = _action(
            "actionKeyboardShortcuts", "&Keyboard shortcuts", SHORTCUTS_SHORTCUT
        )
        self.shortcuts_action.setToolTip("Every key the window answers to")
        self.about_action = _action("actionAbout", "&About MyOperator Desktop", None)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.menu_actions = (self.diagnostics_action, self.shortcuts_action, self.about_action)

    @property
    def presenter(self) -> DiagnosticsPresenter:
        """The diagnostics' presenter, made on first use and adopted as `install` adopts
        a feature's presenters (the window owns it, the workspace's supervisor hears its
        failures), then closed with the feature."""
        if self._presenter is None:
            presenter = self._make_presenter()
            if self._window is not None:
                presenter.setParent(self._window)
            if self._tasks is not None:
                presenter.supervise_under(self._tasks)
            self.presenters = (presenter,)
            self._presenter = presenter
        return self._presenter

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        self._tasks = tasks
        menu = window.add_menu("&Help", "menuHelp")
        for action in self.menu_actions:
            action.setParent(window)
            window.addAction(action)  # the shortcut works wherever the focus is
            menu.addAction(action)
        self.menu = menu
        connect_all([
            (self.diagnostics_action.triggered, self.open_diagnostics),
            (self.shortcuts_action.triggered, self.open_shortcuts),
            (self.about_action.triggered, self.open_about),
        ])

    # -------------------------------------------------------------- dialogs

    def open_diagnostics(self) -> DiagnosticsDialog:
        """The diagnostics dialog, running the checks unless it was already up."""
        dialog = self.diagnostics_dialog
        if dialog is not None and dialog.isVisible():
            _to_front(dialog)
            return dialog
        if dialog is None:
            from desktop_app.ui.help.diagnostics_dialog import DiagnosticsDialog

            dialog = DiagnosticsDialog(self.presenter.model, self._window)
            presenter = self.presenter
            connect_all([
                (dialog.run_button.clicked, presenter.run),
                (dialog.copy_button.clicked, presenter.copy_report),
                (dialog.finished, presenter.cancel),
                (presenter.runningChanged, dialog.set_running),
                (presenter.summaryChanged, dialog.set_summary),
                (presenter.reportCopied, dialog.show_copied),
            ])
            self.diagnostics_dialog = dialog
        dialog.show()
        _to_front(dialog)
        self.presenter.run()
        return dialog

    def open_shortcuts(self) -> ShortcutsDialog:
        from desktop_app.ui.help.shortcuts import ShortcutsDialog, collect_shortcuts

        dialog = self.shortcuts_dialog
        if dialog is None:
            dialog = ShortcutsDialog(self._window)
            self.shortcuts_dialog = dialog
        if self._window is not None:
            dialog.show_entries(collect_shortcuts(self._window))
        dialog.show()
        _to_front(dialog)
        dialog.search.setFocus()
        return dialog

    def open_about(self) -> AboutDialog:
        dialog = self.about_dialog
        if dialog is None:
            from desktop_app.ui.help.about import AboutDialog

            dialog = AboutDialog(all_versions(), self.paths, parent=self._window)
            self.about_dialog = dialog
        dialog.show()
        _to_front(dialog)
        return dialog

    async def aclose(self) -> None:
        for dialog in (self.diagnostics_dialog, self.shortcuts_dialog, self.about_dialog):
            if dialog is not None:
                dialog.hide()
        await super().aclose()


def _action(name: str, text: str, shortcut: str | None) -> QAction:
    action = QAction(text)
    action.setObjectName(name)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    return action


def _to_front(dialog: DiagnosticsDialog | ShortcutsDialog | AboutDialog) -> None:
    dialog.raise_()
    dialog.activateWindow()


def build(
    shared: Shared,
    *,
    paths: AppPaths,
    keyring_problem: KeyringProbe = keyring_not_checked,
    token_location: Callable[[], str] = unknown_token_location,
    settings_snapshot: Callable[[], Mapping[str, str]] = no_settings,
) -> HelpFeature:
    def make_context() -> DiagnosticsContext:
        from desktop_app.services.diagnostics import DiagnosticsContext

        return DiagnosticsContext(
            client=shared.client,
            store=shared.store,
            keyring_problem=keyring_problem,
            audio_problem=audio_problem,
            token_location=token_location(),
            relay=shared.streamed,
        )

    def make_presenter() -> DiagnosticsPresenter:
        from desktop_app.ui.help.diagnostics_presenter import DiagnosticsPresenter

        return DiagnosticsPresenter(
            make_context,
            log_dir=paths.log_dir,
            versions=functools.cache(all_versions),
            platform=platform_description,
            settings_snapshot=settings_snapshot,
            copy_text=copy_to_clipboard,
        )

    return HelpFeature(make_presenter, paths=paths)
