"""Preferences as a feature: File → Preferences… (Ctrl+,) opens one dialog.

The dialog is made on first use and kept: its pages of editors cost about 70 ms, which
the window's first paint does not wait for. A second Ctrl+, brings the open one to the
front, and closing it only hides it (it stops following the settings until shown
again). It shows the users feature's list in "Which user are you?" and is told again
whenever the list changes. What the account block asks for (replace the token, sign
out) leaves through the feature's signals; the app does the work and says where the
token is kept (`show_account`). What the feature is told before the dialog exists is
kept and shown when it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from desktop_app.api.models import User
from desktop_app.services.settings import Section
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.common.feature import Feature, Shared
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.preferences.account import AccountView
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.users.feature import UsersFeature

if TYPE_CHECKING:
    from desktop_app.ui.preferences.dialog import PreferencesDialog

SHORTCUT = "Ctrl+,"


class AccountRequests(QObject):
    """The account block's requests, for the app: there before the dialog is."""

    replaceTokenRequested = Signal()
    #: Connect through the team relay (or give it a new credential).
    relayRequested = Signal()
    #: Confirmed; True: also delete this account's cached calls and recordings.
    signOutRequested = Signal(bool)


class PreferencesFeature(Feature):
    def __init__(self, make_dialog: Callable[[], PreferencesDialog]) -> None:
        super().__init__()
        self._make_dialog = make_dialog
        self._dialog: PreferencesDialog | None = None
        self._window: MainWindow | None = None
        self._colors: ThemeColors | None = None
        self._users: Sequence[User] = ()
        self._account = AccountView()
        self.action = QAction("&Preferences…")
        self.action.setObjectName("actionPreferences")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action.setStatusTip("Change how MyOperator Desktop works")
        self.action.triggered.connect(self.open)
        self._requests = AccountRequests(self.action)
        self.replaceTokenRequested = self._requests.replaceTokenRequested
        self.relayRequested = self._requests.relayRequested
        self.signOutRequested = self._requests.signOutRequested

    @property
    def dialog(self) -> PreferencesDialog:
        """The dialog, made now if it was not yet."""
        if self._dialog is None:
            self._dialog = self._made_dialog()
        return self._dialog

    @property
    def dialog_made(self) -> bool:
        return self._dialog is not None

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        self.action.setParent(window)
        window.addAction(self.action)
        window.file_menu.insertAction(window.quit_action, self.action)
        window.file_menu.insertSeparator(window.quit_action)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        if self._dialog is not None:
            self._dialog.apply_theme(colors)

    def open(self, _checked: bool = False) -> None:
        """Show Preferences, or bring them to the front if they are open."""
        self.dialog.present()

    def open_page(self, section: Section) -> None:
        self.dialog.open_page(section)

    def show_account(self, view: AccountView) -> None:
        self._account = view
        if self._dialog is not None:
            self._dialog.show_account(view)

    def show_users(self, users: Sequence[User]) -> None:
        self._users = users
        if self._dialog is not None:
            self._dialog.set_users(users)

    async def aclose(self) -> None:
        await super().aclose()
        if self._dialog is not None:
            self._dialog.close()

    def _made_dialog(self) -> PreferencesDialog:
        dialog = self._make_dialog()
        if self._window is not None:
            # A child window of the main one (centred on it, closed with it), a dialog.
            dialog.setParent(self._window, dialog.windowFlags())
        if self._colors is not None:
            dialog.apply_theme(self._colors)
        dialog.set_users(self._users)
        dialog.show_account(self._account)
        dialog.replaceTokenRequested.connect(self.replaceTokenRequested)
        dialog.relayRequested.connect(self.relayRequested)
        dialog.signOutRequested.connect(self.signOutRequested)
        return dialog


def build(shared: Shared, users_feature: UsersFeature) -> PreferencesFeature:
    def make_dialog() -> PreferencesDialog:
        from desktop_app.ui.preferences.dialog import PreferencesDialog

        return PreferencesDialog(shared.settings)

    feature = PreferencesFeature(make_dialog)
    service = users_feature.service
    feature.show_users(service.users())
    feature.on_close(service.add_listener(lambda: feature.show_users(service.users())))
    return feature
