"""For the GUI tests that run a whole workspace: the type of tests/gui/conftest.py's
`open_workspace` fixture, the demo app's arguments and service, and the first sync."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from desktop_app.sandbox import SandboxConfig
from tests.helpers.qt import wait_until

if TYPE_CHECKING:
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


def app_args(*argv: str) -> argparse.Namespace:
    """The app's command line, parsed as `__main__` parses it."""
    from desktop_app.app import parse_args

    return parse_args(list(argv))


def demo_config() -> SandboxConfig:
    """A small, quiet demo service (no rate limit, no live calls) for whole-app tests."""
    return SandboxConfig(seed=5, n_logs=300, rate_limit=None, live_calls_every=None)
