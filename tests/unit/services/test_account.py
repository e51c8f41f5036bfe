"""What was pasted into the token field (`clean_token`) and what MyOperator says to it
(`check_token`), against the emulated service in-process. The same checks over a real
loopback port are in tests/e2e/test_token_check.py."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from desktop_app.api.budget import RequestBudget, Window
from desktop_app.api.errors import InvalidBaseUrl
from desktop_app.sandbox import SandboxApp
from desktop_app.services.account import (
    OFFLINE_SENTENCE,
    PERMISSION_SENTENCE,
    REJECTED_SENTENCE,
    SERVER_ERROR_SENTENCE,
    TOKEN_WHERE,
    CheckOutcome,
    TokenCheck,
    check_token,
    clean_token,
)
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import BASE_URL, NOW, SandboxTransport, make_sandbox
from tests.helpers.tokens import FAKE_TOKEN

OTHER_TOKEN = "0123456789abcdef0123456789abcdef"

# ---------------------------------------------------------------------------------------
# clean_token


@pytest.mark.parametrize(
    "pasted",
    [
        FAKE_TOKEN,
        f"  {FAKE_TOKEN}\r\n",
        f'"{FAKE_TOKEN}"',
        f"'{FAKE_TOKEN}'\n",
        f"“{FAKE_TOKEN}”",
        f"\u200b{FAKE_TOKEN}\ufeff",
        f"{FAKE_TOKEN[:16]}\n{FAKE_TOKEN[16:]}",
        f"token={FAKE_TOKEN}",
        f"MYOPERATOR_TOKEN={FAKE_TOKEN}",
        f"export MYOPERATOR_TOKEN='{FAKE_TOKEN}'",
        f'{{"token": "{FAKE_TOKEN}"}}',
        f"https://developers.myoperator.co/search?token={FAKE_TOKEN}&log_from=0",
        f"https://developers.myoperator.co/user?page=2&token={FAKE_TOKEN}",
        f"  <https://developers.myoperator.co/filters?token={FAKE_TOKEN}>  ",
    ],
    ids=[
        "bare", "whitespace", "double-quotes", "single-quotes", "typographic-quotes",
        "invisible", "two-lines", "token=", "env", "export", "json", "url", "url-last",
        "url-in-brackets",
    ],
)
def test_the_token_is_found_in_what_was_pasted(pasted: str) -> None:
    assert clean_token(pasted) == FAKE_TOKEN


def test_the_case_of_the_token_is_kept() -> None:
    assert clean_token(FAKE_TOKEN.upper()) == FAKE_TOKEN.upper()


@pytest.mark.parametrize(
    ("pasted", "sentence"),
    [
        ("", "The token field is empty: paste the 32-character API token."),
        (" \n\t ", "The token field is empty: paste the 32-character API token."),
        ('""', "The token field is empty: paste the 32-character API token."),
        (FAKE_TOKEN[:31], "That is 31 characters; the token has 32."),
        (FAKE_TOKEN + "0", "That is 33 characters; the token has 32."),
        (FAKE_TOKEN[:8], "That is 8 characters; the token has 32."),
        (
            FAKE_TOKEN[:30] + "zq",
            "The token has only the digits 0-9 and the letters a-f; this has 2 other "
            "characters.",
        ),
        (
            FAKE_TOKEN[:31] + "-",
            "The token has only the digits 0-9 and the letters a-f; this has 1 other "
            "character.",
        ),
        (
            "hunter2hunter2!",
            "That is 15 characters, 11 of them not 0-9 or a-f; the token has 32, all "
            "digits 0-9 or letters a-f.",
        ),
        ("token=", "The pasted text has nothing after the equals sign: copy the token itself."),
        (
            "https://developers.myoperator.co/search?page=1",
            "That is a web address without a token in it: copy the token itself.",
        ),
        (
            f"https://developers.myoperator.co/search?token={FAKE_TOKEN[:20]}",
            "That is 20 characters; the token has 32.",
        ),
    ],
    ids=[
        "empty", "blank", "empty-quotes", "31", "33", "8", "non-hex", "one-non-hex",
        "a-password", "token=-alone", "url-without-token", "url-with-short-token",
    ],
)
def test_each_wrong_shape_has_its_sentence_which_never_repeats_the_text(
    pasted: str, sentence: str
) -> None:
    with pytest.raises(ValueError) as raised:
        clean_token(pasted)
    said = str(raised.value)
    assert said == sentence
    # Not the text, nor any piece of it: no 6 characters in a row of it are in the sentence.
    text = pasted.strip()
    assert not [text[i : i + 6] for i in range(len(text) - 5) if text[i : i + 6] in said]


def test_where_the_token_is_says_the_panels_path() -> None:
    assert TOKEN_WHERE == "In the MyOperator panel: Manage → API integration → Public API token."


# ---------------------------------------------------------------------------------------
# check_token, in-process


class _CountingTransport(SandboxTransport):
    """The sandbox in-process; remembers whether the client closed it."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


@pytest.fixture
def app() -> SandboxApp:
    return make_sandbox(ManualClock(NOW), n_logs=40)


@pytest.fixture
def transport(app: SandboxApp) -> _CountingTransport:
    return _CountingTransport(app)


def _searches(app: SandboxApp) -> int:
    return len(app.sandbox.requests_to("/search"))


def _assert_no_token(check: TokenCheck, token: str) -> None:
    assert token not in check.sentence
    assert token not in repr(check)


async def test_an_accepted_token_costs_one_read_of_one_log(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport)

    assert check == TokenCheck(CheckOutcome.ACCEPTED, "MyOperator accepted this token.")
    assert check.ok and check.token_valid
    [request] = app.sandbox.requests_to("/search")
    assert request.method == "POST" and request.has_token
    assert request.params.get("page_size") == "1"
    assert transport.closed


async def test_a_rejected_token_says_where_to_copy_it_from(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    check = await check_token(OTHER_TOKEN, BASE_URL, transport=transport)

    assert check.outcome is CheckOutcome.REJECTED
    assert check.sentence == REJECTED_SENTENCE
    assert "Manage → API integration → Public API token" in check.sentence
    assert not check.ok and not check.token_valid
    assert _searches(app) == 1
    assert transport.closed
    _assert_no_token(check, OTHER_TOKEN)


async def test_a_malformed_token_is_rejected_without_a_request(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    check = await check_token(FAKE_TOKEN[:31], BASE_URL, transport=transport)

    assert check == TokenCheck(CheckOutcome.REJECTED, "That is 31 characters; the token has 32.")
    assert _searches(app) == 0


async def test_a_pasted_url_is_checked_as_its_token(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    check = await check_token(f" {BASE_URL}/search?token={FAKE_TOKEN}\n", BASE_URL,
                              transport=transport)
    assert check.ok


@pytest.mark.parametrize(
    ("fault", "outcome", "sentence"),
    [
        ("429:count=1,retry_after=40", CheckOutcome.RATE_LIMITED,
         "MyOperator is limiting requests for this account, so the token could not be "
         "checked: try again in 40 s."),
        ("429:count=1,retry_after=3600", CheckOutcome.RATE_LIMITED,
         "MyOperator is limiting requests for this account, so the token could not be "
         "checked: try again in about 1 h."),
        ("503:count=1", CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE),
        ("500:count=1", CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE),
        ("html502:count=1", CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE),
        ("malformed:count=1", CheckOutcome.SERVER_ERROR, SERVER_ERROR_SENTENCE),
        ("drop:count=1", CheckOutcome.OFFLINE, OFFLINE_SENTENCE),
    ],
    ids=["429", "429-long", "503", "500", "html502", "malformed", "drop"],
)
async def test_each_fault_is_its_own_sentence_after_one_request(
    fault: str, outcome: CheckOutcome, sentence: str,
    app: SandboxApp, transport: _CountingTransport,
) -> None:
    app.sandbox.faults.add(fault)

    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport)

    assert (check.outcome, check.sentence) == (outcome, sentence)
    assert not check.ok
    assert _searches(app) == 1  # never retried, whatever the policy would do for a read
    assert transport.closed
    _assert_no_token(check, FAKE_TOKEN)


async def test_a_rate_limit_tells_how_long(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    app.sandbox.faults.add("429:count=1,retry_after=40")
    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport)
    assert check.retry_after == 40


async def test_a_spent_budget_is_said_at_once_without_a_request(
    app: SandboxApp, transport: _CountingTransport
) -> None:
    clock = ManualClock(NOW)
    budget = RequestBudget((Window("minute", 1, 60.0),), clock=clock, sleep=clock.sleep)
    await budget.acquire()

    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport, budget=budget)

    assert check.outcome is CheckOutcome.RATE_LIMITED
    assert check.sentence.endswith("try again in 1 min.")
    assert _searches(app) == 0


async def test_the_check_takes_a_slot_of_the_accounts_budget(
    transport: _CountingTransport,
) -> None:
    clock = ManualClock(NOW)
    budget = RequestBudget((Window("minute", 5, 60.0),), clock=clock, sleep=clock.sleep)
    await check_token(FAKE_TOKEN, BASE_URL, transport=transport, budget=budget)
    assert budget.remaining() == {"minute": 4}


def _answering(status: int, body: object) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})

    return httpx.MockTransport(answer)


async def test_a_token_whose_user_may_not_read_the_call_log_says_so() -> None:
    transport = _answering(
        403, {"status": "error", "code": 403, "message": "You do not have permission"}
    )
    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport)

    assert check == TokenCheck(CheckOutcome.PERMISSION, PERMISSION_SENTENCE)
    assert "accepted this token" in check.sentence and "call log" in check.sentence
    assert check.token_valid and not check.ok


async def test_an_unexpected_refusal_is_said_in_the_services_words() -> None:
    transport = _answering(400, {"status": "error", "code": 400, "message": "Account suspended"})
    check = await check_token(FAKE_TOKEN, BASE_URL, transport=transport)
    assert check.outcome is CheckOutcome.SERVER_ERROR
    assert "Account suspended" in check.sentence


async def test_a_service_that_never_answers_is_offline_within_the_timeout() -> None:
    never = asyncio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("never answered")

    loop = asyncio.get_running_loop()
    started = loop.time()
    check = await check_token(
        FAKE_TOKEN, BASE_URL, transport=httpx.MockTransport(hold), timeout_s=0.2
    )

    assert check.outcome is CheckOutcome.OFFLINE
    assert check.sentence == (
        "MyOperator did not answer within 1 s: check the network connection and try again."
    )
    assert loop.time() - started < 10.0


async def test_an_unusable_base_url_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidBaseUrl):
        await check_token(FAKE_TOKEN, "ftp://developers.myoperator.co")
