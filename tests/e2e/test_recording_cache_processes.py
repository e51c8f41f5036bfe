"""Two app instances sharing one recording cache, each a real process with the real client,
downloading the same recording from the emulated service on loopback at the same time.

The other instance's download is slowed by the sandbox (``slow`` fault on its media
request) so it is still writing when this process starts its own cache and downloads.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import desktop_app
from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.sandbox import SandboxConfig, SandboxServer
from desktop_app.services.recordings import PART_SUFFIX, RecordingCache, partial_writer
from tests.helpers.tokens import FAKE_TOKEN

NOW = 1_700_000_000.0
TIMEOUT_S = 60.0

OTHER_INSTANCE = r"""
import asyncio, os, sys
from pathlib import Path
from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.services.recordings import RecordingCache

async def main():
    directory, base_url, name = sys.argv[1:4]
    async with MyOperatorClient(
        os.environ["MYOPERATOR_TOKEN"], base_url=base_url, budget=RequestBudget.unlimited()
    ) as client:
        path = await RecordingCache(Path(directory), downloader=client).get(name)
        print(path.name, path.stat().st_size, flush=True)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def recording_server() -> Iterator[SandboxServer]:
    # A fixed clock: every generated call ended long enough ago for its recording.
    config = SandboxConfig(
        n_logs=50, days=2, now=NOW, clock=lambda: NOW + 3600, rate_limit=None,
        tokens={FAKE_TOKEN: 2},
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
async def client(recording_server: SandboxServer) -> AsyncIterator[MyOperatorClient]:
    async with MyOperatorClient(
        FAKE_TOKEN, base_url=recording_server.base_url, budget=RequestBudget.unlimited()
    ) as api:
        yield api


async def start_other_instance(
    directory: Path, server: SandboxServer, name: str
) -> asyncio.subprocess.Process:
    env = dict(
        os.environ,
        MYOPERATOR_TOKEN=FAKE_TOKEN,
        PYTHONPATH=str(Path(desktop_app.__file__).parents[1]),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_INSTANCE, str(directory), server.base_url, name,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def wait_for_its_partial_file(directory: Path, process: asyncio.subprocess.Process) -> None:
    """Until the other process's download has started writing its own partial file."""

    def writing() -> bool:
        return any(
            name.endswith(PART_SUFFIX) and (w := partial_writer(name)) and w.pid == process.pid
            for name in os.listdir(directory)
        )

    async with asyncio.timeout(TIMEOUT_S):
        while not writing():  # another process's file: there is no event to await
            if process.returncode is not None:
                _out, err = await process.communicate()
                pytest.fail(f"the other instance ended early: {err.decode()[-2000:]}")
            await asyncio.sleep(0.01)


async def test_two_instances_download_one_recording_at_once_and_both_succeed(
    tmp_path: Path, recording_server: SandboxServer, client: MyOperatorClient
) -> None:
    state = recording_server.state
    name = next(c.filename for c in state.calls if c.filename)
    audio = state.recordings.audio_for(name)
    cache_dir = tmp_path / "recordings"
    cache_dir.mkdir()
    # About 2 s for its body: it is still writing while this process does everything below.
    state.faults.add(f"slow:path=/media/{name},count=1,chunk={len(audio) // 10 + 1},ms=200")

    other = await start_other_instance(cache_dir, recording_server, name)
    await wait_for_its_partial_file(cache_dir, other)

    cache = RecordingCache(cache_dir, downloader=client)  # starting up must spare its file
    path = await cache.get(name)
    assert path.read_bytes() == audio

    out, err = await asyncio.wait_for(other.communicate(), TIMEOUT_S)
    assert other.returncode == 0, err.decode()[-2000:]
    assert out.decode().split() == [name, str(len(audio))]
    assert FAKE_TOKEN not in out.decode() + err.decode()
    assert path.read_bytes() == audio  # whichever rename came last: the same, whole file
    assert sorted(os.listdir(cache_dir)) == [name]
    media = [r for r in state.requests if r.path == f"/media/{name}"]
    assert len(media) == 2
