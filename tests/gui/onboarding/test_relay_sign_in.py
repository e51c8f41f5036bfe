"""Signing in through the team relay, as an agent does: the first run's "Connect through
the team relay" page (the relay's address and the agent's own credential, tested with a
real relay process over loopback, then kept in the keyring under a name of its own), the
next start straight through the relay, Preferences → Connect through the team relay from
an account opened with the API token (which then leaves this computer), and signing out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.app import AppController
from desktop_app.relay.engine import RelayEngine
from desktop_app.sandbox import SandboxServer
from desktop_app.services.account import RELAY_REFUSED_SENTENCE
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    RELAY_KEYRING_USERNAME,
    TokenLocation,
    TokenVault,
    relay_vault,
)
from desktop_app.services.settings import CONNECTION, ME, RELAY_URL, TOKEN_STORAGE
from desktop_app.ui.onboarding.window import (
    PAGE_PROFILE,
    PAGE_RELAY,
    PAGE_TOKEN,
    PAGE_WELCOME,
    FirstRunWindow,
)
from tests.helpers.qt import wait_until
from tests.helpers.redis_server import redis_server as redis_server
from tests.helpers.relay import Replica
from tests.helpers.relay import relay_engine as relay_engine
from tests.helpers.relay import relay_environ as relay_environ
from tests.helpers.relay import start_relay as start_relay
from tests.helpers.sign_in import (
    TIMEOUT,
    MemoryKeyring,
    paste_into,
    quit_app,
    shown_first_run,
)
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import app_args, demo_config

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")


@pytest.fixture
def replica(
    feed_sandbox: SandboxServer,
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
) -> Replica:
    relay_environ.update({"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: feed_sandbox.base_url})
    return start_relay()


def controller(home: AppPaths, sandbox: SandboxServer, backend: MemoryKeyring) -> AppController:
    return AppController(
        app_args("--base-url", sandbox.base_url), home, environ={},
        vault=TokenVault(home.config_dir, backend=backend),
        relay_credentials=relay_vault(home.config_dir, backend=backend),
        sandbox_config=demo_config(), demo_service=SandboxServer,
    )


async def submit_relay(window: FirstRunWindow, address: str, credential: str) -> None:
    if window.page == PAGE_WELCOME:
        QTest.mouseClick(window.relay_button, Qt.MouseButton.LeftButton)
    assert window.page == PAGE_RELAY
    form = window.relay_form
    paste_into(form.address, address)
    paste_into(form.field, credential)
    QTest.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)


async def connect_in_dialog(app: AppController, address: str, credential: str) -> None:
    """Fill in the open "Connect through the team relay" dialog, submit it, and wait for
    the account to reopen through the relay."""
    dialog = app.replace_dialog
    assert dialog is not None
    paste_into(dialog.form.address, address)  # type: ignore[attr-defined]
    paste_into(dialog.form.field, credential)
    QTest.mouseClick(dialog.form.submit_button, Qt.MouseButton.LeftButton)
    await wait_until(
        lambda: app.workspace is not None and app.workspace.relay_sync is not None, TIMEOUT
    )


async def answered(window: FirstRunWindow) -> str:
    form = window.relay_form
    await wait_until(
        lambda: form.submit_button.isEnabled() or window.page != PAGE_RELAY, TIMEOUT
    )
    return form.message.text()


async def test_an_agent_signs_in_through_the_relay_and_the_next_start_goes_straight_there(
    desktop_home: AppPaths,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    priya = feed_sandbox.state.users[2]
    credential = await engine.issue_credential("Priya", user=priya.uuid)
    backend = MemoryKeyring()
    app = controller(desktop_home, feed_sandbox, backend)
    run = asyncio.ensure_future(app.run())
    window = await shown_first_run(app)

    await submit_relay(window, f" {replica.base_url}/ ", f"  {credential}\n")
    # The relay knew the credential; "Which user are you?" lists the users through it.
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    assert window.me_picker.isEnabled()
    assert backend.values[(KEYRING_SERVICE, RELAY_KEYRING_USERNAME)] == credential
    assert (KEYRING_SERVICE, KEYRING_USERNAME) not in backend.values  # no API token here
    assert app.settings.get(CONNECTION) == "relay"
    assert app.settings.get(RELAY_URL) == replica.base_url
    assert app.settings.get(TOKEN_STORAGE) == "keyring"
    # The admin linked her credential to her user: she is already chosen.
    assert window.me_picker.current_uuid() == priya.uuid
    QTest.mouseClick(window.finish_button, Qt.MouseButton.LeftButton)

    await wait_until(lambda: app.workspace is not None, TIMEOUT)
    ws = app.workspace
    assert ws is not None and ws.relay_sync is not None  # the stream, not polling
    assert ws.shared.streamed  # placed calls are heard from the stream, not searched for
    assert ws.claims is not None and not ws.callbacks.panel.claim_button.isHidden()
    assert app.settings.get(ME) == priya.uuid
    await wait_until(lambda: ws.feed.model.rowCount() > 0, TIMEOUT)
    assert ws.sync.presenter.budget_text == "Requests go through the team relay"
    ws.preferences.open()
    block = ws.preferences.dialog.account
    await wait_until(lambda: "team relay" in block.status.text(), TIMEOUT)
    assert replica.base_url in block.status.text()
    assert block.relay_button.text() == "Replace relay credential…"
    await quit_app(app, run)

    again = controller(desktop_home, feed_sandbox, backend)
    run = asyncio.ensure_future(again.run())
    await wait_until(lambda: again.workspace is not None, TIMEOUT)
    assert again.workspace is not None and again.workspace.relay_sync is not None
    assert again.token_location is TokenLocation.KEYRING
    await quit_app(again, run)
    # The keyring holds the credential; no file the desktop wrote (settings, cache, logs)
    # holds it, nor the API token, which only the relay has.
    folders = (desktop_home.config_dir, desktop_home.data_dir, desktop_home.cache_dir,
               desktop_home.log_dir)
    written = [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    assert desktop_home.settings_file in written
    for path in written:
        content = path.read_bytes()
        assert credential.encode() not in content, path
        assert FAKE_TOKEN.encode() not in content, path


async def test_a_refused_credential_or_a_bad_address_says_why_and_keeps_the_text(
    desktop_home: AppPaths,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    credential = await engine.issue_credential("Arjun")
    await engine.revoke("Arjun")
    backend = MemoryKeyring()
    app = controller(desktop_home, feed_sandbox, backend)
    run = asyncio.ensure_future(app.run())
    window = await shown_first_run(app)
    form = window.relay_form

    await submit_relay(window, replica.base_url, credential)
    assert await answered(window) == RELAY_REFUSED_SENTENCE
    assert form.field.text() == credential and form.address.text() == replica.base_url
    assert backend.values == {}

    # Plain http to another computer would show the credential to the network.
    await submit_relay(window, "http://relay.example.com", credential)
    assert "must start with https://" in await answered(window)
    await submit_relay(window, replica.base_url, "not-a-credential")
    assert "mor_" in await answered(window)
    assert "not-a-credential" not in form.message.text()
    assert backend.values == {} and app.workspace is None

    # Back, then the token instead: the relay's refusal is not shown there.
    QTest.mouseClick(form.back_button, Qt.MouseButton.LeftButton)
    assert window.page == PAGE_WELCOME
    QTest.mouseClick(window.connect_button, Qt.MouseButton.LeftButton)
    assert window.page == PAGE_TOKEN
    assert window.token_form.message.isHidden()
    assert window.token_form.submit_button.isEnabled()
    await quit_app(app, run)


async def test_preferences_move_an_account_to_the_relay_and_sign_out_removes_the_credential(
    desktop_home: AppPaths,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    credential = await engine.issue_credential("Priya")
    backend = MemoryKeyring()
    app = controller(desktop_home, feed_sandbox, backend)
    run = asyncio.ensure_future(app.run())
    await shown_first_run(app)
    await app.vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    await app.open_account(FAKE_TOKEN, TokenLocation.KEYRING)
    assert app.workspace is not None and app.workspace.relay_sync is None

    app.workspace.preferences.open()
    block = app.workspace.preferences.dialog.account
    await wait_until(lambda: block.relay_button.isVisible(), TIMEOUT)
    QTest.mouseClick(block.relay_button, Qt.MouseButton.LeftButton)
    dialog = app.replace_dialog
    assert dialog is not None and dialog.windowTitle() == "Connect through the team relay"
    await connect_in_dialog(app, replica.base_url, credential)
    # The API token left this computer: the relay holds it for the team.
    assert (KEYRING_SERVICE, KEYRING_USERNAME) not in backend.values
    assert backend.values[(KEYRING_SERVICE, RELAY_KEYRING_USERNAME)] == credential

    app.sign_out(False)
    window = await shown_first_run(app)
    await wait_until(lambda: "signed out" in window.welcome_message.text(), TIMEOUT)
    assert backend.values == {}
    assert app.settings.get(TOKEN_STORAGE) == "" and app.settings.get(CONNECTION) == "direct"
    # The relay's address is offered again; the credential is not.
    QTest.mouseClick(window.relay_button, Qt.MouseButton.LeftButton)
    assert window.relay_form.address.text() == replica.base_url
    assert window.relay_form.field.text() == ""
    await quit_app(app, run)


async def test_a_token_that_could_not_be_removed_is_said_not_hidden_behind_the_relay(
    desktop_home: AppPaths,
    feed_sandbox: SandboxServer,
    replica: Replica,
    engine: RelayEngine,
) -> None:
    credential = await engine.issue_credential("Priya")
    backend = MemoryKeyring()
    app = controller(desktop_home, feed_sandbox, backend)
    run = asyncio.ensure_future(app.run())
    await shown_first_run(app)
    await app.open_account(FAKE_TOKEN, TokenLocation.ENVIRONMENT)
    # Where the plain-text token file would be, something that cannot be deleted as one.
    stuck = app.vault.file_path
    stuck.mkdir(parents=True)
    (stuck / "inside").write_text("x")
    assert app.workspace is not None

    app.connect_relay()
    await connect_in_dialog(app, replica.base_url, credential)
    ws = app.workspace
    assert ws is not None
    said = f"The plain-text token file {stuck} could"
    assert ws.window.problem_text.startswith(said)  # stands until dismissed
    ws.preferences.open()
    block = ws.preferences.dialog.account
    await wait_until(lambda: said in block.status.text(), TIMEOUT)
    assert "stays with the relay" not in block.status.text()

    # Signing out says what it could not remove itself; the demo after it is not told.
    app.sign_out(False)
    window = await shown_first_run(app)
    await wait_until(lambda: said in window.welcome_message.text(), TIMEOUT)
    assert app.left_behind == ""  # the next account is not told of this one's
    demo = await app.open_demo()
    assert demo.window.problem_text == ""
    await quit_app(app, run)


async def test_a_token_in_the_environment_over_a_saved_relay_connection_is_said(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    first = controller(desktop_home, feed_sandbox, MemoryKeyring())
    first.settings.set(CONNECTION, "relay")
    first.settings.set(RELAY_URL, "https://relay.example.com")
    first.settings.sync()
    app = AppController(
        app_args("--base-url", feed_sandbox.base_url), desktop_home,
        environ={"MYOPERATOR_TOKEN": FAKE_TOKEN},
        vault=TokenVault(desktop_home.config_dir, backend=MemoryKeyring()),
        sandbox_config=demo_config(), demo_service=SandboxServer,
    )
    run = asyncio.ensure_future(app.run())

    await wait_until(lambda: app.workspace is not None, TIMEOUT)
    assert app.workspace is not None and app.workspace.relay_sync is None  # direct
    assert app.workspace.window.problem_text.startswith(
        "MYOPERATOR_TOKEN is set, so this window uses that API token directly"
    )
    await quit_app(app, run)
