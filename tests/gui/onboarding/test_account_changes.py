"""Preferences → Account: Sign out (the token leaves wherever it was kept; the cached data
only when asked) and Replace token (tested before anything changes)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_app.app import AppController
from desktop_app.sandbox import SandboxConfig, SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import KEYRING_SERVICE, KEYRING_USERNAME, TokenVault
from desktop_app.services.settings import ME, TOKEN_STORAGE
from desktop_app.ui.onboarding.window import PAGE_PROFILE, PAGE_TOKEN, PAGE_WELCOME
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.sign_in import (
    TIMEOUT,
    UNKNOWN_TOKEN,
    MemoryKeyring,
    controller_for,
    paste_into,
    quit_app,
    shown_first_run,
)
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import app_args, demo_config

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

#: A second token the emulated account accepts (obviously fake), to replace the first.
SECOND_TOKEN = "feedfacefeedfacefeedfacefeedface"


@pytest.fixture
def two_token_sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(
        SandboxConfig(seed=11, n_logs=200, days=30, rate_limit=None,
                      tokens={FAKE_TOKEN: 2, SECOND_TOKEN: 2})
    ).start()
    try:
        yield server
    finally:
        server.stop()


async def signed_in(
    home: AppPaths, server: SandboxServer, backend: MemoryKeyring
) -> tuple[AppController, asyncio.Future[int], Workspace]:
    """An account opened from a token kept in the keyring, as after a first run."""
    backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, FAKE_TOKEN)
    vault = TokenVault(home.config_dir, backend=backend)
    controller = controller_for(home, server.base_url, vault)
    controller.settings.set(TOKEN_STORAGE, "keyring")
    controller.settings.set(ME, server.state.users[0].uuid)
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    workspace = controller.workspace
    assert workspace is not None
    await wait_until(lambda: workspace.store.count() > 0, TIMEOUT)
    return controller, run, workspace


@pytest.mark.parametrize("delete_data", [False, True])
async def test_sign_out_removes_the_token_and_returns_to_the_first_run(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, delete_data: bool
) -> None:
    backend = MemoryKeyring()
    controller, run, ws = await signed_in(desktop_home, feed_sandbox, backend)
    prefs = ws.preferences.dialog
    assert prefs.account.status.text() == "The token is kept in the system keyring."
    recordings = desktop_home.recordings_dir()
    recordings.mkdir(parents=True, exist_ok=True)
    (recordings / "kept.mp3").write_bytes(b"ID3")

    ws.preferences.open()
    QTest.mouseClick(prefs.account.sign_out_button, Qt.MouseButton.LeftButton)
    prefs.account.delete_data_check.setChecked(delete_data)
    QTest.mouseClick(prefs.account.sign_out_confirm.yes_button, Qt.MouseButton.LeftButton)

    window = await shown_first_run(controller)
    await wait_until(lambda: window.page == PAGE_WELCOME and window.isVisible(), TIMEOUT)
    assert controller.workspace is None
    assert "signed out" in window.welcome_message.text().lower()
    assert backend.values == {}
    assert controller.settings.get(TOKEN_STORAGE) == ""
    assert controller.settings.get(ME) == ""
    assert desktop_home.database_file().exists() is not delete_data
    assert (recordings / "kept.mp3").exists() is not delete_data
    await quit_app(controller, run)

    # The next start asks again: nothing of the account is kept.
    again = controller_for(
        desktop_home, feed_sandbox.base_url, TokenVault(desktop_home.config_dir, backend=backend)
    )
    run = asyncio.ensure_future(again.run())
    window = await shown_first_run(again)
    assert window.page == PAGE_WELCOME
    await quit_app(again, run)


async def test_replace_token_tests_the_new_one_before_anything_changes(
    desktop_home: AppPaths, two_token_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    controller, run, ws = await signed_in(desktop_home, two_token_sandbox, backend)
    ws.preferences.open()

    # Cancel changes nothing, and Replace opens again afterwards.
    QTest.mouseClick(ws.preferences.dialog.account.replace_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.replace_dialog is not None, TIMEOUT)
    cancelled = controller.replace_dialog
    assert cancelled is not None
    QTest.mouseClick(cancelled.form.back_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.replace_dialog is None, TIMEOUT)

    QTest.mouseClick(ws.preferences.dialog.account.replace_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.replace_dialog is not None, TIMEOUT)
    dialog = controller.replace_dialog
    assert dialog is not None and dialog.isVisible()

    # A token the service refuses changes nothing and stays in the field.
    paste_into(dialog.form.field, UNKNOWN_TOKEN)
    QTest.mouseClick(dialog.form.submit_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: "accept" in dialog.form.message.text().lower(), TIMEOUT)
    assert dialog.form.text == UNKNOWN_TOKEN and dialog.isVisible()
    assert controller.workspace is ws
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == FAKE_TOKEN

    # A good one is kept, and the account reopens on it.
    paste_into(dialog.form.field, SECOND_TOKEN)
    QTest.mouseClick(dialog.form.submit_button, Qt.MouseButton.LeftButton)
    await wait_until(
        lambda: controller.workspace is not None and controller.workspace is not ws, TIMEOUT
    )
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == SECOND_TOKEN
    new = controller.workspace
    assert new is not None and new.window.isVisible()
    assert new.client._token == SECOND_TOKEN
    assert ws.client._http.is_closed  # the old account's connection is gone
    assert controller.first_run is None
    await quit_app(controller, run)


async def test_from_the_demo_preferences_lead_to_connect_my_account(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    controller = AppController(
        app_args("--demo", "--base-url", feed_sandbox.base_url), desktop_home, environ={},
        sandbox_config=demo_config(), demo_service=SandboxServer,
        vault=TokenVault(desktop_home.config_dir, backend=backend),
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    demo = controller.workspace
    assert demo is not None and demo.sandbox is not None
    account = demo.preferences.dialog.account
    assert "demo" in account.status.text() and account.sign_out_button.isHidden()

    # A double click: one change, run in full.
    QTest.mouseDClick(account.replace_button, Qt.MouseButton.LeftButton)
    account.replace_button.click()
    window = await shown_first_run(controller)
    await wait_until(lambda: window.page == PAGE_TOKEN, TIMEOUT)
    assert controller.workspace is None
    await wait_until(lambda: demo.client._http.is_closed, TIMEOUT)  # the demo closed in full
    with pytest.raises(OSError), socket.create_connection(
        ("127.0.0.1", demo.sandbox.port), timeout=2
    ):
        pass  # its emulated service has stopped

    paste_into(window.token_form.field, FAKE_TOKEN)
    QTest.mouseClick(window.token_form.submit_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    QTest.mouseClick(window.skip_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.sandbox is None
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == FAKE_TOKEN
    await quit_app(controller, run)


async def test_quitting_in_the_middle_of_a_sign_out_still_closes_everything(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    controller, run, ws = await signed_in(desktop_home, feed_sandbox, backend)
    controller.sign_out(False)
    controller.sign_out(True)  # a second request meanwhile is refused, not run half
    controller.request_quit()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    assert ws.client._http.is_closed
    assert desktop_home.database_file().exists()  # the second (deleting) one never ran
