"""Help → Diagnostics: what works and what does not, each with what to do about it.

An agent whose calls do not show up, or an admin helping one, needs answers they can act
on without a terminal: is the service reachable from here, is the token accepted, may it
read users and recordings, how much of the request limit is left, does the keyring work,
is the cache sound, can recordings be heard. `run_checks` answers in that order, one
`CheckResult` at a time, so a window can fill in each row as it finishes; `build_report`
turns the results (and the versions, settings and the log's tail) into plain text to send
to whoever helps, with every secret taken out.

The network checks make one request each, tried once, and wait at most a few seconds for
the request budget: a diagnosis that queues behind the sync for minutes is no diagnosis.

Qt-free: the window passes in what only Qt knows (the audio outputs, Qt's version).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform as platform_module
import re
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import httpx

from desktop_app.api.budget import Priority, RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import (
    MalformedResponse,
    MyOperatorError,
    NetworkError,
    NotFound,
    NotReadyYet,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRejected,
)
from desktop_app.api.probe import ConnectFailure, Reachability
from desktop_app.api.redact import REDACTED, redact
from desktop_app.api.waits import format_wait
from desktop_app.services.formatting import format_local_time
from desktop_app.services.logs import LOG_BACKUPS, LOG_FILE_NAME
from desktop_app.services.tasks import describe_failure
from desktop_app.store import CallQuery, CallStore

APP_DISTRIBUTION: Final = "myoperator-desktop"

SERVICE_REACHABLE: Final = "Service reachable"
TOKEN_ACCEPTED: Final = "Token accepted"
USERS_PERMITTED: Final = "Users permitted"
RECORDINGS_PERMITTED: Final = "Recordings permitted"
RATE_LIMIT_HEADROOM: Final = "Rate-limit headroom"
KEYRING_WORKING: Final = "Keyring working"
CACHE_HEALTHY: Final = "Cache healthy"
AUDIO_OUTPUT: Final = "Audio output available"
#: The checks, in the order `run_checks` reports them.
CHECK_NAMES: Final = (
    SERVICE_REACHABLE,
    TOKEN_ACCEPTED,
    USERS_PERMITTED,
    RECORDINGS_PERMITTED,
    RATE_LIMIT_HEADROOM,
    KEYRING_WORKING,
    CACHE_HEALTHY,
    AUDIO_OUTPUT,
)

#: The longest a network check waits for the request budget before saying it is spent.
BUDGET_WAIT_S: Final = 5.0
#: The longest one check may take before it is reported as not answering.
CHECK_TIMEOUT_S: Final = 25.0
#: A keyring call can hang on a locked collection: the check gives up after this.
KEYRING_TIMEOUT_S: Final = 10.0
#: How much of the log a report carries.
REPORT_LOG_LINES: Final = 200
#: A window of the request budget is "low" below this share of its limit.
LOW_HEADROOM_SHARE: Final = 0.1

#: Settings whose key says it is a secret never reach a report, whatever the caller gives.
_SECRET_KEY_WORDS: Final = ("token", "secret", "password")
#: The second net: after the word "token", any run of 32 or more hex digits (the live
#: token's shape) is masked even when the redactor was never told that token.
_HEX_RUN: Final = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
_TOKEN_WORD: Final = re.compile(r"(?i)token")

_ADVICE_TOKEN: Final = (
    "Copy the Public API token again from the MyOperator panel (Manage → API integration) "
    "and replace the one this app uses."
)
_ADVICE_RATE: Final = (
    "Every desktop and integration on the account shares its request limit: run the checks "
    "again in a few minutes."
)
_ADVICE_SERVER: Final = (
    "The service, or a proxy in front of it, is failing; that usually passes within minutes. "
    "Run the checks again later, and if it goes on, send the report to MyOperator support."
)
_ADVICE_MALFORMED: Final = (
    "A proxy may be changing the traffic, or the service has a fault. Run the checks again "
    "later; if it goes on, send the report to MyOperator support."
)
_ADVICE_NETWORK: Final = (
    "The connection broke on the way: check the network (Wi-Fi, cable, VPN) and run the "
    "checks again."
)
_ADVICE_BUG: Final = "This is a fault in the app: please send the report (Copy report)."


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS: Final = {
    CheckStatus.OK: "OK",
    CheckStatus.WARNING: "Warning",
    CheckStatus.FAILED: "Failed",
    CheckStatus.SKIPPED: "Skipped",
}


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: what was found (a sentence) and what to do ("" when OK)."""

    name: str
    status: CheckStatus
    result: str
    advice: str = ""


@dataclass(frozen=True)
class DiagnosticsContext:
    """What the checks look at; the window provides what only it can know."""

    client: MyOperatorClient
    store: CallStore
    #: None when the keyring works; else a sentence saying how it fails.
    keyring_problem: Callable[[], Awaitable[str | None]]
    #: None when an audio output exists; else a sentence (Qt's QMediaDevices knows).
    audio_problem: Callable[[], str | None]
    #: Where the token is kept, as a phrase: "the system keyring", "…environment variable".
    token_location: str
    #: Connected through the team relay: `client` is its pass-through, the secret is the
    #: agent's relay credential, and the relay counts the account's requests.
    relay: bool = False
    budget_wait_s: float = BUDGET_WAIT_S
    check_timeout_s: float = CHECK_TIMEOUT_S
    keyring_timeout_s: float = KEYRING_TIMEOUT_S


async def run_checks(context: DiagnosticsContext) -> AsyncIterator[CheckResult]:
    """Every check of `CHECK_NAMES`, in order, each result as soon as it is known.

    A check that fails in any way is that check's FAILED result, never an exception; one
    that cannot mean anything after an earlier failure is SKIPPED, saying why.
    """
    reach = await _guarded(SERVICE_REACHABLE, _check_reachable(context), context)
    yield reach
    skip_why = (
        "Skipped: MyOperator could not be reached from this computer."
        if reach.status is CheckStatus.FAILED
        else None
    )
    if skip_why is None:
        token = await _guarded(TOKEN_ACCEPTED, _check_token(context), context)
        if token == _rejected(TOKEN_ACCEPTED, relay=context.relay):
            skip_why = (
                "Skipped: the relay refused the credential." if context.relay
                else "Skipped: the token was rejected."
            )
    else:
        token = _skipped(TOKEN_ACCEPTED, skip_why)
    yield token
    for name, check in (
        (USERS_PERMITTED, _check_users),
        (RECORDINGS_PERMITTED, _check_recordings),
    ):
        if skip_why is not None:
            yield _skipped(name, skip_why)
        else:
            yield await _guarded(name, check(context), context)
    yield await _guarded(RATE_LIMIT_HEADROOM, _check_headroom(context), context)
    yield await _guarded(KEYRING_WORKING, _check_keyring(context), context)
    yield await _guarded(CACHE_HEALTHY, _check_cache(context), context)
    yield await _guarded(AUDIO_OUTPUT, _check_audio(context), context)


# ------------------------------------------------------------------------ the checks


async def _guarded(
    name: str, check: Awaitable[CheckResult], context: DiagnosticsContext
) -> CheckResult:
    """`check`'s result, or its failure (or its silence) as a FAILED result."""
    try:
        async with asyncio.timeout(context.check_timeout_s):
            return await check
    except TimeoutError:
        return CheckResult(
            name,
            CheckStatus.FAILED,
            f"No answer came within {format_wait(context.check_timeout_s)}.",
            "The network or the service is very slow right now: run the checks again.",
        )
    except MyOperatorError as exc:
        return _api_failure(name, exc, relay=context.relay)
    except Exception as exc:
        return CheckResult(
            name, CheckStatus.FAILED, f"The check could not run: {describe_failure(exc)}",
            _ADVICE_BUG,
        )


def _skipped(name: str, why: str) -> CheckResult:
    return CheckResult(name, CheckStatus.SKIPPED, why, "")


async def _check_reachable(context: DiagnosticsContext) -> CheckResult:
    client = context.client
    answer = await client.reach()
    host, port = _host_and_port(client.base_url)
    if answer.reached:
        return CheckResult(
            SERVICE_REACHABLE,
            CheckStatus.OK,
            f"{host} answered (HTTP {answer.status} to a request without the token).",
        )
    result, advice = _unreachable_text(answer, host, port)
    return CheckResult(SERVICE_REACHABLE, CheckStatus.FAILED, result, advice)


def _unreachable_text(answer: Reachability, host: str, port: int) -> tuple[str, str]:
    detail = f" ({answer.detail})" if answer.detail else ""
    match answer.failure:
        case ConnectFailure.NAME_NOT_FOUND:
            return (
                f"The name {host} could not be found (DNS){detail}.",
                "Check that this computer is online, and that the service's address is "
                "spelled right.",
            )
        case ConnectFailure.REFUSED:
            return (
                f"{host} refused the connection on port {port}.",
                "Nothing accepts connections at that address: check the service's address "
                "and port, or whether a firewall blocks it.",
            )
        case ConnectFailure.NO_ROUTE:
            return (
                f"This computer has no way to {host}: the network is down or "
                f"unreachable{detail}.",
                "Check that this computer is online (Wi-Fi, cable, VPN).",
            )
        case ConnectFailure.CERTIFICATE:
            return (
                f"The secure connection to {host} failed: its certificate could not be "
                f"verified{detail}.",
                "Check that this computer's date and time are right. A company proxy that "
                "inspects HTTPS needs its certificate installed: ask IT.",
            )
        case ConnectFailure.TLS:
            return (
                f"The secure connection (TLS) to {host} failed{detail}.",
                "A proxy or firewall may be interfering with HTTPS, or the address uses "
                "https:// for a server that does not speak it: ask IT, or check the address.",
            )
        case ConnectFailure.TIMEOUT:
            return (
                f"{host} did not answer in time (the connection timed out).",
                "The network is slow, or a firewall drops the traffic: run the checks again.",
            )
        case ConnectFailure.DROPPED:
            return (
                f"The connection to {host} closed before an answer came.",
                "A proxy or firewall may be cutting connections: run the checks again.",
            )
        case _:
            return (
                f"Connecting to {host} failed{detail}.",
                "Check that this computer is online and run the checks again.",
            )


def _budget_spent(context: DiagnosticsContext) -> CheckResult | None:
    """A WARNING when the budget would make a check wait longer than it may."""
    wait = context.client.budget.wait_time(Priority.BACKGROUND)
    if wait <= context.budget_wait_s:
        return None
    return CheckResult(
        "",
        CheckStatus.WARNING,
        f"The request budget is exhausted for now: try again in {format_wait(wait)}.",
        "The app keeps part of the account's request limit for calls and user changes; "
        "the checks need none of that part. Run them again later.",
    )


def _quick(context: DiagnosticsContext) -> RetryPolicy:
    """One try, a short wait for the budget: a diagnosis reports what happens now."""
    return RetryPolicy(attempts=1, max_budget_wait_s=context.budget_wait_s)


async def _check_token(context: DiagnosticsContext) -> CheckResult:
    spent = _budget_spent(context)
    if spent is not None:
        return _named(TOKEN_ACCEPTED, spent)
    await context.client.search_logs(page_size=1, retry=_quick(context))
    if context.relay:
        return CheckResult(
            TOKEN_ACCEPTED, CheckStatus.OK,
            "The team relay accepted your credential: the call log answered through it.",
        )
    return CheckResult(
        TOKEN_ACCEPTED, CheckStatus.OK, "The token was accepted: the call log answered."
    )


async def _check_users(context: DiagnosticsContext) -> CheckResult:
    spent = _budget_spent(context)
    if spent is not None:
        return _named(USERS_PERMITTED, spent)
    try:
        await context.client.list_users(page_size=1, retry=_quick(context))
    except PermissionDenied:
        return CheckResult(
            USERS_PERMITTED,
            CheckStatus.FAILED,
            "This token may not read users.",
            "The users list, \u201cwho am I\u201d and calling a colleague need it: use the "
            "token of a user whose role may read users (an Admin), or ask an admin to allow it.",
        )
    return CheckResult(USERS_PERMITTED, CheckStatus.OK, "The token may read the users list.")


async def _check_recordings(context: DiagnosticsContext) -> CheckResult:
    store = context.store
    newest = await asyncio.to_thread(
        store.fetch, CallQuery(has_recording=True), 0, 1
    )
    if not newest or not newest[0].filename:
        return _skipped(
            RECORDINGS_PERMITTED,
            "Skipped: no call with a recording is in the cache yet.",
        )
    call = newest[0]
    filename = call.filename
    assert filename is not None
    spent = _budget_spent(context)
    if spent is not None:
        return _named(RECORDINGS_PERMITTED, spent)
    when = format_local_time(call.start_time)
    try:
        await context.client.recording_link(filename, retry=_quick(context))
    except NotReadyYet:
        return CheckResult(
            RECORDINGS_PERMITTED,
            CheckStatus.OK,
            f"The service answered for the recording of the call at {when}: not ready yet, "
            "but the token may fetch recordings.",
        )
    except PermissionDenied:
        return CheckResult(
            RECORDINGS_PERMITTED,
            CheckStatus.FAILED,
            "This token may not fetch recordings.",
            "Use the token of a user whose role may play recordings, or ask an admin to "
            "allow it.",
        )
    except NotFound:
        return CheckResult(
            RECORDINGS_PERMITTED,
            CheckStatus.WARNING,
            f"The recording of the call at {when} is no longer on the service.",
            "Older recordings may have been removed; newer ones should play. Run the checks "
            "again after the next call with a recording.",
        )
    return CheckResult(
        RECORDINGS_PERMITTED,
        CheckStatus.OK,
        f"A link was issued for the recording of the call at {when}.",
    )


async def _check_headroom(context: DiagnosticsContext) -> CheckResult:
    # On the loop, as the status bar reads it every second: the budget's own bookkeeping
    # is the loop's, and a stored ledger answers this read from one small query.
    if context.relay and context.client.budget.wait_time(Priority.BACKGROUND) <= 0:
        return CheckResult(
            RATE_LIMIT_HEADROOM, CheckStatus.OK,
            "The team relay counts the account's requests for the whole team and answers "
            "for its limit; this desktop counts none of its own.",
        )
    return _headroom(context.client.budget)


def _headroom(budget: RequestBudget) -> CheckResult:
    """Requests left in each window; a WARNING when one is nearly spent or blocked."""
    status = budget.status(0.0)
    wait = budget.wait_time(Priority.BACKGROUND)
    if not status.windows:
        if wait > 0:
            return CheckResult(
                RATE_LIMIT_HEADROOM,
                CheckStatus.WARNING,
                f"MyOperator asked for a pause: the next request is possible in "
                f"{format_wait(wait)}.",
                _ADVICE_RATE,
            )
        return CheckResult(
            RATE_LIMIT_HEADROOM,
            CheckStatus.OK,
            "This app counts no request limit for this account (only the service's pauses).",
        )
    parts = [f"{w.left} of {w.limit} {_window_phrase(w.name)}" for w in status.windows]
    counts = "Requests left: " + ", ".join(parts) + "."
    low = [
        w for w in status.windows
        if w.background_left == 0 or w.left < max(1, w.limit * LOW_HEADROOM_SHARE)
    ]
    if wait > 0 or low:
        later = f" The next background request is possible in {format_wait(wait)}." if wait else ""
        return CheckResult(
            RATE_LIMIT_HEADROOM,
            CheckStatus.WARNING,
            counts + later,
            "Syncing slows down to keep requests for calls and user changes. If this "
            "happens every day, other desktops or integrations share the account's limit: "
            "a longer sync interval leaves more for everyone.",
        )
    return CheckResult(RATE_LIMIT_HEADROOM, CheckStatus.OK, counts)


def _window_phrase(name: str) -> str:
    return {"minute": "this minute", "hour": "this hour", "day": "today"}.get(
        name, f"in the {name} window"
    )


async def _check_keyring(context: DiagnosticsContext) -> CheckResult:
    where = f" Where the token is kept: {context.token_location}."
    try:
        async with asyncio.timeout(context.keyring_timeout_s):
            problem = await context.keyring_problem()
    except TimeoutError:
        return CheckResult(
            KEYRING_WORKING,
            CheckStatus.WARNING,
            f"The keyring did not answer within {format_wait(context.keyring_timeout_s)}."
            + where,
            "A locked keyring waits for its password: unlock it (GNOME Keyring, KWallet, "
            "the Keychain or the Credential Manager) and run the checks again.",
        )
    if problem is None:
        return CheckResult(KEYRING_WORKING, CheckStatus.OK, "The keyring works." + where)
    return CheckResult(
        KEYRING_WORKING,
        CheckStatus.WARNING,
        _sentence(problem) + where,
        "Without a keyring the token is kept for this session only and asked for again "
        "next time. Install or unlock the system's keyring (GNOME Keyring, KWallet) to "
        "keep it safely.",
    )


@dataclass(frozen=True)
class _CacheFacts:
    problems: tuple[str, ...]
    calls: int | None
    size: int | None


async def _check_cache(context: DiagnosticsContext) -> CheckResult:
    store = context.store
    path = await asyncio.to_thread(_database_file, store)
    facts = await asyncio.to_thread(_inspect_cache, store, path)
    moved = store.moved_aside
    aside = (
        f" A damaged copy was set aside when the app started ({moved.name})."
        if moved is not None
        else ""
    )
    if facts.problems:
        shown = "; ".join(facts.problems[:3])
        return CheckResult(
            CACHE_HEALTHY,
            CheckStatus.FAILED,
            f"The call cache is damaged: {shown}.",
            "Quit and start the app again: a damaged cache is set aside and rebuilt by the "
            "next sync. Nothing on the service is lost.",
        )
    what = [f"{facts.calls:,} calls" if facts.calls is not None else "its calls"]
    if facts.size is not None:
        what.append(format_size(facts.size))
    return CheckResult(
        CACHE_HEALTHY, CheckStatus.OK, f"The call cache is sound ({', '.join(what)}).{aside}"
    )


def _database_file(store: CallStore) -> str:
    """The cache's file ("" for one in memory); briefly under the store's lock."""
    with store.lock:
        rows = store.connection.execute("PRAGMA database_list").fetchall()
    return next((str(row[2] or "") for row in rows if row[1] == "main"), "")


def _inspect_cache(store: CallStore, path: str) -> _CacheFacts:
    """``PRAGMA quick_check``, the number of calls and the file's size.

    On a connection of its own where the cache is a file: a check of a large cache takes
    seconds, and holding the store's lock that long would freeze the window, which reads
    through the same lock. SQLite's WAL lets the two read side by side.
    """
    if not path:
        with store.lock:
            return _read_facts(store.connection, None)
    conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
    try:
        conn.execute("PRAGMA query_only=ON")
        return _read_facts(conn, path)
    finally:
        conn.close()


def _read_facts(conn: sqlite3.Connection, path: str | None) -> _CacheFacts:
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return _CacheFacts((str(exc),), None, None)
    problems = tuple(str(row[0]) for row in rows if str(row[0]) != "ok")
    calls: int | None = None
    if not problems:
        try:
            calls = int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            problems = (str(exc),)
    size: int | None = None
    if path is not None:
        size = sum(
            os.path.getsize(name)
            for name in (path, path + "-wal")
            if os.path.exists(name)
        )
    return _CacheFacts(problems, calls, size)


async def _check_audio(context: DiagnosticsContext) -> CheckResult:
    problem = context.audio_problem()
    if problem is None:
        return CheckResult(AUDIO_OUTPUT, CheckStatus.OK, "An audio output device is available.")
    return CheckResult(
        AUDIO_OUTPUT,
        CheckStatus.WARNING,
        _sentence(problem),
        "Recordings and the missed-call sound need one: connect headphones or speakers, "
        "or check the system's sound settings.",
    )


# ------------------------------------------------------------------------ wording


def _rejected(name: str, *, relay: bool = False) -> CheckResult:
    if relay:
        return CheckResult(
            name,
            CheckStatus.FAILED,
            "The team relay refused your credential: it is unknown or was revoked.",
            "Ask your admin for a new credential, then give it in Preferences → Replace "
            "relay credential.",
        )
    return CheckResult(
        name,
        CheckStatus.FAILED,
        "MyOperator rejected the API token: it may be incomplete or no longer valid.",
        _ADVICE_TOKEN,
    )


def _api_failure(name: str, exc: MyOperatorError, *, relay: bool = False) -> CheckResult:
    """An error the client raised, as the check's result: its own sentence, and advice."""
    if isinstance(exc, TokenRejected):
        return _rejected(name, relay=relay)
    if isinstance(exc, RateLimited):
        return CheckResult(name, CheckStatus.WARNING, _sentence(exc.message), _ADVICE_RATE)
    if isinstance(exc, ServerError):
        return CheckResult(name, CheckStatus.FAILED, _sentence(exc.message), _ADVICE_SERVER)
    if isinstance(exc, MalformedResponse):
        return CheckResult(name, CheckStatus.FAILED, _sentence(exc.message), _ADVICE_MALFORMED)
    if isinstance(exc, NetworkError):
        return CheckResult(name, CheckStatus.FAILED, _sentence(exc.message), _ADVICE_NETWORK)
    if isinstance(exc, PermissionDenied):
        return CheckResult(
            name, CheckStatus.FAILED, _sentence(exc.message),
            "Use the token of a user whose role allows this (an Admin).",
        )
    return CheckResult(name, CheckStatus.FAILED, _sentence(exc.message), _ADVICE_SERVER)


def _named(name: str, result: CheckResult) -> CheckResult:
    return CheckResult(name, result.status, result.result, result.advice)


def _sentence(text: str) -> str:
    text = " ".join(redact(text).split())
    if not text:
        return "No reason was given."
    return text if text.endswith((".", "!", "?")) else text + "."


def _host_and_port(base_url: str) -> tuple[str, int]:
    url = httpx.URL(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.host, port


def format_size(size: int) -> str:
    """Bytes as a person reads them: "812 bytes", "4.2 MB"."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------ the report


def distribution_version(name: str) -> str | None:
    """An installed distribution's version (a venv, a wheel, a bundle that kept the
    metadata), or None where its metadata is missing."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(toolkit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The app's and Python's versions, then `toolkit`'s (Qt and PySide6, from the window:
    this module imports no Qt)."""
    app = distribution_version(APP_DISTRIBUTION) or "unknown (not installed as a package)"
    found = {
        "MyOperator Desktop": app,
        "Python": f"{platform_module.python_version()} ({platform_module.python_implementation()})",
    }
    found.update(toolkit or {})
    return found


def platform_text() -> str:
    """The operating system as one line ("Linux-6.1.0-…-x86_64-with-glibc2.36")."""
    return platform_module.platform()


def log_tail(log_dir: Path, lines: int = REPORT_LOG_LINES) -> list[str]:
    """The last `lines` lines of the app's log, oldest first, reaching back into the
    rotated files (``.1`` is the newest of them) when the current one is short."""
    if lines <= 0:
        return []
    newest_first = [log_dir / LOG_FILE_NAME] + [
        log_dir / f"{LOG_FILE_NAME}.{n}" for n in range(1, LOG_BACKUPS + 1)
    ]
    collected: list[list[str]] = []
    wanted = lines
    for path in newest_first:
        try:
            with path.open(encoding="utf-8", errors="replace") as file:
                tail = deque((line.rstrip("\r\n") for line in file), maxlen=wanted)
        except FileNotFoundError:
            continue
        except OSError as exc:
            tail = deque([f"({path.name} could not be read: {exc.strerror or exc})"])
        collected.append(list(tail))
        wanted -= len(tail)
        if wanted <= 0:
            break
    return [line for chunk in reversed(collected) for line in chunk]


def build_report(
    results: Sequence[CheckResult],
    *,
    versions: Mapping[str, str],
    platform: str,
    settings: Mapping[str, str],
    log_lines: Sequence[str],
) -> str:
    """The plain-text report Copy report puts on the clipboard, every secret taken out.

    `settings` come without secrets from the caller; keys that name one are dropped here
    all the same. The whole text goes through `redact`, then a second net masks any
    token-shaped run of hex digits that follows the word "token".
    """
    out: list[str] = ["MyOperator Desktop diagnostics report", "", "Versions"]
    out += [f"  {name}: {value}" for name, value in versions.items()]
    out += ["", f"Platform: {platform}", "", "Checks"]
    if not results:
        out.append("  (no checks have run)")
    for each in results:
        out.append(f"  [{each.status.label}] {each.name}: {each.result}")
        if each.advice:
            out.append(f"      What to do: {each.advice}")
    out += ["", "Settings"]
    shown = {
        key: value for key, value in settings.items()
        if not any(word in key.lower() for word in _SECRET_KEY_WORDS)
    }
    out += [f"  {key} = {value}" for key, value in sorted(shown.items())] or ["  (none)"]
    out += ["", f"Log (last {len(log_lines)} lines)"]
    out += list(log_lines) or ["(the log is empty)"]
    return mask_token_runs(redact("\n".join(out) + "\n"))


def mask_token_runs(text: str) -> str:
    """On each line, every run of 32+ hex digits after the word "token" becomes ``***``."""
    masked = []
    for line in text.split("\n"):
        found = _TOKEN_WORD.search(line)
        if found is not None:
            head, tail = line[: found.end()], line[found.end():]
            line = head + _HEX_RUN.sub(REDACTED, tail)
        masked.append(line)
    return "\n".join(masked)
