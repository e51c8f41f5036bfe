"""Regenerate docs/screen-pop.png: a call ringing for the agent, through the team relay.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshot_screen_pop.py

A real Redis and relay process, the emulated service behind it, and the desktop's
workspace connected through the relay as "Priya Sharma"; a customer who called twice
before (once missed) rings for her and a colleague. Everything lives in a temporary
folder; the tokens are the emulated service's fake ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_scratch = Path(tempfile.mkdtemp(prefix="myoperator-screen-pop-"))
os.environ["MYOPERATOR_DESKTOP_HOME"] = str(_scratch / "home")
os.environ["MYOPERATOR_DESKTOP_RUNTIME_DIR"] = str(_scratch / "run")

import httpx  # noqa: E402
import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.api.budget import RequestBudget  # noqa: E402
from desktop_app.api.client import MyOperatorClient  # noqa: E402
from desktop_app.app import open_settings, open_state  # noqa: E402
from desktop_app.relay.client import EventStream  # noqa: E402
from desktop_app.relay.engine import RelayEngine  # noqa: E402
from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer  # noqa: E402
from desktop_app.sandbox.webhooks import after_call_payload  # noqa: E402
from desktop_app.services.paths import app_paths  # noqa: E402
from desktop_app.services.settings import Settings  # noqa: E402
from desktop_app.store import CallStore  # noqa: E402
from desktop_app.ui.common.theme import ThemeManager, ThemeMode  # noqa: E402
from desktop_app.workspace import Workspace, WorkspaceOptions  # noqa: E402
from tests.helpers.processes import read_json_line  # noqa: E402
from tests.helpers.redis_server import RedisServer  # noqa: E402

OUT = ROOT / "docs" / "screen-pop.png"
SECRET = "screenshot-hook-secret-0123456789"
CUSTOMER = "9811100123"


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a script polling Qt-side state
            await asyncio.sleep(0.05)


async def scene(relay_url: str, redis_url: str, server: SandboxServer) -> None:
    engine = RelayEngine.from_url(redis_url)
    credential = await engine.issue_credential("Priya Sharma")
    await engine.aclose()
    state = server.state
    me, colleague = state.users[0], state.users[1]
    paths = app_paths().ensure()
    client = MyOperatorClient(
        credential, base_url=relay_url + "/v1/myoperator", budget=RequestBudget.unlimited(),
        as_bearer=True,
    )
    ws = Workspace.open(
        client, CallStore.open(paths.database_file()), Settings(open_settings(paths)),
        state=open_state(paths), recordings_dir=paths.recordings_dir(),
        options=WorkspaceOptions(restore_layout=False),
        relay=lambda position, backfill: EventStream(
            relay_url, credential, last_event_id=position, backfill_s=backfill
        ),
    )
    ws.shared.me.set(me.uuid)
    ws.build_later()
    ws.start()
    ws.window.setGeometry(0, 0, 1400, 900)
    try:
        await until(lambda: ws.sync.presenter.status.last_success is not None)
        newest = max(call.start_time for call in state.calls)
        missed = state.add_call(start_time=newest + 1, answered=False, caller_number=CUSTOMER)
        answered = state.add_call(
            start_time=newest + 400, answered=True, caller_number=CUSTOMER,
            agent_uuid=me.uuid, talk_s=185,
        )
        hooks = f"{relay_url}/hooks/{SECRET}"
        async with httpx.AsyncClient(timeout=10) as http:
            for call in (missed, answered):
                await http.post(f"{hooks}/after-call", json=after_call_payload(call))
            await until(lambda: ws.store.get(answered.id) is not None)
            await http.post(f"{hooks}/in-call", json={
                "uid": "live-screenshot", "clid": "+91" + CUSTOMER, "call_state": 0,
                "users": [{"name": u.name, "user_id": u.uuid, "extension": u.extension}
                          for u in (me, colleague)],
            })
        pop = ws.screen_pop
        assert pop is not None
        await until(lambda: pop.panel.isVisible())
        pop.panel.note.setPlainText("Asked for the May invoice again; prefers calls after 4 pm.")
        await asyncio.sleep(0.5)  # laid out and painted (the loop runs Qt's events)
        screen = QApplication.primaryScreen().grabWindow(0)
        if not screen.save(str(OUT)):
            raise RuntimeError(f"could not write {OUT}")
        print(f"wrote {OUT.relative_to(ROOT)}")
    finally:
        await ws.aclose()
        ws.window.close_now()


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("MyOperator Desktop")
    ThemeManager(app, ThemeMode.LIGHT).apply()
    (_scratch / "redis").mkdir()
    redis_server = RedisServer(_scratch / "redis").start()
    server = SandboxServer(SandboxConfig(seed=7, n_logs=1500, live_calls_every=None,
                                         rate_limit=None, now=time.time() - 3600)).start()
    environ = {
        **os.environ, "MYOPERATOR_RELAY_HOOK_SECRET": SECRET, "MYOPERATOR_TOKEN": DEMO_TOKEN,
        "MYOPERATOR_BASE_URL": server.base_url, "MYOPERATOR_RELAY_REDIS": redis_server.url,
    }
    relay = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.cli", "relay", "--port", "0", "--json"],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        relay_url = read_json_line(relay)["relay"]
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            runner.run(scene(relay_url, redis_server.url, server))
    finally:
        relay.terminate()
        relay.communicate(timeout=10)
        server.stop()
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
