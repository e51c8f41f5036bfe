"""Opening the cache: pragmas, migrations, refusing newer files, rebuilding damaged ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_app.store import (
    SCHEMA_VERSION,
    CallStore,
    StoreError,
    damage_found,
    is_damage,
    migrate,
    open_database,
    schema_version,
)
from desktop_app.store import db as db_module
from desktop_app.store.schema import MIGRATIONS
from tests.helpers.builders import make_log
from tests.helpers.damage import filled_cache, scribble_over


def test_fresh_database_is_at_current_version_with_wal(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "sub" / "calls.db")
    try:
        assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"calls", "calls_fts", "coverage", "meta", "calls_start_time"} <= tables
    finally:
        conn.close()


def test_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    with CallStore.open(path) as store:
        store.upsert_calls([make_log("a", 100)])
    with CallStore.open(path) as store:
        assert store.get("a") == make_log("a", 100)
        assert store.moved_aside is None


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    open_database(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer version"):
        open_database(path)
    assert path.exists()
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_migration_steps_apply_in_order_one_transaction_each(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    with CallStore.open(path) as store:
        store.upsert_calls([make_log("a", 100)])
    next_step = ("CREATE TABLE later_step (uuid TEXT PRIMARY KEY, name TEXT)",)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, (*MIGRATIONS, next_step)) == SCHEMA_VERSION + 1
        assert schema_version(conn) == SCHEMA_VERSION + 1
        assert conn.execute("SELECT count(*) FROM later_step").fetchone()[0] == 0
        assert conn.execute("SELECT id FROM calls").fetchall() == [("a",)]
    finally:
        conn.close()


def test_failed_migration_step_rolls_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    open_database(path).close()
    broken = ("CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(StoreError, match=f"v{SCHEMA_VERSION + 1}"):
            migrate(conn, (*MIGRATIONS, broken))
        assert schema_version(conn) == SCHEMA_VERSION
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half" not in names
        assert not conn.in_transaction
    finally:
        conn.close()


def test_garbage_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with CallStore.open(path, clock=lambda: 1_700_000_000.0) as store:
        assert store.moved_aside == tmp_path / "calls.db.corrupt-20231114T221320Z"
        assert store.count() == 0
        store.upsert_calls([make_log("a", 1)])
        assert store.count() == 1
    assert (tmp_path / "calls.db.corrupt-20231114T221320Z").read_bytes().startswith(b"this is")


def test_a_stale_wal_beside_a_damaged_file_does_not_reach_the_fresh_cache(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.db"
    path.write_bytes(b"garbage" * 1000)
    (tmp_path / "calls.db-wal").write_bytes(b"stale wal")
    with CallStore.open(path, clock=lambda: 0.0) as store:
        assert store.moved_aside is not None
        store.upsert_calls([make_log("a", 1)])
        assert store.count() == 1
    wal = tmp_path / "calls.db-wal"
    assert not wal.exists() or wal.read_bytes() != b"stale wal"
    with CallStore.open(path) as store:
        assert store.moved_aside is None and store.count() == 1


def test_damaged_pages_are_detected_by_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    with CallStore.open(path) as store:
        store.upsert_calls(make_log(f"id-{i}", i) for i in range(2000))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    for offset in range(5 * page, 15 * page, 7):  # scribble over b-tree pages, keep header
        data[offset] = 0xA5
    path.write_bytes(bytes(data))

    with CallStore.open(path) as store:
        assert store.moved_aside is not None
        assert store.moved_aside.name.startswith("calls.db.corrupt-")
        assert store.count() == 0


def test_second_corruption_in_the_same_second_gets_a_distinct_name(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    for _ in range(2):
        path.write_bytes(b"x" * 5000)
        CallStore.open(path, clock=lambda: 0.0).close()
    names = sorted(p.name for p in tmp_path.glob("calls.db.corrupt-*"))
    assert names == ["calls.db.corrupt-19700101T000000Z", "calls.db.corrupt-19700101T000000Z-2"]


def test_missing_fts5_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        db_module, "_FTS5_PROBE", "CREATE VIRTUAL TABLE temp.p USING no_such_module(x)"
    )
    with pytest.raises(StoreError, match="lacks FTS5"):
        open_database(tmp_path / "calls.db")
    assert not (tmp_path / "calls.db").exists()


def test_transaction_rolls_back_everything_on_error(store: CallStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_calls([make_log("a", 1)])
        store.set_meta("cursor", "5")
        store.add_coverage(0, 10)
        raise RuntimeError("boom")
    assert store.get("a") is None
    assert store.get_meta("cursor") is None
    assert store.coverage() == []
    store.upsert_calls([make_log("b", 2)])  # the connection is usable afterwards
    assert store.count() == 1


DAY = 24 * 60 * 60.0
# Far from the machine's date on purpose: only the injected clock may decide an age.
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def set_aside_names(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("calls.db.corrupt-*")}


def damage_and_open(path: Path, now: float) -> Path:
    path.write_bytes(b"not a database " * 300)
    with CallStore.open(path, clock=lambda: now) as store:
        assert store.moved_aside is not None
        return store.moved_aside


def test_damaged_copies_are_deleted_after_a_week_keeping_the_newest_few(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.db"
    copies = [damage_and_open(path, T0 + day * DAY) for day in range(4)]
    assert set_aside_names(tmp_path) == {c.name for c in copies}

    # A week after the second copy: only the oldest is both old and beyond the newest 3.
    with CallStore.open(path, clock=lambda: T0 + 7 * DAY + 1) as store:
        assert store.moved_aside is None
    assert set_aside_names(tmp_path) == {c.name for c in copies[1:]}

    # Long after: the newest three are still there to look at.
    with CallStore.open(path, clock=lambda: T0 + 365 * DAY):
        pass
    assert set_aside_names(tmp_path) == {c.name for c in copies[1:]}


def test_old_damaged_copies_go_with_their_wal_and_shm_and_nothing_else_goes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.db"
    old = ["20231101T000000Z", "20231102T000000Z", "20231102T000000Z-2"]
    young = ["20231110T000000Z", "20231111T000000Z", "20231112T000000Z"]
    for stamp in old + young:
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"calls.db.corrupt-{stamp}{suffix}").write_bytes(b"x")
    (tmp_path / "calls.db.corrupt-yesterday").write_bytes(b"mine")
    (tmp_path / "other.db.corrupt-20200101T000000Z").write_bytes(b"not this cache's")
    (tmp_path / "calls.db.corrupt-20200101T000000Z").mkdir()

    removed = db_module.remove_old_set_aside(path, T0, keep_newest=0)

    assert {p.name for p in removed} == {
        f"calls.db.corrupt-{stamp}{suffix}" for stamp in old for suffix in ("", "-wal", "-shm")
    }
    assert set_aside_names(tmp_path) == {
        f"calls.db.corrupt-{stamp}{suffix}" for stamp in young for suffix in ("", "-wal", "-shm")
    } | {"calls.db.corrupt-yesterday", "calls.db.corrupt-20200101T000000Z"}
    assert (tmp_path / "other.db.corrupt-20200101T000000Z").exists()


def test_the_age_of_a_damaged_copy_is_read_from_the_injected_clock(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    for stamp in ("20231101T000000Z", "20231102T000000Z", "20231103T000000Z",
                  "20231104T000000Z"):
        (tmp_path / f"calls.db.corrupt-{stamp}").write_bytes(b"x")

    # Years old by the machine's date, days old by the clock the store is given.
    with CallStore.open(path, clock=lambda: T0 - 8 * DAY):
        pass
    assert len(set_aside_names(tmp_path)) == 4

    with CallStore.open(path, clock=lambda: T0):
        pass
    assert set_aside_names(tmp_path) == {
        "calls.db.corrupt-20231102T000000Z", "calls.db.corrupt-20231103T000000Z",
        "calls.db.corrupt-20231104T000000Z",
    }


def test_an_unchecked_open_leaves_damaged_pages_to_damage_found(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    filled_cache(path)
    assert damage_found(path) is None
    scribble_over(path, "calls_number")

    with CallStore.open(path, check=False) as store:
        assert store.moved_aside is None  # not looked at: the file stays where it is
        found = damage_found(path)  # beside the open connection, read-only
    assert found is not None and found != "ok"
    assert path.exists() and not list(tmp_path.glob("calls.db.corrupt-*"))

    with CallStore.open(path) as store:  # the checked open sets it aside
        assert store.moved_aside is not None and store.count() == 0


def test_an_unchecked_open_still_sets_aside_a_file_that_is_no_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.db"
    path.write_bytes(b"not a database " * 500)
    with CallStore.open(path, check=False) as store:
        assert store.moved_aside is not None
        assert store.count() == 0


def test_damage_found_reads_a_missing_file_as_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Could not check the cache"):
        damage_found(tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()  # read-only: nothing created


def test_is_damage_follows_the_causes_and_tells_damage_from_other_failures(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.db"
    filled_cache(path)
    scribble_over(path, "calls")
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError) as damaged:
            conn.execute("SELECT * FROM calls").fetchall()
    finally:
        conn.close()
    assert is_damage(damaged.value)
    try:
        raise RuntimeError("building the window failed") from damaged.value
    except RuntimeError as wrapped:
        assert is_damage(wrapped)
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
    assert not is_damage(busy)
    assert not is_damage(ValueError("no"))
