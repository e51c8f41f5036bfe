"""The users cache: lossless round trips, whole-list replacement, local search, migration."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.api.models import ContactType, Role, User
from desktop_app.store import CallStore, UserStore, migrate, open_database, schema_version
from desktop_app.store.schema import MIGRATIONS
from tests.helpers.builders import make_log

ASHA = User(
    uuid="u-asha",
    name="Asha Rao",
    user_id="10001",
    email="asha.rao@example.com",
    country_code="91",
    contact_number="9876543210",
    number_e164="+919876543210",
    alternate_cc="44",
    alternate_contact_number="7700900123",
    extension=12,
    role=Role.ADMIN,
    is_enabled=True,
    panel_access=True,
    receives_calls=False,
    contact_type=ContactType.SIP,
)
RAVI = User(
    uuid="u-ravi",
    name="Ravi Kumar",
    email="ravi_k@example.com",
    country_code="91",
    contact_number="9123456780",
    number_e164="+919123456780",
    extension=27,
    role=Role.BASIC,
)
BARE = User(uuid="u-bare", name="")


@pytest.fixture
def users(tmp_path: Path) -> Iterator[UserStore]:
    store = UserStore.open(tmp_path / "cache.db")
    yield store
    store.close()


def test_users_round_trip_losslessly_in_service_order(users: UserStore) -> None:
    assert users.replace_all([RAVI, ASHA, BARE]) == 3
    assert users.all() == (RAVI, ASHA, BARE)
    assert users.get("u-asha") == ASHA
    assert users.get("u-bare") == BARE
    assert users.get("nobody") is None
    assert users.count() == 3


user_strategy = st.builds(
    User,
    uuid=st.text(min_size=1, max_size=20),
    name=st.text(max_size=30),
    user_id=st.none() | st.text(max_size=10),
    email=st.none() | st.emails(),
    country_code=st.none() | st.sampled_from(["91", "1", "44"]),
    contact_number=st.none() | st.text("0123456789", min_size=1, max_size=12),
    number_e164=st.none() | st.text("+0123456789", max_size=14),
    alternate_cc=st.none() | st.just("91"),
    alternate_contact_number=st.none() | st.text("0123456789", max_size=12),
    extension=st.none() | st.integers(0, 10**6),
    role=st.none() | st.sampled_from(Role),
    is_enabled=st.none() | st.booleans(),
    panel_access=st.none() | st.booleans(),
    receives_calls=st.none() | st.booleans(),
    contact_type=st.none() | st.sampled_from(ContactType),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(user_strategy, max_size=6, unique_by=lambda u: u.uuid))
def test_any_user_list_round_trips(tmp_path_factory: pytest.TempPathFactory,
                                   users_list: list[User]) -> None:
    with UserStore.open(tmp_path_factory.mktemp("rt") / "cache.db") as store:
        store.replace_all(users_list)
        assert store.all() == tuple(users_list)


def test_replace_all_replaces_and_keeps_the_first_of_a_repeated_uuid(
    users: UserStore,
) -> None:
    users.replace_all([ASHA, RAVI])
    renamed = User(uuid="u-ravi", name="Ravi K.")
    users.replace_all([renamed, BARE, User(uuid="u-ravi", name="again")])
    assert users.all() == (renamed, BARE)


def test_a_failed_replace_leaves_the_previous_list(users: UserStore) -> None:
    users.replace_all([ASHA, RAVI])
    unbindable = User(uuid="u-x", name="X", extension=object())  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        users.replace_all([BARE, unbindable])
    assert users.all() == (ASHA, RAVI)


def test_synced_at_and_my_uuid_live_in_meta(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with UserStore.open(path, clock=lambda: 1_700_000_123.9) as store:
        assert store.synced_at() is None and store.my_uuid() is None
        store.replace_all([ASHA])
        store.set_my_uuid("u-asha")
    with UserStore.open(path) as store:
        assert store.synced_at() == 1_700_000_123
        assert store.my_uuid() == "u-asha"
        store.set_my_uuid(None)
        assert store.my_uuid() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("u-asha", "u-ravi")),
        ("   ", ("u-asha", "u-ravi")),
        ("asha", ("u-asha",)),
        ("RAO", ("u-asha",)),
        ("kumar ravi", ("u-ravi",)),  # every word, any order
        ("asha ravi", ()),
        ("ravi_k@", ("u-ravi",)),
        ("example.com", ("u-asha", "u-ravi")),
        ("_", ("u-ravi",)),  # a LIKE wildcard is matched literally
        ("%", ()),
        ("12", ("u-asha", "u-ravi")),  # Asha's extension; a fragment of Ravi's number
        ("27", ("u-ravi",)),
        ("54321", ("u-asha",)),
        ("98765-43210", ("u-asha",)),
        ("098765 43210", ("u-asha",)),  # trunk 0
        ("+91 98765", ("u-asha",)),
        ("0091 91234", ("u-ravi",)),
        ("(912) 345", ("u-ravi",)),
        ("7700 900", ("u-asha",)),  # the alternate number
        ("4477009", ("u-asha",)),  # with its country code
        ("1234567890", ()),
    ],
)
def test_local_search(users: UserStore, text: str, expected: tuple[str, ...]) -> None:
    users.replace_all([ASHA, RAVI])
    assert tuple(u.uuid for u in users.search(text)) == expected


def test_an_older_cache_migrates_to_the_users_step_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:1])
    conn.close()
    with CallStore.open(path) as calls:
        pass  # opening migrates
    conn = open_database(path)
    try:
        assert schema_version(conn) == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        conn.close()
    with CallStore.open(path) as calls:
        calls.upsert_calls([make_log("a", 100)])
        with UserStore.sharing(calls) as users:
            users.replace_all([ASHA])
            assert users.all() == (ASHA,)
        assert calls.count() == 1


def test_sharing_the_call_store_joins_its_transaction(tmp_path: Path) -> None:
    with CallStore.open(tmp_path / "cache.db") as calls:
        users = UserStore.sharing(calls)
        users.replace_all([ASHA])
        with pytest.raises(RuntimeError), calls.transaction():
            calls.upsert_calls([make_log("a", 100)])
            users.replace_all([RAVI])
            raise RuntimeError("roll the whole thing back")
        assert users.all() == (ASHA,)
        assert calls.count() == 0
        with calls.transaction():
            users.replace_all([RAVI])
        assert users.all() == (RAVI,)
        users.close()  # a shared connection stays open
        assert calls.count() == 0
