"""Click Play to audio position > 0, for a recording not yet cached and for a cached one.

The emulated service runs in a separate process on loopback (no added latency, rate limit
lifted). The app side is the real workspace (`Workspace.open`, window shown off screen):
its call detail panel, `RecordingController`, `RecordingCache` (an empty temporary
directory) and the client (budget lifted), and the player widget's QMediaPlayer (FFmpeg
backend; with no sound device it still plays and its position advances).

For each run a different call with a recording is shown in the detail panel
(`CallDetailPanel.show_call`, what selecting it in the feed does); the clock starts when
the player's Play button is clicked (``QPushButton.click``) and stops at the first
``QMediaPlayer.positionChanged`` with a position above 0.

- *uncached*: Play fetches a fresh link, downloads the file over loopback, hands it to the
  player and starts it;
- *cached*: the same calls again: the file is on disk, so showing the call loads it into
  the player at once (autoplay off); Play is clicked once that load finished, as a user
  would click after looking at the call (waits at most 1 s for it).

The first play of the process (the backend and the audio output starting up) is a warm-up,
shown apart. Playback is stopped and the call deselected between runs. The measurement
runs in a child process with a deadline, so a stuck player cannot hang the suite.

    .venv/bin/python bench/bench_playback.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _support

if TYPE_CHECKING:
    from desktop_app.api.models import CallLog
    from desktop_app.workspace import Workspace

UNCACHED_TARGET_MS = 300.0
CACHED_TARGET_MS = 100.0
MARK = "BENCH_PLAYBACK "


async def click_to_audio(workspace: Workspace, call: CallLog, *, cached: bool) -> float:
    """Show `call`, click Play, return the seconds until the position passed 0."""
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtWidgets import QPushButton

    from desktop_app.ui.call_detail.presenter import RecordingState

    detail = workspace.call_detail.panel
    player = detail.player.player
    button = detail.findChild(QPushButton, "playerPlayPause")
    assert button is not None, "the player's Play button (playerPlayPause) is gone"
    loop = asyncio.get_running_loop()

    detail.show_call(call)
    expected = RecordingState.READY if cached else RecordingState.AVAILABLE
    recordings = workspace.call_detail.recordings
    if recordings.state is not expected:
        raise RuntimeError(f"{call.id}: recording {recordings.state}, not {expected}")
    if cached:
        loaded: asyncio.Future[None] = loop.create_future()

        def on_status(status: QMediaPlayer.MediaStatus) -> None:
            if status == QMediaPlayer.MediaStatus.LoadedMedia and not loaded.done():
                loaded.set_result(None)

        player.mediaStatusChanged.connect(on_status)
        if player.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia:
            loaded.set_result(None)
        try:
            async with asyncio.timeout(1.0):
                await loaded
        except TimeoutError:
            pass
        finally:
            player.mediaStatusChanged.disconnect(on_status)
    else:
        await asyncio.sleep(0.05)

    playing: asyncio.Future[float] = loop.create_future()

    def on_position(position: int) -> None:
        if position > 0 and not playing.done():
            playing.set_result(time.perf_counter())

    player.positionChanged.connect(on_position)
    try:
        clicked = time.perf_counter()
        button.click()
        async with asyncio.timeout(10):
            reached = await playing
    finally:
        player.positionChanged.disconnect(on_position)
    detail.show_call(None)  # stops playback and lets go of the file
    await asyncio.sleep(0.1)
    return reached - clicked


async def measure(base_url: str, runs: int) -> dict[str, Any]:
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient

    async with MyOperatorClient(
        _support.DEMO_TOKEN, base_url=base_url, budget=RequestBudget.unlimited()
    ) as lister:
        page = await lister.search_logs(page_size=100, end=int(time.time()) - 3600)
    calls = [c for c in page.logs if c.has_recording and c.filename]
    calls = list({c.filename: c for c in calls}.values())[: runs + 1]
    if len(calls) < runs + 1:
        raise SystemExit(f"only {len(calls)} calls with recordings")

    with tempfile.TemporaryDirectory(prefix="bench-playback-") as tmp:
        workspace = _support.open_workspace(base_url, Path(tmp), sync_interval_s=3600.0)
        try:
            shown = _support.paint_after(workspace.window)
            workspace.window.show()
            await shown
            warm_up = await click_to_audio(workspace, calls[0], cached=False)
            uncached = [await click_to_audio(workspace, c, cached=False) for c in calls[1:]]
            cached = [await click_to_audio(workspace, c, cached=True) for c in calls[1:]]
        finally:
            await _support.close_workspace(workspace)
    return {"warm_up": warm_up, "uncached": uncached, "cached": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = _support.run_in_app(lambda: measure(args.child, args.runs))
        print(MARK + json.dumps(result), flush=True)
        return

    with _support.sandbox_process(logs=500) as base_url:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", base_url, "--runs", str(args.runs)],
            capture_output=True, text=True, timeout=120, check=False,
            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"the playback run failed (exit code {proc.returncode})")
    result = json.loads(lines[-1][len(MARK):])

    note = f"{args.runs} runs"
    _support.report(
        "click Play → audio position > 0, uncached recording (median)",
        _support.median(result["uncached"]) * 1000, UNCACHED_TARGET_MS, "ms", note=note,
    )
    _support.info("runs", _support.ms_list(result["uncached"]))
    _support.info("first play of the process (warm-up, uncached)",
                  f"{result['warm_up'] * 1000:.0f} ms")
    _support.report(
        "click Play → audio position > 0, cached recording (median)",
        _support.median(result["cached"]) * 1000, CACHED_TARGET_MS, "ms", note=note,
    )
    _support.info("runs", _support.ms_list(result["cached"]))


if __name__ == "__main__":
    main()
