"""Short transactions on a connection shared between threads and processes, for callers
that must not freeze: the dial guard and the request budget run on the GUI thread.

No use waits longer than `wait_s` for the connection's lock or for another process's
write lock: it fails with a plain reason ("the cache database is busy") instead of
freezing the window for the store's ten-second busy timeout.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def why(exc: sqlite3.Error) -> str:
    """The plain reason a read or write failed, for a sentence the person reads."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return "the disk is full"
    if code == sqlite3.SQLITE_READONLY:
        return "the cache database is read-only"
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return "the cache database is busy"
    return "the cache database could not be used"


class ShortTransactions:
    """One connection and its lock; `fail` turns a reason into the caller's exception."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        wait_s: float,
        fail: Callable[[str], Exception],
    ) -> None:
        self.conn = conn
        self.lock = lock
        self.wait_s = wait_s
        self._fail = fail

    @contextmanager
    def locked(self) -> Iterator[float]:
        """Hold the connection's lock, waiting at most `wait_s` for it; yields the time
        left for SQLite's own wait."""
        start = time.monotonic()
        if not self.lock.acquire(timeout=self.wait_s):
            raise self._fail("the cache database is busy")
        try:
            yield max(0.0, self.wait_s - (time.monotonic() - start))
        finally:
            self.lock.release()

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the first
        read, so what was read is still true at the commit, in every process. Another
        process's write lock is waited for briefly (the connection's busy timeout is
        shortened for this transaction only, and put back after it)."""
        with self.locked() as left:
            conn = self.conn
            try:
                previous = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
                conn.execute(f"PRAGMA busy_timeout = {max(1, round(left * 1000))}")
            except sqlite3.Error as exc:
                raise self._fail(why(exc)) from None
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise self._fail(why(exc)) from None
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise self._fail(why(exc)) from None
            finally:
                try:
                    conn.execute(f"PRAGMA busy_timeout = {previous}")
                except sqlite3.Error as exc:  # the connection is gone: nothing to restore
                    log.debug("could not restore the busy timeout: %s", exc)
