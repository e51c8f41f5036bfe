"""The first run, driven from the window against the emulated service on loopback: Connect
my account (good, rejected, offline, rate-limited, misshapen token), Try the demo, and
where the token is kept when the keyring works, is missing, or hangs."""

from __future__ import annotations

import asyncio
import stat

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from desktop_app.sandbox import SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    TokenLocation,
    TokenVault,
)
from desktop_app.services.settings import COUNTRY_CODE, ME, TOKEN_STORAGE
from desktop_app.ui.onboarding.presenter import KEEPING_TEXT
from desktop_app.ui.onboarding.window import (
    PAGE_OPENING,
    PAGE_PROFILE,
    PAGE_TOKEN,
    PAGE_WELCOME,
)
from tests.helpers.qt import wait_until
from tests.helpers.sign_in import (
    TIMEOUT,
    UNKNOWN_TOKEN,
    HangingKeyring,
    MemoryKeyring,
    controller_for,
    quit_app,
    settled,
    shown_first_run,
    submit_token,
)
from tests.helpers.sign_in import closed_port as closed_port
from tests.helpers.sign_in import hanging as hanging
from tests.helpers.tokens import FAKE_TOKEN

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

# ------------------------------------------------------------------------------ tokens


async def test_a_good_token_is_tested_kept_in_the_keyring_and_who_i_am_is_asked(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    vault = TokenVault(desktop_home.config_dir, backend=backend)
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    assert window.page == PAGE_WELCOME
    assert controller.workspace is None

    searches_before = len(feed_sandbox.state.requests_to("/search"))
    await submit_token(window, f'  "{FAKE_TOKEN}"\n')  # as pasted: quotes, spaces, newline
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    # One read request tested it, before anything was kept.
    assert len(feed_sandbox.state.requests_to("/search")) == searches_before + 1
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == FAKE_TOKEN
    assert controller.settings.get(TOKEN_STORAGE) == "keyring"

    chosen = feed_sandbox.state.users[1]
    window.me_picker.set_current(chosen.uuid)
    window.country.set_code("44")
    QTest.mouseClick(window.finish_button, Qt.MouseButton.LeftButton)

    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    assert controller.first_run is None
    assert controller.settings.get(ME) == chosen.uuid
    assert controller.settings.get(COUNTRY_CODE) == "44"
    ws = controller.workspace
    assert ws is not None and ws.window.isVisible()
    assert ws.window.account_notice == ""  # the keyring needs no warning
    await quit_app(controller, run)

    # Next start: straight to the account, from the keyring, no first-run question.
    again = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(again.run())
    await wait_until(lambda: again.workspace is not None, TIMEOUT)
    await quit_app(again, run)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abc123", "characters"),
        ("", "token"),
        ("z" * 32, "letters a-f"),
    ],
)
async def test_a_misshapen_token_is_refused_at_once_and_stays_typed(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, typed: str, expected: str
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=MemoryKeyring())
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    searches_before = len(feed_sandbox.state.requests_to("/search"))
    await submit_token(window, typed)
    text = await settled(window)
    assert expected.lower() in text.lower()
    assert typed not in text or not typed
    assert window.token_form.text == typed
    assert len(feed_sandbox.state.requests_to("/search")) == searches_before  # nothing sent
    await quit_app(controller, run)


async def test_a_rejected_token_says_so_keeps_the_text_and_keeps_nothing(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    vault = TokenVault(desktop_home.config_dir, backend=backend)
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    await submit_token(window, UNKNOWN_TOKEN)
    text = await settled(window)
    assert "accept" in text.lower()
    assert UNKNOWN_TOKEN not in text
    assert window.page == PAGE_TOKEN and window.token_form.text == UNKNOWN_TOKEN
    assert backend.values == {}
    assert controller.settings.get(TOKEN_STORAGE) == ""
    assert controller.workspace is None

    # Corrected in place, it goes through.
    await submit_token(window, FAKE_TOKEN)
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    QTest.mouseClick(window.skip_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    await quit_app(controller, run)


async def test_offline_says_the_service_cannot_be_reached(
    desktop_home: AppPaths, closed_port: int
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=MemoryKeyring())
    controller = controller_for(desktop_home, f"http://127.0.0.1:{closed_port}", vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    await submit_token(window, FAKE_TOKEN)
    text = await settled(window)
    assert "reach" in text.lower()
    assert window.token_form.text == FAKE_TOKEN
    assert controller.settings.get(TOKEN_STORAGE) == ""
    await quit_app(controller, run)


async def test_a_rate_limit_says_how_long_to_wait(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    feed_sandbox.state.faults.add("429:path=/search,count=5,retry_after=40")
    vault = TokenVault(desktop_home.config_dir, backend=MemoryKeyring())
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    await submit_token(window, FAKE_TOKEN)
    text = await settled(window)
    assert "limiting requests" in text
    assert "40 s" in text or "1 min" in text
    assert window.token_form.text == FAKE_TOKEN
    assert controller.workspace is None
    feed_sandbox.state.faults.clear()
    await quit_app(controller, run)


async def test_try_the_demo_opens_the_demo_workspace(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=MemoryKeyring())
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    QTest.mouseClick(window.demo_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.sandbox is not None
    assert controller.first_run is None
    assert controller.settings.get(TOKEN_STORAGE) == ""  # the demo keeps no token
    await quit_app(controller, run)


# ------------------------------------------------------------------------- keyrings


async def test_a_hanging_keyring_never_freezes_the_window_and_offers_this_session(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, hanging: HangingKeyring
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=hanging, timeout_s=0.5)
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    # Ticks counted only while the keyring is being asked (after the token check).
    ticks: list[int] = []
    ticker = QTimer()
    ticker.setInterval(20)
    ticker.timeout.connect(lambda: ticks.append(1))
    sign_in = controller.sign_in
    assert sign_in is not None
    sign_in.messageChanged.connect(
        lambda text, _kind: ticker.start() if text == KEEPING_TEXT else None
    )
    await submit_token(window, FAKE_TOKEN)
    form = window.token_form
    await wait_until(lambda: not form.storage.isHidden(), TIMEOUT)
    ticker.stop()
    # The keyring hung for its 0.5 s timeout: the GUI thread kept turning meanwhile.
    assert len(ticks) >= 5
    assert "5 s" in form.storage_text.text() or "answer" in form.storage_text.text()

    QTest.mouseClick(form.session_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    QTest.mouseClick(window.skip_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None
    assert ws.window.account_notice == "Signed in for this session only"
    assert controller.settings.get(TOKEN_STORAGE) == ""  # nothing to look for next time
    assert not vault.file_path.exists()
    await quit_app(controller, run)


async def test_without_a_keyring_a_plain_text_file_is_an_explicit_warned_choice(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=fail.Keyring())
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    await submit_token(window, FAKE_TOKEN)
    form = window.token_form
    await wait_until(lambda: not form.storage.isHidden(), TIMEOUT)
    assert "keyring" in form.storage_text.text().lower()

    QTest.mouseClick(form.file_button, Qt.MouseButton.LeftButton)
    assert form.file_confirm.asking  # the warning first, nothing written yet
    assert str(vault.file_path) in form.file_confirm.text_label.text()
    assert not vault.file_path.exists()
    QTest.mouseClick(form.file_confirm.yes_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: window.page == PAGE_PROFILE, TIMEOUT)
    assert stat.S_IMODE(vault.file_path.stat().st_mode) == 0o600
    assert controller.settings.get(TOKEN_STORAGE) == "file"
    QTest.mouseClick(window.skip_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.window.account_notice == "Token stored in plain text"
    await quit_app(controller, run)

    # Next start opens from the file, and keeps saying where the token is.
    again = controller_for(desktop_home, feed_sandbox.base_url, vault)
    run = asyncio.ensure_future(again.run())
    await wait_until(lambda: again.workspace is not None, TIMEOUT)
    assert again.workspace is not None
    assert again.workspace.window.account_notice == "Token stored in plain text"
    await quit_app(again, run)


async def test_a_kept_token_the_keyring_no_longer_gives_brings_back_the_token_page(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, hanging: HangingKeyring
) -> None:
    vault = TokenVault(desktop_home.config_dir, backend=hanging, timeout_s=0.5)
    controller = controller_for(desktop_home, feed_sandbox.base_url, vault)
    controller.settings.set(TOKEN_STORAGE, "keyring")
    run = asyncio.ensure_future(controller.run())
    window = await shown_first_run(controller)
    assert window.page in (PAGE_OPENING, PAGE_TOKEN)
    await wait_until(lambda: window.page == PAGE_TOKEN, TIMEOUT)
    assert "keyring" in window.token_form.message.text().lower()
    assert controller.workspace is None
    await quit_app(controller, run)


async def test_the_environment_token_wins_for_that_run_only(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, UNKNOWN_TOKEN)
    vault = TokenVault(desktop_home.config_dir, backend=backend)
    controller = controller_for(
        desktop_home, feed_sandbox.base_url, vault, environ={"MYOPERATOR_TOKEN": FAKE_TOKEN}
    )
    controller.settings.set(TOKEN_STORAGE, "keyring")
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    assert controller.first_run is None
    assert controller.token_location is TokenLocation.ENVIRONMENT
    ws = controller.workspace
    assert ws is not None
    # The kept token would be refused: calls arriving prove the environment's is in use.
    await wait_until(lambda: ws.store.count() > 0, TIMEOUT)
    # The kept token is untouched: the environment's was used for this run only.
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == UNKNOWN_TOKEN

    # Signing out of that run closes the window and removes nothing that was kept.
    ws.preferences.signOutRequested.emit(False)
    window = await shown_first_run(controller)
    await wait_until(lambda: "MYOPERATOR_TOKEN" in window.welcome_message.text(), TIMEOUT)
    assert backend.values[(KEYRING_SERVICE, KEYRING_USERNAME)] == UNKNOWN_TOKEN
    assert controller.settings.get(TOKEN_STORAGE) == "keyring"
    await quit_app(controller, run)
