"""The dial guard's records on real SQLite files: what a restart, a crash mid-request and
a second connection (a second instance) see, and what a database that cannot be written
does (it refuses; it never pretends)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.store import CallStore, schema_version
from desktop_app.store.db import SCHEMA_VERSION, migrate
from desktop_app.store.dials import (
    KEEP_S,
    DialRecordError,
    DialRecords,
    DialState,
    NumberView,
)
from desktop_app.store.schema import MIGRATIONS

T = 1_700_000_000.25  # a fraction: stored times must come back exactly
NUMBER = "+919812345678"
AGENT = "3965edd0-a955-4199-80c0-754fc76cecb4"


def allow(_view: NumberView) -> None:
    return None


def reserve(records: DialRecords, at: float, national: str = "9812345678") -> int:
    row = records.reserve("91", national, AGENT, at, allow)
    assert isinstance(row, int)
    return row


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache.db"


@pytest.fixture
def records(path: Path) -> Iterator[DialRecords]:
    r = DialRecords.open(path)
    yield r
    r.close()


def test_a_dial_is_in_flight_until_settled_and_unclear_to_everyone_else(
    records: DialRecords, path: Path
) -> None:
    row = reserve(records, T)
    # The sender's own in-flight dial does not block it; to anyone else it may be placed.
    assert records.unresolved(mine=row) == []
    (pending,) = records.unresolved()
    assert (pending.id, pending.number, pending.state) == (row, NUMBER, DialState.IN_FLIGHT)
    assert pending.started_at == T and pending.ended_at is None
    other = DialRecords.open(path)  # a second instance on the same file
    try:
        assert [r.id for r in other.unresolved()] == [row]
        records.settle(row, DialState.PLACED, T + 0.5, unique_id="call-1", supersede=True)
        assert other.unresolved() == []
        view = other.view(NUMBER)
        assert view == NumberView(last_request_end=T + 0.5, unresolved=None, last_placed_at=T)
        assert other.by_unique_id("call-1") == records.get(row)
    finally:
        other.close()


def test_records_survive_closing_and_reopening(path: Path) -> None:
    first = DialRecords.open(path)
    unclear = reserve(first, T)
    first.settle(unclear, DialState.UNKNOWN, T + 1, supersede=True)
    crashed = reserve(first, T + 5, national="9812345679")  # never settled: the process died
    first.close()
    again = DialRecords.open(path)
    try:
        assert [(r.id, r.state) for r in again.unresolved()] == [
            (unclear, DialState.UNKNOWN), (crashed, DialState.IN_FLIGHT)
        ]
        assert again.view(NUMBER).last_request_end == T + 1
    finally:
        again.close()


def test_the_check_and_the_insert_are_one_transaction(records: DialRecords, path: Path) -> None:
    other = DialRecords.open(path)
    try:
        seen: list[NumberView] = []

        def refuse_if_unresolved(view: NumberView) -> str | None:
            seen.append(view)
            # While this transaction holds the write lock, the other instance cannot
            # reserve: it would have to wait, and its wait is cut short here.
            other._conn.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(DialRecordError, match="busy"):
                other.reserve("91", "9812345678", AGENT, T, allow)
            return "blocked" if view.unresolved is not None else None

        first = records.reserve("91", "9812345678", AGENT, T, refuse_if_unresolved)
        assert isinstance(first, int)
        second = records.reserve("91", "9812345678", AGENT, T, refuse_if_unresolved)
        assert second == "blocked"
        assert seen[1].unresolved is not None and seen[1].unresolved.id == first
        assert len(other.unresolved()) == 1
    finally:
        other.close()


def test_a_confirmed_redial_supersedes_the_unclear_one_and_findings_settle(
    records: DialRecords,
) -> None:
    old = reserve(records, T)
    records.settle(old, DialState.UNKNOWN, T)
    new = reserve(records, T + 10)
    records.settle(new, DialState.UNKNOWN, T + 10, supersede=True)
    assert [r.id for r in records.unresolved()] == [new]
    assert records.get(old) is not None and records.get(old).state is DialState.SUPERSEDED  # type: ignore[union-attr]
    assert records.resolve(new, DialState.FOUND, "log-7")
    assert not records.resolve(new, DialState.NOT_FOUND)  # already settled
    assert records.unresolved() == []
    assert records.view(NUMBER).last_placed_at == T + 10
    assert records.attributed_call_ids(except_id=old, since=T) == {"log-7"}
    assert records.attributed_call_ids(except_id=new, since=T) == set()


def test_dismissing_settles_every_unclear_dial_of_the_number(records: DialRecords) -> None:
    row = reserve(records, T)
    records.settle(row, DialState.UNKNOWN, T)
    assert records.dismiss(NUMBER, mine=None)
    assert not records.dismiss(NUMBER, mine=None)
    assert records.unresolved() == []


def test_rows_two_days_old_are_pruned_whatever_their_state(records: DialRecords) -> None:
    """An unclear dial no log check could settle in two days must not block its number
    for ever: it is dropped before the next dial's rules read the records."""
    placed = reserve(records, T)
    records.settle(placed, DialState.PLACED, T)
    unclear = reserve(records, T + 1)
    records.settle(unclear, DialState.UNKNOWN, T + 1)
    crashed = reserve(records, T + 2, national="9812345679")  # left in flight
    recent = reserve(records, T + KEEP_S - 10, national="9812345670")
    records.settle(recent, DialState.UNKNOWN, T + KEEP_S - 10)
    seen: list[NumberView] = []

    def look(view: NumberView) -> None:
        seen.append(view)

    now = records.reserve("91", "9812345678", AGENT, T + KEEP_S + 10, look)
    assert seen[0].unresolved is None  # the old unclear dial no longer blocks
    assert [records.get(r) for r in (placed, unclear, crashed)] == [None, None, None]
    assert [r.id for r in records.unresolved(mine=now)] == [recent]


def test_a_write_waits_briefly_for_another_process_then_refuses(path: Path) -> None:
    """Dials are recorded on the GUI thread: another process holding the write lock must
    cost a moment, not the store's ten-second busy timeout, and nothing is recorded."""
    store = CallStore.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        records = DialRecords.sharing(store, wait_s=0.05)
        assert store.connection.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
        other.execute("BEGIN IMMEDIATE")  # another instance in the middle of a write
        started = time.monotonic()
        with pytest.raises(DialRecordError, match="the cache database is busy"):
            reserve(records, T)
        with pytest.raises(DialRecordError, match="busy"):
            records.settle(1, DialState.PLACED, T)
        # Far below the store's own wait (a loose bound: a slow machine still passes).
        assert time.monotonic() - started < 5.0
        other.execute("ROLLBACK")
        # The store keeps its own patience for its own writes.
        assert store.connection.execute("PRAGMA busy_timeout").fetchone() == (10_000,)
        row = reserve(records, T)
        assert [r.id for r in records.unresolved()] == [row]
    finally:
        other.close()
        store.close()


# libfaketime moves the monotonic clock with the calendar but does not translate the
# deadline of a timed semaphore wait (sem_clockwait), so Lock.acquire(timeout=...) waits
# for the whole offset (weeks). This test is about a monotonic timeout only, which the
# calendar runs under faketime do not exercise.
UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(UNDER_FAKETIME, reason="libfaketime cannot time out Lock.acquire")
def test_a_store_busy_on_another_thread_refuses_instead_of_freezing(path: Path) -> None:
    """The sync writes the shared connection from a worker thread under the same lock:
    the dial does not wait behind a long write."""
    store = CallStore.open(path)
    records = DialRecords.sharing(store, wait_s=0.05)
    holding, done = threading.Event(), threading.Event()

    def long_write() -> None:
        with store.lock:
            holding.set()
            done.wait(30)

    worker = threading.Thread(target=long_write)
    worker.start()
    try:
        assert holding.wait(30)
        with pytest.raises(DialRecordError, match="the cache database is busy"):
            reserve(records, T)
        with pytest.raises(DialRecordError, match="busy"):
            records.unresolved()
    finally:
        done.set()
        worker.join(30)
    try:
        row = reserve(records, T)
        assert [r.id for r in records.unresolved()] == [row]
    finally:
        store.close()


def test_a_read_only_database_refuses_to_record(records: DialRecords, path: Path) -> None:
    conn = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
    )
    read_only = DialRecords(conn, owns_connection=True)
    try:
        with pytest.raises(DialRecordError, match="read-only"):
            reserve(read_only, T)
        assert read_only.unresolved() == []  # reading still works
    finally:
        read_only.close()
    assert records.unresolved() == []


def test_a_full_disk_refuses_to_record(path: Path) -> None:
    records = DialRecords.open(path)
    try:
        conn = records._conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
        with pytest.raises(DialRecordError, match="disk is full"):
            for i in range(200):  # the first rows may still fit in free space
                reserve(records, T + 2 * i, national=f"98123{i:05d}")
        assert not conn.in_transaction
    finally:
        records.close()


def test_the_records_share_the_call_cache_file_and_lock(path: Path) -> None:
    store = CallStore.open(path)
    try:
        records = DialRecords.sharing(store)
        row = reserve(records, T)
        assert store.connection.execute("SELECT id FROM dials").fetchall() == [(row,)]
        records.close()  # not its connection: the store's stays open
        assert store.get_meta("x") is None
    finally:
        store.close()


def test_a_v3_cache_migrates_to_v4_with_its_calls_kept(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:3])
    conn.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
    conn.close()
    records = DialRecords.open(path)
    try:
        reserve(records, T)
        assert schema_version(records._conn) == SCHEMA_VERSION >= 4
        row = records._conn.execute("SELECT value FROM meta WHERE key = 'kept'").fetchone()
        assert row == ("yes",)
    finally:
        records.close()
