"""Regenerate the README's screenshots of the demo workspace (a real X server, no tray):

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshots.py

First the sign-in: docs/first-run.png, docs/first-run-token.png (a token the service
refused), docs/first-run-who.png ("Which user are you?") and docs/preferences.png, against
an emulated account with an obviously fake token and a keyring kept in memory. Then the
demo: docs/screenshot-light.png, docs/screenshot-dark.png,
docs/screenshot-users-dialer.png, docs/screenshot-missed-calls.png, docs/banners-1024x700.png
and docs/dnd-on.png (do not disturb on for 12 minutes, by the workspace's clock). Everything
lives under a temporary MYOPERATOR_DESKTOP_HOME and runtime directory; the emulated service
places the one call the dialer scene makes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_scratch = tempfile.mkdtemp(prefix="myoperator-screenshots-")
os.environ["MYOPERATOR_DESKTOP_HOME"] = str(Path(_scratch) / "home")
os.environ["MYOPERATOR_DESKTOP_RUNTIME_DIR"] = str(Path(_scratch) / "run")

import qasync  # noqa: E402
from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QPainter, QPalette, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from desktop_app.app import AppController, parse_args  # noqa: E402
from desktop_app.runtime.binding import binding_defect  # noqa: E402
from desktop_app.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from desktop_app.services.clock import ManualClock  # noqa: E402
from desktop_app.services.paths import app_paths  # noqa: E402
from desktop_app.services.secrets import TokenVault  # noqa: E402
from desktop_app.store.calls import CallRow  # noqa: E402
from desktop_app.ui.common.theme import ThemeManager, ThemeMode  # noqa: E402
from desktop_app.workspace import Workspace, WorkspaceOptions  # noqa: E402
from tests.helpers.sign_in import MemoryKeyring  # noqa: E402 (an in-memory keyring)

DOCS = ROOT / "docs"
SIZE = (1360, 860)


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a script polling Qt-side state
            await asyncio.sleep(0.05)


async def settle() -> None:
    """Let Qt lay out and paint what changed."""
    for _ in range(6):
        await asyncio.sleep(0.05)
        QApplication.processEvents()


async def shoot(ws: Workspace | QWidget, name: str, *, title_bar: bool = False) -> None:
    """Save the window; with `title_bar`, under a plain bar showing its title (Xvfb has no
    window manager to draw one)."""
    await settle()
    path = DOCS / name
    widget = ws.window if isinstance(ws, Workspace) else ws
    image = widget.grab()
    if title_bar:
        image = with_title_bar(image, widget.windowTitle(), widget.palette())
    if not image.save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")


def with_title_bar(image: QPixmap, title: str, palette: QPalette) -> QPixmap:
    height = 30
    framed = QPixmap(image.width(), image.height() + height)
    framed.fill(palette.color(QPalette.ColorRole.Window).darker(115))
    painter = QPainter(framed)
    font = painter.font()
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.WindowText))
    painter.drawText(QRect(0, 0, image.width(), height), Qt.AlignmentFlag.AlignCenter, title)
    painter.drawPixmap(0, height, image)
    painter.end()
    return framed


def select_feed_row(ws: Workspace, predicate: Callable[[object], bool]) -> None:
    for row in range(min(ws.feed.model.rowCount(), 40)):
        call = ws.feed.model.row_at(row)
        if call is not None and predicate(call):
            ws.feed.panel.table.selectRow(row)
            return


async def scenes(controller: AppController, theme: ThemeManager, clock: ManualClock) -> None:
    await until(lambda: controller.workspace is not None)
    ws = controller.workspace
    assert ws is not None and ws.sandbox is not None
    window = ws.window
    window.resize(*SIZE)
    await until(lambda: ws.feed.model.rowCount() > 30 and ws.sync.presenter.status.state == "idle")
    users = ws.users.presenter
    await until(lambda: users.model.rowCount() > 0 and not users.refreshing)
    await until(lambda: not ws.feed.presenter.remote_pending)

    # The log feed with an answered call's detail (light).
    ws.notifications.banner.clear()
    ws.notifications.banner.set_notice("")
    select_feed_row(ws, lambda c: isinstance(c, CallRow) and c.answered and c.has_recording)
    await shoot(ws, "screenshot-light.png")

    # Do not disturb, on for 12 minutes: the status bar and the title say so.
    dnd = ws.notifications.presenter
    dnd.set_dnd(True, False)
    await until(lambda: dnd.dnd.state.on)
    clock.advance(12 * 60)
    dnd.update_indicator()
    await shoot(ws, "dnd-on.png", title_bar=True)
    dnd.set_dnd(False, False)
    await until(lambda: not dnd.dnd.state.on)

    # Users and dialer: "me" chosen, one call placed, the next number from a tel: link.
    agents = [u for u in ws.users.service.users() if u.is_enabled is not False]
    me = next((u for u in agents if u.role is not None and u.role.label == "Basic"), agents[0])
    ws.users.presenter.set_my_uuid(me.uuid)
    window.show_dock(window.users_dock)
    other = next(u for u in agents if u.uuid != me.uuid and u.number_e164)
    ws.users.panel.select_user(other.uuid)
    ws.actions.open_links(["tel:+91-98123-45678"])
    ws.dialer.panel.call_button.click()
    state = ws.sandbox.state
    await until(lambda: bool(state.requests_to("/clickOcall")))
    await until(lambda: not ws.dialer.presenter.busy)
    ws.actions.open_links(["tel:+91-80-4567-1234"])
    await shoot(ws, "screenshot-users-dialer.png")

    # Missed calls: one arrives while the app is open; the callback list and the banner.
    window.show_dock(window.feed_dock)
    window.show_dock(window.detail_dock)
    ws.notifications.banner.set_notice("The system tray is unavailable; notifications appear here.")
    for minutes_ago in (15, 0):  # a first try (dismissed), then the second one
        missed = state.add_call(answered=False, incoming=True, caller_number="9837211131",
                                department="Sales", start_time=state.clock() - 60 * minutes_ago)
        before = len(state.requests_to("/search"))
        window.refresh_action.trigger()
        await until(lambda n=before: len(state.requests_to("/search")) > n
                    and ws.sync.presenter.status.state == "idle")
        await until(lambda i=missed.id: any(getattr(c.note, "call_id", "") == i
                                            for c in ws.notifications.banner.cards))
        if minutes_ago:
            ws.notifications.banner.cards[0].dismiss_button.click()
    await until(lambda: ws.callbacks.panel.select_number("+919837211131"))
    ws.feed.select_call(missed.id)
    await shoot(ws, "screenshot-missed-calls.png")

    # Several missed calls at 1024×700: one card stays put, the rest drop down over the
    # feed (which keeps its rows), "Dismiss all" beside them.
    ws.notifications.banner.clear()
    window.resize(1024, 700)
    before = len(state.requests_to("/search"))
    arrived = [
        state.add_call(answered=False, incoming=True, caller_number=number,
                       department=department, start_time=state.clock() - 60 * minutes_ago)
        for number, department, minutes_ago in (
            ("9812300017", "Support", 3), ("8047112233", "Sales", 2), ("9900112244", "Sales", 1),
            ("7022334455", "Billing", 0),
        )
    ]
    window.refresh_action.trigger()
    await until(lambda: len(state.requests_to("/search")) > before
                and ws.sync.presenter.status.state == "idle")
    await until(lambda: len(ws.notifications.banner.cards) >= len(arrived))
    ws.notifications.banner.set_expanded(True)
    await shoot(ws, "banners-1024x700.png")
    ws.notifications.banner.set_expanded(False)
    window.resize(*SIZE)

    # The same window in the dark theme, as an agent leaves it.
    ws.notifications.banner.clear()
    ws.notifications.banner.set_notice("")
    theme.set_mode(ThemeMode.DARK)
    select_feed_row(ws, lambda c: isinstance(c, CallRow) and not c.answered)
    await shoot(ws, "screenshot-dark.png")

    window.quit_action.trigger()


#: Obviously fake, 32 hex characters like a real token: the emulated account's.
SHOWN_TOKEN = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"


async def sign_in_scenes(controller: AppController, server: SandboxServer) -> None:
    await until(lambda: controller.first_run is not None)
    window = controller.first_run
    assert window is not None
    window.move(40, 40)
    await shoot(window, "first-run.png", title_bar=True)

    window.connect_button.click()
    form = window.token_form
    form.field.setText("0123456789abcdef0123456789abcdef")
    form.submit_button.click()
    await until(lambda: form.submit_button.isEnabled() and "accept" in form.message.text())
    await shoot(window, "first-run-token.png", title_bar=True)

    form.field.setText(f"  {SHOWN_TOKEN}\n")
    form.submit_button.click()
    await until(lambda: window.page == "profile")
    window.me_picker.set_current(server.state.users[2].uuid)
    await shoot(window, "first-run-who.png", title_bar=True)
    window.finish_button.click()

    await until(lambda: controller.workspace is not None)
    ws = controller.workspace
    assert ws is not None
    await until(lambda: ws.users.service.users() != ())
    ws.preferences.open()
    dialog = ws.preferences.dialog
    dialog.resize(860, 640)
    await shoot(dialog, "preferences.png", title_bar=True)
    ws.window.quit_action.trigger()


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    defect = binding_defect()
    if defect is not None:
        raise SystemExit(defect)
    os.environ.pop("MYOPERATOR_TOKEN", None)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("MyOperator Desktop")
    theme = ThemeManager(app, ThemeMode.LIGHT)
    theme.apply()
    paths = app_paths().ensure()
    config = SandboxConfig(seed=7, n_logs=3000, live_calls_every=None)
    # How long DND has been on is read from this clock, which the scenes move by hand.
    clock = ManualClock(time.time())
    controller = AppController(parse_args(["--demo"]), paths, theme=theme, environ={},
                               sandbox_config=config,
                               workspace_options=WorkspaceOptions(clock=clock))

    # The sign-in scenes' account (started first: its port goes on the command line).
    server = SandboxServer(SandboxConfig(seed=7, n_logs=400, live_calls_every=None,
                                         tokens={SHOWN_TOKEN: 2}, rate_limit=None)).start()
    vault = TokenVault(paths.config_dir, backend=MemoryKeyring())
    sign_in = AppController(parse_args(["--base-url", server.base_url]), paths, theme=theme,
                            environ={}, vault=vault)

    async def run() -> int:
        # Closing the sign-in's last window must not end the loop before the demo.
        app.setQuitOnLastWindowClosed(False)
        shots = asyncio.ensure_future(sign_in_scenes(sign_in, server))
        code = await sign_in.run()
        await shots
        server.stop()
        app.setQuitOnLastWindowClosed(True)
        shots = asyncio.ensure_future(scenes(controller, theme, clock))
        code = await controller.run() or code
        await shots
        return code

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(run())


if __name__ == "__main__":
    sys.exit(main())
