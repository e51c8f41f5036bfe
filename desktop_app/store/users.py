"""The users cache: the account's whole ``/user`` list, replaced at once, searched locally.

The list is small (a team, not a call log) and the service only hands it out whole, so
there is no upsert: `replace_all` swaps the table's content in one transaction, and a
reader never sees half of two lists. Every `User` field is stored as it came, so
``get(u.uuid) == u`` for whatever the parser produced.

Thread-safety as in `CallStore`: one connection, every use under one re-entrant lock. A
`UserStore` may share the call store's connection and lock (`sharing`) or open its own
(`open`); with its own connection, WAL lets the UI read users while a sync writes calls.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from desktop_app.api.models import ContactType, Role, User
from desktop_app.store.db import open_database_ex

if TYPE_CHECKING:
    from desktop_app.store.calls import CallStore

_COLUMNS = (
    "uuid, name, user_id, email, country_code, contact_number, number_e164, alternate_cc, "
    "alternate_contact_number, extension, role, is_enabled, panel_access, receives_calls, "
    "contact_type"
)
_INSERT = f"""
INSERT INTO users ({_COLUMNS}, position, search_text, search_digits, synced_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SELECT = f"SELECT {_COLUMNS} FROM users"
_NUMBER_LIKE = re.compile(r"^[\d\s\-().+/]*\d[\d\s\-().+/]*$")
#: Meta keys this store owns.
SYNCED_AT_KEY = "users.synced_at"
MY_UUID_KEY = "users.my_uuid"


class UserStore:
    """The SQLite users cache; see the module docstring for the threading rules."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        lock: threading.RLock | None = None,
        clock: Callable[[], float] = time.time,
        owns_connection: bool = False,
    ) -> None:
        self._conn = conn
        self._lock = lock if lock is not None else threading.RLock()
        self._clock = clock
        self._owns = owns_connection

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> UserStore:
        """Its own connection to the cache file (created or migrated as needed)."""
        conn, _moved = open_database_ex(path, clock=clock)
        return cls(conn, clock=clock, owns_connection=True)

    @classmethod
    def sharing(cls, calls: CallStore, *, clock: Callable[[], float] = time.time) -> UserStore:
        """The call store's connection and lock: one file handle, writes serialised."""
        return cls(calls.connection, lock=calls.lock, clock=clock)

    def close(self) -> None:
        """Close the connection if this store opened it (a shared one is its owner's)."""
        if self._owns:
            with self._lock:
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Atomic; inside a transaction someone else opened, a savepoint of it."""
        with self._lock:
            if self._conn.in_transaction:
                self._conn.execute("SAVEPOINT users_store")
                try:
                    yield
                except BaseException:
                    self._conn.execute("ROLLBACK TO users_store")
                    self._conn.execute("RELEASE users_store")
                    raise
                self._conn.execute("RELEASE users_store")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if _in_transaction(self._conn):  # SQLite may have rolled back already
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- writing ------------------------------------------------------------------------

    def replace_all(self, users: Iterable[User]) -> int:
        """Make the cache hold exactly `users` (service order kept); returns how many.

        A uuid listed twice keeps its first entry: the service's paging can repeat a user
        whose position moved between two pages.
        """
        now = int(self._clock())
        rows: list[tuple[Any, ...]] = []
        seen: set[str] = set()
        for user in users:
            if user.uuid in seen:
                continue
            seen.add(user.uuid)
            rows.append((*_to_row(user), len(rows), *_search_columns(user), now))
        with self._transaction():
            self._conn.execute("DELETE FROM users")
            self._conn.executemany(_INSERT, rows)
            self._set_meta(SYNCED_AT_KEY, str(now))
        return len(rows)

    def set_receives_calls(self, uuid: str, on: bool) -> bool:
        """Note one user's receives-calls flag that a confirmed request changed (the
        next `replace_all` brings the server's word); False when the user is not cached."""
        with self._transaction():
            cursor = self._conn.execute(
                "UPDATE users SET receives_calls = ? WHERE uuid = ?", (int(on), uuid)
            )
        return cursor.rowcount > 0

    def set_my_uuid(self, uuid: str | None) -> None:
        """Remember which user the token's owner is (None forgets it)."""
        with self._transaction():
            self._set_meta(MY_UUID_KEY, uuid)

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- reading ------------------------------------------------------------------------

    def all(self) -> tuple[User, ...]:
        """Every cached user in the service's order."""
        with self._lock:
            rows = self._conn.execute(f"{_SELECT} ORDER BY position").fetchall()
        return tuple(_from_row(r) for r in rows)

    def get(self, uuid: str) -> User | None:
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE uuid = ?", (uuid,)).fetchone()
        return None if row is None else _from_row(row)

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def search(self, text: str) -> tuple[User, ...]:
        """Users matching every word of `text`, in the service's order.

        A word matches a fragment of the name, the email or the extension (any case); a
        word that looks like a number (digits with spaces, dashes, ``+``, brackets) also
        matches a fragment of the contact or alternate number's digits, with or without
        the country code and with or without a typed trunk ``0``. Blank text matches all.
        """
        where: list[str] = []
        args: list[str] = []
        for word in text.lower().split():
            clauses = ["search_text LIKE ? ESCAPE '\\'"]
            args.append(f"%{_escape_like(word)}%")
            if _NUMBER_LIKE.match(word):
                digits = "".join(c for c in word if c.isdigit())
                for fragment in {digits, digits.lstrip("0") or digits}:
                    clauses.append("search_digits LIKE ?")
                    args.append(f"%{fragment}%")
            where.append("(" + " OR ".join(clauses) + ")")
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY position", args).fetchall()
        return tuple(_from_row(r) for r in rows)

    def synced_at(self) -> int | None:
        """When `replace_all` last ran (UTC seconds), or None if it never did."""
        value = self._get_meta(SYNCED_AT_KEY)
        return int(value) if value is not None and value.isdigit() else None

    def my_uuid(self) -> str | None:
        return self._get_meta(MY_UUID_KEY)

    def _get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])


# -- row <-> model ----------------------------------------------------------------------


def _in_transaction(conn: sqlite3.Connection) -> bool:
    return conn.in_transaction


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def _to_row(user: User) -> tuple[Any, ...]:
    return (
        user.uuid,
        user.name,
        user.user_id,
        user.email,
        user.country_code,
        user.contact_number,
        user.number_e164,
        user.alternate_cc,
        user.alternate_contact_number,
        user.extension,
        None if user.role is None else int(user.role),
        _flag(user.is_enabled),
        _flag(user.panel_access),
        _flag(user.receives_calls),
        None if user.contact_type is None else user.contact_type.value,
    )


def _from_row(row: tuple[Any, ...]) -> User:
    (uuid, name, user_id, email, cc, contact, e164, alt_cc, alt, ext, role, enabled, panel,
     receives, contact_type) = row
    return User(
        uuid=uuid,
        name=name,
        user_id=user_id,
        email=email,
        country_code=cc,
        contact_number=contact,
        number_e164=e164,
        alternate_cc=alt_cc,
        alternate_contact_number=alt,
        extension=ext,
        role=_role(role),
        is_enabled=_bool(enabled),
        panel_access=_bool(panel),
        receives_calls=_bool(receives),
        contact_type=_contact_type(contact_type),
    )


def _role(value: int | None) -> Role | None:
    try:
        return None if value is None else Role(value)
    except ValueError:
        return None


def _contact_type(value: str | None) -> ContactType | None:
    try:
        return None if value is None else ContactType(value)
    except ValueError:
        return None


def _search_columns(user: User) -> tuple[str, str]:
    """(lowercase words, digit strings) the local search looks in, space-separated."""
    words = [user.name, user.email or ""]
    if user.extension is not None:
        words.append(str(user.extension))
    digits: list[str] = []
    for cc, number in (
        (user.country_code, user.contact_number),
        (user.alternate_cc, user.alternate_contact_number),
    ):
        if number:
            digits.append(number)
            if cc:
                digits.append(cc + number)
    if user.number_e164:
        digits.append(user.number_e164.lstrip("+"))
    return " ".join(w for w in words if w).lower(), " ".join(digits)
