"""A call cache damaged while the app was closed: the account opens anyway, on a fresh
cache, and says so; the damaged file is set aside, never used and never lost.

The cache's pages are checked on a worker thread while the window is built (not before,
which cost 0.1 s of every open at 100,000 calls), so the damage is met in one of two
places: by the check (damage the window's build does not read), or by the build itself
(damage in what it reads). Both end the same way."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
import shiboken6

from desktop_app.sandbox import SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.services.secrets import KEYRING_SERVICE, KEYRING_USERNAME, TokenVault
from desktop_app.services.settings import ME, TOKEN_STORAGE
from desktop_app.workspace import Workspace
from tests.helpers.damage import filled_cache, scribble_over
from tests.helpers.qt import wait_until
from tests.helpers.sign_in import TIMEOUT, MemoryKeyring, controller_for, quit_app
from tests.helpers.tokens import FAKE_TOKEN

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")


@pytest.mark.parametrize(
    ("damaged", "met_by"),
    [
        ("calls_number", "the check"),  # an index the window's build never reads
        ("meta", "the build"),  # what the missed-call notifier reads while it is built
    ],
)
async def test_a_damaged_cache_is_set_aside_and_the_account_opens_on_a_fresh_one(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture,
    damaged: str, met_by: str,
) -> None:
    db = desktop_home.database_file()
    db.parent.mkdir(parents=True, exist_ok=True)
    filled_cache(db)
    scribble_over(db, damaged)
    built: list[Workspace] = []
    original_open = Workspace.open.__func__  # type: ignore[attr-defined]

    def counting_open(cls: type[Workspace], *args: object, **kwargs: object) -> Workspace:
        workspace = original_open(cls, *args, **kwargs)
        built.append(workspace)
        return workspace  # type: ignore[no-any-return]

    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, FAKE_TOKEN)
    controller = controller_for(
        desktop_home, feed_sandbox.base_url, TokenVault(desktop_home.config_dir, backend=backend)
    )
    controller.settings.set(TOKEN_STORAGE, "keyring")
    controller.settings.set(ME, feed_sandbox.state.users[0].uuid)
    caplog.set_level(logging.WARNING, logger="desktop_app.app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Workspace, "open", classmethod(counting_open))
        run = asyncio.ensure_future(controller.run())
        await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    workspace = controller.workspace
    assert workspace is not None and workspace.window.isVisible()

    set_aside = list(db.parent.glob(db.name + ".corrupt-*"))
    assert [file.name for file in set_aside if not file.name.endswith(("-wal", "-shm"))]
    assert workspace.store.moved_aside is not None
    assert "call cache was damaged" in workspace.window.statusBar().currentMessage()
    assert any("call cache is damaged" in r.getMessage() for r in caplog.records)
    if met_by == "the check":
        # Built once over the damaged file (never shown, closed), once over the fresh one.
        assert len(built) == 2 and built[0] is not workspace
        first = built[0]
        assert not shiboken6.isValid(first.window) or not first.window.isVisible()
        with pytest.raises(sqlite3.ProgrammingError):  # its cache connection was closed
            first.store.count()
    else:
        assert built == [workspace]  # the first build failed part way: nothing returned
    # The fresh cache fills from the service, as after a first sign-in.
    await wait_until(lambda: workspace.store.count() > 0, TIMEOUT)
    await quit_app(controller, run)


async def test_a_sound_cache_opens_once_and_is_not_touched(
    desktop_home: AppPaths, feed_sandbox: SandboxServer
) -> None:
    db = desktop_home.database_file()
    db.parent.mkdir(parents=True, exist_ok=True)
    filled_cache(db)
    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, FAKE_TOKEN)
    controller = controller_for(
        desktop_home, feed_sandbox.base_url, TokenVault(desktop_home.config_dir, backend=backend)
    )
    controller.settings.set(TOKEN_STORAGE, "keyring")
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    workspace = controller.workspace
    assert workspace is not None
    assert workspace.store.moved_aside is None
    assert not list(db.parent.glob(db.name + ".corrupt-*"))
    assert workspace.store.count() >= 2000  # the cached calls are all there
    assert "damaged" not in workspace.window.statusBar().currentMessage()
    await quit_app(controller, run)
