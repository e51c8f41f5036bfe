"""The missed-call features' tables: which calls the notifier announced, which numbers the
agent marked handled, and the queries both need over the call cache.

Kept apart from `calls.py` so the call cache stays about calls; it shares that module's
connection and lock (`CallStore.connection`, `CallStore.lock`) and its row decoding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from desktop_app.api.models import CallLog, Direction
from desktop_app.store.calls import CALL_COLUMNS, CallStore, call_from_row

_INCOMING = Direction.INCOMING.value


@dataclass(frozen=True, slots=True)
class HandledMark:
    """"Every missed call from `number` up to `until_time` is handled" (set at `handled_at`)."""

    number: str
    until_time: int
    handled_at: int


class MissedCallRecords:
    """SQL for the notifier and the callback worklist over one `CallStore`."""

    def __init__(self, store: CallStore) -> None:
        self._store = store

    @property
    def store(self) -> CallStore:
        return self._store

    # -- the notifier ---------------------------------------------------------------------

    def unnotified_missed(self, since: int) -> list[CallLog]:
        """Missed incoming calls starting at `since` or later not yet recorded as notified,
        oldest first."""
        store = self._store
        with store.lock:
            rows = store.connection.execute(
                f"SELECT {CALL_COLUMNS} FROM calls "
                "WHERE direction = ? AND answered = 0 AND start_time >= ? "
                "AND id NOT IN (SELECT call_id FROM notified) "
                "ORDER BY start_time, rowid",
                (_INCOMING, since),
            ).fetchall()
        return [call_from_row(r) for r in rows]

    def record_notified(self, calls: Iterable[CallLog], how: str, at: int) -> None:
        """Remember `calls` as announced (``how``: single / summary / silenced / off)."""
        params = [(c.id, c.start_time, at, how) for c in calls]
        if not params:
            return
        with self._store.transaction():
            self._store.connection.executemany(
                "INSERT OR IGNORE INTO notified (call_id, start_time, notified_at, how) "
                "VALUES (?, ?, ?, ?)",
                params,
            )

    def was_notified(self, call_id: str) -> bool:
        with self._store.lock:
            row = self._store.connection.execute(
                "SELECT 1 FROM notified WHERE call_id = ?", (call_id,)
            ).fetchone()
        return row is not None

    def prune_notified(self, before: int) -> int:
        """Forget notified calls that started before `before` (the floor): they can never
        be candidates again. Returns how many were dropped."""
        with self._store.transaction():
            cursor = self._store.connection.execute(
                "DELETE FROM notified WHERE start_time < ?", (before,)
            )
        return int(cursor.rowcount)

    def incoming_count(self, number: str, start: int, end: int) -> int:
        """Incoming calls from `number` with ``start <= start_time <= end``."""
        with self._store.lock:
            row = self._store.connection.execute(
                "SELECT count(*) FROM calls WHERE caller_e164 = ? AND direction = ? "
                "AND start_time BETWEEN ? AND ?",
                (number, _INCOMING, start, end),
            ).fetchone()
        return int(row[0])

    # -- the worklist ---------------------------------------------------------------------

    def calls_of_missed_numbers(self, since: int) -> list[CallLog]:
        """Every call since `since` with a number that has a missed incoming call since
        then, oldest first: what the worklist needs to know which misses are still open."""
        store = self._store
        with store.lock:
            rows = store.connection.execute(
                f"SELECT {CALL_COLUMNS} FROM calls WHERE start_time >= ? AND caller_e164 IN ("
                "  SELECT DISTINCT caller_e164 FROM calls "
                "  WHERE direction = ? AND answered = 0 AND start_time >= ? "
                "  AND caller_e164 != '') "
                "ORDER BY start_time, answered, rowid",
                (since, _INCOMING, since),
            ).fetchall()
        return [call_from_row(r) for r in rows]

    def handled_marks(self) -> dict[str, HandledMark]:
        with self._store.lock:
            rows = self._store.connection.execute(
                "SELECT number, until_time, handled_at FROM worklist_handled"
            ).fetchall()
        return {r[0]: HandledMark(r[0], int(r[1]), int(r[2])) for r in rows}

    def set_handled(self, mark: HandledMark) -> None:
        with self._store.transaction():
            self._store.connection.execute(
                "INSERT INTO worklist_handled (number, until_time, handled_at) "
                "VALUES (?, ?, ?) ON CONFLICT(number) DO UPDATE SET "
                "until_time = excluded.until_time, handled_at = excluded.handled_at",
                (mark.number, mark.until_time, mark.handled_at),
            )

    def clear_handled(self, number: str) -> None:
        with self._store.transaction():
            self._store.connection.execute(
                "DELETE FROM worklist_handled WHERE number = ?", (number,)
            )

    def prune_handled(self, before: int) -> int:
        """Drop marks whose calls all lie before `before` (outside the worklist's horizon)."""
        with self._store.transaction():
            cursor = self._store.connection.execute(
                "DELETE FROM worklist_handled WHERE until_time < ?", (before,)
            )
        return int(cursor.rowcount)
