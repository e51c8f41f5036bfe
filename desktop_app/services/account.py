"""Connecting an account: what was pasted into the token field, and whether MyOperator
accepts it, each told in one plain sentence.

A person pastes whatever their clipboard holds: the token with a newline, in quotes, a
``token=…`` line from a script, a whole URL. `clean_token` digs the token out of that and
says what is wrong when it cannot, without ever repeating the text. `check_token` then spends
exactly one read request on it before anything is kept.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import unquote

import httpx

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import (
    MalformedResponse,
    MyOperatorError,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRejected,
)
from desktop_app.api.waits import format_wait

TOKEN_WHERE: Final = "In the MyOperator panel: Manage → API integration → Public API token."
TOKEN_LENGTH: Final = 32

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_QUOTES: Final = "\"'`“”‘’„«»"  # typographic quotes come with pastes too
# Zero-width characters that come along from web pages, chat and office documents.
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# ``token=…`` anywhere: a URL's query, ``MYOPERATOR_TOKEN=…``, ``"token": "…"`` from JSON.
_ASSIGNMENT: Final = re.compile(r"(?i)token[\"']?\s*[=:]\s*[\"'“‘]?([^\s&\"'“”‘’#;,}>)\]]*)")


def clean_token(text: str) -> str:
    """The token inside what was pasted: 32 hex characters.

    Trims whitespace, line breaks, invisible characters and surrounding quotes; takes the
    value of a ``token=…`` (a URL's query, a shell line, JSON). Raises `ValueError` with one
    sentence saying what is wrong; the sentence never contains the text.
    """
    value = text.translate(_INVISIBLE).strip().strip(_QUOTES).strip()
    if not value:
        raise ValueError("The token field is empty: paste the 32-character API token.")
    assignment = _ASSIGNMENT.search(value)
    if assignment is not None:
        value = unquote(assignment.group(1))
        if not value:
            raise ValueError(
                "The pasted text has nothing after the equals sign: copy the token itself."
            )
    elif "://" in value:
        raise ValueError(
            "That is a web address without a token in it: copy the token itself."
        )
    # A token broken across lines (a PDF, an e-mail) is still one token.
    value = "".join(value.strip(_QUOTES).split())
    length = len(value)
    others = sum(1 for c in value if c not in _HEX_DIGITS)
    if length == TOKEN_LENGTH and not others:
        return value
    if not others:
        raise ValueError(f"That is {_characters(length)}; the token has {TOKEN_LENGTH}.")
    if length == TOKEN_LENGTH:
        raise ValueError(
            "The token has only the digits 0-9 and the letters a-f; this has "
            f"{_characters(others, 'other')}."
        )
    raise ValueError(
        f"That is {_characters(length)}, {others} of them not 0-9 or a-f; the token has "
        f"{TOKEN_LENGTH}, all digits 0-9 or letters a-f."
    )


def _characters(count: int, kind: str = "") -> str:
    noun = "character" if count == 1 else "characters"
    return f"{count} {kind} {noun}" if kind else f"{count} {noun}"


class CheckOutcome(StrEnum):
    """What MyOperator said to the one request that tested a token."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    OFFLINE = "offline"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    #: The token is valid, but its user may not read the call log.
    PERMISSION = "permission"


@dataclass(frozen=True)
class TokenCheck:
    outcome: CheckOutcome
    #: One plain sentence for the window.
    sentence: str
    #: For RATE_LIMITED: seconds until the service (or the request budget) allows another.
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """The token may be kept and used: MyOperator accepted it for the call log."""
        return self.outcome is CheckOutcome.ACCEPTED

    @property
    def token_valid(self) -> bool:
        """MyOperator knows the token (even where its user may not read the call log)."""
        return self.outcome in (CheckOutcome.ACCEPTED, CheckOutcome.PERMISSION)


ACCEPTED_SENTENCE: Final = "MyOperator accepted this token."
REJECTED_SENTENCE: Final = (
    "MyOperator did not accept this token. Copy it again from the MyOperator panel "
    "(Manage → API integration → Public API token)."
)
OFFLINE_SENTENCE: Final = (
    "MyOperator could not be reached: check the network connection and try again."
)
PERMISSION_SENTENCE: Final = (
    "MyOperator accepted this token, but its user may not read the call log: use the token "
    "of a user who may (an admin can tell which)."
)
SERVER_ERROR_SENTENCE: Final = (
    "MyOperator had a problem answering and could not check the token: try again in a "
    "few minutes."
)


async def check_token(
    token: str,
    base_url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RequestBudget | None = None,
    timeout_s: float = 10.0,
) -> TokenCheck:
    """Test `token` with one read request (``POST /search``, one log), never retried.

    The token is cleaned first (`clean_token`): a malformed one is REJECTED without any
    request. Every answer becomes a `TokenCheck`; an unusable `base_url` raises
    `InvalidBaseUrl` (a ValueError) before anything is sent. The whole check takes at most
    `timeout_s`. `budget` is the account's shared request budget when the app has one: the
    check takes a slot of it, and a spent budget is reported at once, not waited out.
    """
    try:
        token = clean_token(token)
    except ValueError as exc:
        return TokenCheck(CheckOutcome.REJECTED, str(exc))
    no_retry = RetryPolicy(attempts=1, max_budget_wait_s=0.0)
    client = MyOperatorClient(
        token, base_url=base_url, transport=transport,
        budget=budget if budget is not None else RequestBudget(),
        timeout=timeout_s, retry=no_retry,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.search_logs(page_size=1)
    except TimeoutError:
        return TokenCheck(
            CheckOutcome.OFFLINE,
            f"MyOperator did not answer within {format_wait(timeout_s)}: check the network "
            "connection and try again.",
        )
    except MyOperatorError as exc:
        return _outcome_of(exc)
    finally:
        await client.aclose()
    return TokenCheck(CheckOutcome.ACCEPTED, ACCEPTED_SENTENCE)


def _outcome_of(error: MyOperatorError) -> TokenCheck:
    if isinstance(error, TokenRejected):
        return TokenCheck(CheckOutcome.REJECTED, REJECTED_SENTENCE)
    if isinstance(error, PermissionDenied):
        return TokenCheck(CheckOutcome.PERMISSION, PERMISSION_SENTENCE)
    if isinstance(error, NetworkError):
        return TokenCheck(CheckOutcome.OFFLINE, OFFLINE_SENTENCE)
    if isinstance(error, RateLimited):
        wait = error.retry_after
        when = f"in {format_wait(wait)}" if wait is not None else "in a minute"
        return TokenCheck(
            CheckOutcome.RATE_LIMITED,
            f"MyOperator is limiting requests for this account, so the token could not be "
            f"checked: try again {when}.",
            retry_after=wait,
        )
    if isinstance(error, ServerError | MalformedResponse | NotFound):
        return TokenCheck(CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE)
    # A refusal the contract does not describe: say it as the service did (redacted).
    return TokenCheck(
        CheckOutcome.SERVER_ERROR,
        f"MyOperator could not check the token: {error.message.rstrip('.')}.",
    )


# ----------------------------------------------------------------------- the team relay

#: An agent's relay credential as `myoperator relay agent add` prints it.
_CREDENTIAL: Final = re.compile(r"mor_[A-Za-z0-9_-]{20,100}")
CREDENTIAL_WHERE: Final = (
    "Your admin gives each agent the relay's address and a credential of their own "
    "(myoperator relay agent add NAME); the account's API token stays with the relay."
)


def relay_api_url(relay_url: str) -> str:
    """MyOperator's API through the team relay (its pass-through, `relay.proxy`)."""
    return relay_url.rstrip("/") + "/v1/myoperator"


def clean_credential(text: str) -> str:
    """The relay credential inside what was pasted (``mor_`` and its letters), trimmed of
    whitespace, quotes and invisible characters; `ValueError` with one sentence that never
    repeats the text."""
    value = "".join(text.translate(_INVISIBLE).strip().strip(_QUOTES).split())
    if not value:
        raise ValueError("The credential field is empty: paste the credential your admin gave you.")
    found = _CREDENTIAL.search(value)
    if found is None:
        raise ValueError(
            "That is not a relay credential: it starts with mor_ (ask your admin for yours)."
        )
    return found.group(0)


@dataclass(frozen=True)
class RelayCheck:
    """What the team relay said of an agent's credential (`agent`: whose it is; `user`:
    the MyOperator user they are, when the admin said so)."""

    ok: bool
    sentence: str
    agent: str = ""
    admin: bool = False
    user: str = ""


RELAY_REFUSED_SENTENCE: Final = (
    "The relay did not accept this credential (unknown or revoked): ask your admin for a "
    "new one."
)


async def check_relay(
    relay_url: str,
    credential: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 10.0,
) -> RelayCheck:
    """Ask the relay whose `credential` this is (``GET /v1/agent``): one request, which
    costs the account nothing. Every answer becomes a `RelayCheck`."""
    url = relay_url.rstrip("/") + "/v1/agent"
    headers = {"Authorization": f"Bearer {credential}", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(transport=transport, timeout=timeout_s) as http:
            answer = await http.get(url, headers=headers)
    except httpx.TimeoutException:
        return RelayCheck(False, (
            f"The relay did not answer within {format_wait(timeout_s)}: check its address "
            "and the network, and try again."
        ))
    except httpx.HTTPError:
        return RelayCheck(False, (
            "The relay could not be reached at that address: check it (your admin gave it) "
            "and the network connection."
        ))
    if answer.status_code in (401, 403):
        return RelayCheck(False, RELAY_REFUSED_SENTENCE)
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code == 200 and isinstance(body, dict) and isinstance(
        body.get("agent"), str
    ):
        name = body["agent"]
        if body.get("proxy") is False:
            return RelayCheck(False, (
                f"The relay knows you as {name}, but it has no MyOperator API token yet, so "
                "calls and recordings would not work: ask your admin to set it up."
            ), name)
        user = body.get("user")
        return RelayCheck(
            True, f"The relay knows you as {name}.", name, body.get("admin") is True,
            user if isinstance(user, str) else "",
        )
    if answer.status_code == 503:
        return RelayCheck(False, (
            "The relay cannot reach its store right now: try again in a minute, or tell "
            "your admin."
        ))
    return RelayCheck(False, (
        "There is no team relay at that address (it answered like another web server): "
        "check the address your admin gave you."
    ))
