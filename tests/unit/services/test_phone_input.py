"""Numbers as people hand them over: typed or pasted, tel:/callto: links, copied text.

Properties (hypothesis): any valid number, written with random separators, in national or
international form, as a tel: or callto: link (percent-encoded or not, with a
phone-context for local numbers), parses to its own E.164; arbitrary text never raises
anything but `PhoneInputError`.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from desktop_app.services.phone_input import (
    MAX_CLIPBOARD_TEXT,
    MAX_URI_LENGTH,
    NoNumberFound,
    ParsedNumber,
    PhoneInputError,
    SeveralNumbersFound,
    TelLinkError,
    may_be_unfinished,
    number_from_text,
    parse_dialable,
    parse_tel_uri,
)

E164 = "+919812345678"

# Main regions of their calling codes (a region sharing a code, like Canada, parses the
# same through its main region). Italy is left out on purpose: its national numbers keep
# the leading 0, which the separator-shuffling below would not know about.
REGIONS = ("IN", "US", "GB", "DE", "FR", "AE", "SG", "AU", "BR", "ZA", "JP", "NP", "BD", "LK")
SEPARATORS = (" ", "-", ".", "(", ")", "  ", " - ", "/")
RFC_SEPARATORS = ("-", ".", "(", ")")


@st.composite
def valid_numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    """A valid number: an Indian mobile, or a region's example number with new digits."""
    if draw(st.booleans()):
        first = draw(st.sampled_from("6789"))
        rest = draw(st.text("0123456789", min_size=9, max_size=9))
        number = phonenumbers.parse(f"+91{first}{rest}", None)
    else:
        region = draw(st.sampled_from(REGIONS))
        kind = draw(
            st.sampled_from(
                [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
            )
        )
        example_number = phonenumbers.example_number_for_type(region, kind)
        assume(example_number is not None)
        nsn = phonenumbers.national_significant_number(example_number)
        tail = draw(st.text("0123456789", min_size=2, max_size=2))
        number = phonenumbers.parse(f"+{example_number.country_code}{nsn[:-2]}{tail}", None)
    assume(phonenumbers.is_valid_number(number))
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def nsn(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.national_significant_number(number))


def national_digits(number: phonenumbers.PhoneNumber) -> str:
    """The digits a person dials at home: the trunk prefix (0 in India) and the number."""
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(c for c in text if c.isdigit())


def sprinkle(draw: st.DrawFn, digits: str, separators: tuple[str, ...]) -> str:
    """`digits` with a random separator (or none) after each digit."""
    out = []
    for digit in digits:
        out.append(digit)
        out.append(draw(st.sampled_from(("", "", *separators))))
    return "".join(out).rstrip("".join(separators)) or digits


@st.composite
def written(draw: st.DrawFn) -> tuple[str, str, str]:
    """(text, default cc, expected E.164): the number as someone might type or paste it."""
    number = draw(valid_numbers())
    cc = str(number.country_code)
    form = draw(st.sampled_from(["international", "national", "00"]))
    if form == "international":
        text = "+" + sprinkle(draw, cc, SEPARATORS) + draw(st.sampled_from(SEPARATORS)) + (
            sprinkle(draw, nsn(number), SEPARATORS)
        )
        default_cc = draw(st.sampled_from(["91", "44", "1", cc]))
    elif form == "00":
        text = "00" + cc + " " + sprinkle(draw, nsn(number), SEPARATORS)
        default_cc = draw(st.sampled_from(["91", "44", cc]))
    else:
        text = sprinkle(draw, national_digits(number), SEPARATORS)
        default_cc = cc
    padding = draw(st.sampled_from(["", " ", "\t", "\u00a0", "\u200e"]))
    return padding + text + padding, default_cc, e164(number)


@st.composite
def tel_links(draw: st.DrawFn) -> tuple[str, str]:
    """(link, expected E.164) in the forms RFC 3966 and real apps produce."""
    number = draw(valid_numbers())
    cc = str(number.country_code)
    scheme = draw(st.sampled_from(["tel:", "TEL:", "tel://", "callto:", "callto://"]))
    if draw(st.booleans()):
        body = "+" + cc + sprinkle(draw, nsn(number), RFC_SEPARATORS)
        params = ""
    else:  # a local number in its country's context
        body = sprinkle(draw, nsn(number), RFC_SEPARATORS)
        params = ";phone-context=+" + sprinkle(draw, cc, RFC_SEPARATORS)
    if draw(st.booleans()):
        params += draw(st.sampled_from([";foo=bar", ";tsp=example.com", ";npdi", ";rn=+1"]))
    link = scheme + body + params
    if draw(st.booleans()):
        link = scheme + quote(body + params, safe=draw(st.sampled_from(["", ";=", "-.()"])))
    if draw(st.booleans()) and "://" in scheme:
        link += "/"
    return link, e164(number)


# ------------------------------------------------------------------------ properties


@given(written())
@example(("+91 98123 45678", "91", E164))
@example(("098123 45678", "91", E164))
@example(("(0)98-123-45678", "91", E164))
@example(("+91 (0)98123 45678", "44", E164))
@example(("  98123\u00a045678 ", "91", E164))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_written_form_parses_to_its_e164(case: tuple[str, str, str]) -> None:
    text, default_cc, expected = case
    parsed = parse_dialable(text, default_cc)
    assert parsed.e164 == expected


@given(tel_links())
@example(("tel:+91-98123-45678", E164))
@example(("tel:98123-45678;phone-context=+91", E164))
@example(("callto://+919812345678", E164))
@example(("tel:%2B91%2098123%2045678", E164))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_tel_link_parses_to_its_e164(case: tuple[str, str]) -> None:
    link, expected = case
    assert parse_tel_uri(link).e164 == expected
    # The number field takes the link as it is, too.
    assert parse_dialable(link).e164 == expected


@given(valid_numbers(), st.text(alphabet="abcdefghij XYZ,:;!?'\"\n", max_size=40),
       st.text(alphabet="abcdefghij XYZ,:;!?'\"\n", max_size=40))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_one_number_in_free_text_is_found(
    number: phonenumbers.PhoneNumber, before: str, after: str
) -> None:
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text = f"{before} {shown} {after}"
    assert number_from_text(text).e164 == e164(number)
    # The same number twice is still one number.
    assert number_from_text(f"{text} or {shown}").e164 == e164(number)


_GARBAGE_PIECES = st.characters() | st.sampled_from(
    [*"0123456789+-.()%;=/#*@? \t\n\u00a0\u2013\u200e٩९", "%2B", "%0A", "%E2%82", "tel:",
     ";ext=", ";phone-context=", "98123", "+91"]
)
_GARBAGE = st.lists(_GARBAGE_PIECES, max_size=50).map("".join)


@given(_GARBAGE, st.sampled_from(["", "tel:", "callto://", "TeL:+"]))
@example("\ud800", "")
@example("9" * 5000, "")
@example("+" * 40, "tel:")
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_garbage_raises_only_the_modules_error(text: str, prefix: str) -> None:
    for parse in (parse_dialable, parse_tel_uri, number_from_text):
        try:
            result = parse(prefix + text)
        except PhoneInputError as exc:
            assert isinstance(exc, ValueError)
            assert exc.message and "\n" not in exc.message
            assert len(exc.message) < 400
        else:
            assert isinstance(result, ParsedNumber)
            assert phonenumbers.is_valid_number(phonenumbers.parse(result.e164, None))


@given(written())
@example(("+91 98123 45678", "91", E164))
@example(("098123 45678", "91", E164))
@example(("0091 98123 45678", "91", E164))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_a_number_typed_digit_by_digit_is_never_wrong_on_the_way(
    case: tuple[str, str, str],
) -> None:
    """Every start of a valid number, as typed, is dialable or may still be unfinished:
    the field never calls it wrong while the person is still typing it."""
    text, default_cc, _expected = case
    typed = text.strip()
    for end in range(1, len(typed)):
        start = typed[:end]
        if not start.strip():
            continue
        try:
            parse_dialable(start, default_cc)
        except PhoneInputError:
            assert may_be_unfinished(start, default_cc), start


@pytest.mark.parametrize(
    ("text", "cc", "unfinished"),
    [
        ("9", "91", True),
        ("+", "91", True),
        ("+4", "91", True),
        ("(0", "91", True),
        ("0091", "91", True),
        ("020 7946 095", "44", True),
        ("98123 45678", "91", False),  # dialable: nothing to hold back
        ("call me", "91", False),
        ("98+123", "91", False),
        ("+999 1", "91", False),  # no country has that code
        ("98123 45678 90123", "91", False),  # longer than any Indian number
        ("tel:+91abc", "91", False),
        ("", "91", False),
        ("9", "999", False),
    ],
)
def test_what_may_still_be_unfinished(text: str, cc: str, unfinished: bool) -> None:
    assert may_be_unfinished(text, cc) is unfinished


# ------------------------------------------------------------------------ examples


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a phone number."),
        ("abc", "is not a phone number"),
        ("98+123", "a + may only come first"),
        ("12", "is not a valid phone number for +91"),
        ("+91 98123 456789", "is not a valid phone number"),
        ("1" * 70, "too long"),
    ],
)
def test_field_rejections_say_why(text: str, message: str) -> None:
    with pytest.raises(PhoneInputError, match=re.escape(message)):
        parse_dialable(text)


def test_unicode_digits_and_dashes_are_read() -> None:
    assert parse_dialable("९८१२३ ४५६७८").e164 == E164
    assert parse_dialable("+91–98123–45678").e164 == E164
    assert parse_dialable("＋９１ ９８１２３ ４５６７８").e164 == E164


def test_the_country_applies_to_national_numbers_only() -> None:
    assert parse_dialable("020 7946 0958", "44").e164 == "+442079460958"
    assert parse_dialable("+91 98123 45678", "44").e164 == E164
    with pytest.raises(PhoneInputError, match="country dialling code"):
        parse_dialable("98123 45678", "999")


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("mailto:someone@example.com", "not a tel: or callto: link"),
        ("tel:", "no number"),
        ("tel:+919812345678;ext=12", "an extension"),
        ("tel:+919812345678;isub=12", "ISDN subaddress"),
        ("tel:+919812345678;postd=pp22", "after connecting"),
        ("tel:1234;phone-context=example.com", "local number of example.com"),
        ("tel:1234;phone-context=+x1", "malformed phone-context"),
        ("tel:1234;phone-context=", "empty phone-context"),
        ("tel:+919812345678;phone-context=+91;phone-context=+91", "twice"),
        ("tel:*123#", "not a plain phone number"),
        ("tel:+919812345678?call", "not a plain phone number"),
        ("callto://skype.user", "does not hold a phone number"),
        ("tel:%E2%82", "not properly encoded"),
        ("tel:%252B919812345678", "does not hold a phone number"),
        ("tel:+91%0A9812345678", "control characters"),
        ("tel:+91", "not a valid phone number"),
        ("tel:+" + "1" * MAX_URI_LENGTH, "too long"),
    ],
)
def test_malformed_links_are_refused_clearly(link: str, message: str) -> None:
    with pytest.raises(TelLinkError, match=re.escape(message)) as caught:
        parse_tel_uri(link)
    assert isinstance(caught.value, ValueError)


def test_link_forms() -> None:
    assert parse_tel_uri("tel:+91.98123.45678").e164 == E164
    assert parse_tel_uri("tel:+91(98123)45678").e164 == E164
    assert parse_tel_uri("tel:2345-6789;phone-context=+91-80").e164 == "+918023456789"
    assert parse_tel_uri("callto:98123 45678").e164 == E164  # read in the default country
    assert parse_tel_uri("callto:020 7946 0958", default_cc="44").e164 == "+442079460958"
    assert parse_tel_uri(" tel://+919812345678/ ").e164 == E164
    assert parse_tel_uri("tel:+919812345678;foo=bar").e164 == E164


def test_copied_text() -> None:
    assert number_from_text("Please call Rahul on 98123 45678 today.").e164 == E164
    assert number_from_text("tel:+919812345678").e164 == E164
    with pytest.raises(SeveralNumbersFound, match="2 different numbers") as several:
        number_from_text("Rahul 98123 45678, Asha +44 20 7946 0958")
    assert {n.e164 for n in several.value.numbers} == {E164, "+442079460958"}
    with pytest.raises(NoNumberFound, match="No phone number"):
        number_from_text("nothing to call here")
    with pytest.raises(NoNumberFound, match="empty"):
        number_from_text("   ")
    with pytest.raises(PhoneInputError, match="extension"):
        number_from_text("Office: 022 2345 6789 ext. 12")
    with pytest.raises(PhoneInputError, match="too long"):
        number_from_text("x" * (MAX_CLIPBOARD_TEXT + 1))


def test_the_largest_clipboard_text_is_quick() -> None:
    text = ("98123 4567 " * (MAX_CLIPBOARD_TEXT // 11))[:MAX_CLIPBOARD_TEXT]
    started = time.perf_counter()
    with pytest.raises(PhoneInputError):
        number_from_text(text)
    assert time.perf_counter() - started < 2.0


def test_parsed_number_shows_itself() -> None:
    parsed = parse_dialable("098123 45678")
    assert parsed == ParsedNumber("91", "9812345678")
    assert parsed.formatted() == "098123 45678"
    assert parsed.formatted("44") == "+91 98123 45678"
    assert parsed.international == "+91 98123 45678"
    assert parsed.region == "IN"
