"""Help → Diagnostics against the emulated service: every check, each fault in its own words,
and a report that never carries the token."""

from __future__ import annotations

import asyncio
import errno
import socket
import sqlite3
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from desktop_app.api.budget import RequestBudget, Window
from desktop_app.api.client import MyOperatorClient
from desktop_app.sandbox import SandboxApp
from desktop_app.services import diagnostics
from desktop_app.services.clock import ManualClock
from desktop_app.services.diagnostics import (
    AUDIO_OUTPUT,
    CACHE_HEALTHY,
    CHECK_NAMES,
    KEYRING_WORKING,
    RATE_LIMIT_HEADROOM,
    RECORDINGS_PERMITTED,
    SERVICE_REACHABLE,
    TOKEN_ACCEPTED,
    USERS_PERMITTED,
    CheckResult,
    CheckStatus,
    DiagnosticsContext,
    build_report,
    log_tail,
    run_checks,
)
from desktop_app.services.logs import LOG_FILE_NAME
from desktop_app.store import CallStore
from tests.helpers.builders import make_log
from tests.helpers.sandbox import BASE_URL, NOW, SandboxTransport, make_sandbox
from tests.helpers.tokens import FAKE_TOKEN

#: Obviously fake, and accepted by no sandbox here.
WRONG_TOKEN = "0badc0de0badc0de0badc0de0badc0de"


@pytest.fixture
def clock() -> ManualClock:
    """The service's and the budget's clock; a wait moves it instead of waiting."""
    return ManualClock(NOW, sleep_advances=True)


@pytest.fixture
def app(clock: ManualClock) -> SandboxApp:
    return make_sandbox(clock, n_logs=300)


def api_client(
    transport: httpx.AsyncBaseTransport | None,
    clock: ManualClock,
    *,
    token: str = FAKE_TOKEN,
    base_url: str = BASE_URL,
    budget: RequestBudget | None = None,
) -> MyOperatorClient:
    return MyOperatorClient(
        token,
        base_url=base_url,
        transport=transport,
        budget=budget if budget is not None else RequestBudget(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        timeout=5.0,
    )


async def keyring_works() -> str | None:
    return None


def audio_works() -> str | None:
    return None


def context_for(
    client: MyOperatorClient,
    store: CallStore,
    *,
    keyring: Callable[[], Awaitable[str | None]] = keyring_works,
    audio: Callable[[], str | None] = audio_works,
    **options: Any,
) -> DiagnosticsContext:
    return DiagnosticsContext(
        client=client,
        store=store,
        keyring_problem=keyring,
        audio_problem=audio,
        token_location="the system keyring",
        **options,
    )


async def run_all(context: DiagnosticsContext) -> dict[str, CheckResult]:
    results = [result async for result in run_checks(context)]
    assert [r.name for r in results] == list(CHECK_NAMES)
    return {r.name: r for r in results}


@pytest.fixture
async def client(app: SandboxApp, clock: ManualClock) -> AsyncIterator[MyOperatorClient]:
    async with api_client(httpx.ASGITransport(app=app), clock) as c:
        yield c


async def fill_cache(client: MyOperatorClient, store: CallStore) -> None:
    page = await client.search_logs(page_size=100)
    store.upsert_calls(page.logs)
    assert any(log.has_recording for log in page.logs)


def statuses(results: dict[str, CheckResult]) -> dict[str, CheckStatus]:
    return {name: r.status for name, r in results.items()}


# ------------------------------------------------------------------------ all well


async def test_every_check_passes_against_a_healthy_service(
    client: MyOperatorClient, store: CallStore, app: SandboxApp
) -> None:
    await fill_cache(client, store)
    before = len(app.sandbox.requests)

    results = await run_all(context_for(client, store))

    assert statuses(results) == dict.fromkeys(CHECK_NAMES, CheckStatus.OK)
    assert all(r.advice == "" for r in results.values())
    assert results[SERVICE_REACHABLE].result == (
        "sandbox answered (HTTP 404 to a request without the token)."
    )
    assert results[RATE_LIMIT_HEADROOM].result.startswith("Requests left: ")
    assert "of 20 this minute" in results[RATE_LIMIT_HEADROOM].result
    assert "100 calls" in results[CACHE_HEALTHY].result
    assert "the system keyring" in results[KEYRING_WORKING].result
    # One request each: reachability (no token), the token, users, a recording link.
    sent = app.sandbox.requests[before:]
    assert [(r.method, r.path) for r in sent] == [
        ("GET", "/"), ("POST", "/search"), ("GET", "/user"), ("GET", "/recordings/link"),
    ]
    assert not sent[0].has_token


async def test_the_recording_check_is_skipped_with_an_empty_cache(
    client: MyOperatorClient, store: CallStore
) -> None:
    results = await run_all(context_for(client, store))

    assert results[RECORDINGS_PERMITTED].status is CheckStatus.SKIPPED
    assert "no call with a recording" in results[RECORDINGS_PERMITTED].result


# ------------------------------------------------------------------------ the token


async def test_a_rejected_token_skips_the_checks_that_need_it(
    app: SandboxApp, clock: ManualClock, store: CallStore
) -> None:
    store.upsert_calls([make_log("a", int(NOW) - 3600)])
    async with api_client(httpx.ASGITransport(app=app), clock, token=WRONG_TOKEN) as client:
        results = await run_all(context_for(client, store))

    token = results[TOKEN_ACCEPTED]
    assert token.status is CheckStatus.FAILED
    assert token.result == (
        "MyOperator rejected the API token: it may be incomplete or no longer valid."
    )
    assert "Manage → API integration" in token.advice
    for name in (USERS_PERMITTED, RECORDINGS_PERMITTED):
        assert results[name].status is CheckStatus.SKIPPED
        assert results[name].result == "Skipped: the token was rejected."
    assert results[SERVICE_REACHABLE].status is CheckStatus.OK
    assert results[CACHE_HEALTHY].status is CheckStatus.OK
    # Nothing was asked of the service after the rejection.
    assert [r.path for r in app.sandbox.requests] == ["/", "/search"]


class UsersForbidden(SandboxTransport):
    """The emulated service lets every role list users; a live account's role may not."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/user":
            refusal = {"status": "error", "code": 403, "message": "You may not view users"}
            return httpx.Response(403, json=refusal)
        return await super().handle_async_request(request)


async def test_a_token_that_may_not_read_users_says_so(
    app: SandboxApp, clock: ManualClock, store: CallStore
) -> None:
    async with api_client(UsersForbidden(app), clock) as client:
        await fill_cache(client, store)
        results = await run_all(context_for(client, store))

    users = results[USERS_PERMITTED]
    assert users.status is CheckStatus.FAILED
    assert users.result == "This token may not read users."
    assert "Admin" in users.advice
    assert results[TOKEN_ACCEPTED].status is CheckStatus.OK
    assert results[RECORDINGS_PERMITTED].status is CheckStatus.OK


# ------------------------------------------------------------------------ faults


FAULTS = {
    "429:path=/search,retry_after=2": (
        CheckStatus.WARNING, "MyOperator is rate-limiting this account",
    ),
    "503:path=/search": (CheckStatus.FAILED, "MyOperator had a server error (code 503)"),
    "html502:path=/search": (CheckStatus.FAILED, "an HTML error page (HTTP 502)"),
    "malformed:path=/search": (CheckStatus.FAILED, "an answer that is not JSON"),
    "drop:path=/search": (CheckStatus.FAILED, "the connection was dropped"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_each_fault_of_the_service_has_its_own_sentence(
    fault: str, client: MyOperatorClient, store: CallStore, app: SandboxApp
) -> None:
    app.sandbox.faults.add(fault)
    results = await run_all(context_for(client, store))

    status, words = FAULTS[fault]
    token = results[TOKEN_ACCEPTED]
    assert (token.status, words in token.result) == (status, True), token
    assert token.advice
    # Tried once: a diagnosis reports what happens now, it does not retry it away.
    assert sum(r.path == "/search" for r in app.sandbox.requests) == 1
    users = results[USERS_PERMITTED]
    if fault.startswith("429"):
        # The account's window is full (the service said so): the next check waits not.
        assert users.status is CheckStatus.WARNING
        assert users.result.startswith("The request budget is exhausted for now")
    else:  # only /search is faulty: the users check still answers
        assert users.status is CheckStatus.OK


async def test_the_fault_sentences_all_differ(
    app: SandboxApp, clock: ManualClock, store: CallStore
) -> None:
    seen = set()
    for fault in FAULTS:
        app.sandbox.faults.clear()
        app.sandbox.faults.add(fault)
        async with api_client(httpx.ASGITransport(app=app), clock) as client:
            results = await run_all(context_for(client, store))
        seen.add((results[TOKEN_ACCEPTED].result, results[TOKEN_ACCEPTED].advice))
    assert len({result for result, _ in seen}) == len(FAULTS)


async def test_a_spent_budget_is_a_warning_not_a_long_wait(
    client: MyOperatorClient, store: CallStore, clock: ManualClock, app: SandboxApp
) -> None:
    budget = RequestBudget((Window("minute", 2, 60.0),), clock=clock, sleep=clock.sleep)
    await budget.acquire()
    await budget.acquire()
    async with api_client(httpx.ASGITransport(app=app), clock, budget=budget) as spent:
        results = await run_all(context_for(spent, store))

    token = results[TOKEN_ACCEPTED]
    assert token.status is CheckStatus.WARNING
    assert token.result == "The request budget is exhausted for now: try again in 1 min."
    assert results[USERS_PERMITTED].status is CheckStatus.WARNING
    headroom = results[RATE_LIMIT_HEADROOM]
    assert headroom.status is CheckStatus.WARNING
    assert "Requests left: 0 of 2 this minute." in headroom.result
    assert clock.slept == []  # nothing waited for the budget
    assert not any(r.path == "/search" for r in app.sandbox.requests)


# ------------------------------------------------------------------------ the way there


async def test_a_closed_port_is_refused_and_the_network_checks_are_skipped(
    store: CallStore, clock: ManualClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Closed now: nothing listens there.
    async with api_client(None, clock, base_url=f"http://127.0.0.1:{port}") as client:
        results = await run_all(context_for(client, store))

    reach = results[SERVICE_REACHABLE]
    assert reach.status is CheckStatus.FAILED
    assert reach.result == f"127.0.0.1 refused the connection on port {port}."
    assert "firewall" in reach.advice
    for name in (TOKEN_ACCEPTED, USERS_PERMITTED, RECORDINGS_PERMITTED):
        assert results[name].status is CheckStatus.SKIPPED
        assert "could not be reached" in results[name].result
    for name in (RATE_LIMIT_HEADROOM, KEYRING_WORKING, CACHE_HEALTHY, AUDIO_OUTPUT):
        assert results[name].status is CheckStatus.OK


async def test_plain_http_behind_https_is_a_tls_failure(
    store: CallStore, clock: ManualClock
) -> None:
    async def answer_in_plain_text(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(1024)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_in_plain_text, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with api_client(None, clock, base_url=f"https://127.0.0.1:{port}") as client:
            results = await run_all(context_for(client, store))
    finally:
        server.close()
        await server.wait_closed()

    reach = results[SERVICE_REACHABLE]
    assert reach.status is CheckStatus.FAILED
    assert reach.result.startswith("The secure connection (TLS) to 127.0.0.1 failed")
    assert results[TOKEN_ACCEPTED].status is CheckStatus.SKIPPED


class Unreachable(httpx.AsyncBaseTransport):
    """The network failing in a given way, as httpx reports it (the cause underneath)."""

    def __init__(self, cause: BaseException, wrapper: type[httpx.TransportError]) -> None:
        self.cause = cause
        self.wrapper = wrapper

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.wrapper(str(self.cause)) from self.cause


@pytest.mark.parametrize(
    ("cause", "wrapper", "words"),
    [
        (socket.gaierror(-2, "Name or service not known"), httpx.ConnectError,
         "The name sandbox could not be found (DNS)"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), httpx.ConnectError,
         "This computer has no way to sandbox"),
        (ssl.SSLCertVerificationError("certificate verify failed"), httpx.ConnectError,
         "its certificate could not be verified"),
        (TimeoutError(), httpx.ConnectTimeout, "sandbox did not answer in time"),
    ],
    ids=["dns", "no-route", "certificate", "timeout"],
)
async def test_each_way_of_not_getting_there_has_its_own_sentence(
    cause: BaseException,
    wrapper: type[httpx.TransportError],
    words: str,
    store: CallStore,
    clock: ManualClock,
) -> None:
    async with api_client(Unreachable(cause, wrapper), clock) as client:
        results = await run_all(context_for(client, store))

    reach = results[SERVICE_REACHABLE]
    assert reach.status is CheckStatus.FAILED
    assert words in reach.result
    assert reach.advice


# ------------------------------------------------------------------------ local checks


async def test_a_damaged_cache_fails_its_check(
    tmp_path: Path, client: MyOperatorClient
) -> None:
    path = tmp_path / "calls.db"
    with CallStore.open(path) as healthy:
        healthy.upsert_calls(make_log(f"id-{i}", i) for i in range(2000))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    for offset in range(5 * 4096, 15 * 4096, 7):  # b-tree pages; the header stays
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    # Damaged while the app runs: opened as it is, without the recovery at start.
    damaged = CallStore(sqlite3.connect(path, check_same_thread=False, isolation_level=None))
    try:
        results = await run_all(context_for(client, damaged))
    finally:
        damaged.close()

    cache = results[CACHE_HEALTHY]
    assert cache.status is CheckStatus.FAILED
    assert cache.result.startswith("The call cache is damaged: ")
    assert "start the app again" in cache.advice
    assert results[AUDIO_OUTPUT].status is CheckStatus.OK  # the checks after it still ran


async def test_keyring_and_audio_problems_are_warnings_with_advice(
    client: MyOperatorClient, store: CallStore
) -> None:
    async def no_keyring() -> str | None:
        return "No keyring backend is available on this system"

    results = await run_all(
        context_for(client, store, keyring=no_keyring, audio=lambda: "No audio output was found.")
    )

    keyring = results[KEYRING_WORKING]
    assert keyring.status is CheckStatus.WARNING
    assert keyring.result == (
        "No keyring backend is available on this system. "
        "Where the token is kept: the system keyring."
    )
    assert "session only" in keyring.advice
    audio = results[AUDIO_OUTPUT]
    assert (audio.status, audio.result) == (CheckStatus.WARNING, "No audio output was found.")
    assert "headphones" in audio.advice


async def test_a_hung_keyring_is_given_up_on(client: MyOperatorClient, store: CallStore) -> None:
    never = asyncio.Event()

    async def hangs() -> str | None:
        await never.wait()
        return None

    results = await run_all(context_for(client, store, keyring=hangs, keyring_timeout_s=0.05))

    assert results[KEYRING_WORKING].status is CheckStatus.WARNING
    assert results[KEYRING_WORKING].result.startswith("The keyring did not answer within 1 s.")
    assert results[CACHE_HEALTHY].status is CheckStatus.OK


async def test_a_check_that_breaks_is_its_own_failure_not_the_end(
    client: MyOperatorClient, store: CallStore
) -> None:
    def broken_audio() -> str | None:
        raise RuntimeError("the audio probe broke")

    results = await run_all(context_for(client, store, audio=broken_audio))

    audio = results[AUDIO_OUTPUT]
    assert audio.status is CheckStatus.FAILED
    assert audio.result == (
        "The check could not run: Something unexpected went wrong "
        "(RuntimeError: the audio probe broke)."
    )
    assert results[CACHE_HEALTHY].status is CheckStatus.OK


# ------------------------------------------------------------------------ the report


async def test_the_report_carries_the_checks_and_never_the_token(
    client: MyOperatorClient, store: CallStore, app: SandboxApp
) -> None:
    app.sandbox.faults.add("503:path=/user")
    results = [r async for r in run_checks(context_for(client, store))]
    unregistered = "0123456789abcdef0123456789abcdef"
    log_lines = [
        "2026-11-30 10:00:00 INFO httpx: HTTP Request: POST http://sandbox/search?token="
        + FAKE_TOKEN,
        f"2026-11-30 10:00:01 ERROR app: failed with {FAKE_TOKEN} in the text",
        f"2026-11-30 10:00:02 WARNING app: token for the account {unregistered} (stale)",
    ]

    report = build_report(
        results,
        versions={"MyOperator Desktop": "0.1.0", "Python": "3.11.7", "Qt": "6.11.3"},
        platform="Linux-6.1-x86_64",
        settings={
            "sync/interval_s": "60",
            "account/api_token": "stored-elsewhere",
            "relay/Secret": "x",
            "proxy/password": "y",
            "account/base_url": f"http://sandbox/?token={FAKE_TOKEN}",
        },
        log_lines=log_lines,
    )

    assert FAKE_TOKEN not in report
    assert unregistered not in report
    for name in CHECK_NAMES:
        assert f"] {name}: " in report
    assert "[Failed] Users permitted: MyOperator had a server error (code 503)." in report
    assert "What to do: The service, or a proxy in front of it, is failing" in report
    assert "Qt: 6.11.3" in report and "Platform: Linux-6.1-x86_64" in report
    assert "sync/interval_s = 60" in report
    for secret_key in ("api_token", "relay/Secret", "proxy/password"):
        assert secret_key not in report
    assert "token for the account *** (stale)" in report
    assert "Log (last 3 lines)" in report


def test_the_second_net_masks_only_token_shaped_runs_after_the_word_token() -> None:
    run = "abcdef0123456789abcdef0123456789"
    assert diagnostics.mask_token_runs(f"id {run}") == f"id {run}"
    assert diagnostics.mask_token_runs(f"Token {run}, again {run}") == "Token ***, again ***"
    assert diagnostics.mask_token_runs(f"token {run[:31]}") == f"token {run[:31]}"


def test_the_log_tail_reaches_back_into_rotated_files(tmp_path: Path) -> None:
    (tmp_path / LOG_FILE_NAME).write_text("now 1\nnow 2\nnow 3\n", encoding="utf-8")
    (tmp_path / f"{LOG_FILE_NAME}.1").write_text(
        "".join(f"one {i}\n" for i in range(1, 6)), encoding="utf-8"
    )
    (tmp_path / f"{LOG_FILE_NAME}.2").write_text(
        "".join(f"two {i}\n" for i in range(1, 6)), encoding="utf-8"
    )

    assert log_tail(tmp_path, 10) == [
        "two 4", "two 5", "one 1", "one 2", "one 3", "one 4", "one 5",
        "now 1", "now 2", "now 3",
    ]
    assert log_tail(tmp_path, 2) == ["now 2", "now 3"]
    assert log_tail(tmp_path / "missing") == []


def test_versions_name_the_app_python_and_what_the_window_adds() -> None:
    import platform

    found = diagnostics.versions({"Qt": "6.11.3", "PySide6": "6.11.3"})

    assert list(found) == ["MyOperator Desktop", "Python", "Qt", "PySide6"]
    assert found["Python"].startswith(platform.python_version())
    assert found["MyOperator Desktop"] == "0.1.0"
