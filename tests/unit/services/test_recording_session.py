"""The selected call's recording without Qt: found in the cache without a request, else
fetched on demand; what each outcome of a fetch says; a fetch for a call no longer
selected changes nothing."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from desktop_app.api.errors import NetworkError, NotReadyYet
from desktop_app.api.models import CallLog
from desktop_app.services.recordings import (
    AVAILABLE_MESSAGE,
    FETCHING_MESSAGE,
    NOT_READY_MESSAGE,
    RecordingCache,
    RecordingSession,
    RecordingState,
    RecordingStatus,
    suggested_recording_name,
)
from tests.helpers.builders import make_log

AUDIO = b"ID3 a short recording"


class ScriptedDownloader:
    """Writes `AUDIO`, or raises the next scripted error; `gate` holds a download open."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.fail_next: list[BaseException] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def download_recording(self, filename: str, destination: Path) -> Path:
        self.requests.append(filename)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            raise self.fail_next.pop(0)
        await asyncio.to_thread(destination.write_bytes, AUDIO)
        return destination


@pytest.fixture
def downloader() -> ScriptedDownloader:
    return ScriptedDownloader()


@pytest.fixture
def cache(tmp_path: Path, downloader: ScriptedDownloader) -> RecordingCache:
    return RecordingCache(tmp_path / "recordings", downloader=downloader)


@pytest.fixture
def heard() -> list[RecordingStatus]:
    return []


@pytest.fixture
def session(cache: RecordingCache, heard: list[RecordingStatus]) -> RecordingSession:
    return RecordingSession(cache, on_change=heard.append)


def call(call_id: str = "c1", *, answered: bool = True, filename: str | None = None) -> CallLog:
    name = filename or f"{call_id}.mp3"
    return make_log(call_id, 1_700_000_000, answered=answered, filename=name)


def states(heard: list[RecordingStatus]) -> list[RecordingState]:
    return [s.state for s in heard]


def test_what_there_is_to_play_is_known_without_a_request(
    session: RecordingSession, cache: RecordingCache, downloader: ScriptedDownloader
) -> None:
    assert session.select(None)
    assert session.status == RecordingStatus(RecordingState.NONE, "No recording")
    assert session.select(call("missed", answered=False))
    assert session.status.state is RecordingState.NONE
    assert session.status.message == "No recording — the call was not answered."
    assert session.begin_fetch() is None  # nothing to fetch

    assert session.select(call("c1"))
    assert session.status == RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE)
    assert session.suggested_filename == suggested_recording_name(call("c1"))

    (cache.directory / "c2.mp3").write_bytes(AUDIO)
    assert session.select(call("c2"))
    assert session.status == RecordingStatus(RecordingState.READY, "", cache.directory / "c2.mp3")
    assert downloader.requests == []


def test_selecting_the_same_call_again_changes_nothing(
    session: RecordingSession, heard: list[RecordingStatus]
) -> None:
    assert session.select(call("c1"))
    assert not session.select(call("c1"))  # equal, e.g. re-synced unchanged
    assert len(heard) == 1
    assert session.select(None) and session.select(None)  # "nothing" is said again


def test_a_name_the_cache_refuses_is_an_error(session: RecordingSession) -> None:
    assert session.select(call("c1", filename="../escape.mp3"))
    assert session.status.state is RecordingState.ERROR and session.status.message


async def test_a_fetch_is_one_at_a_time_and_ends_ready(
    session: RecordingSession, heard: list[RecordingStatus], downloader: ScriptedDownloader
) -> None:
    session.select(call("c1"))
    chosen = session.begin_fetch()
    assert chosen is not None and chosen is session.call
    assert session.status == RecordingStatus(RecordingState.FETCHING, FETCHING_MESSAGE)
    assert session.begin_fetch() is None  # busy
    path = await session.fetch(chosen)
    assert path is not None and path.read_bytes() == AUDIO
    assert session.status == RecordingStatus(RecordingState.READY, "", path)
    assert states(heard) == [
        RecordingState.AVAILABLE, RecordingState.FETCHING, RecordingState.READY
    ]
    assert session.begin_fetch() is None  # ready: nothing to fetch
    assert session.suggested_filename == suggested_recording_name(chosen)  # not the hash
    assert downloader.requests == ["c1.mp3"]


@pytest.mark.parametrize(
    ("error", "state", "message"),
    [
        (NotReadyYet("no voice file found"), RecordingState.NOT_READY, NOT_READY_MESSAGE),
        (NetworkError("MyOperator could not be reached"), RecordingState.ERROR,
         "MyOperator could not be reached"),
        (OSError(errno.ENOSPC, "No space left on device"), RecordingState.ERROR,
         "The recording could not be stored on disk: No space left on device."),
    ],
)
async def test_what_a_failed_fetch_says_and_a_retry_fetches_again(
    session: RecordingSession,
    downloader: ScriptedDownloader,
    error: BaseException,
    state: RecordingState,
    message: str,
) -> None:
    session.select(call("c1"))
    downloader.fail_next.append(error)
    chosen = session.begin_fetch()
    assert chosen is not None
    assert await session.fetch(chosen) is None
    assert session.status == RecordingStatus(state, message)
    again = session.begin_fetch()  # Retry
    assert again is not None and await session.fetch(again) is not None
    assert session.status.state is RecordingState.READY
    assert len(downloader.requests) == 2


async def test_a_fetch_for_a_call_no_longer_selected_changes_nothing(
    session: RecordingSession, heard: list[RecordingStatus], downloader: ScriptedDownloader
) -> None:
    session.select(call("c1"))
    first = session.begin_fetch()
    assert first is not None
    downloader.gate = asyncio.Event()
    pending = asyncio.ensure_future(session.fetch(first))
    await asyncio.wait_for(downloader.started.wait(), 5)
    session.select(call("c2"))
    before = list(heard)
    downloader.gate.set()
    assert await asyncio.wait_for(pending, 5) is None
    assert heard == before
    assert session.status == RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE)


def test_an_unexpected_end_or_a_stop_never_leaves_it_fetching(session: RecordingSession) -> None:
    session.select(call("c1"))
    first = session.begin_fetch()
    assert first is not None
    session.fetch_failed(call("c1"), "Something broke.")  # an equal call is not this fetch's
    assert session.status.state is RecordingState.FETCHING
    session.fetch_failed(first, "Something broke.")
    assert session.status == RecordingStatus(
        RecordingState.ERROR, "Something went wrong fetching the recording: Something broke."
    )
    session.fetch_failed(first, "Again.")  # no longer fetching: said once
    assert session.status.message.endswith("Something broke.")

    again = session.begin_fetch()
    assert again is not None
    session.fetch_stopped()  # the window closes
    assert session.status == RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE)
    session.fetch_stopped()  # twice: still available
    assert session.status == RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE)
