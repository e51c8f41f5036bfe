"""A size-bounded, least-recently-used cache of downloaded call recordings.

Recordings are played from local files only: QtMultimedia's FFmpeg backend prints media URLs
to stderr, and a recording link is a short-lived credential. So a recording is fetched once
(a fresh link each time, never stored), written atomically by the downloader (``.part``, then
rename) and replayed from disk until evicted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

from desktop_app.api.errors import ValidationError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES: Final = 500 * 1024 * 1024
PART_SUFFIX: Final = ".part"
_MAX_NAME_LENGTH: Final = 255
# Characters no recording name needs and some file system forbids or treats specially.
_FORBIDDEN_CHARS: Final = frozenset('/\\:*?"<>|')


class Downloader(Protocol):
    """What the cache needs from the API client (`MyOperatorClient` satisfies it)."""

    async def download_recording(self, filename: str, destination: Path) -> Path:
        """Fetch a fresh link for `filename` and write the file to `destination` atomically."""
        ...


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
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._downloader = downloader
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
        if task is not None and task.cancelled():
            task = None  # abandoned by all its waiters a moment ago; start afresh
        if task is None:
            if path.is_file():
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
        return path if path.is_file() else None

    def size_bytes(self) -> int:
        """Bytes used by complete recordings (partial downloads are not counted)."""
        return sum(st.st_size for _p, st in self._entries())

    def clear(self) -> None:
        """Delete every cached recording; downloads in flight still complete."""
        for path, _st in list(self._entries()):
            _unlink_quietly(path)

    # --------------------------------------------------------------- private

    async def _fetch(self, name: str, path: Path) -> Path:
        # The user (or a cleaner) may have deleted the whole cache directory meanwhile.
        self.directory.mkdir(parents=True, exist_ok=True)
        result = await self._downloader.download_recording(name, path)
        self._touch(result)
        await asyncio.to_thread(self._evict, keep=result)
        return result

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
            os.utime(path, ns=(stamp, stamp))
        except OSError as exc:
            log.warning("Could not mark %s as recently used: %s", path.name, exc.strerror)

    def _entries(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Complete recordings with their stat (skips partial files and directories)."""
        try:
            children = list(self.directory.iterdir())
        except FileNotFoundError:
            return
        for child in children:
            if child.name.endswith(PART_SUFFIX) or child.name.startswith("."):
                continue
            try:
                st = child.stat()
            except OSError:
                continue
            if child.is_file():
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
        """Partial downloads left by a crash: nothing will ever finish them."""
        for child in self.directory.glob("*" + PART_SUFFIX):
            if child.is_file():
                _unlink_quietly(child)


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
