"""Phone numbers as people hand them to the dialer: typed, pasted, linked, copied.

Three doors, one result (`ParsedNumber`, validated by the same rules as the API's
``click_to_call_params``):

- `parse_dialable` for the number field: separators, a trunk ``0`` or ``(0)``, ``00cc``,
  ``+cc``, Unicode digits and dashes, and a whole ``tel:`` / ``callto:`` link;
- `parse_tel_uri` for links handed over by the desktop (RFC 3966, plus the forms browsers
  and chat apps really produce);
- `number_from_text` for the clipboard: exactly one number somewhere in free text.

Everything here may come from another program (a link, a second launch, the clipboard),
so it is treated as untrusted: lengths are capped before any parsing, and every failure is
a `PhoneInputError` (a `ValueError`) whose message can be shown as it is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

import phonenumbers

from desktop_app.api.errors import ValidationError
from desktop_app.api.validation import (
    DEFAULT_COUNTRY_CODE,
    normalize_number,
    quoted,
    validate_country_code,
)
from desktop_app.services.formatting import format_number

__all__ = [
    "MAX_CLIPBOARD_TEXT",
    "MAX_INPUT_TEXT",
    "MAX_URI_LENGTH",
    "NoNumberFound",
    "ParsedNumber",
    "PhoneInputError",
    "SeveralNumbersFound",
    "TelLinkError",
    "may_be_unfinished",
    "number_from_text",
    "parse_dialable",
    "parse_tel_uri",
]

#: Longest text the number field parses (a number with generous separators and spaces).
MAX_INPUT_TEXT: Final = 64
#: Longest ``tel:`` link accepted (before percent-decoding).
MAX_URI_LENGTH: Final = 256
#: Longest clipboard text searched for a number: an e-mail with its signature fits.
MAX_CLIPBOARD_TEXT: Final = 10_000
#: E.164 allows 15 digits; a trunk or 00 prefix adds a few.
_MAX_DIGITS: Final = 18

_SCHEMES: Final = ("tel", "callto")
# Unicode characters that pasted numbers carry in place of ASCII separators.
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_INVISIBLE: Final = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068"
    "\u2069\ufeff\u00ad"
)
_SEPARATORS: Final = frozenset(" -.()/")
_RFC_SEPARATORS: Final = frozenset("-.()")
_PARAM_NAME: Final = re.compile(r"[A-Za-z0-9-]+")
_DOMAIN: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
# Parameters that ask for something a click-to-call cannot do: refused, not ignored.
_UNDIALLABLE_PARAMS: Final = {
    "ext": "an extension",
    "isub": "an ISDN subaddress",
    "postd": "digits to send after connecting",
    "pause": "digits to send after a pause",
}


class PhoneInputError(ValueError):
    """Input that is not one dialable number; `message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TelLinkError(PhoneInputError):
    """A ``tel:`` / ``callto:`` link that is malformed or asks for something undiallable."""


class NoNumberFound(PhoneInputError):
    """Free text (the clipboard) without any phone number in it."""


class SeveralNumbersFound(PhoneInputError):
    """Free text with more than one different number: the app will not guess which."""

    def __init__(self, message: str, numbers: tuple[ParsedNumber, ...]) -> None:
        super().__init__(message)
        self.numbers = numbers


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A valid, dialable number: what ``POST /clickOcall`` wants, and how to show it."""

    country_code: str
    national: str

    @property
    def e164(self) -> str:
        return f"+{self.country_code}{self.national}"

    @property
    def region(self) -> str:
        """The ISO region of the number (``IN``), or ``001`` for non-geographic codes."""
        parsed = phonenumbers.parse(self.e164, None)
        region = phonenumbers.region_code_for_number(parsed)
        return str(region) if region else "ZZ"

    def formatted(self, home_cc: str = DEFAULT_COUNTRY_CODE) -> str:
        """National format for numbers of the home country, international otherwise."""
        home = "ZZ"
        if home_cc.isdigit() and len(home_cc) <= 3:
            home = str(phonenumbers.region_code_for_country_code(int(home_cc)))
        return format_number(self.e164, home)

    @property
    def international(self) -> str:
        parsed = phonenumbers.parse(self.e164, None)
        return str(
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        )


# ---------------------------------------------------------------------------------------
# Typed and pasted input


def _clean(text: str) -> str:
    """Unicode digits to ASCII, Unicode dashes and spaces to ASCII, invisible marks gone."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", text):
        if char in _INVISIBLE:
            continue
        if char in _DASHES:
            out.append("-")
        elif char.isspace():
            out.append(" ")
        elif unicodedata.category(char) == "Nd":
            out.append(str(unicodedata.decimal(char)))
        else:
            out.append(char)
    return " ".join("".join(out).split())


def _checked_cc(default_cc: str | int | None) -> str:
    try:
        return validate_country_code(default_cc, field="customer_cc")
    except ValidationError as exc:
        raise PhoneInputError(exc.message) from None


def _validated(compact: str, cc: str | None, shown: str) -> ParsedNumber:
    """Run the API's own number rules on a compact ``+digits`` / ``digits`` string."""
    try:
        country, national = normalize_number(
            compact, cc, field="customer_number", cc_field="customer_cc"
        )
    except ValidationError as exc:
        if exc.field == "customer_cc":
            raise PhoneInputError(exc.message) from None
        suffix = f" for +{cc}" if cc and not compact.startswith("+") else ""
        raise PhoneInputError(
            f"{quoted(shown)} is not a valid phone number{suffix}."
        ) from None
    return ParsedNumber(country, national)


def _compact(text: str, shown: str, *, separators: frozenset[str]) -> str:
    """``+`` (first only) and digits, separators dropped; anything else is refused."""
    plus = text.startswith("+")
    body = text[1:] if plus else text
    bad = {c for c in body if not (c.isascii() and c.isdigit()) and c not in separators}
    if bad == {"+"}:
        raise PhoneInputError(
            f"{quoted(shown)} is not a phone number: a + may only come first."
        )
    if bad:
        raise PhoneInputError(
            f"{quoted(shown)} is not a phone number: use digits, spaces and + - ( ) only."
        )
    digits = "".join(c for c in body if c.isdigit())
    if not digits:
        raise PhoneInputError(f"{quoted(shown)} has no digits: enter a phone number.")
    if len(digits) > _MAX_DIGITS:
        raise PhoneInputError(f"{quoted(shown)} has too many digits to be a phone number.")
    return ("+" if plus else "") + digits


def parse_dialable(text: str, default_cc: str | int = DEFAULT_COUNTRY_CODE) -> ParsedNumber:
    """The number in the dialer's field, as typed or pasted; `default_cc` applies when the
    number carries no ``+cc`` / ``00cc``. A ``tel:``/``callto:`` link is accepted too.

    Raises `PhoneInputError` (or `TelLinkError` for a link) with a message for the field.
    """
    if not isinstance(text, str):
        raise PhoneInputError("Enter the number as text.")
    raw = text.strip()
    if not raw:
        raise PhoneInputError("Enter a phone number.")
    if _looks_like_link(raw):
        return parse_tel_uri(raw, default_cc=default_cc)
    if len(raw) > MAX_INPUT_TEXT:
        raise PhoneInputError(f"{quoted(raw)} is too long to be a phone number.")
    cleaned = _clean(raw)
    # "+91 (0)98…" / "(0)98…": the bracketed trunk 0 is dropped by phonenumbers once
    # the separators are gone, so it needs no rule of its own.
    compact = _compact(cleaned.replace(" ", ""), cleaned, separators=_SEPARATORS)
    cc = None if compact.startswith("+") else _checked_cc(default_cc)
    return _validated(compact, cc, cleaned)


def may_be_unfinished(text: str, default_cc: str | int = DEFAULT_COUNTRY_CODE) -> bool:
    """Whether `text` is not a dialable number yet but may become one as more digits are
    typed: only a start of one (digits, separators, a ``+`` first), shorter than the
    longest number of its country, read the ways `parse_dialable` reads it. The number
    field holds its error back for these while the person is still typing (after one
    digit, every number is "invalid").
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw or len(raw) > MAX_INPUT_TEXT or _looks_like_link(raw):
        return False
    compact = _clean(raw).replace(" ", "")
    plus = compact.startswith("+")
    body = compact[1:] if plus else compact
    if any(not (c.isascii() and c.isdigit()) and c not in _SEPARATORS for c in body):
        return False  # letters, a second +: no more digits make that a number
    digits = "".join(c for c in body if c.isdigit())
    if len(digits) > _MAX_DIGITS:
        return False
    if not digits:
        return True  # "+" or "(": the start of one
    if plus:
        return _unfinished(f"+{digits}", None)
    try:
        cc = _checked_cc(default_cc)
    except PhoneInputError:
        return False
    region = str(phonenumbers.region_code_for_country_code(int(cc)))
    # As `normalize_number` reads it: in the country (a non-geographic code has no
    # region to read in), or as 00 and a country code.
    national = (
        _unfinished(f"+{cc}{digits.lstrip('0')}", None) if region == "001"
        else _unfinished(digits, region)
    )
    return national or (digits.startswith("00") and _unfinished(f"+{digits[2:]}", None))


def _unfinished(digits: str, region: str | None) -> bool:
    """`may_be_unfinished` for one reading: ``+digits`` or national `digits` in `region`."""
    if digits == "+":
        return True
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return len(digits) <= 3  # "+2" may still become "+20"
        return exc.error_type != phonenumbers.NumberParseException.TOO_LONG
    if phonenumbers.is_valid_number(number):
        return False
    code = int(number.country_code or 0)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if metadata is None or metadata.general_desc is None:
        return False
    longest = max(metadata.general_desc.possible_length or (0,))
    national = str(phonenumbers.national_significant_number(number))
    trunk = metadata.national_prefix or ""
    if trunk and national.startswith(trunk):
        longest += len(trunk)  # kept until the rest is long enough to be a number
    return len(national) < longest


# ---------------------------------------------------------------------------------------
# tel: and callto: links


def _looks_like_link(text: str) -> bool:
    scheme, sep, _ = text.partition(":")
    return bool(sep) and scheme.strip().lower() in _SCHEMES


def _split_params(params: list[str], shown: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for param in params:
        name, sep, value = param.partition("=")
        key = name.strip().lower()
        if not key:
            if not param.strip():
                continue  # "tel:+91…;" — a stray separator
            raise TelLinkError(f"The link {quoted(shown)} has an empty parameter.")
        if not _PARAM_NAME.fullmatch(key):
            raise TelLinkError(
                f"The link {quoted(shown)} has a malformed parameter ({quoted(param, 20)})."
            )
        if key in _UNDIALLABLE_PARAMS:
            raise TelLinkError(
                f"The link {quoted(shown)} asks for {_UNDIALLABLE_PARAMS[key]} "
                f"({quoted(param, 20)}), which a click-to-call cannot dial. "
                "Call the main number instead."
            )
        if key in found:
            raise TelLinkError(f"The link {quoted(shown)} gives {key!r} twice.")
        if key == "phone-context" and (not sep or not value.strip()):
            raise TelLinkError(f"The link {quoted(shown)} has an empty phone-context.")
        found[key] = value.strip()
    return found


def _context_digits(context: str, shown: str) -> str:
    """The digits of a ``phone-context=+91…`` prefix; a domain name context is refused."""
    if context.startswith("+"):
        body = context[1:]
        if body and all(c.isdigit() or c in _RFC_SEPARATORS for c in body) and any(
            c.isdigit() for c in body
        ):
            return "".join(c for c in body if c.isdigit())
        raise TelLinkError(
            f"The link {quoted(shown)} has a malformed phone-context ({quoted(context, 20)})."
        )
    if _DOMAIN.fullmatch(context):
        raise TelLinkError(
            f"The link {quoted(shown)} is a local number of {quoted(context, 30)}, not a "
            "phone number with a country code: it cannot be dialled from here."
        )
    raise TelLinkError(
        f"The link {quoted(shown)} has a malformed phone-context ({quoted(context, 20)})."
    )


def parse_tel_uri(uri: str, *, default_cc: str | int = DEFAULT_COUNTRY_CODE) -> ParsedNumber:
    """The number of a ``tel:`` or ``callto:`` link (RFC 3966 and what apps really send).

    Accepted: ``tel:+91-98123-45678`` (visual separators ``- . ( )``), percent-encoding
    (``%2B91%2098123…``), ``callto:``, ``callto://`` and ``tel://``, a trailing ``/``,
    ``;phone-context=+91`` on a local number, unknown parameters (ignored). A local number
    without a context is read in `default_cc`, as the number field would.
    Refused with a `TelLinkError`: other schemes, ``;ext=``/``;isub=``/post-dial digits,
    a domain-name context, ``*`` or ``#``, letters (a Skype name), anything over
    `MAX_URI_LENGTH`.
    """
    if not isinstance(uri, str):
        raise TelLinkError("The link is not text.")
    text = uri.strip()
    if len(text) > MAX_URI_LENGTH:
        raise TelLinkError(f"The link is too long ({len(text)} characters) to be a phone link.")
    shown = text
    scheme, sep, rest = text.partition(":")
    if not sep or scheme.lower() not in _SCHEMES:
        raise TelLinkError(f"{quoted(shown)} is not a tel: or callto: link.")
    if rest.startswith("//"):
        rest = rest[2:]
    rest = rest.rstrip("/")
    if "%" in rest:
        try:
            rest = unquote(rest, errors="strict")
        except UnicodeDecodeError:
            raise TelLinkError(f"The link {quoted(shown)} is not properly encoded.") from None
    if any(unicodedata.category(c).startswith("C") for c in rest):
        raise TelLinkError(f"The link {quoted(shown)} contains control characters.")
    if "?" in rest or "#" in rest or "*" in rest or "@" in rest:
        raise TelLinkError(
            f"The link {quoted(shown)} is not a plain phone number (it has ? # * or @)."
        )
    number, *param_texts = rest.split(";")
    params = _split_params(param_texts, shown)
    number = number.strip()
    if not number:
        raise TelLinkError(f"The link {quoted(shown)} has no number in it.")
    lenient = _RFC_SEPARATORS | {" "}  # a %20 from a browser is common, if not RFC
    try:
        compact = _compact(number, number, separators=frozenset(lenient))
    except PhoneInputError:
        raise TelLinkError(
            f"The link {quoted(shown)} does not hold a phone number (only digits, + and "
            "the separators - . ( ) may appear in one)."
        ) from None
    context = params.get("phone-context")
    cc: str | None
    if compact.startswith("+"):
        cc = None  # a global number: a phone-context is meaningless there, ignored
    elif context is not None:
        compact = "+" + _context_digits(context, shown) + compact
        cc = None
    else:
        cc = _checked_cc(default_cc)
    try:
        return _validated(compact, cc, number)
    except PhoneInputError:
        where = f" for +{cc}" if cc else ""
        raise TelLinkError(
            f"The number in the link {quoted(shown)} is not a valid phone number{where}."
        ) from None


# ---------------------------------------------------------------------------------------
# Free text (the clipboard)


def number_from_text(text: str, default_cc: str | int = DEFAULT_COUNTRY_CODE) -> ParsedNumber:
    """The one phone number in `text` (found by phonenumbers' matcher, read in
    `default_cc` when written without ``+cc``). The same number written twice counts once.

    Raises `NoNumberFound`, `SeveralNumbersFound` or `PhoneInputError` (too long, a number
    with an extension) with a message for the status line.
    """
    if not isinstance(text, str):
        raise NoNumberFound("The clipboard holds no text.")
    raw = text.strip()
    if not raw:
        raise NoNumberFound("The clipboard is empty: copy a phone number first.")
    if len(raw) > MAX_CLIPBOARD_TEXT:
        raise PhoneInputError(
            f"The copied text is too long ({len(raw):,} characters) to look for a number "
            "in: copy just the number."
        )
    if "\n" not in raw and _looks_like_link(raw):
        return parse_tel_uri(raw, default_cc=default_cc)
    cc = _checked_cc(default_cc)
    region = phonenumbers.region_code_for_country_code(int(cc))
    cleaned = "".join(
        "-" if c in _DASHES else c for c in unicodedata.normalize("NFKC", raw)
        if c not in _INVISIBLE
    )
    found: dict[str, ParsedNumber] = {}
    extension: str | None = None
    matcher = phonenumbers.PhoneNumberMatcher(
        cleaned, None if region == "001" else region, leniency=phonenumbers.Leniency.VALID,
        max_tries=200,
    )
    for match in matcher:
        number = match.number
        if number.extension:
            extension = str(number.extension)
            continue
        national = str(phonenumbers.national_significant_number(number))
        parsed = ParsedNumber(str(number.country_code), national)
        found.setdefault(parsed.e164, parsed)
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        listed = ", ".join(p.formatted(cc) for p in list(found.values())[:3])
        more = "…" if len(found) > 3 else ""
        raise SeveralNumbersFound(
            f"The copied text holds {len(found)} different numbers ({listed}{more}): "
            "copy just the one to call.",
            tuple(found.values()),
        )
    if extension is not None:
        raise PhoneInputError(
            f"The copied number has an extension ({quoted(extension, 10)}), which a "
            "click-to-call cannot dial: copy the main number."
        )
    # The matcher wants a number that stands apart; a bare number typed oddly may still
    # be one the field accepts.
    if len(raw) <= MAX_INPUT_TEXT:
        try:
            return parse_dialable(raw, cc)
        except PhoneInputError:
            pass
    raise NoNumberFound(
        f"No phone number found in the copied text ({quoted(raw, 30)}): copy a number "
        "such as +91 98123 45678."
    )
