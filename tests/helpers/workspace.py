"""For the GUI tests that run a whole workspace: the `open_workspace` fixture (a real
workspace on a temporary home against the emulated service on loopback) and its type,
the demo app's arguments and service, and the first sync."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from desktop_app.sandbox import SandboxConfig
from tests.helpers.qt import wait_until

if TYPE_CHECKING:
    from desktop_app.sandbox import SandboxServer
    from desktop_app.sandbox.state import SandboxCall, SandboxState
    from desktop_app.services.paths import AppPaths
    from desktop_app.workspace import Workspace

#: How long a workspace may take to sync with the loopback service.
TIMEOUT = 15.0

#: ``async with open_workspace(server, **options) as workspace:``
WorkspaceOpener = Callable[..., contextlib.AbstractAsyncContextManager["Workspace"]]


async def first_sync(ws: Workspace) -> None:
    """The first sync has filled the feed and the engine is idle again."""
    await wait_until(
        lambda: ws.feed.model.rowCount() > 0 and ws.sync.presenter.status.state == "idle",
        TIMEOUT,
    )


async def sync_again(ws: Workspace, server: SandboxServer) -> None:
    """F5, and wait until that sync has finished (its listeners have run by then)."""
    before = len(server.state.requests_to("/search"))
    ws.window.refresh_action.trigger()
    await wait_until(
        lambda: len(server.state.requests_to("/search")) > before
        and ws.sync.presenter.status.state == "idle",
        TIMEOUT,
    )


def app_args(*argv: str) -> argparse.Namespace:
    """The app's command line, parsed as `__main__` parses it."""
    from desktop_app.app import parse_args

    return parse_args(list(argv))


def demo_config() -> SandboxConfig:
    """A small, quiet demo service (no rate limit, no live calls) for whole-app tests."""
    return SandboxConfig(seed=5, n_logs=300, rate_limit=None, live_calls_every=None)


# ------------------------------------------------------------------------------ fixtures
# The main window and feature tests run the real workspace (client, cache, sync engine,
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


def add_newest_call(state: SandboxState, **details: Any) -> SandboxCall:
    """A call that has just ended, injected as the newest of the service's calls.

    The demo's history runs up to "now": in its busy hours (Indian working hours) a
    call of it may have started less than a ring and a talk ago, later than one
    `SandboxState.add_call` makes by default; this one starts after every call there.
    """
    newest = max((call.start_time for call in state.calls), default=0)
    return state.add_call(start_time=max(newest + 1, int(state.clock()) - 120), **details)


@pytest.fixture
def open_workspace(desktop_home: AppPaths) -> WorkspaceOpener:
    """``async with open_workspace(server) as ws:`` a started, shown workspace; closed after.

    Keyword arguments: ``budget`` (default unlimited), ``client`` (default the canary
    token's on `server`), ``start``/``show`` (default True),
    ``whole`` (default True: the features built after the first paint are built at once,
    `Workspace.build_later`, as the workspace is once it has painted), `WorkspaceOptions`
    fields, and what `Workspace.open` takes. The settings and the
    window state are the home's files, as the app keeps them (``settings``/``state``
    replace them; ``Settings(MemoryBackend())`` keeps a test's settings to itself).
    """
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient, RetryPolicy
    from desktop_app.app import open_settings, open_state
    from desktop_app.services.settings import Settings
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
        whole: bool = True,
        client: MyOperatorClient | None = None,
        **arguments: Any,
    ) -> AsyncIterator[Workspace]:
        if client is None:
            client = MyOperatorClient(
                FAKE_TOKEN,
                base_url=server.base_url,
                budget=budget if budget is not None else RequestBudget.unlimited(),
                retry=RetryPolicy(attempts=2, backoff_base_s=0.05, backoff_cap_s=0.1),
            )
        options = {name: arguments.pop(name) for name in list(arguments) if name in option_names}
        options.setdefault("sync_interval_s", 3600.0)
        options.setdefault("remote_delay_ms", 50)
        arguments.setdefault("settings", Settings(open_settings(desktop_home)))
        arguments.setdefault("state", open_state(desktop_home))
        workspace = Workspace.open(
            client,
            CallStore.open(desktop_home.database_file()),
            recordings_dir=desktop_home.recordings_dir(),
            options=WorkspaceOptions(**options),
            **arguments,
        )
        try:
            if whole:
                workspace.build_later()
            if start:
                workspace.start(show=show)
                await wait_until(lambda: not workspace.starting)  # a feature per turn
            yield workspace
        finally:
            await workspace.aclose()
            workspace.window.close_now()
            workspace.window.deleteLater()

    return opener
