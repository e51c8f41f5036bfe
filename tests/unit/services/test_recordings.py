"""The recording cache: hits, LRU eviction by size, shared downloads, crash leftovers,
other processes sharing the directory, links and folders where files are expected,
hostile file names, "not ready yet" reaching the caller, and "Save as…". No Qt.

The first tests drive the real client against the emulated service in-process (counting
the requests it receives); the rest use a scripted downloader to hold a download open or
make it fail at a chosen moment. The tests about other writers run a real second Python
process on the same directory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import NotReadyYet, ServerError, ValidationError
from desktop_app.sandbox import SandboxApp, SandboxCall, SandboxConfig, create_app
from desktop_app.services.clock import ManualClock
from desktop_app.services.recordings import (
    PART_SUFFIX,
    STALE_PARTIAL_AGE_S,
    RecordingCache,
    Writer,
    is_partial_name,
    partial_writer,
    safe_filename,
    save_copy,
)
from tests.helpers.tokens import FAKE_TOKEN

NOW = 1_700_000_000.0
RECORDING_DELAY_S = 120.0


@dataclass
class Sandbox:
    app: SandboxApp
    client: MyOperatorClient
    clock: ManualClock

    def link_requests(self) -> int:
        return len(self.app.sandbox.requests_to("/recordings/link"))

    def media_requests(self) -> int:
        return sum(1 for r in self.app.sandbox.requests if r.path.startswith("/media/"))

    def recorded_calls(self) -> list[SandboxCall]:
        return [c for c in self.app.sandbox.calls if c.filename]

    def audio(self, filename: str) -> bytes:
        return self.app.sandbox.recordings.audio_for(filename)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    clock = ManualClock(NOW)
    config = SandboxConfig(
        n_logs=200,
        days=2,
        now=NOW,
        clock=clock,
        tokens={FAKE_TOKEN: 2},
        rate_limit=None,
        recording_delay_s=RECORDING_DELAY_S,
    )
    app = create_app(config)

    async def no_sleep(_seconds: float) -> None:
        return None

    client = MyOperatorClient(
        FAKE_TOKEN,
        base_url="http://sandbox.test",
        transport=httpx.ASGITransport(app=app),
        sleep=no_sleep,
    )
    async with client:
        yield Sandbox(app, client, clock)


async def test_sandbox_a_hit_needs_no_request(tmp_path: Path, sandbox: Sandbox) -> None:
    name = sandbox.recorded_calls()[0].filename
    cache = RecordingCache(tmp_path, downloader=sandbox.client)

    first = await cache.get(name)
    second = await cache.get(name)

    assert first == second == tmp_path / name
    assert first.read_bytes() == sandbox.audio(name)
    assert (sandbox.link_requests(), sandbox.media_requests()) == (1, 1)
    # Only the recording is kept: no link, no partial file.
    assert files_in(tmp_path) == {name}


async def test_sandbox_concurrent_gets_make_one_link_request_and_one_download(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    name = sandbox.recorded_calls()[0].filename
    cache = RecordingCache(tmp_path, downloader=sandbox.client)

    paths = await asyncio.gather(*(cache.get(name) for _ in range(4)))

    assert paths == [tmp_path / name] * 4
    assert (sandbox.link_requests(), sandbox.media_requests()) == (1, 1)


async def test_sandbox_evicts_the_least_recently_used_recording(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    names = [c.filename for c in sandbox.recorded_calls()[:3]]
    sizes = [len(sandbox.audio(n)) for n in names]
    # Room for the two largest recordings, not for all three.
    budget = sum(sizes) - min(sizes) // 2 - 1
    cache = RecordingCache(tmp_path, max_bytes=budget, downloader=sandbox.client)
    await cache.get(names[0])
    await cache.get(names[1])
    await cache.get(names[0])

    await cache.get(names[2])

    assert files_in(tmp_path) == {names[0], names[2]}
    assert cache.size_bytes() <= budget


async def test_sandbox_not_ready_yet_propagates_until_the_recording_is_processed(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    call = sandbox.recorded_calls()[0]
    sandbox.clock.now = call.end_time + 5  # the call has only just ended
    cache = RecordingCache(tmp_path, downloader=sandbox.client)

    with pytest.raises(NotReadyYet) as caught:
        await cache.get(call.filename)
    assert "not ready" in caught.value.message
    assert files_in(tmp_path) == set()
    assert sandbox.media_requests() == 0

    sandbox.clock.now = call.end_time + RECORDING_DELAY_S + 1
    path = await cache.get(call.filename)
    assert path.read_bytes() == sandbox.audio(call.filename)
    assert sandbox.link_requests() == 2


class FakeDownloader:
    """Writes `size` bytes the way the client does (``.part``, then rename).

    `gate`, when set, holds every download until it is opened; `errors` maps a file name
    to the exception its next downloads raise.
    """

    def __init__(self, size: int = 100) -> None:
        self.size = size
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.errors: dict[str, Exception] = {}
        self.started = asyncio.Event()
        self.cancelled = 0

    async def download_recording(self, filename: str, destination: Path) -> Path:
        self.calls.append(filename)
        self.started.set()
        partial = destination.with_name(destination.name + ".part")
        try:
            partial.write_bytes(b"\0" * (self.size // 2))
            if self.gate is not None:
                await self.gate.wait()
            if filename in self.errors:
                raise self.errors[filename]
            partial.write_bytes(filename.encode().ljust(self.size, b"\0"))
            os.replace(partial, destination)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                self.cancelled += 1
            partial.unlink(missing_ok=True)
            raise
        return destination


def files_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


async def test_a_hit_does_not_download_again_and_marks_the_file_recent(tmp_path: Path) -> None:
    downloader = FakeDownloader()
    cache = RecordingCache(tmp_path, downloader=downloader)
    assert cache.cached_path("a.mp3") is None

    first = await cache.get("a.mp3")
    stamp = first.stat().st_mtime_ns
    second = await cache.get("a.mp3")

    assert first == second == tmp_path / "a.mp3"
    assert downloader.calls == ["a.mp3"]
    assert cache.cached_path("a.mp3") == first
    assert first.read_bytes().startswith(b"a.mp3")
    assert second.stat().st_mtime_ns > stamp


async def test_least_recently_used_files_are_evicted_by_size(tmp_path: Path) -> None:
    downloader = FakeDownloader(size=100)
    cache = RecordingCache(tmp_path, max_bytes=250, downloader=downloader)
    await cache.get("a.mp3")
    await cache.get("b.mp3")
    await cache.get("a.mp3")  # a is now more recent than b

    await cache.get("c.mp3")

    assert files_in(tmp_path) == {"a.mp3", "c.mp3"}
    assert cache.size_bytes() == 200
    assert downloader.calls == ["a.mp3", "b.mp3", "c.mp3"]


async def test_the_file_just_fetched_is_kept_even_when_larger_than_the_limit(
    tmp_path: Path,
) -> None:
    cache = RecordingCache(tmp_path, max_bytes=150, downloader=FakeDownloader(size=100))
    await cache.get("a.mp3")
    big = FakeDownloader(size=400)
    cache._downloader = big

    path = await cache.get("big.mp3")

    assert path.is_file()
    assert files_in(tmp_path) == {"big.mp3"}


async def test_the_recency_order_survives_a_restart(tmp_path: Path) -> None:
    downloader = FakeDownloader(size=100)
    cache = RecordingCache(tmp_path, downloader=downloader)
    for name in ("a.mp3", "b.mp3", "c.mp3"):
        await cache.get(name)
    await cache.get("a.mp3")

    # A lower limit at the next start trims the oldest first: b, then c.
    RecordingCache(tmp_path, max_bytes=100, downloader=downloader)

    assert files_in(tmp_path) == {"a.mp3"}


async def test_concurrent_gets_of_one_recording_share_one_download(tmp_path: Path) -> None:
    downloader = FakeDownloader()
    downloader.gate = asyncio.Event()
    cache = RecordingCache(tmp_path, downloader=downloader)

    waiters = [asyncio.create_task(cache.get("a.mp3")) for _ in range(3)]
    await downloader.started.wait()
    await asyncio.sleep(0)
    downloader.gate.set()
    paths = await asyncio.gather(*waiters)

    assert paths == [tmp_path / "a.mp3"] * 3
    assert downloader.calls == ["a.mp3"]


async def test_cancelling_one_waiter_leaves_the_shared_download_to_the_others(
    tmp_path: Path,
) -> None:
    downloader = FakeDownloader()
    downloader.gate = asyncio.Event()
    cache = RecordingCache(tmp_path, downloader=downloader)
    leaving = asyncio.create_task(cache.get("a.mp3"))
    staying = asyncio.create_task(cache.get("a.mp3"))
    await downloader.started.wait()

    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    downloader.gate.set()

    assert await staying == tmp_path / "a.mp3"
    assert downloader.cancelled == 0
    assert downloader.calls == ["a.mp3"]


async def test_when_every_waiter_leaves_the_download_stops_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    downloader = FakeDownloader()
    downloader.gate = asyncio.Event()
    cache = RecordingCache(tmp_path, downloader=downloader)
    waiter = asyncio.create_task(cache.get("a.mp3"))
    await downloader.started.wait()
    partials = files_in(tmp_path)
    assert partials and all(is_partial_name(n) for n in partials)
    assert {partial_writer(n) for n in partials} == {Writer.current()}

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)

    assert downloader.cancelled == 1
    assert files_in(tmp_path) == set()
    # A later request starts afresh rather than inheriting the cancelled download.
    downloader.gate.set()
    assert await cache.get("a.mp3") == tmp_path / "a.mp3"
    assert downloader.calls == ["a.mp3", "a.mp3"]


def ended_process_pid() -> int:
    """The id of a real process that has ended (and been reaped)."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        assert process.wait(timeout=60) == 0
    return process.pid


def partial_name(writer: Writer, token: str = "0123456789abcdef", *, part: bool = False) -> str:
    return f".dl-{writer.host}-{writer.pid}-{token}" + (PART_SUFFIX if part else "")


def write_aged(path: Path, age_s: float, *, now: float = NOW) -> None:
    path.write_bytes(b"x" * 10)
    os.utime(path, (now - age_s, now - age_s))


async def test_only_partial_files_whose_writer_is_gone_are_removed_at_start(
    tmp_path: Path,
) -> None:
    me = Writer.current()
    gone = Writer(me.host, ended_process_pid())
    running = Writer(me.host, os.getppid())  # another live process on this machine
    elsewhere = Writer("0badc0de" if me.host != "0badc0de" else "0badf00d", gone.pid)
    fresh, old = 60.0, STALE_PARTIAL_AGE_S + 60.0
    write_aged(tmp_path / "a.mp3", old)
    expected_kept = {"a.mp3"}
    for name, age, kept in [
        (partial_name(gone), fresh, False),  # its process has ended
        (partial_name(gone, "1" * 16, part=True), fresh, False),  # the client's own .part
        (partial_name(me), fresh, True),  # a live writer (this very process)
        (partial_name(running), old, True),  # a live writer whose clock looks a day off
        (partial_name(me, "2" * 16), old, False),  # not written for a day: abandoned
        (partial_name(elsewhere), fresh, True),  # another machine: cannot tell, recent
        (partial_name(elsewhere, "3" * 16), old, False),
        ("b.mp3.part", fresh, True),  # an older version's name: recent, maybe alive
        ("c.mp3.part", old, False),
    ]:
        write_aged(tmp_path / name, age)
        if kept:
            expected_kept.add(name)

    cache = RecordingCache(tmp_path, downloader=FakeDownloader(), clock=ManualClock(NOW))

    assert files_in(tmp_path) == expected_kept
    assert cache.size_bytes() == 10


def test_the_cache_directory_is_created(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "recordings"
    cache = RecordingCache(directory, downloader=FakeDownloader())
    assert directory.is_dir()
    assert cache.size_bytes() == 0


HOSTILE_NAMES = [
    "../evil.mp3",
    "../../home/user/.bashrc",
    "/etc/passwd",
    "sub/dir.mp3",
    "..\\windows.mp3",
    "C:\\x.mp3",
    "..",
    ".",
    "",
    "   ",
    ".hidden.mp3",
    "a.mp3.part",
    "nul\0byte.mp3",
    "line\nbreak.mp3",
    "x" * 300 + ".mp3",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_names_that_could_escape_the_cache_are_refused(tmp_path: Path, name: str) -> None:
    cache_dir = tmp_path / "cache"
    downloader = FakeDownloader()
    cache = RecordingCache(cache_dir, downloader=downloader)

    with pytest.raises(ValidationError) as caught:
        await cache.get(name)
    with pytest.raises(ValidationError):
        cache.cached_path(name)

    assert caught.value.field == "file"
    assert not caught.value.sent
    assert downloader.calls == []
    assert files_in(tmp_path) == {"cache"}


@given(st.text(min_size=1, max_size=40))
def test_every_accepted_name_stays_inside_the_cache(name: str) -> None:
    base = Path("/cache/recordings")
    try:
        safe = safe_filename(name)
    except ValidationError:
        return
    resolved = (base / safe).resolve()
    assert resolved.parent == base
    assert not safe.endswith(".part")


def test_ordinary_service_names_are_accepted() -> None:
    for name in ("1716543210.5473-abcdef.mp3", "rec_2024-05-01 10-00-00.mp3", "a.b.c.mp3"):
        assert safe_filename(name) == name


async def test_not_ready_yet_reaches_the_caller_and_a_retry_downloads_again(
    tmp_path: Path,
) -> None:
    downloader = FakeDownloader()
    downloader.errors["a.mp3"] = NotReadyYet("no voice file found")
    cache = RecordingCache(tmp_path, downloader=downloader)

    with pytest.raises(NotReadyYet):
        await cache.get("a.mp3")
    assert cache.cached_path("a.mp3") is None
    assert files_in(tmp_path) == set()

    del downloader.errors["a.mp3"]
    assert await cache.get("a.mp3") == tmp_path / "a.mp3"
    assert downloader.calls == ["a.mp3", "a.mp3"]


async def test_an_error_reaches_every_concurrent_waiter(tmp_path: Path) -> None:
    downloader = FakeDownloader()
    downloader.gate = asyncio.Event()
    downloader.errors["a.mp3"] = ServerError("Downloading the recording failed (HTTP 500).")
    cache = RecordingCache(tmp_path, downloader=downloader)
    waiters = [asyncio.create_task(cache.get("a.mp3")) for _ in range(2)]
    await downloader.started.wait()
    downloader.gate.set()

    results = await asyncio.gather(*waiters, return_exceptions=True)

    assert all(isinstance(r, ServerError) for r in results)
    assert downloader.calls == ["a.mp3"]


async def test_clear_removes_every_recording(tmp_path: Path) -> None:
    cache = RecordingCache(tmp_path, downloader=FakeDownloader(size=100))
    await cache.get("a.mp3")
    await cache.get("b.mp3")
    assert cache.size_bytes() == 200

    cache.clear()

    assert cache.size_bytes() == 0
    assert cache.cached_path("a.mp3") is None


# A second app instance on the same cache directory: it downloads `argv[2]` through its own
# RecordingCache, writing half the file, then waits for a line on stdin before finishing
# (so the test decides when), writing the same bytes `FakeDownloader` writes.
SECOND_INSTANCE = r"""
import asyncio, os, sys
from pathlib import Path
from desktop_app.services.recordings import RecordingCache

class HeldDownloader:
    async def download_recording(self, filename, destination):
        partial = destination.with_name(destination.name + ".part")
        partial.write_bytes(b"\0" * 50)
        print("started", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        partial.write_bytes(filename.encode().ljust(100, b"\0"))
        os.replace(partial, destination)
        return destination

async def main():
    cache = RecordingCache(Path(sys.argv[1]), downloader=HeldDownloader())
    path = await cache.get(sys.argv[2])
    print("done", path.name, path.read_bytes() == sys.argv[2].encode().ljust(100, b"\0"))

asyncio.run(main())
"""
PROCESS_TIMEOUT_S = 60.0


class SecondInstance:
    """A real second process whose download of one recording is held open mid-way."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, directory: Path, name: str) -> SecondInstance:
        import desktop_app

        env = dict(os.environ, PYTHONPATH=str(Path(desktop_app.__file__).parents[1]))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SECOND_INSTANCE, str(directory), name, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), PROCESS_TIMEOUT_S)
        if line != b"started\n":
            _out, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT_S)
            pytest.fail(f"second instance did not start: {err.decode()[-2000:]}")
        return cls(process)

    def partials(self, directory: Path) -> set[str]:
        return {n for n in files_in(directory) if (w := partial_writer(n)) and w.pid == self.pid}

    @property
    def pid(self) -> int:
        return self.process.pid

    async def finish(self) -> str:
        """Let the download complete; the process's last line (stderr on failure)."""
        out, err = await asyncio.wait_for(self.process.communicate(b"go\n"), PROCESS_TIMEOUT_S)
        assert self.process.returncode == 0, err.decode()[-2000:]
        return out.decode().strip()


async def test_a_second_instance_starting_up_keeps_a_live_download(tmp_path: Path) -> None:
    other = await SecondInstance.start(tmp_path, "a.mp3")
    held = other.partials(tmp_path)
    assert held

    cache = RecordingCache(tmp_path, downloader=FakeDownloader(), clock=ManualClock(NOW))

    assert other.partials(tmp_path) == held
    assert await other.finish() == "done a.mp3 True"
    assert cache.cached_path("a.mp3") == tmp_path / "a.mp3"
    assert files_in(tmp_path) == {"a.mp3"}


async def test_two_processes_downloading_one_recording_both_succeed(tmp_path: Path) -> None:
    other = await SecondInstance.start(tmp_path, "a.mp3")
    cache = RecordingCache(tmp_path, downloader=FakeDownloader(size=100), clock=ManualClock(NOW))

    path = await cache.get("a.mp3")  # completes while the other download is half done

    assert path.read_bytes() == b"a.mp3".ljust(100, b"\0")
    assert other.partials(tmp_path)
    assert await other.finish() == "done a.mp3 True"  # its rename replaced ours: same bytes
    assert path.read_bytes() == b"a.mp3".ljust(100, b"\0")
    assert files_in(tmp_path) == {"a.mp3"}


async def test_a_link_in_the_cache_is_replaced_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.mp3"
    outside.write_bytes(b"not the cache's" * 100)
    os.utime(outside, ns=(1_000_000_000, 1_000_000_000))
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "a.mp3").symlink_to(outside)
    downloader = FakeDownloader(size=100)
    cache = RecordingCache(cache_dir, downloader=downloader)

    assert cache.cached_path("a.mp3") is None
    assert cache.size_bytes() == 0
    path = await cache.get("a.mp3")

    assert downloader.calls == ["a.mp3"]
    assert not path.is_symlink() and path.read_bytes() == b"a.mp3".ljust(100, b"\0")
    assert outside.read_bytes() == b"not the cache's" * 100
    assert outside.stat().st_mtime_ns == 1_000_000_000


async def test_a_folder_where_a_recording_belongs_is_an_error_not_a_destination(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.mp3").mkdir()
    (tmp_path / "a.mp3" / "keep.txt").write_bytes(b"mine")
    cache = RecordingCache(tmp_path, downloader=FakeDownloader())

    with pytest.raises(OSError):
        await cache.get("a.mp3")

    assert files_in(tmp_path) == {"a.mp3"}
    assert files_in(tmp_path / "a.mp3") == {"keep.txt"}


def test_save_copy_writes_a_complete_copy_and_nothing_else(tmp_path: Path) -> None:
    source = tmp_path / "rec.mp3"
    source.write_bytes(b"audio" * 1000)
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.mp3").write_bytes(b"old")

    written = save_copy(source, out / "kept.mp3")

    assert written == out / "kept.mp3"
    assert written.read_bytes() == b"audio" * 1000
    assert files_in(out) == {"kept.mp3"}


def test_save_copy_into_a_folder_writes_the_recording_inside_it(tmp_path: Path) -> None:
    source = tmp_path / "rec.mp3"
    source.write_bytes(b"audio")
    folder = tmp_path / "Recordings"
    folder.mkdir()

    written = save_copy(source, folder)

    assert written == folder / "rec.mp3"
    assert files_in(folder) == {"rec.mp3"}
    assert written.read_bytes() == b"audio"


def test_save_copy_replaces_a_link_and_leaves_its_target_alone(tmp_path: Path) -> None:
    source = tmp_path / "rec.mp3"
    source.write_bytes(b"audio")
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"do not overwrite")
    link = tmp_path / "out.mp3"
    link.symlink_to(precious)

    save_copy(source, link)

    assert not link.is_symlink() and link.read_bytes() == b"audio"
    assert precious.read_bytes() == b"do not overwrite"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_save_copy_refuses_a_pipe_without_opening_it(tmp_path: Path) -> None:
    source = tmp_path / "rec.mp3"
    source.write_bytes(b"audio")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "pipe")

    with pytest.raises(OSError) as caught:
        save_copy(source, out / "pipe")  # opening it would block until a reader came

    assert caught.value.strerror == "pipe is not a regular file"
    assert files_in(out) == {"pipe"}


def test_a_failed_save_copy_leaves_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(FileNotFoundError):
        save_copy(tmp_path / "missing.mp3", out / "kept.mp3")

    assert files_in(out) == set()
