"""The type of tests/gui/conftest.py's `open_workspace` fixture, for the tests that use it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_app.app import Workspace

#: ``async with open_workspace(server, **options) as workspace:``
WorkspaceOpener = Callable[..., contextlib.AbstractAsyncContextManager["Workspace"]]
