"""Preferences as a feature: File → Preferences… (Ctrl+,) opens one dialog.

The dialog is made once and kept: a second Ctrl+, brings the open one to the front, and
closing it only hides it (it stops following the settings until shown again). It shows
the users feature's list in "Which user are you?" and is told again whenever the list
changes. What the account block asks for (replace the token, sign out) leaves through
the feature's signals; the app does the work and says where the token is kept
(`set_token_status`).
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from desktop_app.services.settings import Section
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.users import UsersService
from desktop_app.ui.common.feature import Feature, Shared
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.preferences.dialog import PreferencesDialog
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.users.feature import UsersFeature

SHORTCUT = "Ctrl+,"


class PreferencesFeature(Feature):
    def __init__(self, dialog: PreferencesDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.action = QAction("&Preferences…")
        self.action.setObjectName("actionPreferences")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action.setStatusTip("Change how MyOperator Desktop works")
        self.action.triggered.connect(self.open)
        #: The account block's requests, for the app.
        self.replaceTokenRequested = dialog.replaceTokenRequested
        self.signOutRequested = dialog.signOutRequested

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        # A child window of the main one (centred on it, closed with it), still a dialog.
        self.dialog.setParent(window, self.dialog.windowFlags())
        self.action.setParent(window)
        window.addAction(self.action)
        window.file_menu.insertAction(window.quit_action, self.action)
        window.file_menu.insertSeparator(window.quit_action)

    def apply_theme(self, colors: ThemeColors) -> None:
        self.dialog.apply_theme(colors)

    def open(self, _checked: bool = False) -> None:
        """Show Preferences, or bring them to the front if they are open."""
        self.dialog.present()

    def open_page(self, section: Section) -> None:
        self.dialog.open_page(section)

    def set_token_status(self, text: str, warning: bool) -> None:
        self.dialog.set_token_status(text, warning)

    async def aclose(self) -> None:
        await super().aclose()
        self.dialog.close()


def _show_users(dialog: PreferencesDialog, service: UsersService) -> None:
    dialog.set_users(service.users())


def build(
    shared: Shared, users_feature: UsersFeature, *, parent: QWidget | None = None
) -> PreferencesFeature:
    dialog = PreferencesDialog(shared.settings, parent)
    feature = PreferencesFeature(dialog)
    service = users_feature.service
    _show_users(dialog, service)
    feature.on_close(service.add_listener(lambda: _show_users(dialog, service)))
    return feature
