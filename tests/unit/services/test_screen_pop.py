"""What the screen-pop says while the phone rings: for whom it pops, the caller's history
from the cache (a real SQLite file), how their last call went, and the agent's note kept
for the next time the same number calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from desktop_app.api.models import Agent, Direction
from desktop_app.relay.events import LiveCall
from desktop_app.services.clock import ManualClock
from desktop_app.services.screen_pop import ScreenPops, rings_for_me
from desktop_app.store import CallStore
from desktop_app.store.callers import MAX_NOTE_LENGTH, CallerRecords
from tests.helpers.builders import make_call

T = 1_716_600_000
CALLER = "+919837211131"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    with CallStore.open(tmp_path / "calls.db") as opened:
        yield opened


@pytest.fixture
def pops(store: CallStore) -> ScreenPops:
    return ScreenPops(CallerRecords(store), clock=ManualClock(T))


def ringing(*agents: Agent, caller: str = CALLER) -> LiveCall:
    return LiveCall("live-1", caller, answered=False, agents=agents)


ME = Agent("Asha Rao", "12", "u-12")
RAVI = Agent("Ravi Kumar", "14", "u-14")


def test_it_pops_for_the_agent_it_rings_and_for_anyone_who_has_not_said_who_they_are() -> None:
    assert rings_for_me(ringing(ME, RAVI), "u-12")
    assert not rings_for_me(ringing(RAVI), "u-12")
    assert rings_for_me(ringing(RAVI), None)
    assert not rings_for_me(replace(ringing(ME), answered=True), "u-12")


async def test_a_callers_history_and_last_outcome(store: CallStore, pops: ScreenPops) -> None:
    store.upsert_calls([
        replace(make_call("a", answered=False), start_time=T - 7200),
        replace(make_call("b"), start_time=T - 3600),  # answered by Asha Rao, 2:10
        replace(make_call("c", answered=False), start_time=T - 600, caller_number="+91981"),
    ])

    card = await pops.card_for(ringing(ME, RAVI), "u-12")

    assert card.caller == "098372 11131"
    assert card.ringing == "Ringing for you and Ravi Kumar"
    assert card.history == "2 earlier calls, 1 missed"
    assert card.last_outcome.startswith("Last call ")
    assert card.last_outcome.endswith(": answered by Asha Rao (2:10)")
    assert card.last_call_id == "b"
    assert card.note == "" and not card.answered
    answered = pops.answered(card, replace(ringing(RAVI), answered=True))
    assert answered.answered_by == "Ravi Kumar"


async def test_a_first_time_caller_and_a_missed_last_call(
    store: CallStore, pops: ScreenPops
) -> None:
    first = await pops.card_for(ringing(RAVI), None)
    assert (first.history, first.last_outcome, first.last_call_id) == (
        "First call from this number", "", None
    )
    assert first.ringing == "Ringing for Ravi Kumar"

    store.upsert_calls([replace(make_call("m", answered=False), start_time=T - 60)])
    again = await pops.card_for(ringing(RAVI), None)
    assert again.history == "1 earlier call, 1 missed"
    assert again.last_outcome.endswith(": missed")
    outgoing = replace(make_call("o", direction=Direction.OUTGOING), start_time=T - 30)
    store.upsert_calls([outgoing])
    assert (await pops.card_for(ringing(RAVI), None)).last_outcome.endswith(": called back")


async def test_the_note_is_kept_for_the_next_call_from_the_same_number(
    store: CallStore, pops: ScreenPops, tmp_path: Path
) -> None:
    card = await pops.card_for(ringing(ME), "u-12")
    await pops.save_note(card.caller_e164, "  Wants the invoice resent  ")

    # Written as the number was read: the same caller written otherwise finds it.
    again = await pops.card_for(ringing(ME, caller="09837211131"), "u-12")
    assert again.note == "Wants the invoice resent"
    with CallStore.open(tmp_path / "calls.db") as other:  # in the file, for a restart
        assert CallerRecords(other).note(CALLER) == "Wants the invoice resent"

    await pops.save_note(CALLER, "x" * (MAX_NOTE_LENGTH + 50))
    assert len(CallerRecords(store).note(CALLER)) == MAX_NOTE_LENGTH
    await pops.save_note(CALLER, "   ")
    assert CallerRecords(store).note(CALLER) == ""


async def test_an_unreadable_number_gets_a_card_without_history(pops: ScreenPops) -> None:
    card = await pops.card_for(ringing(ME, caller="anonymous"), "u-12")

    assert (card.caller, card.caller_e164, card.history) == (
        "anonymous", "", "First call from this number"
    )
    await pops.save_note(card.caller_e164, "kept nowhere")  # nothing to key it by
