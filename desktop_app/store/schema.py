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

# Missed calls: the notifier's record of the calls it announced (so none is announced twice,
# across restarts and re-syncs), the callback worklist's "handled" marks, and an index to
# find one number's calls.
_MISSED_CALLS: tuple[str, ...] = (
    """
    CREATE TABLE notified (
        call_id     TEXT PRIMARY KEY,
        start_time  INTEGER NOT NULL,
        notified_at INTEGER NOT NULL,
        how         TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX notified_start ON notified(start_time)",
    """
    CREATE TABLE worklist_handled (
        number      TEXT PRIMARY KEY,
        until_time  INTEGER NOT NULL,
        handled_at  INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX calls_number ON calls(caller_e164, start_time)",
)

# Users: the account's users, replaced whole on every refresh of ``/user`` (UserStore).
# `position` keeps the service's order; `search_text` (lowercase name, email, extension)
# and `search_digits` (the numbers' digits, with and without the country code) serve the
# local search. A few hundred rows at most: LIKE over them is instant, no index needed.
_USERS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        uuid                     TEXT PRIMARY KEY,
        position                 INTEGER NOT NULL,
        name                     TEXT NOT NULL,
        user_id                  TEXT,
        email                    TEXT,
        country_code             TEXT,
        contact_number           TEXT,
        number_e164              TEXT,
        alternate_cc             TEXT,
        alternate_contact_number TEXT,
        extension                INTEGER,
        role                     INTEGER,
        is_enabled               INTEGER,
        panel_access             INTEGER,
        receives_calls           INTEGER,
        contact_type             TEXT,
        search_text              TEXT NOT NULL,
        search_digits            TEXT NOT NULL,
        synced_at                INTEGER
    )
    """,
)

# The dial guard's memory (DialRecords): every click-to-call this machine sent, written
# "in_flight" before the request leaves and settled after, so an unclear outcome (or a
# crash mid-request) still blocks a redial after a restart and in a second instance.
# Times are wall-clock epoch seconds (REAL): they must mean the same after a restart.
_DIALS: tuple[str, ...] = (
    """
    CREATE TABLE dials (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        number       TEXT NOT NULL,
        country_code TEXT NOT NULL,
        national     TEXT NOT NULL,
        agent_uuid   TEXT NOT NULL,
        started_at   REAL NOT NULL,
        ended_at     REAL,
        state        TEXT NOT NULL,
        unique_id    TEXT,
        call_id      TEXT
    )
    """,
    "CREATE INDEX dials_number ON dials(number, state)",
    "CREATE INDEX dials_started ON dials(started_at)",
)

# The request budget's ledger (SpendRecords): every request sent on the account, by any
# instance, so a restart or a second instance counts what the first spent. Wall-clock
# epoch seconds; rows older than the budget's longest window are dropped as it goes.
# The time until which a 429 stops everyone is kept in ``meta`` (``budget.blocked_until``).
_SPENDS: tuple[str, ...] = (
    "CREATE TABLE budget_spends (at REAL NOT NULL)",
    "CREATE INDEX budget_spends_at ON budget_spends(at)",
)

# The agent's notes about a caller (CallerRecords), written in the screen-pop while the
# phone rings and shown the next time the same number calls.
_CALLER_NOTES: tuple[str, ...] = (
    """
    CREATE TABLE caller_notes (
        caller_e164 TEXT PRIMARY KEY,
        text        TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    )
    """,
    # The screen-pop's history of one number: no scan of the whole cache while it rings.
    "CREATE INDEX calls_caller ON calls(caller_e164, start_time DESC)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1, _MISSED_CALLS, _USERS, _DIALS, _SPENDS, _CALLER_NOTES
)
