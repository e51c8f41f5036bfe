"""SQLite cache of the call log and the users (stdlib sqlite3, no Qt): schema, migrations,
queries, FTS."""

from desktop_app.store.calls import CallQuery, CallRow, CallStore
from desktop_app.store.db import (
    SCHEMA_VERSION,
    StoreError,
    check_fts5,
    damage_found,
    is_damage,
    migrate,
    open_database,
    open_database_ex,
    schema_version,
)
from desktop_app.store.users import UserStore

__all__ = [
    "SCHEMA_VERSION",
    "CallQuery",
    "CallRow",
    "CallStore",
    "StoreError",
    "UserStore",
    "check_fts5",
    "damage_found",
    "is_damage",
    "migrate",
    "open_database",
    "open_database_ex",
    "schema_version",
]
