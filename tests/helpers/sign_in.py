"""The first-run window and its token form, driven as a person would, and keyrings that
work in memory or hang (the real Secret Service has its own fixture:
tests.helpers.secret_service)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import keyring.backend
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from desktop_app.app import AppController
from desktop_app.sandbox import SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import TokenVault
from desktop_app.ui.onboarding.window import PAGE_TOKEN, PAGE_WELCOME, FirstRunWindow
from tests.helpers.qt import wait_until
from tests.helpers.secret_service import unregistered
from tests.helpers.workspace import app_args, demo_config

TIMEOUT = 15.0
#: Well-shaped, and not a token the emulated service knows.
UNKNOWN_TOKEN = "0123456789abcdef0123456789abcdef"


@unregistered
class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that works, in memory (the real Secret Service has its own tests)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


@unregistered
class HangingKeyring(keyring.backend.KeyringBackend):
    """A locked collection whose unlock prompt nobody answers."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    yield backend
    backend.release.set()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def controller_for(
    home: AppPaths, base_url: str, vault: TokenVault, environ: dict[str, str] | None = None
) -> AppController:
    return AppController(
        app_args("--base-url", base_url), home, environ=environ or {}, vault=vault,
        sandbox_config=demo_config(), demo_service=SandboxServer,
    )


async def shown_first_run(controller: AppController) -> FirstRunWindow:
    await wait_until(lambda: controller.first_run is not None, TIMEOUT)
    window = controller.first_run
    assert window is not None and window.isVisible()
    return window


async def submit_token(window: FirstRunWindow, text: str) -> None:
    if window.page == PAGE_WELCOME:
        QTest.mouseClick(window.connect_button, Qt.MouseButton.LeftButton)
    assert window.page == PAGE_TOKEN
    form = window.token_form
    paste_into(form.field, text)
    QTest.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)


def paste_into(field: QLineEdit, text: str) -> None:
    """Replace the field's text as a person does: select all, paste from the clipboard
    (a pasted token brings its spaces, quotes and newline along)."""
    field.setFocus()
    field.selectAll()
    QApplication.clipboard().setText(text)
    QTest.keySequence(field, QKeySequence(QKeySequence.StandardKey.Paste))
    if not text:
        field.clear()


async def settled(window: FirstRunWindow) -> str:
    """Wait until the token check has answered; its sentence."""
    form = window.token_form
    await wait_until(
        lambda: form.submit_button.isEnabled() or window.page != PAGE_TOKEN
        or not form.storage.isHidden(),
        TIMEOUT,
    )
    return form.message.text()


async def quit_app(controller: AppController, run: asyncio.Future[int]) -> None:
    controller.request_quit()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
