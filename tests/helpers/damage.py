"""Damaging a real cache file the way a disk or a stray write does: some pages of one
table scribbled over, the file's header and every other table left intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop_app.store import CallStore
from tests.helpers.builders import make_log

PAGE = 4096


def filled_cache(path: Path, calls: int = 2000) -> None:
    """A cache of `calls` calls, checkpointed so every page is in the main file."""
    with CallStore.open(path) as store:
        store.upsert_calls(make_log(f"id-{i}", i) for i in range(calls))
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def scribble_over(path: Path, table: str) -> int:
    """Overwrite the b-tree pages of `table` (a table or index name) with a pattern;
    return how many pages were damaged."""
    conn = sqlite3.connect(path)
    try:
        pages = [row[0] for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (table,)
        )]
    finally:
        conn.close()
    assert pages, f"{table} has no pages in {path}"
    data = bytearray(path.read_bytes())
    for page in pages:
        start = (page - 1) * PAGE
        for offset in range(start + 1, start + PAGE, 7):  # all but the page's type byte
            data[offset] = 0xA5
    path.write_bytes(bytes(data))
    return len(pages)
