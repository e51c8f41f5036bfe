"""``/user``: listing, and the validation of ``POST`` (add) and ``PUT`` (update).

Validation is as strict as the vendor's page describes, so a client that gets a user
through here will not be refused by the live service for a malformed field. Each message
names the field it is about. Numbers are national (no country code) and are checked for a
plausible length for their country code with ``phonenumbers``; a country code must be a real
dialling code (the page warns about confusing it with a state code).

One quirk of the live service is reproduced here on purpose: adding a user whose contact
number another user already has is refused with HTTP **200** and an error envelope (code
400), so a client that trusts the HTTP status instead of the envelope's ``status`` is caught.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import phonenumbers

from desktop_app.sandbox.errors import ApiError
from desktop_app.sandbox.model import SandboxUser

EXTENSION_MIN = 11
EXTENSION_MAX = 99
CONTACT_TYPES = ("mobile", "sip", "landline")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_DIALLING_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
MAX_PAGE_SIZE = 100


def list_users(
    users: Sequence[SandboxUser], params: Mapping[str, str]
) -> tuple[list[SandboxUser], int | None]:
    """One page of users matching ``keyword``; ``page-size`` (hyphen) sets its size."""
    keyword = params.get("keyword", "").strip().lower()
    if keyword:
        users = [u for u in users if keyword in _user_text(u)]
    if params.get("_all", "").strip().lower() in ("1", "true"):
        return list(users), None
    page = _positive_int(params, "page", 1, None)
    size = _positive_int(params, "page-size", 20, MAX_PAGE_SIZE)
    start = (page - 1) * size
    chunk = list(users[start : start + size])
    return chunk, page + 1 if start + size < len(users) else None


def _user_text(user: SandboxUser) -> str:
    return " ".join(
        (
            user.name,
            user.email,
            user.contact_number,
            user.alternate_contact_number,
            "" if user.extension is None else str(user.extension),
            user.uuid,
            user.user_id,
        )
    ).lower()


def _positive_int(params: Mapping[str, str], name: str, default: int, high: int | None) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1 or (high is not None and int(raw) > high):
        limit = f" between 1 and {high}" if high is not None else " of at least 1"
        raise ApiError(f"{name} must be a number{limit}")
    return int(raw)


def validate_new_user(params: Mapping[str, str], users: Sequence[SandboxUser]) -> dict[str, object]:
    """The fields of a user to add, checked; raises `ApiError` naming the bad field."""
    for name in ("name", "contact_number", "country_code"):
        if not params.get(name, "").strip():
            raise ApiError(f"{name} is required")
    return _validate(params, None, users)


def validate_update(
    params: Mapping[str, str], user: SandboxUser, users: Sequence[SandboxUser]
) -> dict[str, object]:
    """The changes a ``PUT`` asks for, checked against `user` and everyone else."""
    return _validate(params, user, users)


def _validate(
    params: Mapping[str, str], current: SandboxUser | None, users: Sequence[SandboxUser]
) -> dict[str, object]:
    others = [u for u in users if u is not current]
    changes: dict[str, object] = {}

    def given(name: str) -> str | None:
        value = params.get(name)
        if value is None:
            return None
        value = value.strip()
        return value if value or current is not None else None

    name = given("name")
    if name is not None:
        if not name:
            raise ApiError("name must not be empty")
        if len(name) > 100:
            raise ApiError("name is too long (at most 100 characters)")
        changes["name"] = name

    country_code = given("country_code")
    if country_code is not None:
        changes["country_code"] = dialling_code(country_code, "country_code")
    contact_number = given("contact_number")
    if contact_number is not None or "country_code" in changes:
        if contact_number is not None:
            number = contact_number
        else:
            number = current.contact_number if current is not None else ""
        cc = str(changes.get("country_code") or (current.country_code if current else ""))
        changes["contact_number"] = national_number(number, cc, "contact_number")

    extension = given("extension")
    if extension is not None:
        if not extension and current is not None:
            changes["extension"] = None
        elif not extension.isdigit() or not EXTENSION_MIN <= int(extension) <= EXTENSION_MAX:
            raise ApiError(
                f"extension must be a number between {EXTENSION_MIN} and {EXTENSION_MAX}"
            )
        else:
            changes["extension"] = int(extension)

    email = given("email")
    if email is not None:
        if not _EMAIL.fullmatch(email):
            raise ApiError("email is not a valid email address")
        changes["email"] = email.lower()

    alternate = given("alternate_contact_number")
    alternate_cc = given("alternate_cc")
    if alternate is not None:
        if not alternate:
            changes["alternate_contact_number"], changes["alternate_cc"] = "", ""
        else:
            cc = alternate_cc or (current.alternate_cc if current is not None else "")
            if not cc:
                raise ApiError("alternate_cc is required with alternate_contact_number")
            cc = dialling_code(cc, "alternate_cc")
            changes["alternate_cc"] = cc
            changes["alternate_contact_number"] = national_number(
                alternate, cc, "alternate_contact_number"
            )
    elif alternate_cc and current is not None and current.alternate_contact_number:
        cc = dialling_code(alternate_cc, "alternate_cc")
        national_number(current.alternate_contact_number, cc, "alternate_contact_number")
        changes["alternate_cc"] = cc

    for switch in ("panel_access", "receive_calls"):
        value = given(switch)
        if value is not None:
            if value not in ("1", "2"):
                raise ApiError(f"{switch} must be 1 or 2")
            changes[switch] = int(value)

    contact_type = given("contact_type")
    if contact_type is not None:
        if contact_type.lower() not in CONTACT_TYPES:
            raise ApiError(f"contact_type must be one of {', '.join(CONTACT_TYPES)}")
        changes["contact_type"] = contact_type.lower()

    if "contact_number" in changes:
        cc = str(changes.get("country_code") or (current.country_code if current else ""))
        number = str(changes["contact_number"])
        if any(u.contact_number == number and u.country_code == cc for u in others):
            # The live quirk: HTTP 200, error envelope.
            raise ApiError("contact_number already assigned to another user", http_status=200)
    if changes.get("extension") is not None and any(
        u.extension == changes["extension"] for u in others
    ):
        raise ApiError("extension already assigned to another user")
    if "email" in changes and any(u.email == changes["email"] for u in others):
        raise ApiError("email already assigned to another user")
    return changes


def dialling_code(value: str, field: str) -> str:
    if not re.fullmatch(r"[1-9]\d{0,2}", value) or int(value) not in _DIALLING_CODES:
        raise ApiError(f"{field} must be a country dialling code such as 91")
    return value


def national_number(value: str, country_code: str, field: str) -> str:
    if not value.isdigit():
        raise ApiError(f"{field} must contain digits only, without the country code")
    try:
        parsed = phonenumbers.parse(f"+{country_code}{value}")
        possible = bool(phonenumbers.is_possible_number(parsed))
    except phonenumbers.NumberParseException:
        possible = False
    if country_code == "91":  # mobiles and landlines (STD code + number) alike: ten digits
        possible = possible and len(value) == 10
    if not possible or value.startswith("0"):
        raise ApiError(f"{field} is not a valid number for country code {country_code}")
    return value
