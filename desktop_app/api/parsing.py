"""Tolerant parsing of every MyOperator answer into the project's models.

The live service is loosely typed (numbers arrive as strings, ``code`` as text, HTTP 200
can carry an error, proxies answer with HTML), so nothing here trusts a shape: every
value is checked, unknown keys are ignored, and the only exceptions that leave this
module are the ones in `desktop_app.api.errors`.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import phonenumbers

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
    Agent,
    CallLeg,
    CallLog,
    CallPlaced,
    ContactType,
    Direction,
    Filter,
    FilterGroup,
    LegStatus,
    LogPage,
    RecordingLink,
    Role,
    User,
    UserPage,
)
from desktop_app.api.waits import format_wait

__all__ = [
    "MAX_RETRY_AFTER_S",
    "interpret_response",
    "parse_call_log",
    "parse_call_placed",
    "parse_duration",
    "parse_filters",
    "parse_log_page",
    "parse_recording_link",
    "parse_retry_after",
    "parse_user",
    "parse_user_page",
]

logger = logging.getLogger(__name__)

# The account's longest limit window is a day; a larger Retry-After is garbage or hostile.
MAX_RETRY_AFTER_S = 86_400.0
# Region assumed for numbers the service sends without a country code (an Indian service).
DEFAULT_REGION = "IN"
_SNIPPET_CHARS = 200
_MAX_INT_DIGITS = 18

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}(?:\.0*)?")
_CLOCK_PART = re.compile(r"[0-9]{1,9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<center>")

_TOKEN_WORDING = re.compile(
    r"not\s+an?\s+authori[sz]ed\s+request"
    r"|not\s+authori[sz]ed(?!\s+to\b)"
    r"|invalid\s+(?:api\s+)?token"
    r"|token\s+(?:is\s+)?(?:invalid|expired|missing)",
    re.IGNORECASE,
)
_PERMISSION_WORDING = re.compile(
    r"permission|forbidden|access\s+denied|not\s+authori[sz]ed\s+to\b|privilege",
    re.IGNORECASE,
)
_NOT_READY_WORDING = re.compile(
    r"no\s+voice\s+file|voice\s+file\s+not\s+found|recording\s+(?:is\s+)?not\s+(?:yet\s+)?ready",
    re.IGNORECASE,
)
_RATE_WORDING = re.compile(r"rate[\s-]?limit|too\s+many\s+requests", re.IGNORECASE)
# API field names an error message may mention, longest first so "alternate_cc" wins over
# "cc"-like fragments and "alternate_contact_number" over "contact_number".
_FIELD_NAMES = (
    "alternate_contact_number",
    "support_user_id",
    "customer_number",
    "alternate_number",
    "contact_number",
    "receive_calls",
    "panel_access",
    "country_code",
    "contact_type",
    "alternate_cc",
    "customer_cc",
    "search_key",
    "page_size",
    "page-size",
    "extension",
    "log_from",
    "keyword",
    "filters",
    "email",
    "token",
    "uuid",
    "name",
)
# Everyday words that are also field names count only when quoted or called a field.
_AMBIGUOUS_FIELD_NAMES = ("from", "file", "page", "to")
_FIELD_PATTERNS = tuple(
    (name, re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE))
    for name in _FIELD_NAMES
) + tuple(
    (
        name,
        re.compile(
            rf"['\"`]{name}['\"`]|(?<![\w-]){name}\s+(?:field|param(?:eter)?)\b", re.IGNORECASE
        ),
    )
    for name in _AMBIGUOUS_FIELD_NAMES
)
_LIST_KEYS = ("users", "data", "list", "items", "results")


# ---------------------------------------------------------------------------------------
# Small tolerant readers


def _as_int(value: object) -> int | None:
    """An int from an int, an integral float or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**_MAX_INT_DIGITS else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 10**_MAX_INT_DIGITS:
            return int(value)
        return None
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return int(float(text)) if "." in text else int(text)
    return None


def _as_text(value: object) -> str | None:
    """A stripped string from a string or a number; None when empty or of another type."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 256 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return None


def _as_flag(value: object) -> bool | None:
    """The API's switches: 1/"1"/true/"yes" is on, 0/2/"0"/"2"/false/"no" is off."""
    if isinstance(value, bool):
        return value
    number = _as_int(value)
    if number is not None:
        return {1: True, 0: False, 2: False}.get(number)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "on", "enabled", "y"):
            return True
        if word in ("false", "no", "off", "disabled", "n"):
            return False
    return None


def _clean(text: str, limit: int = _SNIPPET_CHARS) -> str:
    """One line of at most `limit` characters, safe to show in a dialog or a log."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-None value among `keys`."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def parse_duration(value: object) -> int | None:
    """Seconds from "HH:MM:SS", "MM:SS" or plain seconds (int or string); None if unreadable."""
    if isinstance(value, str) and ":" in value:
        parts = value.strip().split(":")
        if len(parts) > 3 or not all(_CLOCK_PART.fullmatch(p.strip()) for p in parts):
            return None
        total = 0
        for part in parts:
            total = total * 60 + int(part.strip())
        return total
    if isinstance(value, float) and math.isfinite(value) and 0 <= value < 10**_MAX_INT_DIGITS:
        return round(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if math.isfinite(number) and 0 <= number < 10**_MAX_INT_DIGITS:
            return round(number)
        return None
    seconds = _as_int(value)
    return seconds if seconds is not None and seconds >= 0 else None


# ---------------------------------------------------------------------------------------
# Envelope


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP-date).

    Capped at `MAX_RETRY_AFTER_S`; None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        try:
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (OverflowError, ValueError, OSError):
            return None
        seconds = max(seconds, 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on a plain dict as well as httpx.Headers."""
    try:
        value = headers.get(name)
        if isinstance(value, str):
            return value
        wanted = name.lower()
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == wanted and isinstance(item, str):
                return item
    except (AttributeError, TypeError):
        return None
    return None


def _wait_phrase(seconds: float | None) -> str:
    if seconds is None:
        return "retry later"
    if seconds <= 0:
        return "retry now"
    return f"retry in {format_wait(seconds)}"


TOKEN_REJECTED = "MyOperator rejected the API token, which may be incomplete or no longer valid."


def _said(message: str | None) -> str:
    return f' (MyOperator said: "{message}")' if message else ""


def _rate_limited(headers: Mapping[str, str], message: str | None) -> RateLimited:
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    return RateLimited(
        f"MyOperator is rate-limiting this account: {_wait_phrase(retry_after)}.{_said(message)}",
        retry_after=retry_after,
    )


def _looks_like_html(headers: Mapping[str, str], body: bytes) -> bool:
    content_type = (_header(headers, "Content-Type") or "").lower()
    if "html" in content_type:
        return True
    head = body[:1024].lstrip().lower()
    return any(marker in head for marker in _HTML_MARKERS)


def _message_text(value: object, depth: int = 0) -> str | None:
    """The server's message as one short line, flattening {"field": ["problem"]} shapes."""
    if depth > 3:
        return None
    if isinstance(value, str):
        text = _clean(value)
        return text or None
    if isinstance(value, list):
        parts = [t for t in (_message_text(v, depth + 1) for v in value[:10]) if t]
        return _clean("; ".join(parts)) or None
    if isinstance(value, dict):
        parts = []
        for key, item in list(value.items())[:10]:
            item_text = _message_text(item, depth + 1)
            if item_text:
                parts.append(f"{key}: {item_text}")
        return _clean("; ".join(parts)) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _clean(str(value))
    return None


def _mentioned_field(message: str | None) -> str | None:
    """The first API field name the message mentions (the longest names are tried first)."""
    if not message:
        return None
    best: tuple[int, str] | None = None
    for name, pattern in _FIELD_PATTERNS:
        match = pattern.search(message)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), name)
    return best[1] if best else None


def _error_for(
    code: int | None, http_status: int, message: str | None, headers: Mapping[str, str]
) -> MyOperatorError:
    """Map an error answer onto the project's exception types (envelope first, HTTP second)."""
    effective = code if code is not None and 400 <= code <= 599 else None
    if effective is None:
        effective = http_status if 400 <= http_status <= 599 else 400
    if effective == 409 and message:
        # MyOperator never answers 409; the team relay does, for what it did not send (a
        # number a colleague is calling back, the team's allowance spent): its own words.
        return RelayRefused(message, sent=True)
    if message and _PERMISSION_WORDING.search(message) and not _TOKEN_WORDING.search(message):
        return PermissionDenied(f"The API token's user is not allowed to do this.{_said(message)}")
    if (message and _TOKEN_WORDING.search(message)) or effective == 401:
        # One plain sentence: the service's own words ("This not an authorized request")
        # add nothing, and its parentheses nested inside every sentence that quotes this.
        return TokenRejected(TOKEN_REJECTED)
    if effective == 403:
        return PermissionDenied(f"The API token's user is not allowed to do this.{_said(message)}")
    if message and _NOT_READY_WORDING.search(message):
        return NotReadyYet(
            f"The recording is not ready yet: try again in a minute.{_said(message)}"
        )
    if effective == 429 or (message and _RATE_WORDING.search(message)):
        return _rate_limited(headers, message)
    if effective in (404, 410):
        return NotFound(f"MyOperator could not find what was asked for.{_said(message)}")
    if effective >= 500:
        return ServerError(
            f"MyOperator had a server error (code {effective}).{_said(message)}",
            status=effective,
        )
    if message:
        return ValidationError(
            f"MyOperator refused the request: {message}",
            field=_mentioned_field(message),
            sent=True,
        )
    return ValidationError(
        f"MyOperator refused the request (code {effective}) without saying why.", sent=True
    )


def _snippet(body: bytes) -> str:
    return _clean(body[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace"))


def _non_json(status: int, headers: Mapping[str, str], body: bytes) -> MyOperatorError:
    """The error for an answer that is not JSON. Its text is read, never quoted: a body
    can be a whole HTML page or carry anything at all."""
    text = _snippet(body)
    if _NOT_READY_WORDING.search(text):
        return NotReadyYet("The recording is not ready yet: try again in a minute.")
    if status == 404:
        return NotFound("MyOperator answered 404 Not Found.")
    if _looks_like_html(headers, body):
        return ServerError(
            f"MyOperator is unavailable: something in front of it answered with an HTML "
            f"error page (HTTP {status}).",
            status=status,
        )
    if status >= 500:
        return ServerError(f"MyOperator had a server error (HTTP {status}).", status=status)
    if not text:
        return MalformedResponse(f"MyOperator sent an empty answer (HTTP {status}).")
    return MalformedResponse(f"MyOperator sent an answer that is not JSON (HTTP {status}).")


def _decode(body: bytes) -> tuple[bool, Any]:
    """(True, value) when the body is JSON; (False, None) otherwise, for any kind of junk."""
    if not body.strip():
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


_SUCCESS_WORDS = frozenset({"success", "ok", "true", "1"})
_ERROR_WORDS = frozenset({"error", "fail", "failed", "failure", "false", "0"})


def _envelope_status(value: object) -> bool | None:
    """True for a success envelope, False for an error one, None if it says neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        word = str(value).strip().lower()
        if word in _SUCCESS_WORDS:
            return True
        if word in _ERROR_WORDS:
            return False
    return None


def interpret_response(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Return the JSON object of a successful answer; raise the matching error otherwise.

    The envelope decides, not the HTTP status: MyOperator sends ``"status": "error"`` with
    HTTP 200, and proxies send HTML with 502/503/504.
    """
    raw: object = body
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedResponse("MyOperator sent an answer this app cannot read.")
    body = bytes(raw)
    is_json, data = _decode(body)
    if status == 429:
        message = (
            _message_text(_first(data, "message", "error")) if isinstance(data, dict) else None
        )
        raise _rate_limited(headers, message)
    if not is_json:
        raise _non_json(status, headers, body)
    if not isinstance(data, dict):
        if status >= 500:
            raise ServerError(f"MyOperator had a server error (HTTP {status}).", status=status)
        raise MalformedResponse(f"MyOperator sent JSON that is not an object (HTTP {status}).")
    verdict = _envelope_status(data.get("status"))
    code = _as_int(data.get("code"))
    if verdict is None and code is None:  # {"status": 400, ...}: a code in the status key
        numeric_status = _as_int(data.get("status"))
        if numeric_status is not None and 100 <= numeric_status <= 599:
            code = numeric_status
    message = _message_text(_first(data, "message", "error", "errors", "msg", "detail"))
    if verdict is True:
        return data
    if verdict is None:
        ok_http = 200 <= status < 300
        ok_code = code is None or 200 <= code < 300
        if ok_http and ok_code and any(k in data for k in ("data", "url", "link")):
            return data
        if not (status >= 400 or (code is not None and code >= 400)):
            raise MalformedResponse(
                f"MyOperator sent an answer without a status (HTTP {status})."
            )
    raise _error_for(code, status, message, headers)


# ---------------------------------------------------------------------------------------
# Call logs


def e164(number: str) -> str | None:
    """A number as the cache keys callers (E.164), read as the call log's are: None when
    it is no possible number."""
    return _e164(number.strip())


def _e164(number: str | None, region: str | None = DEFAULT_REGION) -> str | None:
    """E.164 for a possible number (a leading + wins over `region`); None otherwise."""
    if not number or len(number) > 40:
        return None
    return _e164_of(number, region)


#: A call centre's log repeats its customers' numbers page after page, and phonenumbers'
#: parse is most of the cost of reading a page (bench_loop_stall).
@functools.lru_cache(maxsize=8192)
def _e164_of(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, None if number.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _national(e164: str) -> str | None:
    try:
        return str(phonenumbers.national_significant_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return None


def _direction(value: object) -> Direction | None:
    number = _as_int(value)
    if number == 1:
        return Direction.INCOMING
    if number == 2:
        return Direction.OUTGOING
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("incoming", "inbound", "in"):
            return Direction.INCOMING
        if word in ("outgoing", "outbound", "out"):
            return Direction.OUTGOING
    return None


def _answered(value: object) -> bool | None:
    number = _as_int(value)
    if number == 1:
        return True
    if number == 2:
        return False
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("answered", "connected", "answer"):
            return True
        if word in ("missed", "noanswer", "no answer", "unanswered"):
            return False
    return None


def _as_list(value: object) -> list[Any]:
    """A list from a list, or from a single object standing in for a one-item list."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def parse_agent(value: object) -> Agent | None:
    """Someone a call rang: a ``received_by`` entry, or an In-Call webhook's ``users``."""
    if not isinstance(value, dict):
        return None
    name = _as_text(_first(value, "name", "user_name")) or ""
    return Agent(
        name=name,
        extension=_as_text(value.get("extension")),
        user_id=_as_text(_first(value, "user_id", "uuid", "id")),
    )


def _parse_leg(value: object) -> CallLeg | None:
    if not isinstance(value, dict):
        return None
    ds = value.get("_ds")
    try:
        status = LegStatus(ds.strip().upper()) if isinstance(ds, str) else LegStatus.UNKNOWN
    except ValueError:
        status = LegStatus.UNKNOWN
    agents = tuple(
        a for a in (parse_agent(v) for v in _as_list(value.get("received_by"))) if a is not None
    )
    return CallLeg(
        status=status,
        action=_as_text(value.get("action")),
        start_time=_as_int(value.get("start_time")),
        duration_s=parse_duration(value.get("duration")),
        received_by=agents,
    )


def _derived_id(company_id: str | None, start_time: int, number: str, direction: Direction) -> str:
    """A stable key for a hit without ``_id``: the same call gives the same id on every run."""
    event = 1 if direction is Direction.INCOMING else 2
    key = f"{company_id or ''}|{start_time}|{number}|{event}"
    return "sha1:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def parse_call_log(hit: Any) -> CallLog:
    """One ``/search`` hit (with or without ``_source``) as a `CallLog`.

    Raises MalformedResponse only when the hit has no usable start time or direction:
    without them the call can be neither placed in time nor told missed from made.
    """
    if not isinstance(hit, dict):
        raise MalformedResponse("A call log entry from MyOperator is not an object.")
    source = hit.get("_source")
    if not isinstance(source, dict):
        source = hit
    start_time = _as_int(source.get("start_time"))
    if start_time is None or start_time <= 0:
        raise MalformedResponse("A call log entry from MyOperator has no usable start time.")
    direction = _direction(source.get("event"))
    if direction is None:
        raise MalformedResponse("A call log entry from MyOperator says neither in nor out.")

    raw_text = _as_text(source.get("caller_number_raw"))
    given = _as_text(source.get("caller_number"))
    caller = _e164(given) or _e164(raw_text)
    if caller is None:
        caller = given or raw_text or ""
    raw = raw_text
    if raw is None:
        raw = (_national(caller) if caller.startswith("+") else None) or ""

    end_time = _as_int(source.get("end_time"))
    duration = parse_duration(source.get("duration"))
    if duration is None:
        duration = end_time - start_time if end_time is not None and end_time >= start_time else 0

    legs = tuple(leg for leg in (_parse_leg(v) for v in _as_list(source.get("log_details"))) if leg)
    file_value = source.get("filename")
    filename = (file_value.strip() or None) if isinstance(file_value, str) else None
    answered = _answered(source.get("status"))
    if answered is None:
        answered = any(leg.answered for leg in legs) or filename is not None

    company_id = _as_text(source.get("company_id"))
    call_id = _as_text(hit.get("_id")) or _as_text(source.get("_id"))
    if call_id is None:
        call_id = _derived_id(company_id, start_time, caller or raw, direction)
    department = source.get("department_name")
    return CallLog(
        id=call_id,
        start_time=start_time,
        end_time=end_time,
        duration_s=duration,
        direction=direction,
        answered=answered,
        caller_number=caller,
        caller_number_raw=raw,
        department=department.strip() if isinstance(department, str) else "",
        filename=filename,
        legs=legs,
        company_id=company_id,
        user_id=_as_text(hit.get("user_id")) or _as_text(source.get("user_id")),
    )


def _total(value: object) -> int | None:
    if isinstance(value, dict):
        value = value.get("value")
    number = _as_int(value)
    return number if number is not None and number >= 0 else None


def parse_log_page(data: Any, *, offset: int, page_size: int) -> LogPage:
    """``data`` of ``/search`` as a `LogPage`; unusable hits are skipped and counted.

    A missing ``total`` is estimated so `LogPage.is_last` still follows the page length.
    """
    if not isinstance(data, dict):
        raise MalformedResponse("MyOperator's call log answer is not an object.")
    hits = data.get("hits")
    total_value = data.get("total")
    if isinstance(hits, dict):  # raw Elasticsearch: {"hits": {"total": .., "hits": [..]}}
        total_value = total_value if total_value is not None else hits.get("total")
        hits = hits.get("hits")
    if hits is None and _total(total_value) == 0:
        hits = []
    if not isinstance(hits, list):
        raise MalformedResponse("MyOperator's call log answer has no list of calls.")
    logs: list[CallLog] = []
    skipped = 0
    for index, hit in enumerate(hits):
        try:
            logs.append(parse_call_log(hit))
        except MyOperatorError as exc:
            skipped += 1
            logger.debug("Skipped call log hit %d at offset %d: %s", index, offset, exc.message)
    total = _total(total_value)
    floor = offset + len(hits)
    if total is None:
        total = floor + (1 if len(hits) >= page_size else 0)
    return LogPage(
        total=max(total, floor),
        logs=tuple(logs),
        offset=offset,
        page_size=page_size,
        skipped=skipped,
    )


# ---------------------------------------------------------------------------------------
# Filters


def _filter_items(data: object) -> list[Any]:
    if isinstance(data, dict):
        for key in ("filters", "data", "list", "items"):
            if isinstance(data.get(key), list):
                return list(data[key])
    if isinstance(data, list):
        return data
    raise MalformedResponse("MyOperator's filter list is not a list.")


def parse_filters(data: Any) -> tuple[FilterGroup, ...]:
    """The flat ``/filters`` list as header groups, in the server's order.

    A missing ``parent_id`` counts as a header (headers are never sent as filters, the safe
    side); children whose parent is not a header are dropped.
    """
    headers: dict[int, str] = {}
    children: list[Filter] = []
    seen: set[int] = set()
    for item in _filter_items(data):
        if not isinstance(item, dict):
            continue
        fid = _as_int(item.get("id"))
        if fid is None or fid <= 0 or fid in seen:
            continue
        seen.add(fid)
        parent = item.get("parent_id")
        parent_id = 0 if parent is None or parent == "" else _as_int(parent)
        if parent_id is None or parent_id < 0:
            continue
        name = _as_text(item.get("name")) or f"Filter {fid}"
        if parent_id == 0:
            headers[fid] = name
        else:
            children.append(Filter(id=fid, name=name, parent_id=parent_id))
    return tuple(
        FilterGroup(
            id=hid,
            name=hname,
            filters=tuple(f for f in children if f.parent_id == hid),
        )
        for hid, hname in headers.items()
    )


# ---------------------------------------------------------------------------------------
# Users


def _digits(value: object) -> str | None:
    text = _as_text(value)
    if text is None:
        return None
    digits = "".join(ch for ch in text if ch.isdigit() and ch.isascii())
    return digits or None


def _country_code(value: object) -> str | None:
    digits = _digits(value)
    if digits is None:
        return None
    digits = digits.lstrip("0")
    return digits if 1 <= len(digits) <= 3 else None


def _role(value: object) -> Role | None:
    if isinstance(value, dict):
        value = _first(value, "id", "role_id", "name")
    number = _as_int(value)
    if number is not None:
        try:
            return Role(number)
        except ValueError:
            return None
    if isinstance(value, str):
        word = value.strip().replace(" ", "").replace("_", "").lower()
        for role in Role:
            if role.label.lower() == word:
                return role
    return None


def _contact_type(value: object) -> ContactType | None:
    if isinstance(value, str):
        try:
            return ContactType(value.strip().lower())
        except ValueError:
            return None
    return None


def parse_user(item: Any) -> User:
    """One user item as a `User`; only a missing uuid makes it unusable.

    Without a country code the E.164 form assumes India (the service's home) and is left
    None unless the number is possible there.
    """
    if not isinstance(item, dict):
        raise MalformedResponse("A user entry from MyOperator is not an object.")
    uuid = _as_text(_first(item, "uuid", "user_uuid", "id"))
    if uuid is None:
        raise MalformedResponse("A user entry from MyOperator has no uuid.")
    cc = _country_code(_first(item, "country_code", "cc"))
    contact_text = _as_text(_first(item, "contact_number", "contact", "phone"))
    contact = _digits(contact_text)
    e164: str | None = None
    if contact_text and contact_text.startswith("+"):
        e164 = _e164(contact_text)
        if e164 is not None:
            parsed = phonenumbers.parse(e164, None)
            cc = cc or str(parsed.country_code)
            contact = str(phonenumbers.national_significant_number(parsed))
    elif contact is not None:
        if cc is not None:
            e164 = _e164(f"+{cc}{contact.lstrip('0')}")
        else:
            e164 = _e164(contact, DEFAULT_REGION)
    extension = _as_int(item.get("extension"))
    alternate_cc = _country_code(item.get("alternate_cc"))
    alternate = _digits(_first(item, "alternate_contact_number", "alternate_number"))
    name = _as_text(_first(item, "name", "user_name"))
    email = _as_text(item.get("email"))
    return User(
        uuid=uuid,
        name=_clean(name, 200) if name else "",
        user_id=_as_text(item.get("user_id")),
        email=email,
        country_code=cc,
        contact_number=contact,
        number_e164=e164,
        alternate_cc=alternate_cc,
        alternate_contact_number=alternate,
        extension=extension if extension is not None and extension >= 0 else None,
        role=_role(_first(item, "role", "role_id")),
        is_enabled=_as_flag(item.get("is_enabled")),
        panel_access=_as_flag(item.get("panel_access")),
        receives_calls=_as_flag(item.get("receive_calls")),
        contact_type=_contact_type(item.get("contact_type")),
    )


def _next_page(value: object, page: int) -> int | None:
    """A following page number, or None; a page not after `page` is refused (no loops)."""
    if value is True:
        number: int | None = page + 1
    elif isinstance(value, str) and "page=" in value:
        try:
            found = parse_qs(urlsplit(value).query).get("page") or [""]
        except ValueError:
            found = [""]
        number = _as_int(found[0])
    else:
        number = _as_int(value)
    if number is None or number <= page:
        return None
    return number


def _user_items(data: object) -> Iterable[Any]:
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            inner = data.get(key)
            if isinstance(inner, list):
                return inner
        values = [v for k, v in data.items() if k not in ("next_page", "total", "page")]
        if values and all(isinstance(v, dict) for v in values):
            return values  # keyed by uuid
        if not values:
            return []
    raise MalformedResponse("MyOperator's user list is not a list.")


def parse_user_page(body: dict[str, Any], *, page: int) -> UserPage:
    """A whole ``GET /user`` envelope as a `UserPage`; unusable items are skipped."""
    envelope: object = body
    if not isinstance(envelope, dict):
        raise MalformedResponse("MyOperator's user list answer is not an object.")
    data = envelope.get("data")
    users: list[User] = []
    for index, item in enumerate(_user_items(data)):
        try:
            users.append(parse_user(item))
        except MyOperatorError as exc:
            logger.debug("Skipped user item %d on page %d: %s", index, page, exc.message)
    next_value = envelope.get("next_page")
    if next_value is None and isinstance(data, dict):
        next_value = data.get("next_page")
    return UserPage(users=tuple(users), page=page, next_page=_next_page(next_value, page))


# ---------------------------------------------------------------------------------------
# Recordings and click-to-call


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > 8192 or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def parse_recording_link(body: dict[str, Any]) -> RecordingLink:
    """The download URL of ``/recordings/link``: ``url``, ``data.url``, ``link`` or ``data``.

    The URL itself never goes into an error: it may carry a signature.
    """
    envelope: object = body
    if not isinstance(envelope, dict):
        raise MalformedResponse("MyOperator's recording answer is not an object.")
    data = envelope.get("data")
    inner = data if isinstance(data, dict) else {}
    for candidate in (
        envelope.get("url"),
        inner.get("url"),
        envelope.get("link"),
        inner.get("link"),
        data,
    ):
        url = _http_url(candidate)
        if url is not None:
            return RecordingLink(url=url)
    raise MalformedResponse("MyOperator did not send a usable recording link.")


def parse_call_placed(body: dict[str, Any]) -> CallPlaced:
    """What ``/clickOcall`` said: a queued call's ``unique_id`` when given, and the message."""
    envelope: object = body
    if not isinstance(envelope, dict):
        raise MalformedResponse("MyOperator's click-to-call answer is not an object.")
    data = envelope.get("data")
    inner = data if isinstance(data, dict) else {}
    unique_id = (
        _as_text(inner.get("unique_id"))
        or _as_text(envelope.get("unique_id"))
        or _as_text(inner.get("id"))
    )
    message = _message_text(envelope.get("message"))
    if message is None:
        message = _message_text(inner.get("message"))
    return CallPlaced(
        unique_id=_clean(unique_id, 200) if unique_id else None,
        message=message,
    )
