"""The cache's schema as a list of migration steps; step *n* brings ``user_version`` to *n*.

Append steps, never edit a released one: a user's file may be at any earlier version.
Room is left for later steps (a ``users`` table, the notifier's watermark in ``meta``).
"""

from __future__ import annotations

_V1: tuple[str, ...] = (
    """
    CREATE TABLE calls (
        id          TEXT PRIMARY KEY,
        start_time  INTEGER NOT NULL,
        end_time    INTEGER,
        duration_s  INTEGER,
        talk_s      INTEGER,
        direction   TEXT,
        answered    INTEGER,
        caller_e164 TEXT,
        caller_raw  TEXT,
        department  TEXT,
        agents      TEXT,
        filename    TEXT,
        legs_json   TEXT,
        company_id  TEXT,
        user_id     TEXT,
        synced_at   INTEGER
    )
    """,
    "CREATE INDEX calls_start_time ON calls(start_time DESC)",
    # "Missed incoming" and the direction/answered chips: a page and a count without a scan.
    "CREATE INDEX calls_kind ON calls(direction, answered, start_time DESC)",
    # External-content FTS over the searchable columns; trigram so "0123" is found inside
    # "+4930123456" and "sha" inside "Asha". Kept in step by the triggers below.
    """
    CREATE VIRTUAL TABLE calls_fts USING fts5(
        caller_e164, caller_raw, agents, department, id,
        content='calls', content_rowid='rowid', tokenize='trigram'
    )
    """,
    """
    CREATE TRIGGER calls_fts_insert AFTER INSERT ON calls BEGIN
        INSERT INTO calls_fts(rowid, caller_e164, caller_raw, agents, department, id)
        VALUES (new.rowid, new.caller_e164, new.caller_raw, new.agents, new.department, new.id);
    END
    """,
    """
    CREATE TRIGGER calls_fts_delete AFTER DELETE ON calls BEGIN
        INSERT INTO calls_fts(calls_fts, rowid, caller_e164, caller_raw, agents, department, id)
        VALUES ('delete', old.rowid, old.caller_e164, old.caller_raw, old.agents,
                old.department, old.id);
    END
    """,
    """
    CREATE TRIGGER calls_fts_update AFTER UPDATE OF caller_e164, caller_raw, agents,
        department, id ON calls BEGIN
        INSERT INTO calls_fts(calls_fts, rowid, caller_e164, caller_raw, agents, department, id)
        VALUES ('delete', old.rowid, old.caller_e164, old.caller_raw, old.agents,
                old.department, old.id);
        INSERT INTO calls_fts(rowid, caller_e164, caller_raw, agents, department, id)
        VALUES (new.rowid, new.caller_e164, new.caller_raw, new.agents, new.department, new.id);
    END
    """,
    # Inclusive [range_start, range_end] spans of start_time the cache holds completely;
    # kept merged (no two rows overlap or touch).
    """
    CREATE TABLE coverage (
        range_start INTEGER NOT NULL,
        range_end   INTEGER NOT NULL,
        CHECK (range_start <= range_end)
    )
    """,
    "CREATE INDEX coverage_start ON coverage(range_start)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
