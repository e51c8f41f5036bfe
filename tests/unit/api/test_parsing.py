"""Every quirk of the contract, one row each: envelopes, errors, hits, filters, users, links."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from desktop_app.api.errors import (
    MalformedResponse,
    MyOperatorError,
    NotFound,
    NotReadyYet,
    PermissionDenied,
    RateLimited,
    RelayRefused,
    ServerError,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.models import (
    ContactType,
    Direction,
    LegStatus,
    Role,
)
from desktop_app.api.parsing import (
    MAX_RETRY_AFTER_S,
    interpret_response,
    parse_call_log,
    parse_call_placed,
    parse_duration,
    parse_filters,
    parse_log_page,
    parse_recording_link,
    parse_retry_after,
    parse_user,
    parse_user_page,
)
from tests.helpers.tokens import FAKE_TOKEN


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# ---------------------------------------------------------------------------------------
# interpret_response: success


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"status": "success", "code": 200, "data": []}),
        (200, {"status": "success", "code": "200", "data": {"total": 0, "hits": []}}),
        (200, {"status": "SUCCESS", "code": 200, "message": "User updated"}),  # PUT
        (200, {"status": " success ", "code": 200, "url": "https://x.test/a.mp3"}),
        (200, {"status": "success", "code": 200, "data": [], "extra": {"ignored": True}}),
        (201, {"status": "success", "data": {"unique_id": "abc"}}),
        (200, {"url": "https://x.test/a.mp3"}),  # no envelope status, but a usable payload
        (200, {"data": [1, 2]}),
    ],
)
def test_success_envelopes_are_returned(status: int, body: dict[str, Any]) -> None:
    assert interpret_response(status, {}, _json(body)) == body


def test_success_accepts_utf8_bom() -> None:
    body = b"\xef\xbb\xbf" + _json({"status": "success", "data": []})
    assert interpret_response(200, {}, body)["data"] == []


# ---------------------------------------------------------------------------------------
# interpret_response: error envelopes


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # The live bad-token answer: HTTP 400 with this exact wording.
        (
            400,
            {"status": "error", "code": 400, "message": "This not an authorized request"},
            TokenRejected,
        ),
        (
            200,
            {"status": "error", "code": "400", "message": "THIS NOT AN AUTHORIZED REQUEST"},
            TokenRejected,
        ),
        (400, {"status": "error", "code": 400, "message": "Invalid token"}, TokenRejected),
        (400, {"status": "error", "code": 400, "message": "Request not authorised"}, TokenRejected),
        (200, {"status": "error", "code": 401, "message": "Who are you?"}, TokenRejected),
        (200, {"status": "error", "code": "401"}, TokenRejected),
        (200, {"status": "error", "code": 403, "message": "Nope"}, PermissionDenied),
        (
            400,
            {"status": "error", "code": 400, "message": "You do not have permission"},
            PermissionDenied,
        ),
        (
            400,
            {"status": "error", "code": 400, "message": "Not authorized to add users"},
            PermissionDenied,
        ),
        (404, {"status": "error", "code": 404, "message": "no voice file found"}, NotReadyYet),
        (200, {"status": "error", "code": 400, "message": "No Voice File Found"}, NotReadyYet),
        (200, {"status": "error", "code": 404, "message": "No such user"}, NotFound),
        (404, {"status": "error", "message": "missing"}, NotFound),
        (200, {"status": "error", "code": 429, "message": "slow down"}, RateLimited),
        (400, {"status": "error", "code": 400, "message": "Too many requests"}, RateLimited),
        (200, {"status": "error", "code": 500, "message": "boom"}, ServerError),
        (200, {"status": "error", "code": "503"}, ServerError),
        (200, {"status": "error", "code": 400, "message": "Invalid extension"}, ValidationError),
        (
            200,
            {"status": "error", "code": 422, "message": {"email": ["is invalid"]}},
            ValidationError,
        ),
        (200, {"status": "error"}, ValidationError),
        (400, {"message": "bad input"}, ValidationError),  # no status key, HTTP says error
        (200, {"code": 400, "message": "bad input"}, ValidationError),
        (200, {"status": False, "message": "bad"}, ValidationError),
        (200, {"status": 500, "message": "numeric status"}, ServerError),
        (200, {"status": 404}, NotFound),
    ],
)
def test_error_envelopes_map_to_project_errors(
    status: int, body: dict[str, Any], expected: type[MyOperatorError]
) -> None:
    with pytest.raises(expected) as info:
        interpret_response(status, {}, _json(body))
    assert type(info.value) is expected
    assert info.value.message.startswith(("MyOperator", "The "))


def test_http_200_with_status_error_is_an_error() -> None:
    body = {"status": "error", "code": 400, "message": "contact_number is required"}
    with pytest.raises(ValidationError) as info:
        interpret_response(200, {}, _json(body))
    assert info.value.sent is True
    assert info.value.field == "contact_number"
    assert "contact_number is required" in info.value.message


@pytest.mark.parametrize(
    "message",
    [
        "Priya is calling this number back (since 12 s ago); your call was not placed.",
        # Words that would otherwise read as a rate limit: still a clear "not sent".
        "The team's MyOperator allowance is spent for now: nothing was sent; try again in 40 s.",
    ],
)
def test_the_team_relays_409_is_a_clear_refusal_in_its_own_words(message: str) -> None:
    with pytest.raises(RelayRefused) as info:
        interpret_response(409, {}, _json({"status": "error", "code": 409, "message": message}))
    assert isinstance(info.value, ValidationError)  # a clear refusal: nothing was done
    assert (info.value.message, info.value.sent) == (message, True)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Extension already assigned", "extension"),
        ("The alternate_cc field is required", "alternate_cc"),
        ("alternate_contact_number is invalid", "alternate_contact_number"),
        ("Email is not valid", "email"),
        ("Invalid uuid", "uuid"),
        ("customer_number is invalid", "customer_number"),
        ("page_size must be <= 100", "page_size"),
        ("Invalid filters", "filters"),
        ("Name is required", "name"),
        ("contact number already exists", None),
        ("Unable to process the request from this page", None),
        ("'from' must be before 'to'", "from"),
        ("The file parameter is required", "file"),
        ("Something went wrong", None),
    ],
)
def test_validation_error_names_the_field(message: str, field: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        interpret_response(400, {}, _json({"status": "error", "code": 400, "message": message}))
    assert info.value.field == field


def test_token_rejected_message_is_a_plain_sentence() -> None:
    body = {"status": "error", "code": 400, "message": "This not an authorized request"}
    with pytest.raises(TokenRejected) as info:
        interpret_response(400, {}, _json(body))
    assert info.value.message == (
        "MyOperator rejected the API token, which may be incomplete or no longer valid."
    )
    assert "(" not in info.value.message


def test_server_error_keeps_the_code() -> None:
    with pytest.raises(ServerError) as info:
        interpret_response(200, {}, _json({"status": "error", "code": "504", "message": "x"}))
    assert info.value.status == 504


def test_long_server_messages_are_truncated() -> None:
    body = {"status": "error", "code": 400, "message": "x" * 10_000}
    with pytest.raises(ValidationError) as info:
        interpret_response(400, {}, _json(body))
    assert len(info.value.message) < 300


def test_token_in_a_server_message_is_redacted() -> None:
    body = {"status": "error", "code": 400, "message": f"bad request token={FAKE_TOKEN}"}
    with pytest.raises(ValidationError) as info:
        interpret_response(400, {}, _json(body))
    assert FAKE_TOKEN not in str(info.value)


# ---------------------------------------------------------------------------------------
# interpret_response: non-JSON and broken bodies


_HTML_502 = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body></body></html>"


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (502, {}, _HTML_502, ServerError),
        (503, {"Content-Type": "text/html"}, b"Service Unavailable", ServerError),
        (504, {}, b"", ServerError),
        (500, {}, b"Internal Server Error", ServerError),
        (200, {}, b"<!DOCTYPE html><html><body>captive portal</body></html>", ServerError),
        (404, {}, b"Not Found", NotFound),
        (404, {}, b"<html><body>404</body></html>", NotFound),
        (404, {}, b"no voice file found", NotReadyYet),
        (200, {}, b'{"status": "success", "data": {"total": 3, "hi', MalformedResponse),
        (200, {}, b"", MalformedResponse),
        (200, {}, b"   ", MalformedResponse),
        (200, {}, b"\xff\xfe\x00garbage", MalformedResponse),
        (400, {}, b"Bad Request", MalformedResponse),
        (200, {}, b"[1, 2, 3]", MalformedResponse),
        (200, {}, b'"success"', MalformedResponse),
        (200, {}, b"null", MalformedResponse),
        (503, {}, b'"down"', ServerError),
        (200, {}, _json({"status": "weird", "code": 200}), MalformedResponse),
        (200, {}, _json({"hello": "world"}), MalformedResponse),
        (200, {}, b"[" * 100_000, MalformedResponse),  # deep nesting must not RecursionError
    ],
)
def test_non_envelope_bodies(
    status: int, headers: dict[str, str], body: bytes, expected: type[MyOperatorError]
) -> None:
    with pytest.raises(expected) as info:
        interpret_response(status, headers, body)
    assert type(info.value) is expected


def test_html_error_page_gives_a_server_error_with_status() -> None:
    with pytest.raises(ServerError) as info:
        interpret_response(502, {}, _HTML_502)
    assert info.value.status == 502
    assert "<html>" not in info.value.message


def test_huge_non_json_body_is_not_copied_into_the_message() -> None:
    with pytest.raises(MalformedResponse) as info:
        interpret_response(200, {}, b"A" * 1_000_000)
    assert len(info.value.message) < 400


# ---------------------------------------------------------------------------------------
# Rate limiting


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"Retry-After": "40"}, 40.0),
        ({"retry-after": " 7 "}, 7.0),
        ({"RETRY-AFTER": "1.5"}, 1.5),
        ({"Retry-After": "0"}, 0.0),
        ({}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "99999999999"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
    ],
)
def test_429_reads_retry_after(headers: dict[str, str], retry_after: float | None) -> None:
    with pytest.raises(RateLimited) as info:
        interpret_response(429, headers, b"Too Many Requests")
    assert info.value.retry_after == retry_after


def test_429_message_says_when_to_retry() -> None:
    with pytest.raises(RateLimited) as info:
        interpret_response(429, {"Retry-After": "40"}, b"")
    assert info.value.message == "MyOperator is rate-limiting this account: retry in 40 s."


def test_429_with_json_envelope_keeps_the_server_message() -> None:
    body = _json({"status": "error", "code": 429, "message": "Limit of 20 a minute"})
    with pytest.raises(RateLimited) as info:
        interpret_response(429, {"Retry-After": "300"}, body)
    assert info.value.retry_after == 300.0
    assert "retry in 5 min" in info.value.message
    assert "Limit of 20 a minute" in info.value.message


def test_retry_after_http_date_in_the_future() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(90.0)


def test_envelope_429_uses_the_header_too() -> None:
    body = _json({"status": "error", "code": "429", "message": "slow"})
    with pytest.raises(RateLimited) as info:
        interpret_response(200, {"Retry-After": "12"}, body)
    assert info.value.retry_after == 12.0


# ---------------------------------------------------------------------------------------
# Call logs


def _hit(**source: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "company_id": "5501",
        "caller_number_raw": "9837211131",
        "caller_number": "+919837211131",
        "start_time": 1_700_000_000,
        "end_time": 1_700_000_095,
        "duration": "00:01:35",
        "event": 1,
        "status": 1,
        "filename": "abc123.mp3",
        "fileurl": "https://panel.example/player?x",
        "department_name": "Sales",
        "log_details": [
            {
                "_ds": "NOANSWER",
                "action": "missed",
                "duration": "00:00:20",
                "start_time": 1_700_000_001,
                "received_by": [{"name": "Asha", "extension": 11}],
            },
            {
                "_ds": "ANSWER",
                "action": "received",
                "duration": "00:01:10",
                "start_time": 1_700_000_021,
                "received_by": [{"name": "Ravi", "extension": "12", "user_id": "u-2"}],
            },
        ],
        "some_new_key": {"nested": [1, 2]},
    }
    base.update(source)
    return {"_id": "es-1", "user_id": "u-9", "_source": base}


def test_full_hit() -> None:
    log = parse_call_log(_hit())
    assert log.id == "es-1"
    assert log.start_time == 1_700_000_000
    assert log.end_time == 1_700_000_095
    assert log.duration_s == 95
    assert log.direction is Direction.INCOMING
    assert log.answered is True
    assert log.caller_number == "+919837211131"
    assert log.caller_number_raw == "9837211131"
    assert log.department == "Sales"
    assert log.filename == "abc123.mp3"
    assert log.company_id == "5501"
    assert log.user_id == "u-9"
    assert [leg.status for leg in log.legs] == [LegStatus.NOANSWER, LegStatus.ANSWER]
    assert log.legs[0].received_by[0].extension == "11"
    assert log.legs[1].received_by[0].user_id == "u-2"
    assert log.agents == ("Asha", "Ravi")
    assert log.talk_s == 70


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [
        ({"start_time": "1700000000"}, "start_time", 1_700_000_000),
        ({"end_time": "1700000095"}, "end_time", 1_700_000_095),
        ({"end_time": None}, "end_time", None),
        ({"duration": "01:35"}, "duration_s", 95),
        ({"duration": "95"}, "duration_s", 95),
        ({"duration": 95}, "duration_s", 95),
        ({"duration": "1:00:00"}, "duration_s", 3600),
        ({"duration": "garbage"}, "duration_s", 95),  # falls back to end - start
        ({"event": "2"}, "direction", Direction.OUTGOING),
        ({"event": 2}, "direction", Direction.OUTGOING),
        ({"status": "2"}, "answered", False),
        ({"status": 2, "filename": ""}, "filename", None),
        ({"filename": None}, "filename", None),
        ({"department_name": None}, "department", ""),
        ({"company_id": 5501}, "company_id", "5501"),
        ({"log_details": None}, "legs", ()),
        ({"log_details": "not a list"}, "legs", ()),
    ],
)
def test_hit_field_quirks(changes: dict[str, Any], attribute: str, expected: Any) -> None:
    assert getattr(parse_call_log(_hit(**changes)), attribute) == expected


def test_caller_number_built_from_raw_when_missing() -> None:
    hit = _hit()
    del hit["_source"]["caller_number"]
    log = parse_call_log(hit)
    assert log.caller_number == "+919837211131"
    assert log.caller_number_raw == "9837211131"


def test_caller_number_raw_derived_from_e164() -> None:
    hit = _hit()
    del hit["_source"]["caller_number_raw"]
    assert parse_call_log(hit).caller_number_raw == "9837211131"


def test_caller_number_with_trunk_zero() -> None:
    hit = _hit(caller_number=None, caller_number_raw="09837211131")
    assert parse_call_log(hit).caller_number == "+919837211131"


def test_withheld_number_is_kept_as_text() -> None:
    log = parse_call_log(_hit(caller_number="anonymous", caller_number_raw=""))
    assert log.caller_number == "anonymous"


def test_hit_without_source_wrapper() -> None:
    log = parse_call_log(_hit()["_source"] | {"_id": "plain"})
    assert log.id == "plain"
    assert log.duration_s == 95


def test_derived_id_is_stable_and_distinct() -> None:
    a = _hit()
    del a["_id"]
    b = _hit()
    del b["_id"]
    c = _hit(start_time=1_700_000_001)
    del c["_id"]
    first = parse_call_log(a).id
    assert first == parse_call_log(b).id
    assert first != parse_call_log(c).id
    # Pinned so a refactor cannot silently change every cached key.
    assert (
        first
        == "sha1:" + __import__("hashlib").sha1(b"5501|1700000000|+919837211131|1").hexdigest()
    )


def test_legs_tolerate_odd_values() -> None:
    legs = [
        {"_ds": "answer", "duration": 30, "received_by": {"name": "Solo", "extension": ""}},
        {"_ds": "BUSY", "received_by": ["junk", {"extension": 14}]},
        "not a leg",
    ]
    log = parse_call_log(_hit(log_details=legs))
    assert [leg.status for leg in log.legs] == [LegStatus.ANSWER, LegStatus.UNKNOWN]
    assert log.legs[0].duration_s == 30
    assert log.legs[0].received_by[0].extension is None
    assert log.legs[1].received_by[0].name == ""
    assert log.legs[1].received_by[0].extension == "14"


def test_missing_status_falls_back_to_legs() -> None:
    hit = _hit()
    del hit["_source"]["status"]
    assert parse_call_log(hit).answered is True
    missed = _hit(log_details=[{"_ds": "NOANSWER"}], filename="")
    del missed["_source"]["status"]
    assert parse_call_log(missed).answered is False


@pytest.mark.parametrize(
    "changes",
    [{"start_time": None}, {"start_time": "yesterday"}, {"start_time": 0}, {"event": 7}],
)
def test_unusable_hits_are_malformed(changes: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        parse_call_log(_hit(**changes))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("00:01:35", 95),
        ("01:35", 95),
        ("95", 95),
        (95, 95),
        ("12:00:00", 43200),
        (None, None),
        ("", None),
        ("1:2:3:4", None),
        ("-1", None),
        ("a:b", None),
        (True, None),
    ],
)
def test_parse_duration(value: Any, seconds: int | None) -> None:
    assert parse_duration(value) == seconds


# ---------------------------------------------------------------------------------------
# Log pages


def test_log_page() -> None:
    page = parse_log_page(
        {"total": 6740, "hits": [_hit(), _hit(start_time=1_700_000_100)]},
        offset=20,
        page_size=20,
    )
    assert page.total == 6740
    assert len(page.logs) == 2
    assert page.offset == 20
    assert page.is_last  # shorter than page_size


@pytest.mark.parametrize(
    ("total", "expected"),
    [("6740", 6740), ({"value": 6740, "relation": "eq"}, 6740), (6740.0, 6740)],
)
def test_log_page_total_shapes(total: Any, expected: int) -> None:
    assert parse_log_page({"total": total, "hits": []}, offset=0, page_size=20).total == expected


def test_log_page_raw_elasticsearch_shape() -> None:
    data = {"hits": {"total": {"value": 1}, "hits": [_hit()]}}
    page = parse_log_page(data, offset=0, page_size=20)
    assert page.total == 1
    assert page.logs[0].id == "es-1"


def test_garbage_hits_are_skipped_but_still_count_towards_the_page() -> None:
    hits = [_hit(), {"_source": {"start_time": None}}, "junk", _hit(start_time=1_700_000_300)]
    page = parse_log_page({"total": 100, "hits": hits}, offset=0, page_size=4)
    assert len(page.logs) == 2
    assert page.skipped == 2
    assert not page.is_last  # four hits came back: there may be more


def test_missing_total_does_not_end_pagination_early() -> None:
    full = parse_log_page({"hits": [_hit()] * 2}, offset=0, page_size=2)
    assert not full.is_last
    short = parse_log_page({"hits": [_hit()]}, offset=0, page_size=2)
    assert short.is_last


@pytest.mark.parametrize(
    "data", [None, [], "x", {"total": 3}, {"total": 3, "hits": "nope"}, {"hits": {"hits": 3}}]
)
def test_log_page_wrong_shape(data: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_log_page(data, offset=0, page_size=20)


# ---------------------------------------------------------------------------------------
# Filters


_FILTERS = [
    {"id": 1, "name": "Source of logs", "parent_id": 0},
    {"id": 2, "name": "MyOperator IVR", "parent_id": 1},
    {"id": "3", "name": "Mobile", "parent_id": "1"},
    {"id": 4, "name": "Event of logs", "parent_id": "0"},
    {"id": 5, "name": "Incoming", "parent_id": 4},
    {"id": 6, "parent_id": 4},
    {"id": 15, "name": "Tags", "parent_id": 0},
    {"id": 99, "name": "Orphan", "parent_id": 42},
    {"id": "x", "name": "bad id", "parent_id": 0},
    "junk",
    {"id": 7, "name": "Extra", "parent_id": 4, "unknown": True},
]


def test_filters_group_in_server_order() -> None:
    groups = parse_filters(_FILTERS)
    assert [(g.id, g.name) for g in groups] == [
        (1, "Source of logs"),
        (4, "Event of logs"),
        (15, "Tags"),
    ]
    assert [f.id for f in groups[0].filters] == [2, 3]
    assert [f.name for f in groups[1].filters] == ["Incoming", "Filter 6", "Extra"]
    assert groups[2].filters == ()
    assert all(f.parent_id == g.id for g in groups for f in g.filters)
    assert 99 not in {f.id for g in groups for f in g.filters}


def test_filters_child_before_header() -> None:
    groups = parse_filters([{"id": 2, "name": "a", "parent_id": 1}, {"id": 1, "parent_id": 0}])
    assert groups[0].filters[0].id == 2


@pytest.mark.parametrize("data", [None, "x", 3, {"no": "list"}])
def test_filters_wrong_shape(data: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_filters(data)


def test_filters_wrapped_in_an_object() -> None:
    assert parse_filters({"filters": _FILTERS})[0].id == 1


# ---------------------------------------------------------------------------------------
# Users


def test_user_all_fields() -> None:
    user = parse_user(
        {
            "user_id": 77,
            "uuid": "s1a2b3",
            "name": " Asha ",
            "email": "asha@example.com",
            "contact_number": "9812345678",
            "country_code": "+91",
            "alternate_contact_number": 9812345679,
            "alternate_cc": 91,
            "extension": "11",
            "is_enabled": "1",
            "role": "2",
            "panel_access": "2",
            "receive_calls": 1,
            "contact_type": "SIP",
            "unknown": [1],
        }
    )
    assert user.uuid == "s1a2b3"
    assert user.user_id == "77"
    assert user.name == "Asha"
    assert user.country_code == "91"
    assert user.contact_number == "9812345678"
    assert user.number_e164 == "+919812345678"
    assert user.alternate_contact_number == "9812345679"
    assert user.alternate_cc == "91"
    assert user.extension == 11
    assert user.is_enabled is True
    assert user.role is Role.ADMIN
    assert user.panel_access is False
    assert user.receives_calls is True
    assert user.contact_type is ContactType.SIP


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [
        ({"uuid": None, "id": "fallback"}, "uuid", "fallback"),
        ({"uuid": None, "user_uuid": "u2"}, "uuid", "u2"),
        ({"extension": ""}, "extension", None),
        ({"extension": 12}, "extension", 12),
        ({"extension": "abc"}, "extension", None),
        ({"is_enabled": "0"}, "is_enabled", False),
        ({"is_enabled": True}, "is_enabled", True),
        ({"is_enabled": "maybe"}, "is_enabled", None),
        ({"role_id": 8}, "role", Role.BASIC),
        ({"role": 3}, "role", None),
        ({"role": "Manager"}, "role", Role.MANAGER),
        ({"panel_access": True}, "panel_access", True),
        ({"receive_calls": "2"}, "receives_calls", False),
        ({"receive_calls": False}, "receives_calls", False),
        ({"contact_type": "Landline"}, "contact_type", ContactType.LANDLINE),
        ({"contact_type": "fax"}, "contact_type", None),
        ({"alternate_number": "9812345670"}, "alternate_contact_number", "9812345670"),
        ({"contact_number": "+919812345678", "country_code": None}, "country_code", "91"),
        ({"contact_number": "+919812345678"}, "number_e164", "+919812345678"),
        ({"contact_number": "+14155552671", "country_code": None}, "contact_number", "4155552671"),
        ({"contact_number": "4155552671", "country_code": "1"}, "number_e164", "+14155552671"),
        ({"country_code": None}, "number_e164", "+919812345678"),  # India assumed
        ({"contact_number": None}, "number_e164", None),
        ({"email": ""}, "email", None),
        ({"name": None}, "name", ""),
    ],
)
def test_user_quirks(changes: dict[str, Any], attribute: str, expected: Any) -> None:
    item = {"uuid": "u1", "name": "A", "contact_number": "9812345678", "country_code": "91"}
    item.update(changes)
    assert getattr(parse_user(item), attribute) == expected


@pytest.mark.parametrize("item", [None, [], "u1", {"name": "no uuid"}, {"uuid": ""}])
def test_user_without_uuid_is_malformed(item: Any) -> None:
    with pytest.raises(MalformedResponse):
        parse_user(item)


@pytest.mark.parametrize(
    ("body", "next_page"),
    [
        ({"data": [{"uuid": "a"}], "next_page": 2}, 2),
        ({"data": [{"uuid": "a"}], "next_page": "2"}, 2),
        ({"data": [{"uuid": "a"}], "next_page": None}, None),
        ({"data": [{"uuid": "a"}], "next_page": False}, None),
        ({"data": [{"uuid": "a"}], "next_page": ""}, None),
        ({"data": [{"uuid": "a"}], "next_page": 1}, None),  # not after this page: no loop
        ({"data": [{"uuid": "a"}], "next_page": "https://x.test/user?page=2&q=1"}, 2),
        ({"data": [{"uuid": "a"}]}, None),
        ({"data": {"users": [{"uuid": "a"}], "next_page": 2}}, 2),
        ({"data": {"data": [{"uuid": "a"}]}, "next_page": "2"}, 2),
        ({"data": {"list": [{"uuid": "a"}]}}, None),
    ],
)
def test_user_page_shapes(body: dict[str, Any], next_page: int | None) -> None:
    page = parse_user_page({"status": "success", "code": 200, **body}, page=1)
    assert [u.uuid for u in page.users] == ["a"]
    assert page.page == 1
    assert page.next_page == next_page


def test_user_page_skips_bad_items_and_accepts_empty() -> None:
    page = parse_user_page({"data": [{"uuid": "a"}, {"name": "x"}, 3, {"uuid": "b"}]}, page=2)
    assert [u.uuid for u in page.users] == ["a", "b"]
    assert parse_user_page({"data": None}, page=1).users == ()
    assert parse_user_page({"data": []}, page=1).users == ()


@pytest.mark.parametrize("body", [{"data": "x"}, {"data": 3}, {"data": {"count": 2}}])
def test_user_page_wrong_shape(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        parse_user_page(body, page=1)


# ---------------------------------------------------------------------------------------
# Recording links and click-to-call


URL = "https://cdn.example.com/rec/abc.mp3?sig=xyz"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success", "code": 200, "url": URL},
        {"status": "success", "data": {"url": URL}},
        {"status": "success", "link": URL},
        {"status": "success", "data": URL},
        {"status": "success", "data": {"link": URL}},
        {"url": "not a url", "data": {"url": URL}},  # first *usable* alias wins
        {"url": f"  {URL}  "},
    ],
)
def test_recording_link_aliases(body: dict[str, Any]) -> None:
    assert parse_recording_link(body).url == URL


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": ""},
        {"url": "ftp://x.test/a.mp3"},
        {"url": "javascript:alert(1)"},
        {"data": "abc.mp3"},
        {"url": 3},
        {"data": {"url": None}},
        {"url": "https://"},
        {"url": "https://x.test/a b.mp3"},
    ],
)
def test_recording_link_must_be_http(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_recording_link(body)
    assert "x.test" not in info.value.message


def test_recording_link_repr_hides_the_url() -> None:
    assert "sig=" not in repr(parse_recording_link({"url": URL}))


@pytest.mark.parametrize(
    ("body", "unique_id", "message"),
    [
        ({"status": "success", "code": 200, "data": {"unique_id": "q1"}}, "q1", None),
        (
            {"status": "success", "unique_id": 12345, "message": "Call queued"},
            "12345",
            "Call queued",
        ),
        ({"status": "success", "data": {"id": "d1"}}, "d1", None),
        ({"status": "success", "data": {"unique_id": "", "id": "d2"}}, "d2", None),
        ({"status": "success", "data": []}, None, None),
        ({"status": "success", "message": "Request accepted"}, None, "Request accepted"),
    ],
)
def test_call_placed(body: dict[str, Any], unique_id: str | None, message: str | None) -> None:
    placed = parse_call_placed(body)
    assert placed.unique_id == unique_id
    assert placed.message == message
