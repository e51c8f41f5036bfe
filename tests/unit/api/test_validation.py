"""Input checks: what people type becomes what the API wants, or a per-field message."""

from __future__ import annotations

from typing import Any

import pytest

from desktop_app.api.errors import ValidationError
from desktop_app.api.models import ContactType, NewUser, Toggle, UserUpdate
from desktop_app.api.validation import (
    EXTENSION_RANGE,
    MAX_PAGE_SIZE,
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


def _refused(call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    assert info.value.sent is False
    return info.value


# ---------------------------------------------------------------------------------------
# Phone numbers


@pytest.mark.parametrize(
    ("typed", "cc", "expected"),
    [
        ("+91 98123 45678", "91", ("91", "9812345678")),
        ("098123-45678", "91", ("91", "9812345678")),
        ("(0)98-1234-5678", "91", ("91", "9812345678")),
        ("9812345678", "91", ("91", "9812345678")),
        ("9812345678", 91, ("91", "9812345678")),
        ("9812345678", "+91", ("91", "9812345678")),
        ("0091 9812345678", "91", ("91", "9812345678")),
        ("919812345678", "91", ("91", "9812345678")),
        ("  98123.45678  ", "91", ("91", "9812345678")),
        ("+91 98123 45678", None, ("91", "9812345678")),
        ("0091 9812345678", None, ("91", "9812345678")),
        ("+1 (415) 555-2671", "91", ("1", "4155552671")),  # +cc in the number wins
        ("(415) 555-2671", "1", ("1", "4155552671")),
        ("0091 98123 45678", "1", ("91", "9812345678")),  # 00 is an international prefix
        ("011 2345 6789", "91", ("91", "1123456789")),  # Delhi landline
        ("+44 (0)20 7946 0018", "91", ("44", "2079460018")),
    ],
)
def test_normalize_number(typed: str, cc: str | int | None, expected: tuple[str, str]) -> None:
    assert normalize_number(typed, cc, field="contact_number") == expected


@pytest.mark.parametrize(
    ("typed", "cc", "field", "text"),
    [
        ("9812", "91", "contact_number", "9812 is not a valid phone number for +91."),
        ("", "91", "contact_number", "Enter the contact number."),
        ("   ", "91", "contact_number", "Enter the contact number."),
        ("98123abc45", "91", "contact_number", "not a phone number"),
        ("1800-FLOWERS", "1", "contact_number", "not a phone number"),
        ("98+12345678", "91", "contact_number", "not a phone number"),
        ("9" * 40, "91", "contact_number", "too long"),
        ("-- ()", "91", "contact_number", "not a phone number"),
        ("9812345678", "0120", "country_code", "dialling code like 91"),
        ("9812345678", "999", "country_code", "+999 is not a country dialling code"),
        ("9812345678", None, "country_code", "country code"),
        ("+999 123456", "91", "contact_number", "not a valid phone number"),
        ("5555555555", "91", "contact_number", "5555555555 is not a valid phone number for +91."),
    ],
)
def test_normalize_number_refusals(typed: str, cc: str | None, field: str, text: str) -> None:
    error = _refused(normalize_number, typed, cc, field="contact_number")
    assert error.field == field
    assert text in error.message


def test_normalize_number_uses_the_given_field_names() -> None:
    assert _refused(normalize_number, "12", "91", field="customer_number").field == (
        "customer_number"
    )
    error = _refused(normalize_number, "9812345678", "0", field="x", cc_field="customer_cc")
    assert error.field == "customer_cc"


@pytest.mark.parametrize(
    ("cc", "expected"),
    [("91", "91"), (" +91 ", "91"), (91, "91"), ("1", "1"), ("971", "971"), ("800", "800")],
)
def test_country_code_accepted(cc: str | int, expected: str) -> None:
    assert validate_country_code(cc) == expected


@pytest.mark.parametrize(
    ("cc", "text"),
    [
        ("0120", "state or area code"),
        ("091", "state or area code"),
        ("1234", "state or area code"),
        ("999", "not a country dialling code"),
        ("0", "state or area code"),
        ("", "Enter a country dialling code"),
        (None, "Enter a country dialling code"),
        ("9a", "digits only"),
        (True, "as digits"),
        (-91, "not a country dialling code"),
        (12.0, "as digits"),
    ],
)
def test_country_code_refused(cc: Any, text: str) -> None:
    error = _refused(validate_country_code, cc, field="alternate_cc")
    assert error.field == "alternate_cc"
    assert text in error.message


# ---------------------------------------------------------------------------------------
# Single fields


@pytest.mark.parametrize("n", [1, 20, MAX_PAGE_SIZE])
def test_page_size_accepted(n: int) -> None:
    assert validate_page_size(n) == n


@pytest.mark.parametrize("n", [0, -1, MAX_PAGE_SIZE + 1, True, "20", 20.0, None])
def test_page_size_refused(n: Any) -> None:
    assert _refused(validate_page_size, n).field == "page_size"


@pytest.mark.parametrize(("ext", "expected"), [(11, 11), (99, 99), ("42", 42), (" 12 ", 12)])
def test_extension_accepted(ext: int | str, expected: int) -> None:
    assert validate_extension(ext) == expected


@pytest.mark.parametrize("ext", [10, 100, 0, -11, "1a", "", "4.5", True, None, 12.0])
def test_extension_refused(ext: Any) -> None:
    error = _refused(validate_extension, ext)
    assert error.field == "extension"
    assert f"{EXTENSION_RANGE[0]} to {EXTENSION_RANGE[1]}" in error.message


def test_extension_range_can_be_widened() -> None:
    assert validate_extension(150, allowed=(11, 999)) == 150


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "first.last+tag@sub.example.com", " asha@example.in ", "x_y@xn--p1ai.xn--p1ai"],
)
def test_email_accepted(email: str) -> None:
    assert validate_email(email) == email.strip()


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "a@b",
        "a@@b.com",
        "a b@c.com",
        "a@b..com",
        ".a@b.com",
        "a@-b.com",
        "a@b.c",
        "a" * 65 + "@b.com",
        "a@b.com\nb@c.com",
        "a\x00@b.com",
        None,
        3,
    ],
)
def test_email_refused(email: Any) -> None:
    assert _refused(validate_email, email).field == "email"


@pytest.mark.parametrize("uuid", ["s1a2b3c4", " 5d4c-11ee ", "u" * 128])
def test_uuid_accepted(uuid: str) -> None:
    assert validate_uuid(uuid) == uuid.strip()


@pytest.mark.parametrize("uuid", ["", "  ", "a b", "a\tb", "a\x00", "u" * 129, "a\u200bb", None])
def test_uuid_refused(uuid: Any) -> None:
    assert _refused(validate_uuid, uuid, field="support_user_id").field == "support_user_id"


# ---------------------------------------------------------------------------------------
# Add user


def _new(**changes: Any) -> NewUser:
    values: dict[str, Any] = {"name": "Asha", "contact_number": "98123 45678", "country_code": "91"}
    values.update(changes)
    return NewUser(**values)


def test_new_user_minimal() -> None:
    assert new_user_params(_new()) == {
        "name": "Asha",
        "contact_number": "9812345678",
        "country_code": "91",
    }


def test_new_user_full() -> None:
    params = new_user_params(
        _new(
            name="  Asha Rao ",
            extension=12,
            email=" asha@example.com ",
            alternate_contact_number="098123-45679",
            alternate_cc="+91",
            panel_access=False,
            receive_calls=True,
            contact_type=ContactType.LANDLINE,
        )
    )
    assert params == {
        "name": "Asha Rao",
        "contact_number": "9812345678",
        "country_code": "91",
        "extension": "12",
        "email": "asha@example.com",
        "alternate_contact_number": "9812345679",
        "alternate_cc": "91",
        "panel_access": "2",
        "receive_calls": "1",
        "contact_type": "landline",
    }
    assert "token" not in params


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"name": ""}, "name", "name"),
        ({"name": "   "}, "name", "name"),
        ({"name": "x" * 101}, "name", "100"),
        ({"name": "A\nB"}, "name", "cannot be sent"),
        ({"contact_number": "12"}, "contact_number", "not a valid phone number"),
        ({"country_code": "0120"}, "country_code", "dialling code like 91"),
        ({"extension": 5}, "extension", "11 to 99"),
        ({"email": "nope"}, "email", "not an email"),
        ({"alternate_contact_number": "9812345679"}, "alternate_cc", "alternate_cc"),
        (
            {"alternate_contact_number": "9812345679", "alternate_cc": " "},
            "alternate_cc",
            "alternate_cc",
        ),
        (
            {"alternate_contact_number": "12", "alternate_cc": "91"},
            "alternate_contact_number",
            "not a valid",
        ),
        (
            {"alternate_contact_number": "9812345679", "alternate_cc": "0120"},
            "alternate_cc",
            "dialling code",
        ),
        ({"contact_type": "fax"}, "contact_type", "mobile, SIP or landline"),
        ({"panel_access": 3}, "panel_access", "on or off"),
    ],
)
def test_new_user_refusals(changes: dict[str, Any], field: str, text: str) -> None:
    error = _refused(new_user_params, _new(**changes))
    assert error.field == field
    assert text in error.message


@pytest.mark.parametrize(
    ("changes", "key", "value"),
    [
        ({"name": "x" * 100}, "name", "x" * 100),
        ({"name": "आशा"}, "name", "आशा"),
        ({"contact_type": "SIP"}, "contact_type", "sip"),
        ({"receive_calls": Toggle.OFF}, "receive_calls", "2"),
        ({"alternate_contact_number": "+1 415 555 2671"}, "alternate_cc", "1"),
        ({"contact_number": "+1 415 555 2671"}, "country_code", "1"),
    ],
)
def test_new_user_accepted_variants(changes: dict[str, Any], key: str, value: str) -> None:
    assert new_user_params(_new(**changes))[key] == value


@pytest.mark.parametrize(
    "changes",
    [{"email": ""}, {"email": "  "}, {"alternate_contact_number": ""}, {"alternate_cc": "91"}],
)
def test_new_user_blank_optionals_are_not_sent(changes: dict[str, Any]) -> None:
    params = new_user_params(_new(**changes))
    assert set(params) == {"name", "contact_number", "country_code"}


# ---------------------------------------------------------------------------------------
# Update user


def test_update_do_not_disturb() -> None:
    params = user_update_params(UserUpdate(uuid=" u1 ", receive_calls=False))
    assert params == {"uuid": "u1", "receive_calls": "2"}


def test_update_only_sends_given_fields() -> None:
    params = user_update_params(
        UserUpdate(uuid="u1", name="New", contact_number="9812345678", country_code="91")
    )
    assert params == {
        "uuid": "u1",
        "name": "New",
        "contact_number": "9812345678",
        "country_code": "91",
    }


@pytest.mark.parametrize(
    ("update", "field", "text"),
    [
        (UserUpdate(uuid="", name="x"), "uuid", "uuid"),
        (UserUpdate(uuid="a b", name="x"), "uuid", "uuid"),
        (UserUpdate(uuid="u1", contact_number="9812345678"), "country_code", "country code"),
        (UserUpdate(uuid="u1", contact_number=""), "country_code", "country code"),
        (
            UserUpdate(uuid="u1", contact_number="", country_code="91"),
            "contact_number",
            "Enter the contact number",
        ),
        (UserUpdate(uuid="u1", name=" "), "name", "name"),
        (UserUpdate(uuid="u1", extension=100), "extension", "11 to 99"),
        (
            UserUpdate(uuid="u1", alternate_contact_number="9812345679"),
            "alternate_cc",
            "alternate_cc",
        ),
        (UserUpdate(uuid="u1", country_code="0120"), "country_code", "dialling code"),
        (UserUpdate(uuid="u1"), None, "Nothing to change"),
        (UserUpdate(uuid="u1", email=""), None, "Nothing to change"),
    ],
)
def test_update_refusals(update: UserUpdate, field: str | None, text: str) -> None:
    error = _refused(user_update_params, update)
    assert error.field == field
    assert text in error.message


def test_update_number_with_plus_needs_no_country_code() -> None:
    params = user_update_params(UserUpdate(uuid="u1", contact_number="+91 98123 45678"))
    assert params["country_code"] == "91"
    assert params["contact_number"] == "9812345678"


def test_update_country_code_alone() -> None:
    assert user_update_params(UserUpdate(uuid="u1", country_code="+44")) == {
        "uuid": "u1",
        "country_code": "44",
    }


# ---------------------------------------------------------------------------------------
# Click to call


def test_click_to_call() -> None:
    assert click_to_call_params("098123 45678", "91", "agent-uuid") == {
        "customer_number": "9812345678",
        "customer_cc": "91",
        "support_user_id": "agent-uuid",
    }


def test_click_to_call_from_an_e164_log_number() -> None:
    params = click_to_call_params("+919837211131", None, "agent-uuid")
    assert (params["customer_number"], params["customer_cc"]) == ("9837211131", "91")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("12", "91", "u"), "customer_number"),
        (("9812345678", "0120", "u"), "customer_cc"),
        (("9812345678", None, "u"), "customer_cc"),
        (("9812345678", "91", ""), "support_user_id"),
        (("9812345678", "91", "a b"), "support_user_id"),
    ],
)
def test_click_to_call_refusals(args: tuple[Any, ...], field: str) -> None:
    assert _refused(click_to_call_params, *args).field == field


# ---------------------------------------------------------------------------------------
# Search, user list, recordings


def test_search_params_full() -> None:
    params = search_params(
        start=1_700_000_000,
        end=1_700_086_400,
        offset=40,
        page_size=100,
        search="  Asha  ",
        filters="5 and 13 AND 8",
    )
    assert params == {
        "from": "1700000000",
        "to": "1700086400",
        "log_from": "40",
        "page_size": "100",
        "search_key": "Asha",
        "filters": "5 AND 13 AND 8",
    }


def test_search_params_minimal() -> None:
    params = search_params(start=None, end=None, offset=0, page_size=20, search="  ", filters="")
    assert params == {"log_from": "0", "page_size": "20"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": 20, "end": 10}, "from"),
        ({"start": -1}, "from"),
        ({"end": -1}, "to"),
        ({"start": "1700000000"}, "from"),
        ({"start": True}, "from"),
        ({"offset": -1}, "log_from"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"search": "a\x00b"}, "search_key"),
        ({"search": "x" * 201}, "search_key"),
        ({"filters": "5 AND DROP"}, "filters"),
        ({"filters": "5;13"}, "filters"),
        ({"filters": "5 AND"}, "filters"),
        ({"filters": "(5 OR 6"}, "filters"),
        ({"filters": "5 OR 6)"}, "filters"),
        ({"filters": "AND 5"}, "filters"),
        ({"filters": "5 13"}, "filters"),
        ({"filters": "0"}, "filters"),
        ({"filters": "()"}, "filters"),
    ],
)
def test_search_params_refusals(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {
        "start": None,
        "end": None,
        "offset": 0,
        "page_size": 20,
        "search": None,
        "filters": None,
    }
    base.update(kwargs)
    assert _refused(search_params, **base).field == field


@pytest.mark.parametrize(
    ("expression", "canonical"),
    [
        ("5", "5"),
        ("5 AND 13 AND 8", "5 AND 13 AND 8"),
        ("  5   or 6  ", "5 OR 6"),
        ("(2 OR 3) AND 5", "(2 OR 3) AND 5"),
        ("( 2 OR 3 )AND(5)", "(2 OR 3) AND (5)"),
        ("((2))", "((2))"),
        ("007", "7"),
    ],
)
def test_filters_canonical(expression: str, canonical: str) -> None:
    assert validate_filters(expression) == canonical


def test_user_list_params() -> None:
    assert user_list_params(keyword=" asha ", page=2, page_size=50, all_users=False) == {
        "keyword": "asha",
        "page": "2",
        "page-size": "50",
    }
    assert user_list_params(keyword=None, page=1, page_size=100, all_users=True) == {
        "page": "1",
        "page-size": "100",
        "_all": "1",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "1"}, "page"),
        ({"page_size": 101}, "page-size"),
        ({"keyword": "a\nb"}, "keyword"),
    ],
)
def test_user_list_refusals(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"keyword": None, "page": 1, "page_size": 20, "all_users": False}
    base.update(kwargs)
    assert _refused(user_list_params, **base).field == field


@pytest.mark.parametrize("name", ["4awerwf234353tgr123.mp3", " a.mp3 ", "x-y_z.wav"])
def test_recording_params(name: str) -> None:
    assert recording_params(name) == {"file": name.strip()}


@pytest.mark.parametrize(
    "name", ["", "  ", "../etc/passwd", "a/b.mp3", "a\\b.mp3", "..", "a\x00.mp3", "x" * 256, None]
)
def test_recording_params_refused(name: Any) -> None:
    assert _refused(recording_params, name).field == "file"
