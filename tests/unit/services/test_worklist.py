"""The callback worklist's rules over synthetic call sequences. No Qt."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest

from desktop_app.services.clock import ManualClock
from desktop_app.services.worklist import (
    Reach,
    WorkingHours,
    Worklist,
    WorklistRow,
    classify,
    compute_rows,
    format_try,
)
from desktop_app.store import CallStore
from tests.helpers.missed_calls import (
    ASHA,
    DAY,
    HOUR,
    IST,
    ME,
    NUMBER,
    OTHER,
    RAHUL,
    T,
    call,
)

HOURS = WorkingHours(tz=IST)  # 09:00-18:00, Monday to Saturday


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


def make(store: CallStore, clock: ManualClock, **kwargs: object) -> Worklist:
    options: dict[str, object] = {"clock": clock, "my_uuid": ME, "hours": HOURS}
    options.update(kwargs)
    return Worklist(store, **options)  # type: ignore[arg-type]


def only(rows: list[WorklistRow]) -> WorklistRow:
    assert len(rows) == 1, rows
    return rows[0]


# -- rows ----------------------------------------------------------------------------------


def test_repeated_missed_calls_make_one_priority_row(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([
        call("a", T - 3 * HOUR, department="Sales"),
        call("b", T - 2 * HOUR, department="Support"),
        call("c", T - HOUR, department="Billing"),
    ])
    row = only(make(store, clock).refresh())
    assert row.number == NUMBER and row.display == "098372 11131"
    assert row.attempts == 3 and row.priority
    assert (row.first_try, row.last_try) == (T - 3 * HOUR, T - HOUR)
    assert row.department == "Billing"  # the last try's
    assert row.departments == ("Sales", "Support", "Billing")
    assert row.call_ids == ("a", "b", "c") and row.last_call_id == "c"
    assert not row.after_hours


def test_two_attempts_are_not_yet_priority(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("a", T - 2 * HOUR), call("b", T - HOUR)])
    assert not only(make(store, clock).refresh()).priority
    assert only(make(store, clock, priority_attempts=2).refresh()).priority


def test_a_connected_callback_clears_the_row(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("a", T - 2 * HOUR), call("b", T - HOUR, number=OTHER)])
    worklist = make(store, clock)
    assert {r.number for r in worklist.refresh()} == {NUMBER, OTHER}

    store.upsert_calls([call("try", T - 50 * 60, incoming=False)])  # rang, nobody picked up
    row = worklist.row(NUMBER)
    assert row is not None and row.callback_attempts == 0  # as of the last refresh
    row = next(r for r in worklist.refresh() if r.number == NUMBER)
    assert row.callback_attempts == 1 and row.attempts == 1

    store.upsert_calls([call("back", T - 40 * 60, incoming=False, answered=True, rang=(ME,))])
    assert [r.number for r in worklist.refresh()] == [OTHER]


def test_the_customer_getting_through_clears_the_row_and_a_new_miss_reopens_it(
    store: CallStore, clock: ManualClock
) -> None:
    store.upsert_calls([
        call("a", T - 3 * HOUR),
        call("b", T - 2 * HOUR),
        call("through", T - 90 * 60, answered=True, rang=(RAHUL,)),  # a colleague took it
    ])
    worklist = make(store, clock)
    assert worklist.refresh() == []

    store.upsert_calls([call("again", T - 10 * 60)])
    row = only(worklist.refresh())
    assert row.attempts == 1 and row.first_try == T - 10 * 60 and not row.priority


def test_a_connected_call_in_the_same_second_as_a_miss_clears_it(
    store: CallStore, clock: ManualClock
) -> None:
    store.upsert_calls([call("m", T - 60), call("ok", T - 60, answered=True)])
    assert make(store, clock).refresh() == []


def test_missed_by_me_or_by_the_team_comes_from_the_legs(
    store: CallStore, clock: ManualClock
) -> None:
    store.upsert_calls([
        call("mine", T - HOUR, rang=(ASHA, ME)),
        call("team", T - HOUR, number=OTHER, rang=(ASHA, RAHUL)),
        call("ivr", T - HOUR, number="+919700000000", rang=()),
    ])
    rows = {r.number: r for r in make(store, clock).refresh()}
    mine, team, ivr = rows[NUMBER], rows[OTHER], rows["+919700000000"]
    assert mine.rang_me and mine.missed_by_me and mine.missed_by_text == "Me"
    assert mine.rang == ("Asha Verma", "Me Myself")
    assert team.rang_me is False and team.missed_by_me is False
    assert team.missed_by_text == "Team"
    assert ivr.missed_by_text == "Not routed"

    unknown = {r.number: r for r in make(store, clock, my_uuid=None).refresh()}
    assert unknown[NUMBER].rang_me is None and unknown[NUMBER].missed_by_text == "—"


def test_a_colleague_answering_a_leg_of_a_missed_call_is_shown(
    store: CallStore, clock: ManualClock
) -> None:
    # The service marked the call missed though a colleague's leg says ANSWER.
    store.upsert_calls([call("odd", T - HOUR, rang=(ME, RAHUL), answered_by=RAHUL)])
    row = only(make(store, clock).refresh())
    assert row.answered_by == ("Rahul Rao",)
    assert row.missed_by_me is False  # someone took it
    assert row.missed_by_text == "Me (answered by Rahul Rao)"


def test_classify_tells_every_case_apart() -> None:
    assert classify(call("x", T, rang=(ME,)), ME).reach is Reach.MISSED_BY_ME
    assert classify(call("x", T, rang=(ASHA,)), ME).reach is Reach.MISSED_BY_TEAM
    assert classify(call("x", T, rang=(ME,), answered=True), ME).reach is Reach.ANSWERED_BY_ME
    rang_me_colleague_took_it = classify(call("x", T, rang=(ME, ASHA), answered=True), ME)
    assert rang_me_colleague_took_it.reach is Reach.ANSWERED_BY_COLLEAGUE
    assert rang_me_colleague_took_it.rang_me is True
    assert rang_me_colleague_took_it.answered_by == ("Asha Verma",)
    assert classify(call("x", T, rang=(ME,)), None).reach is Reach.UNKNOWN


def test_calls_outside_working_hours_are_flagged(store: CallStore, clock: ManualClock) -> None:
    sunday_noon = int(datetime(2024, 3, 10, 12, 0, tzinfo=IST).timestamp())
    store.upsert_calls([
        call("midnight", T - 14 * HOUR, number=OTHER),  # Monday 00:00
        call("sunday", sunday_noon, number="+919700000001"),
        call("office", T - HOUR),
    ])
    rows = {r.number: r for r in make(store, clock).refresh()}
    assert rows[OTHER].after_hours and rows["+919700000001"].after_hours
    assert not rows[NUMBER].after_hours

    seven_days = WorkingHours(start=dtime(0, 0), end=dtime(23, 59), days=frozenset(range(7)),
                              tz=IST)
    rows = {r.number: r for r in make(store, clock, hours=seven_days).refresh()}
    assert not rows["+919700000001"].after_hours


def test_working_hours_rules_and_settings_text() -> None:
    monday = datetime(2024, 3, 11, tzinfo=IST)

    def at(day: int, hour: int, minute: int = 0) -> int:
        return int((monday + timedelta(days=day, hours=hour, minutes=minute)).timestamp())

    hours = WorkingHours.parse("09:30-18:00", "mon-fri", tz=IST)
    assert hours.contains(at(0, 9, 30)) and not hours.contains(at(0, 9, 29))
    assert not hours.contains(at(0, 18)) and hours.contains(at(4, 17, 59))
    assert not hours.contains(at(5, 12))  # Saturday

    night = WorkingHours.parse("22:00-06:00", "fri", tz=IST)
    assert night.contains(at(4, 23)) and night.contains(at(5, 5))  # Friday's shift
    assert not night.contains(at(4, 5))  # Thursday's, not worked

    assert WorkingHours.parse("9:00-17:00", "sat-mon").days == frozenset({5, 6, 0})
    assert WorkingHours.parse("09:00-17:00", "Mon, Wed").days == frozenset({0, 2})
    with pytest.raises(ValueError, match="09:00-18:00"):
        WorkingHours.parse("nine to five")
    with pytest.raises(ValueError, match="Unknown day"):
        WorkingHours.parse("09:00-17:00", "funday")


def test_only_calls_inside_the_horizon_count(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("old", T - 4 * DAY), call("recent", T - 2 * DAY, number=OTHER)])
    assert [r.number for r in make(store, clock).refresh()] == [OTHER]
    assert len(make(store, clock, horizon_s=7 * DAY).refresh()) == 2


def test_calls_without_a_number_make_no_row() -> None:
    rows = compute_rows([call("anon", T, number="")], my_uuid=ME, hours=HOURS)
    assert rows == []


def test_priority_rows_come_first_then_the_latest(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([
        *(call(f"p{i}", T - 5 * HOUR + i, number=OTHER) for i in range(3)),
        call("new", T - 60),
        call("older", T - 2 * HOUR, number="+919700000002"),
    ])
    worklist = make(store, clock)
    assert [r.number for r in worklist.refresh()] == [OTHER, NUMBER, "+919700000002"]
    assert worklist.unhandled_calls == 5
    assert worklist.row_for_call("p1") is not None
    assert worklist.row_for_call("p1") == worklist.row(OTHER)


# -- mark handled ---------------------------------------------------------------------------


def test_mark_handled_clears_the_row_persists_and_undoes(
    db_path: Path, clock: ManualClock
) -> None:
    with CallStore.open(db_path) as store:
        store.upsert_calls([call("a", T - 2 * HOUR), call("b", T - HOUR, number=OTHER)])
        worklist = make(store, clock)
        assert worklist.mark_handled(NUMBER)
        assert [r.number for r in worklist.rows()] == [OTHER]
        assert worklist.can_undo and worklist.undo_number == NUMBER
        assert not worklist.mark_handled("+910000000000")  # no such row

    with CallStore.open(db_path) as store:  # a restart: still handled
        worklist = make(store, clock)
        assert [r.number for r in worklist.refresh()] == [OTHER]
        assert not worklist.can_undo  # undo is for this session's marks

        clock.advance(600)  # the same customer calls again: a fresh row
        store.upsert_calls([call("c", T + 300)])
        row = next(r for r in worklist.refresh() if r.number == NUMBER)
        assert row.attempts == 1 and row.call_ids == ("c",)

        assert worklist.mark_handled(NUMBER)
        assert worklist.row(NUMBER) is None
        assert worklist.undo() == NUMBER  # back to the previous mark, not to nothing
        back = worklist.row(NUMBER)
        assert back is not None and back.call_ids == ("c",)
        assert worklist.undo() is None


def test_undo_brings_back_the_whole_row(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("a", T - 2 * HOUR), call("b", T - HOUR)])
    worklist = make(store, clock)
    before = worklist.refresh()
    worklist.mark_handled(NUMBER)
    worklist.mark_handled(NUMBER)  # nothing left to mark
    assert worklist.rows() == []
    assert worklist.undo() == NUMBER
    assert worklist.rows() == before


def test_marks_outside_the_horizon_are_forgotten(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("a", T - HOUR)])
    worklist = make(store, clock)
    worklist.mark_handled(NUMBER)
    clock.advance(4 * DAY)
    worklist.refresh()
    count = store.connection.execute("SELECT count(*) FROM worklist_handled").fetchone()[0]
    assert count == 0


def test_setting_my_uuid_later_recomputes(store: CallStore, clock: ManualClock) -> None:
    store.upsert_calls([call("a", T - HOUR, rang=(ME,))])
    worklist = make(store, clock, my_uuid=None)
    assert only(worklist.rows()).missed_by_me is None
    worklist.set_my_uuid(ME)
    assert only(worklist.rows()).missed_by_me is True


def test_try_times_read_naturally() -> None:
    assert format_try(T - HOUR, T, IST) == "13:00"
    assert format_try(T - DAY, T, IST) == "Sun 14:00"
    assert format_try(T - 10 * DAY, T, IST) == "01 Mar 14:00"
