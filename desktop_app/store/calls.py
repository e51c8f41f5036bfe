"""The call-log cache: upserts by stable id, local search (FTS5 trigram), coverage, meta.

Thread-safety: one `CallStore` owns one connection opened with ``check_same_thread=False``
and serialises every use of it with a re-entrant lock. The app runs heavy writes on a
worker thread (``asyncio.to_thread``) while the UI thread reads; the lock makes that safe,
at the price of a read waiting for a write in progress (writes are page-sized, so short).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from desktop_app.api.models import Agent, CallLeg, CallLog, Direction, LegStatus
from desktop_app.store.db import open_database_ex

CALL_COLUMNS = (
    "id, start_time, end_time, duration_s, talk_s, direction, answered, caller_e164, "
    "caller_raw, department, agents, filename, legs_json, company_id, user_id"
)
_ROW_COLUMNS = (
    "id, start_time, end_time, duration_s, talk_s, direction, answered, caller_e164, "
    "caller_raw, department, agents, filename"
)
# Only rows whose content changed are rewritten: the sync's overlap re-fetches the same
# calls every time, and rewriting them would churn the FTS index for nothing.
_UPSERT = f"""
INSERT INTO calls ({CALL_COLUMNS}, synced_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    start_time = excluded.start_time, end_time = excluded.end_time,
    duration_s = excluded.duration_s, talk_s = excluded.talk_s,
    direction = excluded.direction, answered = excluded.answered,
    caller_e164 = excluded.caller_e164, caller_raw = excluded.caller_raw,
    department = excluded.department, agents = excluded.agents,
    filename = excluded.filename, legs_json = excluded.legs_json,
    company_id = excluded.company_id, user_id = excluded.user_id,
    synced_at = excluded.synced_at
WHERE (calls.start_time, calls.end_time, calls.duration_s, calls.direction, calls.answered,
       calls.caller_e164, calls.caller_raw, calls.department, calls.filename,
       calls.legs_json, calls.company_id, calls.user_id)
   IS NOT (excluded.start_time, excluded.end_time, excluded.duration_s, excluded.direction,
       excluded.answered, excluded.caller_e164, excluded.caller_raw, excluded.department,
       excluded.filename, excluded.legs_json, excluded.company_id, excluded.user_id)
"""
_ID_CHUNK = 500
#: Calls deleted per transaction by `prune_older_than`: the lock is let go between
#: chunks, so the window's reads never wait for a whole year's deletion.
_PRUNE_CHUNK = 2000
_SCAN_MIN_MATCHES = 1000
#: Rows a first page may examine walking the time index (text matched with LIKE) before
#: the search index drives instead: a term on 1 row in 15 fills a page of 200 within it.
_WALK_ROWS = 3000
#: A walk that found at least 1/_WALK_WIDEN of a page goes on once (see `_walk`).
_WALK_WIDEN = 3
_FTS_COUNT_CACHE = 64
_LEGS_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_NUMBER_COLUMNS = ("caller_e164", "caller_raw")
# A word of one or two letters is the start of a name, not of a number or an id; scanning
# fewer columns keeps that unindexable search fast.
_SHORT_TEXT_COLUMNS = ("agents", "department")
#: The columns of the search index (`calls_fts`), for the LIKE form of its terms.
_FTS_COLUMNS = ("caller_e164", "caller_raw", "agents", "department", "id")
_MIN_WHOLE_NUMBER = 6
_NUMBER_LIKE = re.compile(r"^[\d\s\-().+/]*\d[\d\s\-().+/]*$")


@dataclass(frozen=True, slots=True)
class CallQuery:
    """What the feed shows: every field narrows; the defaults match everything.

    `text` is matched as substrings (case-insensitive) of the caller number, the agents'
    names, the department and the call id; several words must all match. A number typed
    with spaces, dashes, a ``+`` or a leading trunk ``0`` is matched by its digits, against
    the numbers only. Words of one or two characters (which the trigram index cannot look
    up) match numbers if digits, else agents and departments only.
    `start`/`end` bound ``start_time`` inclusively. An empty set matches nothing.
    """

    text: str = ""
    start: int | None = None
    end: int | None = None
    directions: frozenset[Direction] | None = None
    answered: bool | None = None
    departments: frozenset[str] | None = None
    has_recording: bool | None = None


class CallRow(NamedTuple):
    """A feed row without the legs: cheap to read for a lazy table model."""

    id: str
    start_time: int
    end_time: int | None
    duration_s: int
    talk_s: int
    direction: Direction
    answered: bool
    caller_e164: str
    caller_raw: str
    department: str
    agents: str
    has_recording: bool


class CallStore:
    """The SQLite call cache. See the module docstring for the threading rules."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        clock: Callable[[], float] = time.time,
        moved_aside: Path | None = None,
    ) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._clock = clock
        # Bumped on every write to calls through this connection; with ``PRAGMA
        # data_version`` (which moves on other connections' commits) it keys the FTS
        # match-count cache.
        self._generation = 0
        self._fts_counts: dict[str, tuple[tuple[int, int], int]] = {}
        #: Where a damaged cache file was moved when this store was opened, else None.
        self.moved_aside = moved_aside

    @classmethod
    def open(
        cls, path: Path, *, clock: Callable[[], float] = time.time, check: bool = True
    ) -> CallStore:
        """Open the cache file (creating, migrating or rebuilding it as needed); without
        `check` its pages are left to the caller's `damage_found`."""
        conn, moved = open_database_ex(path, clock=clock, check=check)
        return cls(conn, clock=clock, moved_aside=moved)

    def sibling(self, *, read_only: bool = False) -> CallStore:
        """A second connection to this store's file, already opened, checked and migrated
        by this one; the caller closes it.

        For work that must not hold up this store's users: the sync writes through one
        on a worker thread while this connection serves the window, and an exact count
        of 100,000 matches runs on a `read_only` one off the GUI thread. In WAL mode a
        reader never waits for a writer, and `interrupt` stops a sibling's statement
        without touching this connection.
        """
        with self._lock:
            rows = self._conn.execute("PRAGMA database_list").fetchall()
        path = next(str(file) for _seq, name, file in rows if name == "main")
        if not path:
            raise ValueError("an in-memory cache has no file to open again")
        if read_only:
            conn = sqlite3.connect(
                Path(path).as_uri() + "?mode=ro", uri=True, check_same_thread=False,
                isolation_level=None,
            )
        else:
            conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        return CallStore(conn, clock=self._clock)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def number_samples(self) -> list[str]:
        """One cached caller number for each distinct leading three digits (E.164): a
        number of every country, and area, the cache holds (45 ms at 100,000 calls)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT min(caller_e164) FROM calls WHERE caller_e164 != '' "
                "GROUP BY substr(caller_e164, 1, 4)"
            ).fetchall()
        return [str(row[0]) for row in rows]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for later modules' tables; hold `lock` while using it."""
        return self._conn

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def interrupt(self) -> None:
        """Make the statement running on this connection (if any) stop with an error: a
        count nobody waits for any more. Safe from any thread; takes no lock."""
        self._conn.interrupt()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested uses join the outer transaction.

        The sync engine wraps "store this page, move the cursor, extend coverage" in one,
        so an interrupted sync never leaves a cursor that disagrees with the rows.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._generation += 1  # counts cached inside the transaction are void
                if self._conn.in_transaction:  # SQLite may have rolled back already
                    self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    # -- calls ------------------------------------------------------------------------

    def upsert_calls(self, logs: Iterable[CallLog]) -> list[CallLog]:
        """Store `logs` by id in one transaction; return those not held before.

        A log whose id is already held replaces the stored one (e.g. its recording became
        available). Repeats within `logs` count once, the last one winning.
        """
        by_id: dict[str, CallLog] = {}
        for log in logs:
            by_id.pop(log.id, None)
            by_id[log.id] = log
        if not by_id:
            return []
        synced_at = int(self._clock())
        params = [_to_params(log, synced_at) for log in by_id.values()]
        with self.transaction():
            self._generation += 1
            existing = self._existing_ids(list(by_id))
            self._conn.executemany(_UPSERT, params)
        return [log for log_id, log in by_id.items() if log_id not in existing]

    def _existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i : i + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT id FROM calls WHERE id IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found

    def get(self, call_id: str) -> CallLog | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {CALL_COLUMNS} FROM calls WHERE id = ?", (call_id,)
            ).fetchone()
        return call_from_row(row) if row else None

    def newest_start_time(self, *, at_most: int | None = None) -> int | None:
        """The newest held start time (not after `at_most` when given)."""
        with self._lock:
            if at_most is None:
                row = self._conn.execute("SELECT max(start_time) FROM calls").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT max(start_time) FROM calls WHERE start_time <= ?", (at_most,)
                ).fetchone()
        return None if row[0] is None else int(row[0])

    def oldest_start_time(self) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT min(start_time) FROM calls").fetchone()
        return None if row[0] is None else int(row[0])

    def count(self, query: CallQuery = CallQuery()) -> int:
        plan = _plan(query)
        with self._lock:
            if plan.match is not None and not plan.clauses:
                return self._fts_count(plan.match)
            where, params = plan.where(by_match=self._by_match(plan))
            row = self._conn.execute(f"SELECT count(*) FROM calls c WHERE {where}", params)
            return int(row.fetchone()[0])

    def fetch(self, query: CallQuery, offset: int = 0, limit: int = 100) -> list[CallLog]:
        """Matching calls, newest first (ties in a stable order), with their legs."""
        return [call_from_row(r) for r in self._select(CALL_COLUMNS, query, offset, limit)]

    def fetch_rows(self, query: CallQuery, offset: int = 0, limit: int = 100) -> list[CallRow]:
        """Like `fetch` but without decoding legs: what a table model needs per row."""
        return [_to_row(r) for r in self._select(_ROW_COLUMNS, query, offset, limit)]

    def _select(self, columns: str, query: CallQuery, offset: int, limit: int) -> list[Any]:
        plan = _plan(query)
        with self._lock:
            if (
                plan.match is not None and plan.likes is not None and offset == 0 and limit > 0
                and not (plan.numbers_only and self._few_matches(plan.match))
            ):
                walked = self._walk(columns, query, plan, limit)
                if walked is not None:
                    return walked
            by_match = self._by_match(plan)
            where, params = plan.where(by_match=by_match)
            # A common term: walk the time index until a page is full rather than sort
            # every match (unless a direction/answered filter has its own better index).
            walk = plan.match is not None and not by_match and not plan.kind_filter
            index = "INDEXED BY calls_start_time " if walk else ""
            sql = (
                f"SELECT {columns} FROM calls c {index}WHERE {where} "
                "ORDER BY c.start_time DESC, c.rowid DESC LIMIT ? OFFSET ?"
            )
            return self._conn.execute(sql, [*params, limit, offset]).fetchall()

    def _walk(
        self, columns: str, query: CallQuery, plan: _Plan, limit: int
    ) -> list[Any] | None:
        """The first page of a text search read newest first from the time index, the
        terms matched with LIKE, examining the newest `_WALK_ROWS` rows (and once more as
        many as they suggest, below); None when the walk did not fill the page (a rare
        term: the search index drives then).

        A common term (a name, a department) fills a page within a few hundred rows in a
        millisecond or two, where any plan through the search index first gathers every
        match (tens of thousands) and costs 10-40 ms at 100,000 calls, more than a frame.
        It counts nothing, so the choice costs no FTS count either. `likes` exists only
        for ASCII terms, for which LIKE (ASCII case folding) and the trigram index agree.

        A term those rows hold a third of a page of (on one call in 45 or more, such as a
        number's leading digits "9198") is walked once more, over as many older rows as
        that share says the rest of the page needs: through the search index its
        thousands of matches would each be looked up and sorted (12-25 ms).
        """
        assert plan.likes is not None
        bounds, bound_params = _time_bounds(query)
        clauses = [c.replace("@.", "c.") for c in (*plan.clauses, *plan.likes)]
        params = [*plan.params, *plan.like_params]
        rows: list[Any] = []
        span = _WALK_ROWS
        below: int | None = None  # what the walk so far examined: the seconds from this up
        while True:
            leg, leg_params = list(bounds), list(bound_params)
            if below is not None:
                leg.append("@.start_time < ?")
                leg_params.append(below)
            where = " AND ".join(c.replace("@.", "") for c in leg) or "1"
            # Whole seconds are examined: the page is exact whatever the ties at the edge.
            edge = self._conn.execute(
                f"SELECT start_time FROM calls INDEXED BY calls_start_time WHERE {where} "
                "ORDER BY start_time DESC LIMIT 1 OFFSET ?",
                [*leg_params, span],
            ).fetchone()
            conditions = list(clauses)
            values = list(params)
            if below is not None:
                conditions.append("c.start_time < ?")
                values.append(below)
            if edge is not None:
                conditions.append("c.start_time >= ?")
                values.append(edge[0])
            sql = (
                f"SELECT {columns} FROM calls c INDEXED BY calls_start_time "
                f"WHERE {' AND '.join(conditions)} "
                "ORDER BY c.start_time DESC, c.rowid DESC LIMIT ?"
            )
            rows += self._conn.execute(sql, [*values, limit - len(rows)]).fetchall()
            if edge is None or len(rows) >= limit:
                return rows
            if below is not None or len(rows) * _WALK_WIDEN < limit:
                return None  # older rows were not examined
            # The rest of the page at the share found so far, and half as much again.
            span = -(-_WALK_ROWS * (limit - len(rows)) * 3 // (2 * len(rows)))
            below = int(edge[0])

    def _by_match(self, plan: _Plan) -> bool:
        """Whether to drive the query by the text matches (few: look each row up) rather
        than by an index on calls (many: a large share of all rows). The FTS count, cached
        until the next write, tells which."""
        if plan.match is None:
            return False
        matches = self._fts_count(plan.match)
        return matches < _SCAN_MIN_MATCHES or matches * 20 < self._approx_rows()

    def _fts_count(self, match: str) -> int:
        """The index's count of `match`, cached until a write through this connection
        (`_generation`) or a commit through any other (``PRAGMA data_version``)."""
        version = self._version()
        kept = self._kept_count(match, version)
        if kept is not None:
            return kept
        row = self._conn.execute(
            "SELECT count(*) FROM calls_fts WHERE calls_fts MATCH ?", (match,)
        ).fetchone()
        self._keep_count(match, version, int(row[0]))
        return int(row[0])

    def _few_matches(self, match: str) -> bool:
        """Whether `match` has fewer than `_SCAN_MIN_MATCHES` matches (the search index
        drives then), counting no further than that: a tenth of a millisecond where a full
        count of a common term takes several. A count that stopped short is exact, and
        kept for `_fts_count`."""
        version = self._version()
        kept = self._kept_count(match, version)
        if kept is not None:
            return kept < _SCAN_MIN_MATCHES
        row = self._conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM calls_fts WHERE calls_fts MATCH ? LIMIT ?)",
            (match, _SCAN_MIN_MATCHES),
        ).fetchone()
        few = int(row[0]) < _SCAN_MIN_MATCHES
        if few:
            self._keep_count(match, version, int(row[0]))
        return few

    def _version(self) -> tuple[int, int]:
        return self._generation, int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _kept_count(self, match: str, version: tuple[int, int]) -> int | None:
        """`match`'s count kept at `version`, if any."""
        kept = self._fts_counts.get(match)
        return kept[1] if kept is not None and kept[0] == version else None

    def _keep_count(self, match: str, version: tuple[int, int], count: int) -> None:
        if len(self._fts_counts) >= _FTS_COUNT_CACHE:
            self._fts_counts.clear()
        self._fts_counts[match] = (version, count)

    def _approx_rows(self) -> int:
        row = self._conn.execute("SELECT max(rowid) FROM calls").fetchone()
        return int(row[0] or 0)

    def departments(self) -> list[str]:
        """Distinct non-empty department names, for a filter menu."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT department FROM calls WHERE department != '' "
                "ORDER BY department"
            ).fetchall()
        return [r[0] for r in rows]

    def prune_older_than(self, start_time: int) -> int:
        """Remove every call that started before `start_time`; returns how many went.

        What describes those calls goes with them, first and in one transaction, so the
        cache never claims to hold what it dropped: coverage is cut at `start_time` (a sync
        or a search then knows the older range is not held), the notifier's record of
        announced calls below it and the callback list's "handled" marks that end below it
        are forgotten. The calls' search index rows go with each deleted row (its
        triggers). The calls then go in chunks, the lock let go between them; a prune cut
        short leaves old calls outside the coverage, which the next one removes.
        """
        with self.transaction():
            self._generation += 1
            self._conn.execute("DELETE FROM coverage WHERE range_end < ?", (start_time,))
            self._conn.execute(
                "UPDATE coverage SET range_start = ? WHERE range_start < ?",
                (start_time, start_time),
            )
            for statement in _PRUNE_RELATED:
                if self._has_table(statement.table):
                    self._conn.execute(statement.sql, (start_time,))
        removed = 0
        while True:
            with self.transaction():
                self._generation += 1
                cursor = self._conn.execute(
                    "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls "
                    "WHERE start_time < ? LIMIT ?)",
                    (start_time, _PRUNE_CHUNK),
                )
            removed += max(0, cursor.rowcount)
            if cursor.rowcount < _PRUNE_CHUNK:
                return removed

    def _has_table(self, name: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    # -- coverage ---------------------------------------------------------------------

    def add_coverage(self, start: int, end: int) -> None:
        """Record that every call with ``start <= start_time <= end`` is held.

        Overlapping and touching ranges merge, so `coverage` stays a sorted disjoint list.
        """
        if start > end:
            return
        with self.transaction():
            rows = self._conn.execute(
                "SELECT rowid, range_start, range_end FROM coverage "
                "WHERE range_start <= ? AND range_end >= ?",
                (end + 1, start - 1),
            ).fetchall()
            for rowid, lo, hi in rows:
                start, end = min(start, lo), max(end, hi)
                self._conn.execute("DELETE FROM coverage WHERE rowid = ?", (rowid,))
            self._conn.execute(
                "INSERT INTO coverage (range_start, range_end) VALUES (?, ?)", (start, end)
            )

    def coverage(self) -> list[tuple[int, int]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT range_start, range_end FROM coverage ORDER BY range_start"
            ).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def covers(self, start: int, end: int) -> bool:
        """True when the cache holds every call with ``start <= start_time <= end``."""
        if start > end:
            return True
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM coverage WHERE range_start <= ? AND range_end >= ? LIMIT 1",
                (start, end),
            ).fetchone()
        return row is not None

    def uncovered(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end] the cache does not hold, oldest first."""
        gaps: list[tuple[int, int]] = []
        cursor = start
        for lo, hi in self.coverage():
            if hi < cursor:
                continue
            if lo > end:
                break
            if lo > cursor:
                gaps.append((cursor, lo - 1))
            cursor = hi + 1
            if cursor > end:
                break
        if cursor <= end:
            gaps.append((cursor, end))
        return gaps

    # -- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | int | float | None) -> None:
        """Store a value as text; None deletes the key."""
        with self.transaction():
            if value is None:
                self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, str(value)),
                )


# -- row <-> model ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Related:
    """A table that describes calls by their start time, and how to forget the part of it
    about calls that started before a time (the one parameter)."""

    table: str
    sql: str


_PRUNE_RELATED: tuple[_Related, ...] = (
    # The notifier's "announced" record: a pruned call is never a candidate again anyway.
    _Related("notified", "DELETE FROM notified WHERE start_time < ?"),
    # "Handled up to until_time": nothing held is that old any more.
    _Related("worklist_handled", "DELETE FROM worklist_handled WHERE until_time < ?"),
)


def legs_to_json(legs: Sequence[CallLeg]) -> str:
    return _LEGS_ENCODER.encode(
        [
            {
                "s": leg.status.value,
                "a": leg.action,
                "t": leg.start_time,
                "d": leg.duration_s,
                "r": [[ag.name, ag.extension, ag.user_id] for ag in leg.received_by],
            }
            for leg in legs
        ]
    )


def legs_from_json(text: str | None) -> tuple[CallLeg, ...]:
    if not text:
        return ()
    data: list[dict[str, Any]] = json.loads(text)
    return tuple(
        CallLeg(
            status=LegStatus(item["s"]),
            action=item["a"],
            start_time=item["t"],
            duration_s=item["d"],
            received_by=tuple(Agent(name=n, extension=e, user_id=u) for n, e, u in item["r"]),
        )
        for item in data
    )


def _to_params(log: CallLog, synced_at: int) -> tuple[object, ...]:
    return (
        log.id,
        log.start_time,
        log.end_time,
        log.duration_s,
        log.talk_s,
        log.direction.value,
        int(log.answered),
        log.caller_number,
        log.caller_number_raw,
        log.department,
        ", ".join(log.agents),
        log.filename,
        legs_to_json(log.legs),
        log.company_id,
        log.user_id,
        synced_at,
    )


def call_from_row(row: Sequence[Any]) -> CallLog:
    return CallLog(
        id=row[0],
        start_time=row[1],
        end_time=row[2],
        duration_s=row[3],
        direction=Direction(row[5]),
        answered=bool(row[6]),
        caller_number=row[7],
        caller_number_raw=row[8],
        department=row[9],
        filename=row[11],
        legs=legs_from_json(row[12]),
        company_id=row[13],
        user_id=row[14],
    )


#: `Direction` by stored value: a dict lookup, where calling the enum costs microseconds a
#: row and a first page is read on every keystroke.
_DIRECTIONS: dict[str, Direction] = {d.value: d for d in Direction}


def _to_row(row: Sequence[Any]) -> CallRow:
    answered = bool(row[6])
    # Positional: a dozen keywords cost three times as much to bind (200 rows a keystroke).
    return CallRow(
        row[0], row[1], row[2], row[3], row[4], _DIRECTIONS[row[5]], answered,
        row[7], row[8], row[9], row[10], answered and bool(row[11]),
    )


# -- query building ---------------------------------------------------------------------


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _digits(text: str) -> str:
    """A typed number reduced to what stored numbers contain: its digits, and for a whole
    number (six digits or more after them) without the trunk/international 0 or 00 prefix,
    which E.164 and raw numbers never carry. A short fragment such as "0123" is kept."""
    digits = re.sub(r"\D", "", text)
    stripped = digits.lstrip("0")
    return stripped if len(stripped) >= _MIN_WHOLE_NUMBER else digits


def _text_terms(text: str) -> list[tuple[str, bool]]:
    """Split search text into (term, is_number) pairs; all must match."""
    text = text.strip()
    if not text:
        return []
    if _NUMBER_LIKE.match(text):
        return [(_digits(text), True)]
    terms: list[tuple[str, bool]] = []
    for word in text.split():
        if _NUMBER_LIKE.match(word):
            terms.append((_digits(word), True))
        else:
            terms.append((word, False))
    return terms


@dataclass(frozen=True, slots=True)
class _Plan:
    """A query split so count/fetch can pick the cheaper SQL for it.

    Clauses name columns as ``@.col``: `where` makes that ``c.col``, or ``+c.col`` (the
    same value, but no index may be used for it) to force SQLite to drive by the matches.
    """

    match: str | None  # the FTS5 expression, when the text has a term of 3+ characters
    clauses: tuple[str, ...]  # every other condition on ``calls c``
    params: tuple[object, ...]
    kind_filter: bool  # a direction/answered condition (the calls_kind index serves it)
    # The FTS terms as LIKE conditions (same ``@.`` form), when they all are ASCII.
    likes: tuple[str, ...] | None = None
    like_params: tuple[object, ...] = ()
    # Every FTS term is a number fragment: three digits or more are on a few hundred
    # calls in 100,000 (too few for the first page's walk), unless a common prefix.
    numbers_only: bool = False

    def where(self, *, by_match: bool) -> tuple[str, list[object]]:
        column = "+c." if by_match else "c."
        clauses = [clause.replace("@.", column) for clause in self.clauses]
        params = list(self.params)
        if self.match is not None:
            rowid = "c.rowid" if by_match else "+c.rowid"
            clauses.append(f"{rowid} IN (SELECT rowid FROM calls_fts WHERE calls_fts MATCH ?)")
            params.append(self.match)
        return (" AND ".join(clauses) or "1"), params


def _plan(query: CallQuery) -> _Plan:
    clauses: list[str] = []
    params: list[object] = []
    fts: list[str] = []
    likes: list[str] = []
    like_params: list[object] = []
    ascii_terms = True
    numbers_only = True
    for term, is_number in _text_terms(query.text):
        if len(term) >= 3:
            numbers_only = numbers_only and is_number
            prefix = "{" + " ".join(_NUMBER_COLUMNS) + "} : " if is_number else ""
            fts.append(prefix + _fts_phrase(term))
            columns = _NUMBER_COLUMNS if is_number else _FTS_COLUMNS
            likes.append(_like_any(columns))
            like_params.extend([_like(term)] * len(columns))
            ascii_terms = ascii_terms and term.isascii()
        else:
            # The trigram index cannot look up fewer than three characters: scan instead.
            columns = _NUMBER_COLUMNS if is_number else _SHORT_TEXT_COLUMNS
            clauses.append(_like_any(columns))
            params.extend([_like(term)] * len(columns))
    bounds, bound_params = _time_bounds(query)
    clauses.extend(bounds)
    params.extend(bound_params)
    if query.directions is not None:
        clauses.append(_in("@.direction", len(query.directions)))
        params.extend(sorted(d.value for d in query.directions))
    if query.answered is not None:
        clauses.append("@.answered = ?")
        params.append(int(query.answered))
    if query.departments is not None:
        clauses.append(_in("@.department", len(query.departments)))
        params.extend(sorted(query.departments))
    if query.has_recording is not None:
        has = "(@.answered = 1 AND @.filename IS NOT NULL AND @.filename != '')"
        clauses.append(has if query.has_recording else f"NOT {has}")
    kind = query.directions is not None or query.answered is not None
    return _Plan(
        " AND ".join(fts) if fts else None,
        tuple(clauses),
        tuple(params),
        kind,
        tuple(likes) if ascii_terms else None,
        tuple(like_params),
        numbers_only and bool(fts),
    )


def _like_any(columns: Sequence[str]) -> str:
    return "(" + " OR ".join(f"@.{col} LIKE ? ESCAPE '\\'" for col in columns) + ")"


def _time_bounds(query: CallQuery) -> tuple[list[str], list[object]]:
    """`query`'s start and end as conditions on ``@.start_time`` (inclusive), with their
    parameters."""
    clauses: list[str] = []
    params: list[object] = []
    if query.start is not None:
        clauses.append("@.start_time >= ?")
        params.append(query.start)
    if query.end is not None:
        clauses.append("@.start_time <= ?")
        params.append(query.end)
    return clauses, params


def _in(column: str, n: int) -> str:
    return f"{column} IN ({','.join('?' * n)})" if n else "0"
