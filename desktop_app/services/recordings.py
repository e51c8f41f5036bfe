"""A size-bounded, least-recently-used cache of downloaded call recordings.

Recordings are played from local files only: QtMultimedia's FFmpeg backend prints media URLs
to stderr, and a recording link is a short-lived credential. So a recording is fetched once
(a fresh link each time, never stored) and replayed from disk until evicted.

Several processes may share the cache directory (two app instances, the app and the command
line). So a download goes to a partial file that belongs to its writer alone: its name
carries the writer's machine, process id and a random part, and it is created with
``O_EXCL``. Only a finished file is moved into place, by an atomic rename, so a reader sees
the old file or the new one, never half of one; two writers of one recording both succeed
and the last rename wins (same content). Leftover partial files are removed only when their
writer is gone: its process is no longer alive on this machine, or the file has not been
written for a day.

`RecordingSession` is the selected call's recording as a person sees it: none, available
(fetching costs a request of the account's budget, so it waits for Play), fetching, not
ready yet, failed, or ready to play from a local file. The player's presenter runs its
fetch and shows its state; the rules are here.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol

from desktop_app.api.errors import MyOperatorError, NotReadyYet, ValidationError
from desktop_app.api.models import CallLog
from desktop_app.partial_files import PART_SUFFIX as PART_SUFFIX
from desktop_app.partial_files import STAGING_PREFIX as STAGING_PREFIX
from desktop_app.partial_files import create_exclusive, host_tag, reserve_partial
from desktop_app.services.formatting import format_number, local_datetime
from desktop_app.services.paths import recording_file_name

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES: Final = 500 * 1024 * 1024
#: A partial file not written for this long is abandoned, whoever its writer was.
STALE_PARTIAL_AGE_S: Final = 24 * 60 * 60.0
# ".dl-<host>-<pid>-<random>" plus, while the downloader writes it, its own ".part".
_STAGING_NAME: Final = re.compile(
    re.escape(STAGING_PREFIX) + r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{16}"
    + r"(?:" + re.escape(PART_SUFFIX) + r")?"
)
_MAX_NAME_LENGTH: Final = 255
# Characters no recording name needs and some file system forbids or treats specially.
_FORBIDDEN_CHARS: Final = frozenset('/\\:*?"<>|')


class Downloader(Protocol):
    """What the cache needs from the API client (`MyOperatorClient` satisfies it)."""

    async def download_recording(self, filename: str, destination: Path) -> Path:
        """Fetch a fresh link for `filename` and write the file to `destination` atomically."""
        ...


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes a partial file: a process on a machine (a short hash of its host name)."""

    host: str
    pid: int

    @classmethod
    def current(cls) -> Writer:
        return cls(host=host_tag(), pid=os.getpid())

    def can_be_asked(self) -> bool:
        """Whether `pid_alive` can tell: another process on this machine, under POSIX."""
        return self.host == host_tag() and os.name == "posix" and self.pid != os.getpid()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (True when it cannot be told).

    Only POSIX can ask without side effects (signal 0); on Windows ``os.kill`` would end the
    process, so there the age of the partial file alone decides.
    """
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists, owned by someone else
    return True


def partial_writer(name: str) -> Writer | None:
    """The writer encoded in a partial file's name (None: not one of ours, or a legacy name)."""
    match = _STAGING_NAME.fullmatch(name)
    if match is None:
        return None
    return Writer(host=match["host"], pid=int(match["pid"]))


def is_partial_name(name: str) -> bool:
    """A download in progress (or abandoned): ours, or a ``.part`` of an older version."""
    return _STAGING_NAME.fullmatch(name) is not None or name.endswith(PART_SUFFIX)


def safe_filename(filename: str) -> str:
    """The name to store `filename` under, or `ValidationError` if it could escape the cache.

    The name comes from the service's call log: it is treated as untrusted input, since a
    name like ``../../.bashrc`` would otherwise write or delete outside the cache.
    """
    name = filename
    problem: str | None = None
    if not name.strip():
        problem = "is empty"
    elif name != name.strip():
        problem = "starts or ends with a space"
    elif len(name) > _MAX_NAME_LENGTH:
        problem = "is too long"
    elif any(ch in _FORBIDDEN_CHARS or ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "contains a path separator or a character not allowed in a file name"
    elif name.startswith("."):
        problem = "starts with a dot"
    elif name.endswith(PART_SUFFIX):
        problem = "ends like a partial download"
    if problem is not None:
        raise ValidationError(
            f"The recording file name {name[:80]!r} {problem}.", field="file", sent=False
        )
    return name


class RecordingCache:
    """Recordings on disk, shared downloads, evicted least-recently-used beyond `max_bytes`.

    Recency is the file's modification time: a hit stamps it with a strictly increasing
    time, so the order survives a restart and is exact even when two touches fall in the
    same tick of the file system's clock.
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        downloader: Downloader,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._downloader = downloader
        self._clock = clock
        self._inflight: dict[str, asyncio.Task[Path]] = {}
        self._waiters: dict[str, int] = {}
        self.directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale_parts()
        self._last_stamp_ns = max((st.st_mtime_ns for _p, st in self._entries()), default=0)
        self._evict(keep=None)

    def __repr__(self) -> str:
        return f"RecordingCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    # ---------------------------------------------------------------- public

    async def get(self, filename: str) -> Path:
        """The local file of a recording, downloading it first if it is not cached.

        Concurrent calls for one name share a single download. Cancelling a caller only
        cancels the download when no other caller still waits for it. Errors of the
        downloader (`NotReadyYet` above all) reach every waiter unchanged.
        """
        name = safe_filename(filename)
        path = self.directory / name
        task = self._inflight.get(name)
        if task is not None and (task.cancelled() or task.cancelling()):
            task = None  # abandoned by all its waiters a moment ago; start afresh
        if task is None:
            if _is_regular_file(path):
                self._touch(path)
                return path
            task = asyncio.get_running_loop().create_task(
                self._fetch(name, path), name=f"recording-download:{name}"
            )
            self._inflight[name] = task
            task.add_done_callback(lambda done: self._forget(name, done))
        self._waiters[name] = self._waiters.get(name, 0) + 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done() and self._waiters.get(name, 0) <= 1:
                task.cancel()
            raise
        finally:
            self._waiters[name] -= 1
            if not self._waiters[name]:
                del self._waiters[name]

    def cached_path(self, filename: str) -> Path | None:
        """The cached file of a recording without fetching it (None when absent)."""
        path = self.directory / safe_filename(filename)
        return path if _is_regular_file(path) else None

    def size_bytes(self) -> int:
        """Bytes used by complete recordings (partial downloads are not counted)."""
        return sum(st.st_size for _p, st in self._entries())

    def set_max_bytes(self, max_bytes: int) -> bool:
        """A new size limit (the setting changed); returns whether it is smaller, so files
        may have to go: then call `evict` (off the event loop's thread)."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        shrunk = max_bytes < self.max_bytes
        self.max_bytes = max_bytes
        return shrunk

    def evict(self, *, keep: Path | None = None) -> None:
        """Delete least-recently-used recordings until the cache fits `max_bytes`, never
        `keep` (the file playing). Blocking file work: run it in a worker thread."""
        self._evict(keep=keep)

    def clear(self) -> None:
        """Delete every cached recording; downloads in flight still complete."""
        for path, _st in list(self._entries()):
            _unlink_quietly(path)

    # --------------------------------------------------------------- private

    async def _fetch(self, name: str, path: Path) -> Path:
        staging = await asyncio.to_thread(self._reserve_partial)
        try:
            written = await self._downloader.download_recording(name, staging)
            # os.replace never follows `path`: a symlink there is replaced, not written
            # through, and a directory there fails rather than receiving the file.
            await asyncio.to_thread(os.replace, written, path)
        except BaseException:
            # At once, not in a thread: a cancelled download must not linger. Both names
            # are this writer's own (the downloader's ``.part`` of it too).
            _unlink_quietly(staging)
            _unlink_quietly(staging.with_name(staging.name + PART_SUFFIX))
            raise
        self._touch(path)
        await asyncio.to_thread(self._evict, keep=path)
        return path

    def _reserve_partial(self) -> Path:
        """Create this writer's own partial file (``O_EXCL``: never another's)."""
        # The user (or a cleaner) may have deleted the whole cache directory meanwhile.
        self.directory.mkdir(parents=True, exist_ok=True)
        return reserve_partial(self.directory, mode=0o600)

    def _forget(self, name: str, task: asyncio.Task[Path]) -> None:
        if self._inflight.get(name) is task:
            del self._inflight[name]
        # Mark the outcome as seen: every waiter may have gone (cancelled) by now, and the
        # error has already reached those still waiting.
        if not task.cancelled():
            task.exception()

    def _touch(self, path: Path) -> None:
        stamp = max(time.time_ns(), self._last_stamp_ns + 1)
        self._last_stamp_ns = stamp
        try:
            os.utime(path, ns=(stamp, stamp), follow_symlinks=_UTIME_FOLLOWS_LINKS)
        except OSError as exc:
            log.warning("Could not mark %s as recently used: %s", path.name, exc.strerror)

    def _entries(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Complete recordings with their stat: regular files only.

        Partial and hidden files are skipped, and so are links and directories: a link's
        size is not the cache's to count, nor its target's to stamp or delete.
        """
        try:
            children = list(self.directory.iterdir())
        except FileNotFoundError:
            return
        for child in children:
            if is_partial_name(child.name) or child.name.startswith("."):
                continue
            try:
                st = child.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield child, st

    def _evict(self, *, keep: Path | None) -> None:
        """Delete least-recently-used files until the total fits, never `keep`."""
        entries = sorted(self._entries(), key=lambda item: (item[1].st_mtime_ns, item[0].name))
        total = sum(st.st_size for _p, st in entries)
        for path, st in entries:
            if total <= self.max_bytes:
                break
            if keep is not None and path == keep:
                continue
            if _unlink_quietly(path):
                total -= st.st_size
                log.debug("Evicted recording %s (%d bytes)", path.name, st.st_size)

    def _remove_stale_parts(self) -> None:
        """Remove partial downloads whose writer is gone; never a live writer's.

        Gone means: the process that wrote it no longer runs on this machine. Where that
        cannot be asked (another machine sharing the directory, Windows, a name without a
        writer from an older version, or this process's own leftover from a reused id),
        the file has not been written for `STALE_PARTIAL_AGE_S`. A live writer's file is
        never judged by its age: the injected clock and the file system's clock may
        disagree (a clock set back or forward), and a slow download must not lose its file.
        """
        now = self._clock()
        for child in list(self.directory.iterdir()):
            if not is_partial_name(child.name):
                continue
            try:
                st = child.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            writer = partial_writer(child.name)
            if writer is not None and writer.can_be_asked():
                gone = not pid_alive(writer.pid)
            else:
                gone = now - st.st_mtime > STALE_PARTIAL_AGE_S
            if gone and _unlink_quietly(child):
                log.debug("Removed an abandoned partial download %s", child.name)


def suggested_recording_name(call: CallLog) -> str:
    """``2026-11-30 10-57 +91 98123 00001.mp3``: the call's local start and its caller."""
    caller = format_number(call.caller_number, international=True) or call.caller_number_raw
    return recording_file_name(local_datetime(call.start_time), caller, call.filename)


def save_copy(source: Path, destination: Path, *, name: str | None = None) -> Path:
    """Copy a recording to `destination` atomically and return the file written.

    For "Save as…". The copy goes to a hidden file of its own beside the target and is
    renamed into place, so the target is either untouched or complete. The target is never
    opened: a symlink there is replaced (its target is left alone), a directory receives
    the file as `name` (default: the source's name), and a pipe, device or socket is refused.
    """
    target = Path(destination)
    mode = _lstat_mode(target)
    if mode is not None and stat.S_ISDIR(mode):
        target = target / (name or source.name)
        mode = _lstat_mode(target)
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise OSError(errno.EEXIST, f"{target.name} is {kind}")
    partial = create_exclusive(target.parent, f".{target.name[:100]}.", PART_SUFFIX)
    try:
        with source.open("rb") as src, partial.open("wb") as out:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        _unlink_quietly(partial)
        raise
    return target


def _lstat_mode(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except FileNotFoundError:
        return None


def _is_regular_file(path: Path) -> bool:
    """A regular file itself (not a link to one, which may point outside the cache)."""
    mode = _lstat_mode(path)
    return mode is not None and stat.S_ISREG(mode)


# Stamp a link itself, never its target; where the platform cannot (Windows), `get` and
# `_entries` have already refused links, so following is harmless there.
_UTIME_FOLLOWS_LINKS: Final = os.utime not in os.supports_follow_symlinks


def _unlink_quietly(path: Path) -> bool:
    """Remove a file; False when it is gone already or held open (Windows)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("Could not delete %s: %s", path.name, exc.strerror)
        return False
    return True


# ------------------------------------------------------------------ the selected call


class RecordingState(StrEnum):
    """What the player can say about the selected call's recording."""

    NONE = "none"  # no call selected, a missed call, or no file name
    AVAILABLE = "available"  # has a recording, not fetched yet (fetching costs a request)
    FETCHING = "fetching"
    NOT_READY = "not_ready"  # "no voice file found": MyOperator is still processing it
    ERROR = "error"
    READY = "ready"  # a local file is ready to play


NOT_READY_MESSAGE: Final = "Not ready yet — MyOperator is still processing this recording."
AVAILABLE_MESSAGE: Final = "Recording available — press Play."
FETCHING_MESSAGE: Final = "Fetching recording…"


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    """The state, the sentence that describes it, and the local file once READY."""

    state: RecordingState = RecordingState.NONE
    message: str = "No recording"
    path: Path | None = None


StatusListener = Callable[[RecordingStatus], None]


class RecordingSession:
    """The selected call's recording: found in the cache without a request, else fetched
    on demand (`begin_fetch`, then `fetch` in the owner's task); every change of state
    goes to `on_change`. A fetch for a call no longer selected changes nothing."""

    def __init__(self, cache: RecordingCache, *, on_change: StatusListener | None = None) -> None:
        self._cache = cache
        self._on_change = on_change
        self._call: CallLog | None = None
        self._status = RecordingStatus()

    @property
    def call(self) -> CallLog | None:
        return self._call

    @property
    def status(self) -> RecordingStatus:
        return self._status

    @property
    def suggested_filename(self) -> str:
        """A name for "Save as…" a person can read: when the call started and who called
        (the service's own name is a hash)."""
        call = self._call
        if call is None:
            return "recording.mp3"
        return suggested_recording_name(call)

    def select(self, call: CallLog | None) -> bool:
        """Make `call` (None: nothing) the selected one and look in the cache; False when
        it is the call selected already (re-selected, or re-synced unchanged)."""
        same = call is not None and call == self._call
        if same and self._status.state is not RecordingState.NONE:
            return False
        self._call = call
        if call is None or not call.has_recording or not call.filename:
            self._set(RecordingStatus(RecordingState.NONE, _no_recording_message(call)))
            return True
        try:
            cached = self._cache.cached_path(call.filename)
        except MyOperatorError as exc:  # a name the cache refuses
            self._set(RecordingStatus(RecordingState.ERROR, exc.message))
            return True
        if cached is not None:
            self._set(RecordingStatus(RecordingState.READY, "", cached))
        else:
            self._set(RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE))
        return True

    def begin_fetch(self) -> CallLog | None:
        """Mark the selected call's recording as being fetched and return the call to pass
        to `fetch`; None when there is nothing to fetch (no recording, busy, or ready)."""
        call = self._call
        if call is None or not call.filename or not call.has_recording:
            return None
        if self._status.state in (RecordingState.FETCHING, RecordingState.READY):
            return None
        self._set(RecordingStatus(RecordingState.FETCHING, FETCHING_MESSAGE))
        return call

    async def fetch(self, call: CallLog) -> Path | None:
        """Download `call`'s recording into the cache; the file when it is ready and the
        call still selected. Not ready yet, the service's errors and a disk that cannot
        take it become states with a sentence; anything else propagates (`fetch_failed`)."""
        if not call.filename:
            return None
        try:
            path = await self._cache.get(call.filename)
        except NotReadyYet:
            status = RecordingStatus(RecordingState.NOT_READY, NOT_READY_MESSAGE)
        except MyOperatorError as exc:
            status = RecordingStatus(RecordingState.ERROR, exc.message)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            status = RecordingStatus(
                RecordingState.ERROR, f"The recording could not be stored on disk: {reason}."
            )
        else:
            status = RecordingStatus(RecordingState.READY, "", path)
        if self._call is not call:
            return None
        self._set(status)
        return status.path

    def fetch_failed(self, call: CallLog, sentence: str) -> None:
        """A fetch ended in something `fetch` does not expect: never left "Fetching…"."""
        if self._call is call and self._status.state is RecordingState.FETCHING:
            self._set(
                RecordingStatus(
                    RecordingState.ERROR,
                    f"Something went wrong fetching the recording: {sentence}",
                )
            )

    def fetch_stopped(self) -> None:
        """The fetch was cancelled (the window closes): the recording is available again."""
        if self._status.state is RecordingState.FETCHING:
            self._set(RecordingStatus(RecordingState.AVAILABLE, AVAILABLE_MESSAGE))

    def _set(self, status: RecordingStatus) -> None:
        self._status = status
        if self._on_change is not None:
            self._on_change(status)


def _no_recording_message(call: CallLog | None) -> str:
    if call is None:
        return "No recording"
    if not call.answered:
        return "No recording — the call was not answered."
    return "No recording"
