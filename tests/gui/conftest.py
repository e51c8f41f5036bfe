"""GUI tests run their coroutines on a qasync loop over the one QApplication.

The loop and the ways to wait on Qt are in tests.helpers.qt; never call qtbot.waitSignal
inside a coroutine on the qasync loop: it deadlocks (qasync #59).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.qt import GuiTestLoop, qapplication
from tests.helpers.qt import collect_garbage_on_the_gui_thread as collect_garbage_on_the_gui_thread
from tests.helpers.qt import destroy_deleted_objects as destroy_deleted_objects
from tests.helpers.qt import keep_the_test_loop_running as keep_the_test_loop_running
from tests.helpers.recordings import downloader as downloader
from tests.helpers.recordings import mp3_source as mp3_source
from tests.helpers.workspace import WorkspaceOpener

if TYPE_CHECKING:
    from desktop_app.sandbox import SandboxServer
    from desktop_app.services.paths import AppPaths
    from desktop_app.workspace import Workspace


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": lambda: GuiTestLoop(qapplication())}


# ---------------------------------------------------------------- desktop app workspace
# The main window and log feed tests run the real workspace (client, cache, sync engine,
# presenters, window) against the emulated service on a loopback port.


@pytest.fixture
def desktop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    """Settings, cache and logs under a temporary home: tests never touch the real one."""
    from desktop_app.services.paths import HOME_ENV, app_paths

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return app_paths().ensure()


@pytest.fixture
def feed_sandbox() -> Iterator[SandboxServer]:
    """The emulated service, rate limit lifted, accepting the canary token (Admin)."""
    from desktop_app.sandbox import SandboxConfig, SandboxServer
    from tests.helpers.tokens import FAKE_TOKEN

    server = SandboxServer(
        SandboxConfig(seed=11, n_logs=800, days=30, tokens={FAKE_TOKEN: 2}, rate_limit=None)
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_workspace(desktop_home: AppPaths) -> WorkspaceOpener:
    """``async with open_workspace(server) as ws:`` a started, shown workspace; closed after.

    Keyword arguments: ``budget`` (default unlimited), ``start``/``show`` (default True),
    `WorkspaceOptions` fields, and what `Workspace.open` takes.
    """
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient, RetryPolicy
    from desktop_app.app import open_settings
    from desktop_app.services.dialer import DialerSettings
    from desktop_app.store import CallStore
    from desktop_app.workspace import Workspace, WorkspaceOptions
    from tests.helpers.tokens import FAKE_TOKEN

    option_names = set(WorkspaceOptions.__dataclass_fields__)

    @contextlib.asynccontextmanager
    async def opener(
        server: SandboxServer,
        *,
        budget: RequestBudget | None = None,
        start: bool = True,
        show: bool = True,
        **arguments: Any,
    ) -> AsyncIterator[Workspace]:
        client = MyOperatorClient(
            FAKE_TOKEN,
            base_url=server.base_url,
            budget=budget if budget is not None else RequestBudget.unlimited(),
            retry=RetryPolicy(attempts=2, backoff_base_s=0.05, backoff_cap_s=0.1),
        )
        options = {name: arguments.pop(name) for name in list(arguments) if name in option_names}
        options.setdefault("sync_interval_s", 3600.0)
        options.setdefault("remote_delay_ms", 50)
        arguments.setdefault("dialer_settings", DialerSettings.for_paths(desktop_home))
        workspace = Workspace.open(
            client,
            CallStore.open(desktop_home.database_file()),
            open_settings(desktop_home),
            recordings_dir=desktop_home.recordings_dir(),
            options=WorkspaceOptions(**options),
            **arguments,
        )
        try:
            if start:
                workspace.start(show=show)
            yield workspace
        finally:
            await workspace.aclose()
            workspace.window.close_now()
            workspace.window.deleteLater()

    return opener
