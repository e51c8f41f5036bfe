"""MyOperator's webhooks as the relay's events: what is kept, what is refused, and the
de-duplication keys that make retries and repeats harmless."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from desktop_app.api.models import Direction
from desktop_app.relay.events import (
    CallbackClaim,
    EventKind,
    RelayEvent,
    WebhookRejected,
    after_call_event,
    claim_event,
    event_id_key,
    in_call_event,
    valid_event_id,
)


def after_call_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "_id": "call-1",
        "company_id": "5501",
        "caller_number": "+919812345678",
        "caller_number_raw": "9812345678",
        "start_time": 1_796_000_000,
        "end_time": 1_796_000_065,
        "duration": "00:01:05",
        "event": 1,
        "status": 2,
        "filename": "",
        "department_name": "Sales",
        "log_details": [
            {"_ds": "NOANSWER", "action": "missed", "received_by": [{"name": "Priya"}]}
        ],
    }
    record.update(changes)
    return record


def test_an_after_call_record_is_kept_whole_and_parses_as_the_sync_would() -> None:
    event = after_call_event(after_call_record(extra_field="kept"))

    assert event.kind is EventKind.CALL_ENDED
    assert event.call_id == "call-1"
    assert event.dedup_key == "call-1:ended"
    assert event.body["extra_field"] == "kept"
    call = event.call_log()
    assert call.id == "call-1"
    assert call.direction is Direction.INCOMING
    assert call.missed_incoming
    assert call.agents == ("Priya",)


def test_a_form_or_get_after_call_has_its_legs_decoded_from_json_text() -> None:
    record = after_call_record(log_details=json.dumps(after_call_record()["log_details"]))
    record = {key: str(value) for key, value in record.items()}

    call = after_call_event(record).call_log()

    assert call.agents == ("Priya",)
    assert call.start_time == 1_796_000_000


def test_an_after_call_record_may_name_its_call_uid() -> None:
    record = after_call_record(uid="u-77")
    del record["_id"]

    event = after_call_event(record)

    assert event.call_id == "u-77"
    assert event.call_log().id == "u-77"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"_id": None}, "names no call"),
        ({"start_time": None}, "start time"),
        ({"event": 9}, "neither in nor out"),
        ({"log_details": "[not json"}, "log_details"),
    ],
)
def test_an_after_call_record_that_cannot_be_placed_is_refused_with_a_reason(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        after_call_event(after_call_record(**changes))


def in_call(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "uid": "live-9",
        "clid": "+919812345678",
        "call_state": 0,
        "event": 1,
        "users": [{"name": "Priya", "user_id": "u1", "extension": "11"}],
        "public_ivr_id": "ivr-3",
    }
    payload.update(changes)
    return payload


def test_a_ringing_call_says_who_calls_and_whom_it_rings() -> None:
    event = in_call_event(in_call())

    assert event.kind is EventKind.CALL_RINGING
    live = event.live_call()
    assert live.call_id == "live-9"
    assert live.caller == "+919812345678"
    assert not live.answered
    assert [(a.name, a.user_id, a.extension) for a in live.agents] == [("Priya", "u1", "11")]
    assert live.ivr_id == "ivr-3"


@pytest.mark.parametrize(
    "users",
    [
        json.dumps([{"name": "Priya", "user_id": "u1"}, {"name": "Arjun", "user_id": "u2"}]),
        [{"name": "Priya", "user_id": "u1"}, {"name": "Arjun", "user_id": "u2"}],
    ],
)
def test_in_call_users_may_arrive_as_json_text_or_a_list(users: object) -> None:
    live = in_call_event(in_call(users=users)).live_call()

    assert [a.name for a in live.agents] == ["Priya", "Arjun"]


def test_in_call_users_may_arrive_as_plain_names() -> None:
    live = in_call_event(in_call(users="Priya, Arjun")).live_call()

    assert [(a.name, a.user_id) for a in live.agents] == [("Priya", None), ("Arjun", None)]


def test_a_repeated_in_call_event_has_the_same_key_and_a_new_state_or_agent_a_new_one() -> None:
    ringing = in_call_event(in_call())
    repeat = in_call_event(in_call(event=2))
    answered = in_call_event(in_call(call_state="1"))
    rings_someone_else = in_call_event(in_call(users=[{"name": "Arjun", "user_id": "u2"}]))

    assert repeat.dedup_key == ringing.dedup_key
    assert answered.kind is EventKind.CALL_ANSWERED
    assert len({ringing.dedup_key, answered.dedup_key, rings_someone_else.dedup_key}) == 3


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"uid": ""}, "names no call"), ({"call_state": 4}, "neither 0 nor 1")],
)
def test_an_in_call_event_without_a_call_or_a_known_state_is_refused(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        in_call_event(in_call(**changes))


def test_an_event_survives_its_trip_through_the_stream() -> None:
    sent = after_call_event(after_call_record())

    received = RelayEvent.from_json("1796000000000-3", sent.to_json())

    assert received.id == "1796000000000-3"
    assert (received.kind, received.call_id) == (sent.kind, "call-1")
    assert received.call_log() == sent.call_log()


def test_the_wrong_kind_of_event_says_so_instead_of_guessing() -> None:
    with pytest.raises(ValueError, match="no call log record"):
        in_call_event(in_call()).call_log()
    with pytest.raises(ValueError, match="not a live call"):
        after_call_event(after_call_record()).live_call()


def test_stream_ids_order_as_numbers_and_only_ids_are_valid() -> None:
    assert event_id_key("10-0") > event_id_key("9-5")
    assert event_id_key("9-10") > event_id_key("9-9")
    assert valid_event_id("0-0")
    assert valid_event_id("1796000000000-12")
    for text in ("", "$", "12", "1-2-3", "-1-0", "1-0; DROP"):
        assert not valid_event_id(text)


def test_a_claim_event_carries_its_claim() -> None:
    claim = CallbackClaim("+919811100071", "Priya", 1_000, 1_800_001_000)
    first = claim_event(claim)

    assert first.kind is EventKind.CALLBACK_CLAIMED
    stored = RelayEvent.from_json("5-0", first.to_json())
    assert stored.callback_claim() == claim
    released = RelayEvent.from_json("6-0", claim_event(replace(claim, claimed=False)).to_json())
    assert released.kind is EventKind.CALLBACK_RELEASED
    assert not released.callback_claim().claimed
    with pytest.raises(ValueError, match="not a live call"):
        stored.live_call()
    with pytest.raises(ValueError, match="no callback claim"):
        in_call_event(in_call()).callback_claim()
