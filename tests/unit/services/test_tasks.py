"""The task supervisor: named tasks, newest wins, failures reported in words (never in
silence), loops restarted with a backoff, everything cancelled on close.

Waits go through a `ManualClock`: nothing really sleeps, and a test advances time only
once the supervisor is known to be waiting (`next_sleep`). The full disk is real: SQLite's
``max_page_count`` on the real cache file.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import random
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import NetworkError
from desktop_app.sandbox import SandboxConfig, create_app
from desktop_app.services import excepthook
from desktop_app.services.clock import ManualClock
from desktop_app.services.sync import SyncEngine, SyncStatus
from desktop_app.services.tasks import (
    Backoff,
    SupervisorClosed,
    TaskFailure,
    TaskSupervisor,
    describe_failure,
    is_operational,
)
from desktop_app.store import CallStore
from desktop_app.store.dials import DialRecordError, DialRecords
from tests.helpers.tokens import FAKE_TOKEN

T = 1_700_000_000
NO_JITTER = Backoff(base_s=5.0, cap_s=40.0, jitter=0.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
async def supervisor(clock: ManualClock) -> AsyncIterator[TaskSupervisor]:
    bugs: list[BaseException] = []
    sup = TaskSupervisor("test", backoff=NO_JITTER, sleep=clock.sleep, bug_hook=bugs.append)
    sup.bugs = bugs  # type: ignore[attr-defined]  # what the hook received, for asserts
    yield sup
    await sup.aclose()


def listen(sup: TaskSupervisor) -> list[TaskFailure]:
    heard: list[TaskFailure] = []
    sup.add_failure_listener(heard.append)
    return heard


def fill_the_disk(store: CallStore) -> None:
    """No room for one more page in the cache file: SQLite answers "database or disk is
    full", as on a real full disk."""
    conn = store.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(store: CallStore) -> None:
    store.connection.execute("PRAGMA max_page_count = 1073741823")


# ------------------------------------------------------------------ named, newest wins


async def test_a_new_task_under_a_running_name_cancels_the_old_one(
    supervisor: TaskSupervisor,
) -> None:
    gate = asyncio.Event()
    first = supervisor.spawn("search", gate.wait())
    second = supervisor.spawn("search", gate.wait())
    await asyncio.sleep(0)
    assert first.cancelled()
    assert supervisor.task("search") is second
    other = supervisor.spawn("export", gate.wait())  # another name runs alongside
    gate.set()
    await asyncio.gather(second, other)
    assert not supervisor.running("search") and supervisor.names == []


async def test_a_cancelled_task_is_not_a_failure(supervisor: TaskSupervisor) -> None:
    heard = listen(supervisor)
    task = supervisor.spawn("wait", asyncio.Event().wait())
    await asyncio.sleep(0)
    assert supervisor.cancel("wait")
    await asyncio.gather(task, return_exceptions=True)
    assert heard == [] and supervisor.bugs == []  # type: ignore[attr-defined]
    assert not supervisor.cancel("wait")  # nothing left to cancel


async def test_cancelling_by_name_frees_the_name_at_once_and_close_still_awaits_it(
    supervisor: TaskSupervisor,
) -> None:
    ended: list[str] = []

    async def slow_to_end() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # a cleanup that takes a turn of the loop
            ended.append("old")

    old = supervisor.spawn("search", slow_to_end())
    await asyncio.sleep(0)
    assert supervisor.cancel("search")
    assert not old.done()  # still ending...
    assert not supervisor.running("search") and supervisor.task("search") is None
    assert supervisor.names == []
    new = supervisor.spawn("search", asyncio.Event().wait())
    assert supervisor.task("search") is new
    await asyncio.gather(old, return_exceptions=True)
    assert ended == ["old"] and old.cancelled()
    assert supervisor.task("search") is new  # the old one's end does not free the new's name
    await supervisor.aclose()
    assert new.cancelled()


async def test_a_task_knows_whether_it_is_still_the_newest_of_its_name(
    supervisor: TaskSupervisor,
) -> None:
    seen: dict[str, list[bool]] = {}
    gate = asyncio.Event()

    async def request(label: str) -> None:
        seen[label] = [supervisor.is_current("search")]
        try:
            await gate.wait()
        finally:
            seen[label].append(supervisor.is_current("search"))

    first = supervisor.spawn("search", request("first"))
    await asyncio.sleep(0)
    second = supervisor.spawn("search", request("second"))  # replaces the first
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, second, return_exceptions=True)
    assert seen == {"first": [True, False], "second": [True, True]}

    gate.clear()
    third = supervisor.spawn("search", request("third"))
    other = supervisor.spawn("export", request("other"))  # another name is not "search"
    await asyncio.sleep(0)
    supervisor.cancel("search")
    await asyncio.gather(third, return_exceptions=True)
    assert seen["third"] == [True, False] and seen["other"] == [False]
    assert not supervisor.is_current("search")  # the test's own task never was
    gate.set()
    await other


# --------------------------------------------------------------- failures, never silent


async def test_a_one_shot_failure_reaches_its_owner_the_listeners_and_the_log(
    supervisor: TaskSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    heard = listen(supervisor)
    handled: list[TaskFailure] = []

    async def dial() -> None:
        raise NetworkError("The click-to-call request could not be sent: could not connect.")

    caplog.set_level(logging.ERROR, logger="desktop_app.services.tasks")
    task = supervisor.spawn("dial", dial(), on_failure=handled.append)
    await asyncio.gather(task, return_exceptions=True)

    assert [f.name for f in handled] == ["dial"] and heard == handled
    assert handled[0].retry_in is None  # a one-shot is never retried
    assert handled[0].text == "The click-to-call request could not be sent: could not connect."
    assert "background task test/dial failed" in caplog.text
    assert supervisor.bugs == []  # type: ignore[attr-defined]  # the world failing, not a bug
    assert not supervisor.running("dial")


async def test_a_bug_also_goes_to_the_bug_hook_and_a_failing_listener_hides_nothing(
    supervisor: TaskSupervisor,
) -> None:
    def broken_listener(_failure: TaskFailure) -> None:
        raise RuntimeError("listener bug")

    supervisor.add_failure_listener(broken_listener)
    heard = listen(supervisor)

    async def buggy() -> None:
        raise KeyError("oops")

    await asyncio.gather(supervisor.spawn("buggy", buggy()), return_exceptions=True)
    assert [f.sentence for f in heard] == ["Something unexpected went wrong (KeyError: 'oops')."]
    assert [type(e) for e in supervisor.bugs] == [KeyError]  # type: ignore[attr-defined]


async def test_a_childs_failures_reach_the_parent_and_its_bug_hook(clock: ManualClock) -> None:
    parent_bugs: list[BaseException] = []
    parent = TaskSupervisor("workspace", bug_hook=parent_bugs.append)
    child = parent.adopt(TaskSupervisor("dialer", bug_hook=None))
    heard = listen(parent)
    recovered: list[str] = []
    parent.add_recovery_listener(recovered.append)

    async def fails() -> None:
        raise ZeroDivisionError("division by zero")

    await asyncio.gather(child.spawn("dial", fails()), return_exceptions=True)
    assert [f.name for f in heard] == ["dial"]
    assert [type(e) for e in parent_bugs] == [ZeroDivisionError]

    await child.spawn("dial", asyncio.sleep(0))  # the same work succeeds next time
    assert recovered == ["dial"]

    await parent.aclose()
    assert child.closed  # closing the workspace closes every owner under it


# ---------------------------------------------------------------- loops stay alive


async def test_a_loop_is_restarted_with_a_growing_backoff_until_it_recovers(
    supervisor: TaskSupervisor, clock: ManualClock
) -> None:
    heard = listen(supervisor)
    runs = 0
    done = asyncio.Event()

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.set()
        await asyncio.Event().wait()  # a healthy loop runs until cancelled

    task = supervisor.keep_running("sync", loop)
    for expected in (5.0, 10.0, 20.0):
        assert await clock.next_sleep() == expected
        clock.advance(expected)
    await asyncio.wait_for(done.wait(), 5)
    assert [f.retry_in for f in heard] == [5.0, 10.0, 20.0]
    assert heard[0].text == "A file could not be written: the disk is full. Retrying in 5 s."
    assert supervisor.failures_in_a_row("sync") == 3 and not task.done()
    supervisor.report_recovered("sync")  # the owner saw it work: the backoff starts afresh
    assert supervisor.failures_in_a_row("sync") == 0


async def test_refresh_cuts_a_restart_wait_short(
    supervisor: TaskSupervisor, clock: ManualClock
) -> None:
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        raise OSError(errno.EIO, "I/O error")

    supervisor.keep_running("sync", loop)
    assert await clock.next_sleep() == 5.0
    supervisor.retry_now("sync")  # no time passes
    assert await clock.next_sleep() == 10.0
    assert runs == 2


async def test_a_loop_that_returns_is_not_restarted(supervisor: TaskSupervisor) -> None:
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1

    await supervisor.keep_running("sync", loop)
    assert runs == 1 and not supervisor.running("sync")


# --------------------------------------------------------------------------- closing


async def test_closing_cancels_and_awaits_everything_and_refuses_new_work(
    supervisor: TaskSupervisor,
) -> None:
    ended: list[str] = []

    async def work(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    supervisor.spawn("a", work("a"))
    supervisor.spawn("b", work("b"))
    await asyncio.sleep(0)
    await supervisor.aclose()
    assert sorted(ended) == ["a", "b"]
    coro = work("late")
    with pytest.raises(SupervisorClosed):
        supervisor.spawn("late", coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED  # not "never awaited"


# ------------------------------------------------------------------------- sentences


def test_a_real_full_sqlite_file_is_described_in_plain_words(tmp_path: Path) -> None:
    store = CallStore.open(tmp_path / "calls.db")
    try:
        fill_the_disk(store)
        with pytest.raises(sqlite3.OperationalError) as caught:
            for i in range(500):  # the first rows may still fit in free space
                store.set_meta(f"k{i}", "x" * 2000)
    finally:
        store.close()
    assert describe_failure(caught.value) == (
        "The call cache could not be saved: the disk is full."
    )
    assert is_operational(caught.value)


def test_a_group_is_described_by_its_first_leaf_and_the_token_never_shows() -> None:
    group = ExceptionGroup(
        "unhandled errors in a TaskGroup",
        [OverflowError(f"connect(): port must be 0-65535 (token={FAKE_TOKEN})")],
    )
    sentence = describe_failure(group)
    assert sentence.startswith("Something unexpected went wrong (OverflowError: connect()")
    assert FAKE_TOKEN not in sentence
    assert not is_operational(group)
    assert is_operational(ExceptionGroup("x", [NetworkError("down")]))


def test_backoff_doubles_up_to_its_cap_and_jitter_only_shortens() -> None:
    rng = random.Random(3)
    assert [NO_JITTER.delay(n, rng) for n in (1, 2, 3, 4, 5)] == [5.0, 10.0, 20.0, 40.0, 40.0]
    jittered = Backoff(base_s=10.0, cap_s=10.0, jitter=0.5)
    assert all(5.0 <= jittered.delay(1, rng) <= 10.0 for _ in range(50))
    with pytest.raises(ValueError):
        Backoff(base_s=10.0, cap_s=5.0)


# ------------------------------------------- the sync loop: a real full disk, then room


async def test_a_full_disk_does_not_end_the_sync_loop(
    store: CallStore, clock: ManualClock, supervisor: TaskSupervisor
) -> None:
    """The issue's evidence: ``database or disk is full`` ended the loop for good. Under
    the supervisor the status says why and when it retries, and once there is room again
    the next sync succeeds by itself."""
    app = create_app(SandboxConfig(
        seed=5, n_logs=400, days=30, now=T, clock=clock, rate_limit=None,
        tokens={FAKE_TOKEN: 2},
    ))
    client = MyOperatorClient(
        FAKE_TOKEN, base_url="http://sandbox", transport=httpx.ASGITransport(app=app),
        budget=RequestBudget((), clock=clock, sleep=clock.sleep),
        retry=RetryPolicy(attempts=1), sleep=clock.sleep,
    )
    engine = SyncEngine(client, store, clock=clock, sleep=clock.sleep, jitter=0.0)
    statuses: list[SyncStatus] = []
    engine.add_listener(statuses.append)
    heard = listen(supervisor)

    def report(failure: TaskFailure) -> None:
        engine.report_failure(failure.sentence, retry_in=failure.retry_in)

    fill_the_disk(store)
    try:
        supervisor.keep_running("sync-loop", lambda: engine.run(3600.0), on_failure=report)
        assert await clock.next_sleep() == 5.0  # failed, waiting to restart: alive
        assert [f.sentence for f in heard] == [
            "The call cache could not be saved: the disk is full."
        ]
        status = engine.status
        assert status.state == "failed" and status.retry_at == T + 5.0
        assert status.message == "The call cache could not be saved: the disk is full."
        assert supervisor.running("sync-loop")
        assert store.count() == 0  # nothing half-stored

        free_the_disk(store)
        clock.advance(5.0)
        assert await clock.next_sleep() == 3600.0  # synced; waiting for the next interval
        assert engine.status.state == "idle" and store.count() > 0
        assert len(heard) == 1  # no new failure
    finally:
        await supervisor.aclose()
        await client.aclose()


# ------------------------------------------------------- bugs: loud, but never the token


async def test_a_bug_carrying_the_token_reaches_stderr_redacted(
    clock: ManualClock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default bug hook used Python's own excepthook: the raw exception text (a URL
    with the token) on stderr. Here no redacting hook was installed (as in a test or the
    CLI): the supervisor's hook must redact all the same."""
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    sup = TaskSupervisor("test", sleep=clock.sleep)  # the default bug hook

    async def buggy() -> None:
        raise ValueError(f"cannot parse https://api.example/search?token={FAKE_TOKEN}&x=1")

    try:
        await asyncio.gather(sup.spawn("buggy", buggy()), return_exceptions=True)
    finally:
        await sup.aclose()
    err = capsys.readouterr().err
    assert "ValueError: cannot parse https://api.example/search?token=***&x=1" in err
    assert "Traceback (most recent call last)" in err  # still loud: where it happened
    assert FAKE_TOKEN not in err


def test_the_installed_hook_redacts_stderr_and_the_log_for_the_main_and_other_threads(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    excepthook.install()
    assert sys.excepthook is excepthook.redacting_excepthook

    caplog.set_level(logging.ERROR, logger="desktop_app.services.excepthook")
    try:
        raise KeyError(f"token={FAKE_TOKEN}")
    except KeyError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def in_a_thread() -> None:
        raise RuntimeError(f"GET /recordings/link?token={FAKE_TOKEN}")

    thread = threading.Thread(target=in_a_thread, name="downloader")
    thread.start()
    thread.join()

    err = capsys.readouterr().err
    assert "KeyError: 'token=***'" in err
    assert "Exception in thread downloader:" in err
    assert "RuntimeError: GET /recordings/link?token=***" in err
    assert caplog.text.count("unhandled exception") == 2
    assert "token=***" in caplog.text
    assert FAKE_TOKEN not in err and FAKE_TOKEN not in caplog.text


async def test_a_dial_record_that_cannot_be_written_is_the_world_failing_not_a_bug(
    supervisor: TaskSupervisor, store: CallStore
) -> None:
    """DialRecordError is neither StoreError nor OSError: it was called a bug ("Something
    unexpected…") and sent to the excepthook."""
    heard = listen(supervisor)
    records = DialRecords.sharing(store)
    store.connection.execute("PRAGMA query_only = ON")  # a real refusal to write

    async def dial() -> None:
        records.reserve("91", "9876543210", "agent-1", float(T), lambda _view: None)

    await asyncio.gather(supervisor.spawn("dial", dial()), return_exceptions=True)
    assert [type(f.error) for f in heard] == [DialRecordError]
    assert is_operational(heard[0].error)
    assert heard[0].sentence == (
        "The dial records in the call cache could not be used: the cache database is "
        "read-only."
    )
    assert supervisor.bugs == []  # type: ignore[attr-defined]
