"""'Save as…' through the recording presenter: the copy is atomic and never written
through a link; a folder chosen as the target receives the file under a name a person can
read; the folder chosen is where the next "Save as…" opens, after a restart too.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from desktop_app.services.paths import HOME_ENV, SaveFolders
from desktop_app.services.recordings import RecordingCache, suggested_recording_name
from desktop_app.ui.call_detail.presenter import RecordingController, RecordingState
from tests.helpers.builders import make_call
from tests.helpers.qt import signal_future

TIMEOUT = 10.0
AUDIO = b"ID3 recorded audio" * 64


class CopyDownloader:
    async def download_recording(self, filename: str, destination: Path) -> Path:
        await asyncio.to_thread(destination.write_bytes, AUDIO)
        return destination


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    (tmp_path / "home" / "Downloads").mkdir(parents=True)
    return tmp_path / "home"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


async def ready_controller(tmp_path: Path, settings: QSettings) -> RecordingController:
    cache = RecordingCache(tmp_path / "recordings", downloader=CopyDownloader())
    await cache.get("rec-1.mp3")
    controller = RecordingController(cache, folders=SaveFolders(settings))
    controller.load_call(make_call())
    assert controller.state is RecordingState.READY
    return controller


@pytest.fixture
async def controller(tmp_path: Path, home: Path, settings: QSettings) -> RecordingController:
    return await ready_controller(tmp_path, settings)


async def test_saving_into_a_folder_writes_the_recording_inside_it(
    tmp_path: Path, controller: RecordingController
) -> None:
    folder = tmp_path / "Music"
    folder.mkdir()
    saved = signal_future(controller.saved)
    failed = signal_future(controller.saveFailed)

    controller.save_to(folder)
    done, _ = await asyncio.wait({saved, failed}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")

    assert done == {saved}, failed.result() if failed.done() else "timed out"
    readable = suggested_recording_name(make_call())  # not the service's "rec-1.mp3"
    assert saved.result() == (str(folder / readable),)
    assert sorted(p.name for p in folder.iterdir()) == [readable]
    assert (folder / readable).read_bytes() == AUDIO


async def test_save_as_starts_in_downloads_then_where_the_last_copy_went(
    tmp_path: Path, home: Path, settings: QSettings, controller: RecordingController
) -> None:
    readable = suggested_recording_name(make_call())
    assert controller.suggested_path == str(home / "Downloads" / readable)
    calls = tmp_path / "Calls"
    calls.mkdir()
    offered = signal_future(controller.suggestedPathChanged)
    saved = signal_future(controller.saved)

    controller.save_to(calls / "kept.mp3")

    assert await asyncio.wait_for(saved, TIMEOUT) == (str(calls / "kept.mp3"),)
    assert await asyncio.wait_for(offered, TIMEOUT) == (str(calls / readable),)
    settings.sync()
    again = await ready_controller(tmp_path, QSettings(settings.fileName(), settings.format()))
    assert again.suggested_path == str(calls / readable)  # remembered across a restart


async def test_saving_over_a_link_replaces_the_link_not_its_target(
    tmp_path: Path, controller: RecordingController
) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_bytes(b"someone's notes")
    link = tmp_path / "kept.mp3"
    link.symlink_to(precious)
    saved = signal_future(controller.saved)

    controller.save_to(link)

    assert await asyncio.wait_for(saved, TIMEOUT) == (str(link),)
    assert precious.read_bytes() == b"someone's notes"
    assert not link.is_symlink() and link.read_bytes() == AUDIO


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_saving_onto_a_pipe_is_refused_in_one_sentence(
    tmp_path: Path, controller: RecordingController
) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    failed = signal_future(controller.saveFailed)

    controller.save_to(pipe)

    (sentence,) = await asyncio.wait_for(failed, TIMEOUT)
    assert sentence == f"The recording could not be saved to {pipe}: pipe is not a regular file."
    left = sorted(set(os.listdir(tmp_path)) - {"home", "settings.ini"})
    assert left == ["pipe", "recordings"]  # no partial copy beside the pipe
