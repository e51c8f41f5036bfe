"""`TeamClaims`: who is on which callback, from the relay's claim events, with an injected
clock (a lapse without waiting) and replays taken once."""

from __future__ import annotations

from desktop_app.relay.events import CallbackClaim, EventKind, RelayEvent, claim_event
from desktop_app.services.team_claims import TeamClaims

NUMBER = "+919811100071"
HOLD_MS = 30 * 60 * 1000
START_MS = 1_796_000_000_000


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def event(
    event_id: str, agent: str, *, claimed: bool = True, at_ms: int = START_MS,
    number: str = NUMBER,
) -> RelayEvent:
    made = claim_event(CallbackClaim(number, agent, at_ms, at_ms + HOLD_MS, claimed))
    return RelayEvent(made.kind, made.call_id, made.dedup_key, made.body, id=event_id)


def test_a_claim_shows_who_until_it_lapses_by_the_clock() -> None:
    clock = Clock(START_MS)
    claims = TeamClaims(me="Arjun", clock=clock)
    changes: list[None] = []
    claims.add_listener(lambda: changes.append(None))

    assert claims.apply(event(f"{START_MS}-0", "Priya"))

    assert claims.sentence(NUMBER) == "Priya is on it"
    assert claims.next_lapse_s() == HOLD_MS / 1000
    clock.ms += HOLD_MS - 1
    assert claims.holder(NUMBER) is not None
    clock.ms += 1
    assert claims.holder(NUMBER) is None and claims.sentences() == {}
    assert claims.next_lapse_s() is None
    assert len(changes) == 1


def test_my_own_claim_reads_you_are_on_it() -> None:
    claims = TeamClaims(clock=Clock(START_MS))
    claims.apply(event(f"{START_MS}-0", "Priya"))
    assert claims.sentence(NUMBER) == "Priya is on it"

    claims.set_me("Priya")

    assert claims.sentences() == {NUMBER: "You are on it"}


def test_a_release_counts_only_from_the_holder() -> None:
    claims = TeamClaims(clock=Clock(START_MS))
    claims.apply(event("1-0", "Priya"))
    claims.apply(event("2-0", "Priya", claimed=False))
    claims.apply(event("3-0", "Arjun"))

    # Priya's late release (her claim was over; Arjun's now) changes nothing.
    assert not claims.apply(event("4-0", "Priya", claimed=False))
    assert claims.sentence(NUMBER) == "Arjun is on it"
    assert claims.apply(event("5-0", "Arjun", claimed=False))
    assert claims.holder(NUMBER) is None


def test_replayed_events_are_taken_once_in_stream_order() -> None:
    claims = TeamClaims(clock=Clock(START_MS))
    for each in (event("10-0", "Priya"), event("11-0", "Priya", claimed=False)):
        claims.apply(each)

    # A replay from an earlier position (a restart's look back overlapping the stream).
    assert not claims.apply(event("10-0", "Priya"))
    assert not claims.apply(event("9-5", "Arjun"))
    assert claims.holder(NUMBER) is None
    assert claims.apply(event("11-1", "Arjun"))
    assert claims.sentence(NUMBER) == "Arjun is on it"


def test_a_lapse_is_judged_on_the_relays_clock_learnt_from_live_events() -> None:
    # This desktop's clock is a day behind the relay's.
    clock = Clock(START_MS - 86_400_000)
    claims = TeamClaims(clock=clock)

    claims.apply(event(f"{START_MS}-0", "Priya"), live=True)

    assert claims.sentence(NUMBER) == "Priya is on it"
    clock.ms += HOLD_MS
    assert claims.holder(NUMBER) is None


def test_any_live_event_tells_the_relays_clock_not_only_a_claim() -> None:
    # This desktop's clock is a day ahead: a claim replayed after a restart reads lapsed...
    clock = Clock(START_MS + 86_400_000)
    claims = TeamClaims(clock=clock)
    heard: list[None] = []
    claims.add_listener(lambda: heard.append(None))
    claims.apply(event(f"{START_MS}-0", "Priya"))
    assert claims.holder(NUMBER) is None
    assert len(heard) == 1

    # ...until the first live event, a colleague's call ringing, says the relay's time:
    # not a claim, but the list hears of it (the row reads "Priya is on it" again).
    ringing = RelayEvent(EventKind.CALL_RINGING, "call-1", "call-1:ringing", {},
                         id=f"{START_MS + 60_000}-0")
    assert not claims.apply(ringing, live=True)
    assert claims.sentence(NUMBER) == "Priya is on it"
    assert len(heard) == 2
    # The next live event, a moment later, is no news.
    answered = RelayEvent(EventKind.CALL_ANSWERED, "call-1", "call-1:answered", {},
                          id=f"{START_MS + 60_500}-0")
    clock.ms += 400
    claims.apply(answered, live=True)
    assert len(heard) == 2
    # A replayed one, however far on its id, does not set the clock: only the live
    # stream runs on the relay's present (taken, it would make the claim lapse).
    claims.apply(RelayEvent(EventKind.CALL_RINGING, "call-2", "call-2:ringing", {},
                            id=f"{START_MS + 2 * HOLD_MS}-0"))
    assert claims.sentence(NUMBER) == "Priya is on it"
