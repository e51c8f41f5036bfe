"""The account's filter table and the ``filters`` expression of ``POST /search``.

The table is the API doc's "typical account". An expression is filter ids joined by ``AND``
and ``OR``; the live docs show only flat expressions ("5 AND 13 AND 8") and say nothing of
precedence or parentheses, so the sandbox uses the usual precedence (AND binds tighter than
OR) and also accepts parentheses: a client may rely on them only where it has checked that
the live service does too. Everything else (lower-case operators, other characters, header
ids, unknown ids, dangling operators) is a 400, so a client bug shows up here first.

An expression is compiled to disjunctive normal form: a tuple of bit masks, one per
AND-term. A call matches when its own mask (one bit per filter it carries) covers any term,
which keeps a scan over 100,000 calls to a few integer operations each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FilterDef:
    """One row of ``GET /filters``; ``parent_id == 0`` marks a category header."""

    id: int
    name: str
    parent_id: int

    def to_api(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "parent_id": self.parent_id}


SOURCE_IVR = 2
SOURCE_MOBILE = 3
EVENT_INCOMING = 5
EVENT_OUTGOING = 6
TYPE_CALL = 8
TYPE_SMS = 9
STATUS_CONNECTED = 12
STATUS_MISSED = 13
STATUS_VOICEMAIL = 14
TAG_IDS: dict[str, int] = {"Sales lead": 16, "Complaint": 17, "VIP": 18, "Follow-up": 19}
PROPERTY_NOTED = 22
PROPERTY_ARCHIVED = 23
PROPERTY_STARRED = 24

FILTERS: tuple[FilterDef, ...] = (
    FilterDef(1, "Source of logs", 0),
    FilterDef(SOURCE_IVR, "MyOperator IVR", 1),
    FilterDef(SOURCE_MOBILE, "Mobile", 1),
    FilterDef(4, "Event of logs", 0),
    FilterDef(EVENT_INCOMING, "Incoming", 4),
    FilterDef(EVENT_OUTGOING, "Outgoing", 4),
    FilterDef(7, "Type of logs", 0),
    FilterDef(TYPE_CALL, "Call", 7),
    FilterDef(TYPE_SMS, "SMS", 7),
    FilterDef(11, "Status of logs", 0),
    FilterDef(STATUS_CONNECTED, "Connected", 11),
    FilterDef(STATUS_MISSED, "Missed", 11),
    FilterDef(STATUS_VOICEMAIL, "Voicemail", 11),
    FilterDef(15, "Tags", 0),
    *(FilterDef(tag_id, name, 15) for name, tag_id in TAG_IDS.items()),
    FilterDef(21, "Call property", 0),
    FilterDef(PROPERTY_NOTED, "Noted", 21),
    FilterDef(PROPERTY_ARCHIVED, "Archived", 21),
    FilterDef(PROPERTY_STARRED, "Star marked", 21),
)
_BY_ID = {f.id: f for f in FILTERS}

#: A DNF expression bigger than this is refused rather than expanded without bound.
MAX_TERMS = 256
MAX_LENGTH = 1000

_ALLOWED = re.compile(r"[0-9ANDOR() ]*")
_TOKEN = re.compile(r"\(|\)|[^ ()]+")


class FilterError(ValueError):
    """The expression is not one the service accepts; the text is the 400's message."""


def compile_filters(expression: str) -> tuple[int, ...] | None:
    """Return the DNF masks of `expression`, or None when it is blank (no filtering)."""
    if not expression.strip():
        return None
    if len(expression) > MAX_LENGTH:
        raise FilterError("Invalid filters: expression too long")
    if not _ALLOWED.fullmatch(expression):
        bad = next(ch for ch in expression if not _ALLOWED.fullmatch(ch))
        raise FilterError(f"Invalid filters: unexpected character {bad!r}")
    parser = _Parser(_TOKEN.findall(expression))
    terms = parser.parse()
    return tuple(sorted(terms))


class _Parser:
    """Recursive descent: expr := term (OR term)*; term := factor (AND factor)*."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._pos = 0

    def parse(self) -> frozenset[int]:
        terms = self._expr()
        if self._pos != len(self._tokens):
            raise FilterError(f"Invalid filters: unexpected {self._tokens[self._pos]!r}")
        return terms

    def _peek(self) -> str | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _expr(self) -> frozenset[int]:
        terms = self._term()
        while self._peek() == "OR":
            self._pos += 1
            terms = terms | self._term()
            _check_size(terms)
        return terms

    def _term(self) -> frozenset[int]:
        terms = self._factor()
        while self._peek() == "AND":
            self._pos += 1
            right = self._factor()
            terms = frozenset(a | b for a in terms for b in right)
            _check_size(terms)
        return terms

    def _factor(self) -> frozenset[int]:
        token = self._peek()
        if token is None:
            raise FilterError("Invalid filters: expression ends where a filter id was expected")
        self._pos += 1
        if token == "(":
            terms = self._expr()
            if self._peek() != ")":
                raise FilterError("Invalid filters: missing ')'")
            self._pos += 1
            return terms
        if not token.isdigit():
            raise FilterError(f"Invalid filters: expected a filter id, got {token!r}")
        filter_id = int(token)
        known = _BY_ID.get(filter_id)
        if known is None:
            raise FilterError(f"Invalid filters: unknown filter id {filter_id}")
        if known.parent_id == 0:
            raise FilterError(
                f"Invalid filters: {filter_id} ({known.name}) is a category, not a filter"
            )
        return frozenset({1 << filter_id})


def _check_size(terms: frozenset[int]) -> None:
    if len(terms) > MAX_TERMS:
        raise FilterError("Invalid filters: expression too complex")


def matches(mask: int, terms: tuple[int, ...]) -> bool:
    """Whether a call carrying the filters of `mask` satisfies the compiled expression."""
    return any(mask & term == term for term in terms)
