"""Input checks that run before any request, so a typo costs no rate-limit budget.

Every function raises `ValidationError(message, field=<API field name>, sent=False)` with a
sentence a person can act on, and returns the value in the form the API wants.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import phonenumbers

from desktop_app.api.errors import ValidationError
from desktop_app.api.models import ContactType, NewUser, Toggle, UserUpdate

__all__ = [
    "DEFAULT_COUNTRY_CODE",
    "EXTENSION_RANGE",
    "MAX_NAME_LENGTH",
    "MAX_PAGE_SIZE",
    "click_to_call_params",
    "new_user_params",
    "normalize_number",
    "recording_params",
    "search_params",
    "user_list_params",
    "user_update_params",
    "validate_country_code",
    "validate_email",
    "validate_extension",
    "validate_filters",
    "validate_new_user",
    "validate_page_size",
    "validate_user_update",
    "validate_uuid",
]

EXTENSION_RANGE: tuple[int, int] = (11, 99)
MAX_PAGE_SIZE = 100
MAX_NAME_LENGTH = 100
MAX_SEARCH_LENGTH = 200
MAX_UUID_LENGTH = 128
MAX_FILENAME_LENGTH = 255
MAX_FILTER_LENGTH = 1000
DEFAULT_COUNTRY_CODE = "91"
# Year 9999: anything later in a unix-seconds field is a typo, not a date.
MAX_TIMESTAMP = 253_402_300_799

_NUMBER_CHARS = re.compile(r"\+?[0-9 \t().\-]+")
_MAX_NUMBER_TEXT = 32
_CC_TEXT = re.compile(r"\+?([0-9]{1,4})")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)
_FILTER_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+|\S")
_MAX_FILTER_ID_DIGITS = 9

_LABELS = {
    "contact_number": "contact number",
    "alternate_contact_number": "alternate number",
    "customer_number": "customer's number",
}


def quoted(text: str, limit: int = 40) -> str:
    """User input quoted back in a message: one line, bounded length."""
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_control(text: str) -> bool:
    """Control characters or lone surrogates (which cannot even be encoded to send)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------------------------------
# Numbers


def validate_country_code(cc: object, *, field: str = "country_code") -> str:
    """A dialling code ("91", "+91", 91) as digits; state or area codes are refused."""
    if cc is None or (isinstance(cc, str) and not cc.strip()):
        raise ValidationError("Enter a country dialling code such as 91.", field=field)
    if isinstance(cc, int) and not isinstance(cc, bool):
        text = str(cc) if 0 <= cc < 10_000 else "?"
    elif isinstance(cc, str):
        text = cc.strip()
    else:
        raise ValidationError("Enter the country dialling code as digits, like 91.", field=field)
    match = _CC_TEXT.fullmatch(text)
    if match is None:
        raise ValidationError(
            f"{quoted(text)} is not a country dialling code: enter digits only, like 91.",
            field=field,
        )
    digits = match.group(1)
    if digits.startswith("0") or len(digits) > 3:
        raise ValidationError(
            f"{quoted(text)} looks like a state or area code: the country code must be a "
            "dialling code like 91.",
            field=field,
        )
    if phonenumbers.region_code_for_country_code(int(digits)) == "ZZ":
        raise ValidationError(
            f"+{digits} is not a country dialling code: enter one like 91.", field=field
        )
    return digits


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def normalize_number(
    number: str,
    country_code: str | int | None = DEFAULT_COUNTRY_CODE,
    *,
    field: str,
    cc_field: str = "country_code",
) -> tuple[str, str]:
    """(dialling code, national significant number) from a number as people type it.

    Accepts separators, a trunk "0", "(0)", "00cc" and "+cc"; a "+cc" (or "00cc") in the
    number wins over `country_code`. With `country_code` None the number must carry one.
    The number must be valid for its country according to phonenumbers.
    """
    label = _LABELS.get(field, field.replace("_", " "))
    if not isinstance(number, str):
        raise ValidationError(f"Enter the {label} as text.", field=field)
    text = number.strip()
    if not text:
        raise ValidationError(f"Enter the {label}.", field=field)
    if len(text) > _MAX_NUMBER_TEXT:
        raise ValidationError(f"{quoted(text)} is too long to be a phone number.", field=field)
    if not _NUMBER_CHARS.fullmatch(text) or not any(c.isdigit() for c in text):
        raise ValidationError(
            f"{quoted(text)} is not a phone number: use digits, spaces and + - ( ) only.",
            field=field,
        )
    compact = "".join(c for c in text if c.isdigit() or c == "+")
    candidates: list[tuple[str, str | None]] = []
    cc: str | None = None
    if compact.startswith("+"):
        candidates.append((text, None))
    else:
        if country_code is None and not compact.startswith("00"):
            raise ValidationError(
                f"Enter the country code of the {label} (for example 91), or write the "
                "number with +.",
                field=cc_field,
            )
        if country_code is not None:
            cc = validate_country_code(country_code, field=cc_field)
            region = phonenumbers.region_code_for_country_code(int(cc))
            if region == "001":  # non-geographic codes (+800 ...) have no region to parse in
                candidates.append((f"+{cc}{compact.lstrip('0')}", None))
            else:
                candidates.append((text, region))
        if compact.startswith("00"):
            candidates.append(("+" + compact[2:], None))
    for candidate, candidate_region in candidates:
        parsed = _parse(candidate, candidate_region)
        if parsed is None:
            continue
        if phonenumbers.is_valid_number(parsed) and not parsed.extension:
            return str(parsed.country_code), str(phonenumbers.national_significant_number(parsed))
        if cc is None:
            cc = str(parsed.country_code)
    suffix = f" for +{cc}" if cc else ""
    raise ValidationError(f"{quoted(text)} is not a valid phone number{suffix}.", field=field)


# ---------------------------------------------------------------------------------------
# Single fields


def validate_page_size(n: int, *, field: str = "page_size") -> int:
    """A page size the API accepts (1 to `MAX_PAGE_SIZE`)."""
    if not _is_int(n) or not 1 <= n <= MAX_PAGE_SIZE:
        raise ValidationError(
            f"The page size must be a whole number from 1 to {MAX_PAGE_SIZE}.", field=field
        )
    return n


def validate_extension(
    ext: int | str, *, field: str = "extension", allowed: tuple[int, int] = EXTENSION_RANGE
) -> int:
    """An extension as an int within `allowed` (11 to 99 unless the account says otherwise)."""
    low, high = allowed
    value: int | None = None
    if _is_int(ext):
        value = int(ext)
    elif isinstance(ext, str) and re.fullmatch(r"[0-9]{1,9}", ext.strip()):
        value = int(ext.strip())
    if value is None or not low <= value <= high:
        raise ValidationError(
            f"The extension must be a whole number from {low} to {high}.", field=field
        )
    return value


def validate_email(s: str, *, field: str = "email") -> str:
    """A plausible address (one @, a dotted domain); the server has the last word."""
    if not isinstance(s, str) or not s.strip():
        raise ValidationError("Enter an email address.", field=field)
    text = s.strip()
    local, _, _domain = text.rpartition("@")
    if len(text) > 254 or len(local) > 64 or not _EMAIL.fullmatch(text):
        raise ValidationError(
            f"{quoted(text)} is not an email address (expected name@example.com).", field=field
        )
    return text


def validate_uuid(s: str, *, field: str = "uuid") -> str:
    """A user uuid as the service issued it: no spaces, no control characters."""
    if not isinstance(s, str) or not s.strip():
        raise ValidationError("A user id (uuid) is required.", field=field)
    text = s.strip()
    if len(text) > MAX_UUID_LENGTH or any(
        c.isspace() or unicodedata.category(c).startswith("C") for c in text
    ):
        raise ValidationError(f"{quoted(text)} is not a valid user id (uuid).", field=field)
    return text


def _name(value: object, *, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Enter the user's name.", field=field)
    text = value.strip()
    if _has_control(text):
        raise ValidationError("The name contains characters that cannot be sent.", field=field)
    if len(text) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"The name is too long: at most {MAX_NAME_LENGTH} characters.", field=field
        )
    return text


def _toggle(value: object, *, field: str) -> str:
    """The API's 1 (on) / 2 (off) switches from a bool (or a `Toggle`)."""
    if isinstance(value, bool):
        return "1" if value else "2"
    if isinstance(value, Toggle):
        return str(value.value)
    raise ValidationError(f"{field} must be on or off.", field=field)


def _contact_type(value: object, *, field: str = "contact_type") -> str:
    if isinstance(value, ContactType):
        return value.value
    if isinstance(value, str):
        try:
            return ContactType(value.strip().lower()).value
        except ValueError:
            pass
    raise ValidationError("The contact type must be mobile, SIP or landline.", field=field)


def _free_text(value: object, *, field: str, what: str) -> str | None:
    """Optional search text: stripped, None when blank, refused when it cannot be sent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"The {what} must be text.", field=field)
    text = value.strip()
    if not text:
        return None
    if _has_control(text):
        raise ValidationError(f"The {what} contains characters that cannot be sent.", field=field)
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValidationError(
            f"The {what} is too long: at most {MAX_SEARCH_LENGTH} characters.", field=field
        )
    return text


def _carries_cc(number: str) -> bool:
    compact = number.strip()
    return compact.startswith(("+", "00"))


# ---------------------------------------------------------------------------------------
# Users


def _user_fields(source: NewUser | UserUpdate, params: dict[str, str]) -> None:
    """The optional fields NewUser and UserUpdate share; blank text counts as not given."""
    if source.extension is not None:
        params["extension"] = str(validate_extension(source.extension))
    email: Any = source.email
    if not _blank(email):
        params["email"] = validate_email(email)
    alternate: Any = source.alternate_contact_number
    if not _blank(alternate):
        if not isinstance(alternate, str):
            alternate = str(alternate) if _is_int(alternate) else alternate
        if _blank(source.alternate_cc) and not (
            isinstance(alternate, str) and _carries_cc(alternate)
        ):
            raise ValidationError(
                "Enter the alternate number's country code (alternate_cc), for example 91.",
                field="alternate_cc",
            )
        cc, national = normalize_number(
            alternate,
            None if _blank(source.alternate_cc) else source.alternate_cc,
            field="alternate_contact_number",
            cc_field="alternate_cc",
        )
        params["alternate_contact_number"] = national
        params["alternate_cc"] = cc
    if source.panel_access is not None:
        params["panel_access"] = _toggle(source.panel_access, field="panel_access")
    if source.receive_calls is not None:
        params["receive_calls"] = _toggle(source.receive_calls, field="receive_calls")
    if source.contact_type is not None:
        params["contact_type"] = _contact_type(source.contact_type)


def new_user_params(user: NewUser) -> dict[str, str]:
    """Form parameters of ``POST /user`` (without the token); optional fields left None or
    blank are not sent, so the server's defaults apply."""
    params = {"name": _name(user.name)}
    cc, national = normalize_number(user.contact_number, user.country_code, field="contact_number")
    params["contact_number"] = national
    params["country_code"] = cc
    _user_fields(user, params)
    return params


def user_update_params(update: UserUpdate) -> dict[str, str]:
    """Form parameters of ``PUT /user``: the uuid and every field that is not None.

    A new contact number needs its country code too (unless written with +cc): the
    app does not guess which country an existing user's number belongs to.
    """
    params = {"uuid": validate_uuid(update.uuid)}
    if update.name is not None:
        params["name"] = _name(update.name)
    if update.contact_number is not None:
        number: Any = update.contact_number
        if _blank(update.country_code) and not (isinstance(number, str) and _carries_cc(number)):
            raise ValidationError(
                "Enter the country code (for example 91) with the new contact number.",
                field="country_code",
            )
        cc, national = normalize_number(
            number,
            None if _blank(update.country_code) else update.country_code,
            field="contact_number",
        )
        params["contact_number"] = national
        params["country_code"] = cc
    elif update.country_code is not None:
        params["country_code"] = validate_country_code(update.country_code)
    _user_fields(update, params)
    if len(params) == 1:
        raise ValidationError("Nothing to change: give at least one field besides the uuid.")
    return params


validate_new_user = new_user_params
validate_user_update = user_update_params


def click_to_call_params(
    customer_number: str, customer_cc: str | int | None, support_user_id: str
) -> dict[str, str]:
    """Form parameters of ``POST /clickOcall``; a "+cc" in the number wins over customer_cc."""
    cc, national = normalize_number(
        customer_number, customer_cc, field="customer_number", cc_field="customer_cc"
    )
    return {
        "customer_number": national,
        "customer_cc": cc,
        "support_user_id": validate_uuid(support_user_id, field="support_user_id"),
    }


# ---------------------------------------------------------------------------------------
# Search, lists, recordings


def validate_filters(expression: str, *, field: str = "filters") -> str:
    """A filter expression of ids, AND, OR and parentheses, checked for shape and returned
    in canonical spelling ("5 AND (12 OR 13)")."""
    if not isinstance(expression, str):
        raise ValidationError("The filter expression must be text.", field=field)
    if len(expression) > MAX_FILTER_LENGTH:
        raise ValidationError("The filter expression is too long.", field=field)
    out: list[str] = []
    depth = 0
    want_operand = True
    for token in _FILTER_TOKEN.findall(expression):
        word = token.upper()
        if want_operand and token == "(":
            depth += 1
            out.append("(")
        elif want_operand and token.isdigit() and token.isascii():
            if len(token.lstrip("0")) > _MAX_FILTER_ID_DIGITS or int(token) == 0:
                raise ValidationError(f"{quoted(token)} is not a filter id.", field=field)
            out.append(str(int(token)))
            want_operand = False
        elif not want_operand and word in ("AND", "OR"):
            out.append(word)
            want_operand = True
        elif not want_operand and token == ")" and depth > 0:
            depth -= 1
            out.append(")")
        else:
            raise ValidationError(
                f"The filter expression is not valid near {quoted(token)!r}: use filter ids "
                "joined by AND or OR.",
                field=field,
            )
    if not out:
        raise ValidationError("The filter expression is empty.", field=field)
    if want_operand or depth:
        raise ValidationError(
            "The filter expression is incomplete: it must end with a filter id and close "
            "every parenthesis.",
            field=field,
        )
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _timestamp(value: object, *, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TIMESTAMP:
        return value
    raise ValidationError(
        f"The '{field}' time must be UTC unix seconds (a whole number, not negative).",
        field=field,
    )


def search_params(
    *,
    start: int | None,
    end: int | None,
    offset: int,
    page_size: int,
    search: str | None,
    filters: str | None,
) -> dict[str, str]:
    """Form parameters of ``POST /search`` (without the token)."""
    params: dict[str, str] = {}
    first = None if start is None else _timestamp(start, field="from")
    last = None if end is None else _timestamp(end, field="to")
    if first is not None and last is not None and first > last:
        raise ValidationError("The start of the time range is after its end.", field="from")
    if first is not None:
        params["from"] = str(first)
    if last is not None:
        params["to"] = str(last)
    if not _is_int(offset) or offset < 0:
        raise ValidationError("The offset must be a whole number, 0 or more.", field="log_from")
    params["log_from"] = str(offset)
    params["page_size"] = str(validate_page_size(page_size))
    text = _free_text(search, field="search_key", what="search text")
    if text is not None:
        params["search_key"] = text
    if filters is not None and not (isinstance(filters, str) and not filters.strip()):
        params["filters"] = validate_filters(filters)
    return params


def user_list_params(
    *, keyword: str | None, page: int, page_size: int, all_users: bool
) -> dict[str, str]:
    """Query parameters of ``GET /user``; note the API's hyphenated ``page-size``."""
    params: dict[str, str] = {}
    text = _free_text(keyword, field="keyword", what="search text")
    if text is not None:
        params["keyword"] = text
    if not _is_int(page) or not 1 <= page <= 1_000_000:
        raise ValidationError("The page number must be a whole number, 1 or more.", field="page")
    params["page"] = str(page)
    params["page-size"] = str(validate_page_size(page_size, field="page-size"))
    if all_users:
        params["_all"] = "1"
    return params


def recording_params(filename: str) -> dict[str, str]:
    """Query parameters of ``GET /recordings/link``: a bare file name, never a path."""
    if not isinstance(filename, str) or not filename.strip():
        raise ValidationError("This call has no recording file name.", field="file")
    name = filename.strip()
    if (
        len(name) > MAX_FILENAME_LENGTH
        or "/" in name
        or "\\" in name
        or ".." in name
        or any(unicodedata.category(c).startswith("C") for c in name)
    ):
        raise ValidationError(f"{quoted(name)} is not a recording file name.", field="file")
    return {"file": name}
