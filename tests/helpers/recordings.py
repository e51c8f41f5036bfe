"""A real mp3 for the player's tests and a downloader that serves it like the client does."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "recordings"
#: How long a real recording may take to download, load and play through.
TIMEOUT = 20.0


@pytest.fixture(scope="session")
def mp3_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real mp3: a sample recording of the project, or one spoken here by espeak-ng."""
    samples = sorted(RESOURCES.glob("*.mp3"))
    if samples:
        return samples[0]
    if not (shutil.which("espeak-ng") and shutil.which("lame")):
        pytest.skip("no sample recording and no espeak-ng/lame to make one")
    directory = tmp_path_factory.mktemp("mp3")
    wav, mp3 = directory / "sample.wav", directory / "sample.mp3"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "Thank you for calling. How can I help?"], check=True
    )
    subprocess.run(["lame", "--quiet", str(wav), str(mp3)], check=True)
    return mp3


class FileDownloader:
    """Serves a real mp3 the way the client writes it (``.part``, then rename).

    `failures` are raised by the next downloads, in order; `gate` holds downloads open.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.calls: list[str] = []
        self.failures: list[Exception] = []
        self.gate: asyncio.Event | None = None
        self.cancelled = 0

    async def download_recording(self, filename: str, destination: Path) -> Path:
        self.calls.append(filename)
        try:
            if self.gate is not None:
                await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.failures:
            raise self.failures.pop(0)
        partial = destination.with_name(destination.name + ".part")
        await asyncio.to_thread(shutil.copyfile, self.source, partial)
        os.replace(partial, destination)
        return destination


@pytest.fixture
def downloader(mp3_source: Path) -> FileDownloader:
    return FileDownloader(mp3_source)


