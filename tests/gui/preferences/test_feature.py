"""Preferences in the window: File → Preferences… (Ctrl+,) opens one dialog, a second
press brings the same one forward, and "Which user are you?" lists the account's users
once they load."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from desktop_app.sandbox import SandboxServer
from desktop_app.ui.preferences.account import AccountView
from desktop_app.ui.preferences.dialog import PreferencesDialog
from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

CTRL = Qt.KeyboardModifier.ControlModifier


async def test_ctrl_comma_opens_preferences_and_a_second_press_raises_them(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        window.activateWindow()
        await wait_until(lambda: QApplication.activeWindow() is window)
        dialog = ws.preferences.dialog
        assert not dialog.isVisible()

        QTest.keyClick(window, Qt.Key.Key_Comma, CTRL)
        await wait_until(dialog.isVisible)
        assert dialog.parent() is window and dialog.isWindow() and not dialog.isModal()
        assert dialog.following

        window.activateWindow()
        await wait_until(lambda: QApplication.activeWindow() is window)
        QTest.keyClick(window, Qt.Key.Key_Comma, CTRL)
        await wait_until(lambda: QApplication.activeWindow() is dialog)
        assert window.findChildren(PreferencesDialog) == [dialog]

        dialog.close()
        assert not dialog.isVisible() and not dialog.following
        ws.preferences.action.trigger()
        assert dialog.isVisible() and ws.preferences.dialog is dialog


async def test_the_file_menu_offers_preferences_before_quit(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False, show=False) as ws:
        menu = ws.window.file_menu
        assert isinstance(menu, QMenu) and menu.objectName() == "menuFile"
        names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
        assert names[-2:] == ["actionPreferences", "actionQuit"]
        action = ws.preferences.action
        assert action.text() == "&Preferences…"
        assert action.shortcut().toString() == "Ctrl+,"


async def test_which_user_are_you_lists_the_users_once_loaded(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await wait_until(lambda: ws.users.presenter.model.rowCount() > 0, 15)
        picker = ws.preferences.dialog.me_picker
        assert picker is not None
        await wait_until(lambda: picker.model.users == ws.users.service.users())
        assert picker.model.rowCount() == len(ws.users.service.users()) + 1


async def test_the_account_blocks_requests_reach_the_feature(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False, show=False) as ws:
        asked: list[str] = []
        ws.preferences.replaceTokenRequested.connect(lambda: asked.append("replace"))
        ws.preferences.signOutRequested.connect(lambda wipe: asked.append(f"sign out {wipe}"))
        ws.preferences.show_account(AccountView("Kept in the system keyring"))
        dialog = ws.preferences.dialog
        dialog.account.replace_button.click()
        dialog.account.sign_out_button.click()
        dialog.account.sign_out_confirm.yes_button.click()
        assert asked == ["replace", "sign out False"]
        assert dialog.account.status.text() == "Kept in the system keyring"


async def test_the_dialog_is_made_on_first_use_with_what_it_was_told_before(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """Its pages cost the first paint ~70 ms: made when first opened, then showing the
    account, the users and the theme the feature was told meanwhile."""
    async with open_workspace(feed_sandbox) as ws:
        assert not ws.preferences.dialog_made
        await wait_until(lambda: ws.users.presenter.model.rowCount() > 0, 15)
        ws.preferences.show_account(AccountView("Only in memory", True, sign_out_text="Gone."))
        assert not ws.preferences.dialog_made
        asked: list[bool] = []
        ws.preferences.signOutRequested.connect(asked.append)

        ws.preferences.action.trigger()
        assert ws.preferences.dialog_made
        dialog = ws.preferences.dialog
        assert dialog.isVisible() and dialog.parent() is ws.window
        account = dialog.account
        assert account.status.text() == "Only in memory" and account.warning
        assert "color" in account.status.styleSheet()  # the theme's warning colour
        assert account.sign_out_text == "Gone."
        picker = dialog.me_picker
        assert picker is not None and picker.model.users == ws.users.service.users()
        account.sign_out_button.click()
        account.sign_out_confirm.yes_button.click()
        assert asked == [False]


async def test_the_demo_offers_a_real_account_and_no_sign_out(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False, show=False) as ws:
        ws.preferences.show_account(AccountView("The demo.", demo=True))
        account = ws.preferences.dialog.account
        assert account.replace_button.text() == "Connect my account…"
        assert account.sign_out_button.isHidden()
