"""The first page comes from the cache before any request is answered: an account's
window paints its cached calls while the service has not said a word."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
from PySide6.QtCore import QEvent, QObject

from desktop_app.app import TOKEN_ENV, AppController
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import TokenVault
from desktop_app.store import CallStore
from tests.helpers.builders import make_call
from tests.helpers.qt import wait_until
from tests.helpers.sign_in import MemoryKeyring
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import TIMEOUT, app_args

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")


class PaintWatch(QObject):
    """Resolves `painted` at the first Paint of the watched widget while `rows()` > 0."""

    def __init__(self, rows: Callable[[], int]) -> None:
        super().__init__()
        self._rows = rows
        self.painted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._rows() and not self.painted.done():
            self.painted.set_result(None)
        return False


async def test_an_accounts_cached_calls_are_painted_while_the_service_is_silent(
    desktop_home: AppPaths,
) -> None:
    with CallStore.open(desktop_home.database_file()) as store:
        store.upsert_calls([make_call("call-1"), make_call("call-2")])
    # A service that takes connections and never answers: nothing may wait for it.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:
        controller = AppController(
            app_args("--base-url", f"http://127.0.0.1:{silent.getsockname()[1]}"),
            desktop_home, environ={TOKEN_ENV: FAKE_TOKEN},
            vault=TokenVault(desktop_home.config_dir, backend=MemoryKeyring()),
        )
        run = asyncio.ensure_future(controller.run())
        await wait_until(lambda: controller.workspace is not None, TIMEOUT)
        ws = controller.workspace
        assert ws is not None
        watch = PaintWatch(ws.feed.model.rowCount)
        ws.feed.panel.table.viewport().installEventFilter(watch)
        ws.feed.panel.table.viewport().update()  # a paint after the filter is in place
        await asyncio.wait_for(watch.painted, TIMEOUT)
        assert ws.feed.model.rowCount() == 2
        ws.feed.panel.table.viewport().removeEventFilter(watch)

        ws.window.close()
        assert await asyncio.wait_for(run, TIMEOUT) == 0
