"""One caller as the cache knows them: their calls, and the agent's note about them.

What the screen-pop shows while the phone rings, so it must be quick on a cache of
100,000 calls: the history reads through the ``calls_caller`` index.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.api.models import CallLog, Direction
from desktop_app.store.calls import CALL_COLUMNS, CallStore, call_from_row

#: Notes longer than this are cut: a note, not a file.
MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class CallerHistory:
    """A number's calls in the cache: how many, how many missed, and the latest few."""

    calls: int
    missed: int
    latest: tuple[CallLog, ...]


class CallerRecords:
    """SQL for the screen-pop over one `CallStore` (its connection and lock)."""

    def __init__(self, store: CallStore) -> None:
        self._store = store

    def history(
        self, caller_e164: str, *, before: int | None = None, latest: int = 3
    ) -> CallerHistory:
        """The calls from (or to) `caller_e164` that started before `before` (all when
        None), newest first; missed counts incoming calls nobody answered."""
        bound = 2**62 if before is None else before
        store = self._store
        with store.lock:
            calls, missed = store.connection.execute(
                "SELECT count(*), coalesce(sum(direction = ? AND answered = 0), 0) FROM calls "
                "WHERE caller_e164 = ? AND start_time < ?",
                (Direction.INCOMING.value, caller_e164, bound),
            ).fetchone()
            rows = store.connection.execute(
                f"SELECT {CALL_COLUMNS} FROM calls WHERE caller_e164 = ? AND start_time < ? "
                "ORDER BY start_time DESC LIMIT ?",
                (caller_e164, bound, latest),
            ).fetchall()
        return CallerHistory(int(calls), int(missed), tuple(call_from_row(r) for r in rows))

    def note(self, caller_e164: str) -> str:
        with self._store.lock:
            row = self._store.connection.execute(
                "SELECT text FROM caller_notes WHERE caller_e164 = ?", (caller_e164,)
            ).fetchone()
        return "" if row is None else str(row[0])

    def set_note(self, caller_e164: str, text: str, at: int) -> None:
        """Keep `text` as the note about `caller_e164` (an empty one removes it)."""
        text = text.strip()[:MAX_NOTE_LENGTH]
        with self._store.transaction():
            if text:
                self._store.connection.execute(
                    "INSERT INTO caller_notes(caller_e164, text, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(caller_e164) DO UPDATE SET text = excluded.text, "
                    "updated_at = excluded.updated_at",
                    (caller_e164, text, at),
                )
            else:
                self._store.connection.execute(
                    "DELETE FROM caller_notes WHERE caller_e164 = ?", (caller_e164,)
                )
