"""Property tests: whatever arrives or is typed, only the project's errors come out."""

from __future__ import annotations

import json
import re
from typing import Any

import phonenumbers
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from desktop_app.api.errors import MyOperatorError, ValidationError
from desktop_app.api.models import (
    CallLog,
    CallPlaced,
    ContactType,
    LogPage,
    NewUser,
    RecordingLink,
    User,
    UserPage,
    UserUpdate,
)
from desktop_app.api.parsing import (
    interpret_response,
    parse_call_log,
    parse_call_placed,
    parse_filters,
    parse_log_page,
    parse_recording_link,
    parse_user,
    parse_user_page,
)
from desktop_app.api.validation import (
    click_to_call_params,
    new_user_params,
    normalize_number,
    recording_params,
    search_params,
    user_list_params,
    user_update_params,
    validate_country_code,
    validate_email,
    validate_extension,
    validate_filters,
    validate_page_size,
    validate_uuid,
)

# Keys the parsers look at, so generated objects reach past the first type check.
_KEYS = st.sampled_from(
    [
        "status",
        "code",
        "message",
        "data",
        "url",
        "link",
        "next_page",
        "users",
        "list",
        "total",
        "hits",
        "value",
        "_source",
        "_id",
        "user_id",
        "company_id",
        "start_time",
        "end_time",
        "duration",
        "event",
        "caller_number",
        "caller_number_raw",
        "filename",
        "department_name",
        "log_details",
        "_ds",
        "action",
        "received_by",
        "name",
        "extension",
        "id",
        "parent_id",
        "uuid",
        "email",
        "contact_number",
        "country_code",
        "role",
        "role_id",
        "is_enabled",
        "panel_access",
        "receive_calls",
        "contact_type",
        "alternate_cc",
        "alternate_number",
        "alternate_contact_number",
        "unique_id",
        "filters",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "1",
            "2",
            "0",
            "91",
            "+91",
            "success",
            "error",
            "00:01:35",
            "ANSWER",
            "https://x.test/a.mp3",
            "9812345678",
            "+919812345678",
            "",
            "-1",
            "1e3",
        ]
    )
)
JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(_KEYS | st.text(max_size=10), children, max_size=8)
    ),
    max_leaves=40,
)
JSON_OBJECT = st.dictionaries(_KEYS | st.text(max_size=10), JSON, max_size=10)
STATUS = st.sampled_from(
    [200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503]
) | st.integers(-1, 1000)
HEADERS = st.dictionaries(
    st.sampled_from(["Retry-After", "retry-after", "Content-Type"]) | st.text(max_size=10),
    st.text(max_size=40) | st.sampled_from(["40", "text/html", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    max_size=4,
)


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


# ---------------------------------------------------------------------------------------
# Parsing never leaks a foreign exception


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(status=STATUS, headers=HEADERS, body=st.binary(max_size=300) | JSON.map(_body))
def test_interpret_response_only_raises_project_errors(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    try:
        result = interpret_response(status, headers, body)
    except MyOperatorError as exc:
        assert exc.message
        assert len(exc.message) < 1000
    else:
        assert isinstance(result, dict)


@given(status=STATUS, obj=JSON_OBJECT, code=JSON, message=JSON)
def test_error_envelope_never_passes_as_success(
    status: int, obj: dict[str, Any], code: Any, message: Any
) -> None:
    obj.update(status="error", code=code, message=message)
    try:
        interpret_response(status, {}, _body(obj))
    except MyOperatorError:
        return
    raise AssertionError("an error envelope was returned as success")


@given(status=STATUS, obj=JSON_OBJECT)
def test_success_envelope_is_returned_unchanged(status: int, obj: dict[str, Any]) -> None:
    obj["status"] = "success"
    assume(status != 429)
    # Compared as JSON text: NaN, which the service could send, is not equal to itself.
    assert _body(interpret_response(status, {}, _body(obj))) == _body(obj)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    data=JSON | st.fixed_dictionaries({"total": JSON, "hits": st.lists(JSON, max_size=6)}),
    offset=st.integers(0, 10_000),
    page_size=st.integers(1, 100),
)
def test_parse_log_page_only_raises_project_errors(data: Any, offset: int, page_size: int) -> None:
    try:
        page = parse_log_page(data, offset=offset, page_size=page_size)
    except MyOperatorError:
        return
    assert isinstance(page, LogPage)
    assert page.total >= offset + len(page.logs) + page.skipped
    assert len({log.id for log in page.logs}) <= len(page.logs)


_HIT_SOURCE = st.fixed_dictionaries(
    {},
    optional={
        key: JSON | values
        for key, values in {
            "start_time": st.integers(-5, 2_000_000_000) | st.text(max_size=12),
            "end_time": st.integers() | st.text(max_size=12),
            "event": st.sampled_from([1, 2, "1", "2", 3, "x"]),
            "status": st.sampled_from([1, 2, "1", "2", None]),
            "duration": st.text(max_size=10) | st.integers(),
            "caller_number": st.text(max_size=20),
            "caller_number_raw": st.text(max_size=20) | st.integers(),
            "log_details": st.lists(JSON_OBJECT, max_size=3),
            "filename": st.text(max_size=10),
        }.items()
    },
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(hit=JSON | _HIT_SOURCE | st.fixed_dictionaries({"_source": _HIT_SOURCE, "_id": JSON}))
def test_parse_call_log_only_raises_project_errors(hit: Any) -> None:
    try:
        log = parse_call_log(hit)
    except MyOperatorError:
        return
    assert isinstance(log, CallLog)
    assert log.id
    assert log.start_time > 0
    assert log.duration_s >= 0
    assert log.filename is None or log.filename.strip()


@given(hit=_HIT_SOURCE)
def test_derived_ids_are_deterministic(hit: dict[str, Any]) -> None:
    try:
        first = parse_call_log(hit)
    except MyOperatorError:
        return
    assert parse_call_log(json.loads(json.dumps(hit))).id == first.id


@given(
    data=JSON
    | st.lists(
        st.fixed_dictionaries(
            {"id": JSON | st.integers(0, 30), "parent_id": JSON | st.integers(0, 30)},
            optional={"name": JSON},
        ),
        max_size=12,
    )
)
def test_parse_filters_only_raises_project_errors(data: Any) -> None:
    try:
        groups = parse_filters(data)
    except MyOperatorError:
        return
    ids = [g.id for g in groups] + [f.id for g in groups for f in g.filters]
    assert len(ids) == len(set(ids))
    assert all(f.parent_id == g.id and not f.is_header for g in groups for f in g.filters)


@given(item=JSON | JSON_OBJECT)
def test_parse_user_only_raises_project_errors(item: Any) -> None:
    try:
        user = parse_user(item)
    except MyOperatorError:
        return
    assert isinstance(user, User)
    assert user.uuid
    assert user.number_e164 is None or user.number_e164.startswith("+")


@given(body=JSON_OBJECT | JSON, page=st.integers(1, 50))
def test_parse_user_page_only_raises_project_errors(body: Any, page: int) -> None:
    try:
        result = parse_user_page(body, page=page)
    except MyOperatorError:
        return
    assert isinstance(result, UserPage)
    assert result.next_page is None or result.next_page > page


@given(body=JSON_OBJECT | JSON)
def test_parse_recording_link_only_raises_project_errors(body: Any) -> None:
    try:
        link = parse_recording_link(body)
    except MyOperatorError:
        return
    assert isinstance(link, RecordingLink)
    assert link.url.lower().startswith(("http://", "https://"))


@given(body=JSON_OBJECT | JSON)
def test_parse_call_placed_only_raises_project_errors(body: Any) -> None:
    try:
        placed = parse_call_placed(body)
    except MyOperatorError:
        return
    assert isinstance(placed, CallPlaced)


# ---------------------------------------------------------------------------------------
# Validators never leak a foreign exception


TEXT = st.text(max_size=40) | st.text(alphabet="0123456789 +-().", max_size=20)
ANYTHING = TEXT | st.integers() | st.none() | st.booleans() | st.floats()


def _only_validation_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ValidationError as exc:
        assert exc.sent is False
        assert exc.message
        return None


@given(number=TEXT, cc=ANYTHING)
def test_normalize_number_only_raises_validation_errors(number: str, cc: Any) -> None:
    result = _only_validation_errors(normalize_number, number, cc, field="contact_number")
    if result is not None:
        cc_out, national = result
        assert re.fullmatch(r"[1-9][0-9]{0,2}", cc_out)
        assert national.isdigit()
        # Idempotent: the normalized form normalizes to itself.
        assert normalize_number(f"+{cc_out}{national}", None, field="x") == result


@given(value=ANYTHING)
def test_single_field_validators_only_raise_validation_errors(value: Any) -> None:
    for call in (
        validate_country_code,
        validate_email,
        validate_uuid,
        validate_extension,
        validate_page_size,
        validate_filters,
        recording_params,
    ):
        _only_validation_errors(call, value)


@given(expression=st.text(alphabet="0123456789 ()ANDORandor", max_size=30) | TEXT)
def test_filter_expressions_are_canonical(expression: str) -> None:
    result = _only_validation_errors(validate_filters, expression)
    if result is not None:
        assert validate_filters(result) == result
        assert re.fullmatch(r"[0-9() ANDOR]+", result)


@given(
    start=st.none() | st.integers(-10, 3_000_000_000),
    end=st.none() | st.integers(-10, 3_000_000_000),
    offset=st.integers(-5, 10_000),
    page_size=st.integers(-5, 200),
    search=st.none() | TEXT,
    filters=st.none() | TEXT,
)
def test_search_params_only_raise_validation_errors(
    start: int | None,
    end: int | None,
    offset: int,
    page_size: int,
    search: str | None,
    filters: str | None,
) -> None:
    params = _only_validation_errors(
        search_params,
        start=start,
        end=end,
        offset=offset,
        page_size=page_size,
        search=search,
        filters=filters,
    )
    if params is not None:
        assert all(isinstance(v, str) and v for v in params.values())
        assert 1 <= int(params["page_size"]) <= 100


@given(keyword=st.none() | TEXT, page=st.integers(-2, 5), page_size=st.integers(-2, 150))
def test_user_list_params_only_raise_validation_errors(
    keyword: str | None, page: int, page_size: int
) -> None:
    _only_validation_errors(
        user_list_params, keyword=keyword, page=page, page_size=page_size, all_users=False
    )


@given(number=TEXT, cc=ANYTHING, uuid=ANYTHING)
def test_click_to_call_only_raises_validation_errors(number: str, cc: Any, uuid: Any) -> None:
    _only_validation_errors(click_to_call_params, number, cc, uuid)


_USER_FIELDS = {
    "name": ANYTHING,
    "contact_number": TEXT,
    "country_code": ANYTHING,
    "extension": ANYTHING,
    "email": ANYTHING,
    "alternate_contact_number": ANYTHING,
    "alternate_cc": ANYTHING,
    "panel_access": ANYTHING,
    "receive_calls": ANYTHING,
    "contact_type": ANYTHING | st.sampled_from(ContactType),
}


@given(fields=st.fixed_dictionaries(_USER_FIELDS))
def test_user_params_only_raise_validation_errors(fields: dict[str, Any]) -> None:
    params = _only_validation_errors(new_user_params, NewUser(**fields))
    if params is not None:
        assert all(isinstance(v, str) for v in params.values())
        assert {"name", "contact_number", "country_code"} <= set(params)
    update = UserUpdate(uuid=fields["name"], **{k: v for k, v in fields.items() if k != "name"})
    _only_validation_errors(user_update_params, update)


# ---------------------------------------------------------------------------------------
# What people type: one Indian mobile, many spellings


_PREFIXES = ["", "0", "+91", "+91 ", "+91-", "0091", "0091 ", "91", "(0)", "+91 (0)", " "]
_SEPARATORS = ["", " ", "-", ".", "  ", " - "]


@given(
    digits=st.from_regex(r"[6-9][0-9]{9}", fullmatch=True),
    prefix=st.sampled_from(_PREFIXES),
    cuts=st.lists(st.integers(1, 9), max_size=4, unique=True),
    separators=st.lists(st.sampled_from(_SEPARATORS), min_size=4, max_size=4),
    cc=st.sampled_from(["91", "+91", 91]),
)
def test_indian_mobile_spellings_normalize_to_the_same_digits(
    digits: str, prefix: str, cuts: list[int], separators: list[str], cc: str | int
) -> None:
    assume(phonenumbers.is_valid_number(phonenumbers.parse("+91" + digits)))
    typed = ""
    last = 0
    for cut, separator in zip(sorted(cuts), separators, strict=False):
        typed += digits[last:cut] + separator
        last = cut
    typed = prefix + typed + digits[last:]
    assert normalize_number(typed, cc, field="contact_number") == ("91", digits)
    assert click_to_call_params(typed, cc, "agent")["customer_number"] == digits
