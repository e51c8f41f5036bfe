"""Opening the SQLite cache: pragmas, FTS5 check, corruption recovery, migrations.

The database is a cache of what the API returns: when it is damaged the right move is to
put it aside and start empty (a resync rebuilds it), never to make the app unusable.
A database written by a newer version of the app is refused rather than guessed at.
"""

from __future__ import annotations

import calendar
import logging
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from desktop_app.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

SCHEMA_VERSION = len(MIGRATIONS)

# Result codes that mean "this file is damaged", as opposed to busy/locked/full.
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})

# Damaged copies set aside are deleted once older than this, except the newest few: enough
# time to look at one (or send it in), without keeping every copy forever.
SET_ASIDE_KEEP_S: Final = 7 * 24 * 60 * 60.0
SET_ASIDE_KEEP_NEWEST: Final = 3
_STAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"

# The probe is a module attribute so a test can simulate a build without FTS5.
_FTS5_PROBE = "CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x, tokenize='trigram')"


class StoreError(Exception):
    """The cache cannot be used as it is; the message says why in plain words."""


class _Corrupt(Exception):
    """Internal: the file failed its integrity check or is not a database."""


def check_fts5() -> None:
    """Fail early and clearly when this Python's SQLite cannot do the trigram search."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(_FTS5_PROBE)
    except sqlite3.Error as exc:
        raise StoreError(
            "This Python's SQLite lacks FTS5 with the trigram tokenizer "
            f"(SQLite {sqlite3.sqlite_version}; needs 3.34 or newer built with FTS5): {exc}"
        ) from None
    finally:
        conn.close()


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating or migrating) the cache at `path`; see `open_database_ex`."""
    conn, _ = open_database_ex(path)
    return conn


def open_database_ex(
    path: Path, *, clock: Callable[[], float] = time.time, check: bool = True
) -> tuple[sqlite3.Connection, Path | None]:
    """Open the cache and also say where a damaged file was moved, if one was.

    The connection is in autocommit mode (``isolation_level=None``): callers open their
    own transactions, so a transaction is never left open by the driver behind their back.
    It is created with ``check_same_thread=False``; `CallStore` guards it with a lock.

    Without `check`, the file's pages are not checked (``PRAGMA quick_check``, 0.1 s at
    100,000 calls): only a file that is not a database at all is set aside. The caller
    then runs `damage_found` itself, beside other work, and reopens with the check when
    it finds something.
    """
    check_fts5()
    path.parent.mkdir(parents=True, exist_ok=True)
    moved: Path | None = None
    now = clock()
    try:
        conn = _connect_checked(path, check=check)
    except _Corrupt as exc:
        moved = _move_aside(path, now)
        log.warning("cache %s is damaged (%s); moved to %s, starting empty", path, exc, moved)
        try:
            conn = _connect_checked(path, check=True)
        except _Corrupt as again:
            raise StoreError(f"Could not create a fresh cache at {path}: {again}") from None
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    remove_old_set_aside(path, now)
    return conn, moved


def is_damage(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is SQLite saying the file is damaged, as
    opposed to busy, locked, full or read-only."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.DatabaseError) and (
            getattr(seen, "sqlite_errorcode", 0) & 0xFF
        ) in _CORRUPT_CODES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def damage_found(path: Path) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong with the cache at `path`, or None when it
    is sound. Read-only, on a connection of its own: it can run on a worker thread while
    the app uses the file (SQLite leaves the GIL while it checks)."""
    try:
        conn = sqlite3.connect(
            path.as_uri() + "?mode=ro", uri=True, check_same_thread=False,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise StoreError(f"Could not check the cache at {path}: {exc}") from None
    try:
        return _problems(conn)
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return str(exc)
        raise StoreError(f"Could not check the cache at {path}: {exc}") from None
    finally:
        conn.close()


def _problems(conn: sqlite3.Connection) -> str | None:
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if [tuple(r) for r in rows] == [("ok",)]:
        return None
    return "; ".join(str(r[0]) for r in rows[:5])


def _connect_checked(path: Path, *, check: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
    try:
        problems = _problems(conn) if check else None
        if problems is not None:
            raise _Corrupt(problems)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_damage(exc):
            raise _Corrupt(str(exc)) from None
        raise StoreError(f"Could not open the cache at {path}: {exc}") from None
    except _Corrupt:
        conn.close()
        raise
    return conn


def _move_aside(path: Path, now: float) -> Path:
    """Rename the damaged file (and its WAL/SHM companions) to ``<name>.corrupt-<stamp>``.

    The stamp (UTC, from the caller's clock) is what `remove_old_set_aside` ages it by.
    """
    stamp = time.strftime(_STAMP_FORMAT, time.gmtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def remove_old_set_aside(
    path: Path,
    now: float,
    *,
    keep_s: float = SET_ASIDE_KEEP_S,
    keep_newest: int = SET_ASIDE_KEEP_NEWEST,
) -> list[Path]:
    """Delete the damaged copies of `path` set aside more than `keep_s` ago; return them.

    The newest `keep_newest` copies stay whatever their age. Age comes from the stamp in
    the name, written with the same injected clock: a rename keeps the file's own mtime,
    which is its last write, long before the damage was found. Names that do not parse,
    links and folders are left alone; a file that cannot be deleted is logged and kept.
    """
    pattern = re.compile(
        re.escape(path.name) + r"\.corrupt-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?(?:-wal|-shm)?"
    )
    copies: dict[tuple[int, int], list[Path]] = {}
    try:
        children = list(path.parent.iterdir())
    except OSError as exc:
        log.warning("Could not list %s for old damaged caches: %s", path.parent, exc.strerror)
        return []
    for child in children:
        match = pattern.fullmatch(child.name)
        if match is None:
            continue
        try:
            when = calendar.timegm(time.strptime(match["stamp"], _STAMP_FORMAT))
        except ValueError:
            continue
        copies.setdefault((when, int(match["n"] or 1)), []).append(child)
    removed: list[Path] = []
    for key in sorted(copies, reverse=True)[max(keep_newest, 0) :]:
        if now - key[0] <= keep_s:
            continue
        for file in copies[key]:
            try:
                if not stat.S_ISREG(file.lstat().st_mode):
                    continue
                file.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("Could not delete the old damaged cache %s: %s", file, exc.strerror)
                continue
            removed.append(file)
            log.info("Deleted the old damaged cache %s", file.name)
    return removed


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS
) -> int:
    """Bring the schema to ``len(migrations)``, one transaction per step; return the version.

    A step that fails is rolled back whole, leaving the previous version intact.
    """
    target = len(migrations)
    current = schema_version(conn)
    if current > target:
        raise StoreError(
            f"The cache was written by a newer version of this app (schema v{current}; "
            f"this version knows up to v{target}). Update the app, or delete the cache "
            "file to start a fresh one."
        )
    for version in range(current + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[version - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"Migrating the cache to v{version} failed: {exc}") from exc
            raise
        conn.execute("COMMIT")
    return target
