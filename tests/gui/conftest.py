"""GUI tests run their coroutines on a qasync loop over the one QApplication (the hook
below; a hook has to live in a conftest). Everything else here only registers fixtures
defined in tests.helpers.

The loop and the ways to wait on Qt are in tests.helpers.qt; never call qtbot.waitSignal
inside a coroutine on the qasync loop: it deadlocks (qasync #59).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest

from tests.helpers.qt import GuiTestLoop, qapplication
from tests.helpers.qt import collect_garbage_on_the_gui_thread as collect_garbage_on_the_gui_thread
from tests.helpers.qt import destroy_deleted_objects as destroy_deleted_objects
from tests.helpers.qt import keep_the_test_loop_running as keep_the_test_loop_running
from tests.helpers.recordings import downloader as downloader
from tests.helpers.recordings import mp3_source as mp3_source
from tests.helpers.secret_service import secret_keyring as secret_keyring
from tests.helpers.secret_service import secret_service as secret_service
from tests.helpers.workspace import desktop_home as desktop_home
from tests.helpers.workspace import feed_sandbox as feed_sandbox
from tests.helpers.workspace import open_workspace as open_workspace


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": lambda: GuiTestLoop(qapplication())}
