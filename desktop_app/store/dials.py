"""The dial guard's memory: every click-to-call this machine sent, kept in the cache file.

A click-to-call is not idempotent, so what the guard knows must outlive the process that
learnt it. Each dial is written *before* its request leaves (``in_flight``) and settled
after it (placed, unknown, not placed). A crash, a ``kill -9`` or a power cut mid-request
therefore leaves an ``in_flight`` row, which every later reader takes for what it is: a
call that may have been placed. An unclear row stays until the call log settles it (or,
after `KEEP_S`, until it is too old to make a redial a duplicate and is dropped).

A second instance of the app on the same file sees the same rows, and the check ("may
this number be called now?") and the insert happen in one ``BEGIN IMMEDIATE``
transaction, so two instances cannot both pass it for the same number.

Times are wall-clock epoch seconds from the guard's injected clock: a monotonic clock
means nothing after a restart. The rules (what blocks, what asks first) stay in
`desktop_app.services.dialer`; this module only stores and reads, and imports no Qt.

Thread-safety as in `CallStore`: one connection, every use under one re-entrant lock; a
`DialRecords` may share the call store's connection and lock (`sharing`) or own one.
The guard calls it on the GUI thread, so no use waits longer than `wait_s` (default
`WAIT_S`) for that lock or for another process's write lock: it fails with "the cache
database is busy" instead, and the guard then refuses the dial rather than freeze the
window for the store's ten-second busy timeout.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from desktop_app.store.db import migrate, open_database_ex
from desktop_app.store.short_tx import ShortTransactions, why

if TYPE_CHECKING:
    from desktop_app.store.calls import CallStore

_R = TypeVar("_R")
log = logging.getLogger(__name__)

#: Rows older than this are dropped, whatever their state: the guard's rules look back
#: 30 s, a placed call is followed for an hour, an unclear one is settled by the call log
#: within half an hour when the log can be read; a dial two days old that never could be
#: checked cannot make a redial a duplicate, and must not block the number for ever.
KEEP_S: Final = 2 * 86_400.0
#: The longest a read or write waits for the connection's lock or the file's write lock.
WAIT_S: Final = 1.5


class DialState(StrEnum):
    #: Written before the request is sent. Anyone but the sender reads it as UNKNOWN.
    IN_FLIGHT = "in_flight"
    PLACED = "placed"
    #: The request left and no clear answer came back: may have been placed.
    UNKNOWN = "unknown"
    #: Definitely not placed (never reached the service, or refused by it).
    NOT_PLACED = "not_placed"
    #: An unclear dial whose call the log shows: it was placed.
    FOUND = "found"
    #: An unclear dial the log never showed: it was not placed.
    NOT_FOUND = "not_found"
    #: The person said the unclear call was not placed.
    DISMISSED = "dismissed"
    #: A later dial to the same number (confirmed by the person) took its place.
    SUPERSEDED = "superseded"


#: States that block a redial of the number until the call log (or the person) settles them.
UNRESOLVED: Final = (DialState.UNKNOWN.value, DialState.IN_FLIGHT.value)
_PLACED: Final = (DialState.PLACED.value, DialState.FOUND.value)

_COLUMNS = (
    "id, number, country_code, national, agent_uuid, started_at, ended_at, state, "
    "unique_id, call_id"
)


class DialRecordError(Exception):
    """The record could not be read or written; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class DialRecord:
    """One row: one request sent (or being sent) to ``/clickOcall``."""

    id: int
    number: str
    country_code: str
    national: str
    agent_uuid: str
    started_at: float
    ended_at: float | None
    state: DialState
    unique_id: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class NumberView:
    """What the guard's rules need about one number, read in one transaction."""

    #: When the latest request (to any number) ended, if any did.
    last_request_end: float | None
    #: The latest dial to the number that may have been placed and is not settled.
    unresolved: DialRecord | None
    #: When the latest dial to the number known to be placed was started.
    last_placed_at: float | None


def _record(row: Any) -> DialRecord:
    return DialRecord(
        id=int(row[0]),
        number=str(row[1]),
        country_code=str(row[2]),
        national=str(row[3]),
        agent_uuid=str(row[4]),
        started_at=float(row[5]),
        ended_at=None if row[6] is None else float(row[6]),
        state=DialState(row[7]),
        unique_id=None if row[8] is None else str(row[8]),
        call_id=None if row[9] is None else str(row[9]),
    )


class DialRecords:
    """The ``dials`` table; see the module docstring.

    `mine` in the readers is the id of the row the calling guard is sending right now:
    that one row is in flight for it, every other ``in_flight`` row may have been placed.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        lock: threading.RLock | None = None,
        owns_connection: bool = False,
        wait_s: float = WAIT_S,
    ) -> None:
        self._conn = conn
        self._lock = lock if lock is not None else threading.RLock()
        self._tx = ShortTransactions(conn, self._lock, wait_s, DialRecordError)
        self._owns = owns_connection

    @property
    def wait_s(self) -> float:
        return self._tx.wait_s

    @wait_s.setter
    def wait_s(self, seconds: float) -> None:
        self._tx.wait_s = seconds

    @classmethod
    def open(cls, path: Path, *, wait_s: float = WAIT_S) -> DialRecords:
        """Own connection to the cache file at `path` (creating or migrating it)."""
        conn, _ = open_database_ex(path)
        return cls(conn, owns_connection=True, wait_s=wait_s)

    @classmethod
    def sharing(cls, store: CallStore, *, wait_s: float = WAIT_S) -> DialRecords:
        """Use the call store's connection and lock (closed with the store)."""
        return cls(store.connection, lock=store.lock, wait_s=wait_s)

    @classmethod
    def in_memory(cls) -> DialRecords:
        """Records that last as long as this object: for a guard given no database."""
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        migrate(conn)
        return cls(conn, owns_connection=True)

    def close(self) -> None:
        if self._owns:
            with self._lock:
                self._conn.close()

    # -- writing ----------------------------------------------------------------------

    def reserve(
        self,
        country_code: str,
        national: str,
        agent_uuid: str,
        at: float,
        refuse: Callable[[NumberView], _R | None],
    ) -> int | _R:
        """Ask `refuse` whether the number may be called now (given what every instance
        has recorded) and, if it returns None, record the dial as in flight: both in one
        transaction. Returns the new row's id, or what `refuse` returned.

        Raises `DialRecordError` when the record cannot be written: the caller must then
        not send the request.
        """
        number = f"+{country_code}{national}"
        try:
            with self._tx.immediate() as conn:
                # Before the rules read: a row too old to matter must not block either.
                conn.execute("DELETE FROM dials WHERE started_at < ?", (at - KEEP_S,))
                view = self._view(conn, number, None)
                refusal = refuse(view)
                if refusal is not None:
                    return refusal
                cursor = conn.execute(
                    "INSERT INTO dials (number, country_code, national, agent_uuid, "
                    "started_at, state) VALUES (?, ?, ?, ?, ?, ?)",
                    (number, country_code, national, agent_uuid, at, DialState.IN_FLIGHT.value),
                )
                row_id = cursor.lastrowid
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None
        assert row_id is not None
        return row_id

    def settle(
        self,
        row_id: int,
        state: DialState,
        ended_at: float,
        *,
        unique_id: str | None = None,
        supersede: bool = False,
    ) -> None:
        """Record how the request ended. With `supersede`, earlier unresolved dials to the
        same number are replaced by this one (the person confirmed calling again)."""
        try:
            with self._tx.immediate() as conn:
                conn.execute(
                    "UPDATE dials SET state = ?, ended_at = ?, unique_id = ? WHERE id = ?",
                    (state.value, ended_at, unique_id, row_id),
                )
                if supersede:
                    conn.execute(
                        "UPDATE dials SET state = ? WHERE id < ? AND state IN (?, ?) "
                        "AND number = (SELECT number FROM dials WHERE id = ?)",
                        (DialState.SUPERSEDED.value, row_id, *UNRESOLVED, row_id),
                    )
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None

    def resolve(self, row_id: int, state: DialState, call_id: str | None = None) -> bool:
        """Settle an unresolved dial from the call log (FOUND / NOT_FOUND); returns whether
        it was still unresolved. A found call's id is kept either way, so that one log
        never answers for two dials."""
        try:
            with self._tx.immediate() as conn:
                cursor = conn.execute(
                    "UPDATE dials SET state = ?, call_id = coalesce(?, call_id) "
                    "WHERE id = ? AND state IN (?, ?)",
                    (state.value, call_id, row_id, *UNRESOLVED),
                )
                current = cursor.rowcount > 0
                if not current and call_id is not None:
                    conn.execute("UPDATE dials SET call_id = ? WHERE id = ?", (call_id, row_id))
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None
        return current

    def claim(self, row_id: int, call_id: str) -> None:
        """Remember that the log `call_id` is this dial's call."""
        try:
            with self._tx.immediate() as conn:
                conn.execute("UPDATE dials SET call_id = ? WHERE id = ?", (call_id, row_id))
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None

    def dismiss(self, number: str, mine: int | None) -> bool:
        """The person says the number's unclear dials were not placed; returns whether
        there were any."""
        try:
            with self._tx.immediate() as conn:
                cursor = conn.execute(
                    "UPDATE dials SET state = ? WHERE number = ? AND state IN (?, ?) "
                    "AND id IS NOT ?",
                    (DialState.DISMISSED.value, number, *UNRESOLVED, mine),
                )
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None
        return cursor.rowcount > 0

    # -- reading ----------------------------------------------------------------------

    def _read(self, query: Callable[[sqlite3.Connection], _R]) -> _R:
        try:
            with self._tx.locked():
                return query(self._conn)
        except sqlite3.Error as exc:
            raise DialRecordError(why(exc)) from None

    def _view(self, conn: sqlite3.Connection, number: str, mine: int | None) -> NumberView:
        ended = conn.execute("SELECT max(ended_at) FROM dials").fetchone()[0]
        unresolved = conn.execute(
            f"SELECT {_COLUMNS} FROM dials WHERE number = ? AND state IN (?, ?) "
            "AND id IS NOT ? ORDER BY id DESC LIMIT 1",
            (number, *UNRESOLVED, mine),
        ).fetchone()
        placed = conn.execute(
            "SELECT max(started_at) FROM dials WHERE number = ? AND state IN (?, ?)",
            (number, *_PLACED),
        ).fetchone()[0]
        return NumberView(
            last_request_end=None if ended is None else float(ended),
            unresolved=None if unresolved is None else _record(unresolved),
            last_placed_at=None if placed is None else float(placed),
        )

    def view(self, number: str, mine: int | None = None) -> NumberView:
        return self._read(lambda conn: self._view(conn, number, mine))

    def unresolved(self, mine: int | None = None) -> list[DialRecord]:
        """Dials that may have been placed and are not settled: the latest one per number,
        oldest first."""
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM dials WHERE id IN ("
                "  SELECT max(id) FROM dials WHERE state IN (?, ?) AND id IS NOT ? "
                "  GROUP BY number) ORDER BY id",
                (*UNRESOLVED, mine),
            ).fetchall()
        )
        return [_record(r) for r in rows]

    def get(self, row_id: int) -> DialRecord | None:
        row = self._read(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM dials WHERE id = ?", (row_id,)
            ).fetchone()
        )
        return None if row is None else _record(row)

    def by_unique_id(self, unique_id: str) -> DialRecord | None:
        row = self._read(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM dials WHERE unique_id = ? ORDER BY id DESC LIMIT 1",
                (unique_id,),
            ).fetchone()
        )
        return None if row is None else _record(row)

    def attributed_call_ids(self, except_id: int, since: float) -> set[str]:
        """Call-log ids that belong to other dials started at `since` or later: their
        service-given ids and the logs found for them."""
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT unique_id, call_id FROM dials WHERE id != ? AND started_at >= ? "
                "AND (unique_id IS NOT NULL OR call_id IS NOT NULL)",
                (except_id, since),
            ).fetchall()
        )
        return {str(v) for row in rows for v in row if v is not None}
