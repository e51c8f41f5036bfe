"""The request budget's ledger in the account's cache file (`api.budget.SpendLedger`).

MyOperator counts requests per account, so this desktop must count them per account too:
a restart, or a second instance on the same file, reads what was spent before it. The
check ("is there room?") and the insert happen in one ``BEGIN IMMEDIATE`` transaction, so
two instances cannot both take the last request of a window.

Own connection, so reads (the status bar's "requests left") never wait behind the sync's
page writes on the call store's lock, and a short wait for the file's write lock
(`short_tx`): a failure raises `SpendRecordError`, and the budget then counts in memory.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from desktop_app.store.db import open_database_ex
from desktop_app.store.short_tx import ShortTransactions, why

#: Long enough for a page write of another instance to finish, short enough for a click.
WAIT_S: Final = 1.0
_BLOCKED_KEY: Final = "budget.blocked_until"
#: A spend further ahead than this was written under a clock that has since gone back:
#: dropped, or it would hold a window shut until the clock catches up.
FUTURE_SLACK_S: Final = 60.0


class SpendRecordError(Exception):
    """The ledger could not be read or written; the message says why in plain words."""


class SpendRecords:
    """The ``budget_spends`` table; see the module docstring."""

    def __init__(self, conn: sqlite3.Connection, *, wait_s: float = WAIT_S) -> None:
        self._tx = ShortTransactions(conn, threading.RLock(), wait_s, SpendRecordError)

    @classmethod
    def open(cls, path: Path, *, wait_s: float = WAIT_S) -> SpendRecords:
        """Own connection to the cache file at `path` (creating or migrating it). Its
        pages are not checked again: the `CallStore` opened on the same file first is
        what checks it, and sets it aside when damaged."""
        conn, _ = open_database_ex(path, check=False)
        return cls(conn, wait_s=wait_s)

    def close(self) -> None:
        with self._tx.lock:
            self._tx.conn.close()

    def spend_if(
        self, now: float, since: float, decide: Callable[[Sequence[float]], float]
    ) -> float:
        try:
            with self._tx.immediate() as conn:
                self._forget(conn, now, since)
                wait = decide(self._times(conn, since))
                if wait <= 0:
                    conn.execute("INSERT INTO budget_spends(at) VALUES (?)", (now,))
                return wait
        except sqlite3.Error as exc:
            raise SpendRecordError(why(exc)) from None

    def spent_since(self, since: float) -> list[float]:
        try:
            with self._tx.locked():
                return self._times(self._tx.conn, since)
        except sqlite3.Error as exc:
            raise SpendRecordError(why(exc)) from None

    def add(self, times: Sequence[float], *, forget_before: float) -> None:
        try:
            with self._tx.immediate() as conn:
                conn.execute("DELETE FROM budget_spends WHERE at <= ?", (forget_before,))
                conn.executemany(
                    "INSERT INTO budget_spends(at) VALUES (?)", [(t,) for t in times]
                )
        except sqlite3.Error as exc:
            raise SpendRecordError(why(exc)) from None

    def blocked_until(self) -> float:
        try:
            with self._tx.locked():
                row = self._tx.conn.execute(
                    "SELECT value FROM meta WHERE key = ?", (_BLOCKED_KEY,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise SpendRecordError(why(exc)) from None
        try:
            return float(row[0]) if row is not None else 0.0
        except ValueError:
            return 0.0

    def block_until(self, until: float) -> None:
        try:
            with self._tx.immediate() as conn:
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = ?", (_BLOCKED_KEY,)
                ).fetchone()
                try:
                    current = float(row[0]) if row is not None else 0.0
                except ValueError:
                    current = 0.0
                if until > current:
                    conn.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                        (_BLOCKED_KEY, repr(until)),
                    )
        except sqlite3.Error as exc:
            raise SpendRecordError(why(exc)) from None

    @staticmethod
    def _forget(conn: sqlite3.Connection, now: float, since: float) -> None:
        conn.execute(
            "DELETE FROM budget_spends WHERE at <= ? OR at > ?", (since, now + FUTURE_SLACK_S)
        )

    @staticmethod
    def _times(conn: sqlite3.Connection, since: float) -> list[float]:
        rows = conn.execute(
            "SELECT at FROM budget_spends WHERE at > ? ORDER BY at", (since,)
        ).fetchall()
        return [float(row[0]) for row in rows]
