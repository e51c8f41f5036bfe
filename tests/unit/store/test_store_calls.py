"""Upserts, round-trips, local search and filters, coverage and meta."""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.api.models import Agent, CallLeg, CallLog, Direction, LegStatus
from desktop_app.store import CallQuery, CallStore
from desktop_app.store.calls import legs_from_json, legs_to_json
from desktop_app.store.db import migrate
from tests.helpers.builders import make_log


def ids(store: CallStore, query: CallQuery) -> list[str]:
    return [row.id for row in store.fetch_rows(query, 0, 1000)]


# -- upsert -------------------------------------------------------------------------------


def test_upsert_returns_only_new_calls_and_stores_each_once(store: CallStore) -> None:
    first = store.upsert_calls([make_log("a", 1), make_log("b", 2)])
    assert [c.id for c in first] == ["a", "b"]
    again = store.upsert_calls([make_log("b", 2), make_log("c", 3)])
    assert [c.id for c in again] == ["c"]
    assert store.count() == 3


def test_upsert_replaces_an_updated_record(store: CallStore) -> None:
    store.upsert_calls([make_log("a", 1, filename="")])
    ready = make_log("a", 1, filename="a.mp3")
    assert store.upsert_calls([ready]) == []
    got = store.get("a")
    assert got is not None
    assert got.filename == "a.mp3" and got.has_recording
    assert store.count() == 1


def test_update_keeps_the_search_index_in_step(store: CallStore) -> None:
    store.upsert_calls([make_log("a", 1, agents=("Asha Verma",))])
    store.upsert_calls([make_log("a", 1, agents=("Ravi Kumar",))])
    assert ids(store, CallQuery(text="Ravi")) == ["a"]
    assert ids(store, CallQuery(text="Asha")) == []


def test_repeats_within_one_batch_count_once_last_wins(store: CallStore) -> None:
    new = store.upsert_calls([make_log("a", 1, department="X"), make_log("a", 1, department="Y")])
    assert len(new) == 1 and new[0].department == "Y"
    got = store.get("a")
    assert got is not None and got.department == "Y"


def test_empty_upsert_is_a_no_op(store: CallStore) -> None:
    assert store.upsert_calls([]) == []


def test_round_trip_is_exact_including_none_and_empty_fields(store: CallStore) -> None:
    log = CallLog(
        id="x-1",
        start_time=1_700_000_000,
        end_time=None,
        duration_s=0,
        direction=Direction.OUTGOING,
        answered=False,
        caller_number="",
        caller_number_raw="12345",
        department="",
        filename=None,
        legs=(
            CallLeg(LegStatus.UNKNOWN, None, None, None, ()),
            CallLeg(
                LegStatus.CANCEL, "missed", 5, 0,
                (Agent("Zoë \"Z\" Ünal", None, None), Agent("B", "12", "u")),
            ),
        ),
        company_id=None,
        user_id="u-9",
    )
    store.upsert_calls([log])
    assert store.get("x-1") == log
    assert store.fetch(CallQuery(), 0, 10) == [log]
    assert store.get("nope") is None


agents = st.builds(
    Agent, st.text(max_size=8), st.none() | st.text(max_size=3), st.none() | st.text(max_size=3)
)
legs = st.builds(
    CallLeg,
    st.sampled_from(LegStatus),
    st.none() | st.text(max_size=8),
    st.none() | st.integers(-(2**40), 2**40),
    st.none() | st.integers(0, 10**6),
    st.tuples() | st.lists(agents, max_size=3).map(tuple),
)


@settings(max_examples=100)
@given(st.lists(legs, max_size=4).map(tuple))
def test_legs_serialise_losslessly(value: tuple[CallLeg, ...]) -> None:
    assert legs_from_json(legs_to_json(value)) == value


def test_row_api_carries_what_a_table_needs(store: CallStore) -> None:
    store.upsert_calls(
        [make_log("a", 10, agents=("Asha", "Ravi")), make_log("b", 20, answered=False)]
    )
    rows = store.fetch_rows(CallQuery(), 0, 10)
    assert [r.id for r in rows] == ["b", "a"]
    assert rows[1].agents == "Asha, Ravi"
    assert rows[1].has_recording and not rows[0].has_recording
    assert rows[1].talk_s == 31  # only the answered leg's duration
    assert rows[0].direction is Direction.INCOMING


# -- ordering, paging ---------------------------------------------------------------------


def test_fetch_is_newest_first_with_stable_paging(store: CallStore) -> None:
    store.upsert_calls(make_log(f"c{i:02d}", 100 + i // 3) for i in range(30))  # many ties
    everything = ids(store, CallQuery())
    pages = [r.id for off in range(0, 30, 7) for r in store.fetch_rows(CallQuery(), off, 7)]
    assert pages == everything
    assert len(set(everything)) == 30
    starts = [store.get(i).start_time for i in everything]  # type: ignore[union-attr]
    assert starts == sorted(starts, reverse=True)


def test_newest_and_oldest(store: CallStore) -> None:
    assert store.newest_start_time() is None and store.oldest_start_time() is None
    store.upsert_calls([make_log("a", 50), make_log("b", 10), make_log("c", 90)])
    assert store.newest_start_time() == 90
    assert store.newest_start_time(at_most=60) == 50
    assert store.oldest_start_time() == 10


# -- text search --------------------------------------------------------------------------


def seed_people(store: CallStore) -> None:
    store.upsert_calls(
        [
            make_log("berlin", 1, number="+4930123456", raw="030123456", agents=("Asha Verma",)),
            make_log("delhi", 2, number="+919837211131", agents=("Ravi Kumar",),
                     department="Support"),
            make_log("mumbai", 3, number="+912240001234", agents=("Meena Iyer", "Asha Verma"),
                     department="Billing"),
            make_log("id-98abc", 4, number="+15550100", agents=("John",), department="Sales"),
        ]
    )


def test_trigram_finds_digit_fragment_inside_e164(store: CallStore) -> None:
    seed_people(store)
    # +9122400[0123]4 and +493[0123]456
    assert ids(store, CallQuery(text="0123")) == ["mumbai", "berlin"]
    assert ids(store, CallQuery(text="9837211")) == ["delhi"]
    assert store.count(CallQuery(text="0123")) == 2


def test_numbers_typed_with_spaces_dashes_plus_or_trunk_zero(store: CallStore) -> None:
    seed_people(store)
    for typed in ("098372-11131", "+91 98372 11131", "0091 9837211131", "(98372) 11131"):
        assert ids(store, CallQuery(text=typed)) == ["delhi"], typed
    assert ids(store, CallQuery(text="030 123456")) == ["berlin"]


def test_number_search_does_not_match_ids_or_names(store: CallStore) -> None:
    seed_people(store)
    assert ids(store, CallQuery(text="98a")) == ["id-98abc"]  # not number-like: any column
    assert "id-98abc" not in ids(store, CallQuery(text="983"))


def test_agent_name_and_department_fragments_case_insensitive(store: CallStore) -> None:
    seed_people(store)
    assert ids(store, CallQuery(text="sha")) == ["mumbai", "berlin"]
    assert ids(store, CallQuery(text="MEENA")) == ["mumbai"]
    assert ids(store, CallQuery(text="suppo")) == ["delhi"]
    assert ids(store, CallQuery(text="asha bill")) == ["mumbai"]  # every word must match
    assert ids(store, CallQuery(text="asha 0123")) == ["mumbai", "berlin"]
    assert ids(store, CallQuery(text="asha 9837")) == []


def test_short_fragments_fall_back_to_like(store: CallStore) -> None:
    seed_people(store)
    assert ids(store, CallQuery(text="55")) == ["id-98abc"]
    assert ids(store, CallQuery(text="Jo")) == ["id-98abc"]
    assert ids(store, CallQuery(text="as")) == ["mumbai", "berlin"]
    assert store.count(CallQuery(text="as")) == 2


def test_search_text_with_fts_and_like_syntax_is_literal(store: CallStore) -> None:
    store.upsert_calls([make_log("q", 1, agents=('O"Brien AND',), department="50%_off")])
    assert ids(store, CallQuery(text='O"Brien')) == ["q"]
    assert ids(store, CallQuery(text="AND")) == ["q"]
    assert ids(store, CallQuery(text="%_")) == ["q"]
    assert ids(store, CallQuery(text="0%")) == ["q"]
    assert ids(store, CallQuery(text="NEAR(")) == []
    assert ids(store, CallQuery(text="%x")) == []


def test_common_term_uses_index_walk_and_agrees_with_rare_plan(store: CallStore) -> None:
    # Enough matching rows to take the "walk the time index" plan.
    store.upsert_calls(
        make_log(f"c{i:05d}", i, agents=("Asha" if i % 2 else "Ravi",)) for i in range(2400)
    )
    query = CallQuery(text="asha")
    assert store.count(query) == 1200
    page = store.fetch_rows(query, 10, 5)
    assert [r.id for r in page] == [f"c{i:05d}" for i in (2379, 2377, 2375, 2373, 2371)]
    with_filter = CallQuery(text="asha", start=100, end=110)
    assert ids(store, with_filter) == [f"c{i:05d}" for i in (109, 107, 105, 103, 101)]
    # With a direction filter (its own index) the answer is the same as by brute force.
    store.upsert_calls(
        make_log(f"o{i:05d}", i, agents=("Asha",), direction=Direction.OUTGOING)
        for i in range(0, 2400, 3)
    )
    outgoing = CallQuery(text="asha", directions=frozenset({Direction.OUTGOING}))
    expected = [f"o{i:05d}" for i in sorted(range(0, 2400, 3), reverse=True)]
    assert store.count(outgoing) == len(expected) == 800
    assert [r.id for r in store.fetch_rows(outgoing, 5, 3)] == expected[5:8]


def test_count_cache_sees_new_rows(store: CallStore) -> None:
    store.upsert_calls([make_log("a", 1, agents=("Asha",))])
    assert store.count(CallQuery(text="asha")) == 1
    store.upsert_calls([make_log("b", 2, agents=("Asha",))])
    assert store.count(CallQuery(text="asha")) == 2


# -- filters ------------------------------------------------------------------------------


def test_filters_combine(store: CallStore) -> None:
    store.upsert_calls(
        [
            make_log("in-ok", 10, direction=Direction.INCOMING, answered=True),
            make_log("in-miss", 20, direction=Direction.INCOMING, answered=False,
                     department="Support"),
            make_log("out-ok", 30, direction=Direction.OUTGOING, answered=True, filename=""),
            make_log("out-miss", 40, direction=Direction.OUTGOING, answered=False),
        ]
    )
    incoming = frozenset({Direction.INCOMING})
    assert ids(store, CallQuery(directions=incoming)) == ["in-miss", "in-ok"]
    assert ids(store, CallQuery(directions=incoming, answered=False)) == ["in-miss"]
    assert ids(store, CallQuery(answered=True)) == ["out-ok", "in-ok"]
    assert ids(store, CallQuery(start=20, end=30)) == ["out-ok", "in-miss"]
    assert ids(store, CallQuery(start=21)) == ["out-miss", "out-ok"]
    assert ids(store, CallQuery(departments=frozenset({"Support"}))) == ["in-miss"]
    assert ids(store, CallQuery(has_recording=True)) == ["in-ok"]
    assert ids(store, CallQuery(has_recording=False)) == ["out-miss", "out-ok", "in-miss"]
    assert ids(store, CallQuery(directions=frozenset())) == []
    assert store.count(CallQuery(directions=incoming, answered=False)) == 1
    assert store.departments() == ["Sales", "Support"]


# -- coverage -----------------------------------------------------------------------------


def test_coverage_merges_overlapping_and_adjacent_ranges(store: CallStore) -> None:
    store.add_coverage(100, 200)
    store.add_coverage(300, 400)
    assert store.coverage() == [(100, 200), (300, 400)]
    store.add_coverage(201, 250)  # touches 200
    assert store.coverage() == [(100, 250), (300, 400)]
    store.add_coverage(240, 310)  # bridges both
    assert store.coverage() == [(100, 400)]
    store.add_coverage(150, 160)  # inside
    store.add_coverage(5, 1)  # empty
    assert store.coverage() == [(100, 400)]
    store.add_coverage(0, 1000)  # swallows
    assert store.coverage() == [(0, 1000)]


def test_covers_and_uncovered(store: CallStore) -> None:
    store.add_coverage(100, 200)
    store.add_coverage(300, 400)
    assert store.covers(100, 200) and store.covers(150, 160)
    assert not store.covers(150, 250)
    assert not store.covers(99, 100)
    assert store.covers(10, 5)  # an empty range is trivially held
    assert store.uncovered(50, 450) == [(50, 99), (201, 299), (401, 450)]
    assert store.uncovered(120, 180) == []
    assert store.uncovered(150, 350) == [(201, 299)]
    assert store.uncovered(500, 600) == [(500, 600)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=12))
def test_coverage_equals_union_of_added_ranges(ranges: list[tuple[int, int]]) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    migrate(conn)
    store = CallStore(conn)
    covered: set[int] = set()
    for a, b in ranges:
        store.add_coverage(a, b)
        covered.update(range(a, b + 1))
    spans = store.coverage()
    assert {t for lo, hi in spans for t in range(lo, hi + 1)} == covered
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        assert lo > hi + 1  # disjoint and not touching
    conn.close()


# -- meta, threads ------------------------------------------------------------------------


def test_meta_set_get_delete(store: CallStore) -> None:
    assert store.get_meta("k") is None
    store.set_meta("k", 5)
    assert store.get_meta("k") == "5"
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"
    store.set_meta("k", None)
    assert store.get_meta("k") is None


def test_writes_from_a_worker_thread_while_reading(store: CallStore) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for k in range(20):
                store.upsert_calls(make_log(f"w{k}-{i}", k * 100 + i) for i in range(50))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        store.count(CallQuery(text="asha"))
        store.fetch_rows(CallQuery(), 0, 20)
    thread.join()
    assert errors == []
    assert store.count() == 1000


def test_query_is_frozen_and_hashable() -> None:
    base = CallQuery(text="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.text = "y"  # type: ignore[misc]
    assert replace(base, answered=True) == CallQuery(text="x", answered=True)
    assert hash(base) == hash(CallQuery(text="x"))


# -- keeping N days ------------------------------------------------------------------------


def test_prune_older_than_removes_old_calls_and_what_describes_them(
    store: CallStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.store import calls as calls_module
    from desktop_app.store.notified import HandledMark, MissedCallRecords

    monkeypatch.setattr(calls_module, "_PRUNE_CHUNK", 7)  # several chunks
    old = [make_log(f"old{i}", 1000 + i, agents=("Ravi Kumar",)) for i in range(20)]
    new = [make_log(f"new{i}", 5000 + i, agents=("Asha Verma",)) for i in range(5)]
    edge = make_log("edge", 4000, agents=("Ravi Kumar",))  # exactly at the cut: kept
    store.upsert_calls([*old, *new, edge])
    store.add_coverage(500, 2000)
    store.add_coverage(3000, 6000)
    records = MissedCallRecords(store)
    records.record_notified([old[0], new[0]], "single", 7000)
    records.set_handled(HandledMark("+919000000001", 1500, 7000))
    records.set_handled(HandledMark("+919000000002", 5000, 7000))

    assert store.prune_older_than(4000) == 20

    assert store.count() == 6 and store.get("old3") is None and store.get("edge") is not None
    assert store.oldest_start_time() == 4000
    # The search index lost the rows too: no match for a deleted call's text.
    assert ids(store, CallQuery(text="Ravi")) == ["edge"]
    with store.lock:
        fts_rows = store.connection.execute("SELECT count(*) FROM calls_fts").fetchone()[0]
        integrity = store.connection.execute(
            "INSERT INTO calls_fts(calls_fts, rank) VALUES ('integrity-check', 1)"
        )
    assert fts_rows == 6 and integrity is not None
    # Coverage no longer claims the dropped range: a range before the cut is not held.
    assert store.coverage() == [(4000, 6000)]
    assert not store.covers(1000, 1500) and store.uncovered(3500, 4500) == [(3500, 3999)]
    assert not records.was_notified("old0") and records.was_notified("new0")
    assert set(records.handled_marks()) == {"+919000000002"}

    assert store.prune_older_than(4000) == 0  # nothing left to do
    assert store.count() == 6


def test_prune_older_than_everything_leaves_an_empty_cache(store: CallStore) -> None:
    store.upsert_calls([make_log("a", 10), make_log("b", 20)])
    store.add_coverage(0, 30)
    assert store.prune_older_than(100) == 2
    assert store.count() == 0 and store.coverage() == []
    assert ids(store, CallQuery(text="Asha")) == []


# -- first pages, counts beside other connections --------------------------------------


def test_a_first_page_walked_by_time_is_the_page_every_plan_gives(store: CallStore) -> None:
    """The first page of a common term walks the newest rows with LIKE; a term those rows
    do not fill a page with falls back to the search index; a non-ASCII term always uses
    it. Each page is exactly the newest matches, ties (three calls a second) in order."""
    logs = [
        make_log(
            f"c{i:05d}", i // 3,
            agents=("Asha Verma",) if i % 2 else ("Zoë Ravi",),
            department="Archive" if i < 400 else "Sales",
        )
        for i in range(4500)
    ]
    store.upsert_calls(logs)
    newest_first = sorted(logs, key=lambda log: (log.start_time, log.id), reverse=True)

    def expected(match: str, limit: int, end: int | None = None) -> list[str]:
        hits = [
            log.id for log in newest_first
            if (end is None or log.start_time <= end)
            and any(match.casefold() in text.casefold()
                    for text in (*log.agents, log.department, log.id))
        ]
        return hits[:limit]

    for text, limit in (("asha", 200), ("SALES", 201), ("archive", 200), ("zoë", 50),
                        ("asha c0449", 10), ("c0001", 200)):
        got = [r.id for r in store.fetch_rows(CallQuery(text=text), 0, limit)]
        first, *others = text.split()
        also = [set(expected(word, len(logs))) for word in others]
        want = [i for i in expected(first, len(logs)) if all(i in ids for ids in also)]
        assert got == want[:limit], text
    # A keyset page further down (what the feed's "more" reads) is exact too.
    got = [r.id for r in store.fetch_rows(CallQuery(text="asha", end=1000), 0, 7)]
    assert got == expected("asha", 7, end=1000)


def test_the_count_cache_sees_another_connections_commits(db_path: Path) -> None:
    with CallStore.open(db_path) as gui, CallStore.open(db_path) as sync:
        gui.upsert_calls([make_log("a", 1, agents=("Asha",))])
        asha = CallQuery(text="asha")
        assert gui.count(asha) == 1  # cached from here on
        sync.upsert_calls([make_log("b", 2, agents=("Asha",))])
        assert gui.count(asha) == 2
        with sync.transaction():
            sync.connection.execute("DELETE FROM calls WHERE id = 'a'")
        assert gui.count(asha) == 1


def test_a_reader_counts_beside_the_writer_and_cannot_write(store: CallStore) -> None:
    store.upsert_calls([make_log("a", 1, agents=("Asha",))])
    reader = store.sibling(read_only=True)
    try:
        assert reader.count(CallQuery(text="asha")) == 1
        with store.transaction():  # a write in progress does not hold the reader up
            store.connection.execute("DELETE FROM calls")
            assert reader.count() == 1
        assert reader.count() == 0
        reader.interrupt()  # nothing running: the next statement is not affected
        assert reader.count(CallQuery(text="asha")) == 0
        with pytest.raises(sqlite3.OperationalError):
            reader.upsert_calls([make_log("b", 2)])
    finally:
        reader.close()


def test_a_rare_number_fragment_skips_the_walk_a_common_one_walks(store: CallStore) -> None:
    """A number fragment on fewer than a thousand calls (most of three digits or more) is
    read through the search index at once, without first walking the newest rows in
    vain; one every number shares (the country code) still walks. Both pages are the
    newest matches."""
    logs = [make_log(f"c{i:05d}", i // 2, number=f"+9198{i:08d}") for i in range(3600)]
    store.upsert_calls(logs)
    newest_first = sorted(logs, key=lambda log: (log.start_time, log.id), reverse=True)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        for text in ("0000123", "98 0000"):
            statements.clear()
            digits = text.replace(" ", "")
            want = [log.id for log in newest_first if digits in log.caller_number][:200]
            assert [r.id for r in store.fetch_rows(CallQuery(text=text), 0, 200)] == want
            walked = any("LIKE" in sql for sql in statements)
            assert walked is (len(want) == 200), text
    finally:
        store.connection.set_trace_callback(None)
    rare = sum("0000123" in log.caller_number for log in logs)
    assert store.count(CallQuery(text="0000123")) == rare == 11  # the bounded count, kept


def test_a_term_on_one_call_in_twenty_is_walked_further_not_looked_up(
    store: CallStore,
) -> None:
    """The newest 3,000 rows hold less than a page of a term on one call in twenty: the
    walk goes on over older rows instead of looking up every match in the search index;
    a term those older rows still do not fill a page of falls back to the index. Both
    pages are exactly the newest matches."""
    def agents(i: int) -> tuple[str, ...]:
        names = ["Kiran"] if i % 20 == 0 else []
        if i % 20 == 1 and i >= 2500:  # only among the newest
            names.append("Meera")
        return tuple(names) or ("Asha",)

    logs = [make_log(f"c{i:05d}", i // 2, agents=agents(i)) for i in range(6000)]
    store.upsert_calls(logs)
    newest_first = sorted(logs, key=lambda log: (log.start_time, log.id), reverse=True)
    statements: list[str] = []
    store.connection.set_trace_callback(statements.append)
    try:
        for name, looked_up in (("Kiran", False), ("Meera", True)):
            statements.clear()
            want = [log.id for log in newest_first if name in log.agents][:200]
            got = [r.id for r in store.fetch_rows(CallQuery(text=name.lower()), 0, 200)]
            assert got == want, name
            assert any("MATCH" in sql for sql in statements) is looked_up, name
    finally:
        store.connection.set_trace_callback(None)


def test_number_samples_give_one_number_per_leading_three_digits(tmp_path: Path) -> None:
    with CallStore.open(tmp_path / "calls.db") as store:
        store.upsert_calls([
            make_log("a", 1, number="+919837211131"),
            make_log("b", 2, number="+919812345678"),
            make_log("c", 3, number="+917012345678"),
            make_log("d", 4, number="+12125550143"),
            make_log("e", 5, number="+12125550100"),
            make_log("f", 6, number="", raw="anonymous"),
        ])
        assert store.number_samples() == ["+12125550100", "+917012345678", "+919812345678"]
