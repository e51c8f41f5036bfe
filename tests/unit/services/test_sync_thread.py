"""The sync's thread: its own loop, its own client and its own connection, with the
engine's decisions on the caller's loop. Real loopback HTTP to the emulated service and a
real SQLite file; no Qt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.api.models import LogPage
from desktop_app.sandbox import SandboxConfig, SandboxServer
from desktop_app.services.sync import DAY_S
from desktop_app.services.sync_thread import SyncThread, ThreadedSync
from desktop_app.store import CallStore
from tests.helpers.tokens import FAKE_TOKEN

N_LOGS = 300


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(seed=5, n_logs=N_LOGS, days=10, tokens={FAKE_TOKEN: 2}, rate_limit=None)
    ) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    with CallStore.open(tmp_path / "cache.sqlite3") as opened:
        yield opened


class ThreadNotingClient(MyOperatorClient):
    """The real client, noting which thread parsed each page (and which built it)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.built_on = threading.current_thread().name
        self.pages_on: list[str] = []
        self.twins: list[ThreadNotingClient] = []

    def twin(self) -> MyOperatorClient:
        twin = ThreadNotingClient(FAKE_TOKEN, base_url=self.base_url, budget=self.budget)
        self.twins.append(twin)
        return twin

    async def search_logs(self, **kwargs: object) -> LogPage:  # type: ignore[override]
        page = await super().search_logs(**kwargs)  # type: ignore[arg-type]
        self.pages_on.append(threading.current_thread().name)
        return page


async def test_run_returns_the_result_and_raises_the_error_of_the_threads_loop() -> None:
    thread = SyncThread(name="sync-test")
    try:
        async def where() -> str:
            return threading.current_thread().name

        async def fails() -> None:
            raise ValueError("from the thread")

        assert await thread.run(where) == "sync-test"
        with pytest.raises(ValueError, match="from the thread"):
            await thread.run(fails)
    finally:
        thread.close()
    assert thread.closed
    thread.close()  # idempotent


async def test_cancelling_the_caller_cancels_the_work_on_the_thread() -> None:
    thread = SyncThread()
    started = threading.Event()
    cancelled = threading.Event()

    async def waits_forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        caller = asyncio.ensure_future(thread.run(waits_forever))
        await asyncio.to_thread(started.wait, 10)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert await asyncio.to_thread(cancelled.wait, 10)
    finally:
        thread.close()


async def test_a_closed_thread_refuses_work_and_close_ends_what_still_runs() -> None:
    thread = SyncThread()
    started = threading.Event()

    async def waits_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    pending = thread.submit(lambda: None)
    assert await asyncio.wrap_future(pending) is None
    caller = asyncio.ensure_future(thread.run(waits_forever))
    await asyncio.to_thread(started.wait, 10)
    await asyncio.to_thread(thread.close)
    with pytest.raises(asyncio.CancelledError):  # the loop cancelled it on its way out
        await asyncio.wait_for(caller, 10)

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="closed"):
        await thread.run(nothing)


async def test_the_threaded_sync_fetches_and_parses_on_its_thread_and_writes_its_own_connection(
    server: SandboxServer, store: CallStore
) -> None:
    account = ThreadNotingClient(
        FAKE_TOKEN, base_url=server.base_url, budget=RequestBudget.unlimited()
    )
    threaded = ThreadedSync(account, store, initial_window_s=11 * DAY_S)
    heard: list[tuple[str, int]] = []
    threaded.engine.add_new_calls_listener(
        lambda calls: heard.append((threading.current_thread().name, len(calls)))
    )
    try:
        result = await threaded.engine.sync_once()
    finally:
        await threaded.aclose()
        await account.aclose()
    (twin,) = account.twins
    assert twin.built_on == "sync"  # built on the thread, not the caller's
    assert twin.pages_on and set(twin.pages_on) == {"sync"}
    assert account.pages_on == []  # the account's own client sent nothing
    assert threaded.store is not store  # a connection of its own
    assert store.count() == len(result.new_calls) == N_LOGS  # visible to the caller's
    main = threading.current_thread().name
    assert heard and {name for name, _n in heard} == {main}  # listeners on the caller's loop
    assert sum(n for _name, n in heard) == N_LOGS
    assert all(n <= 100 for _name, n in heard)  # one page at a time


async def test_closing_the_threaded_sync_stops_its_thread_and_closes_its_connection(
    server: SandboxServer, store: CallStore
) -> None:
    account = MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, budget=RequestBudget.unlimited()
    )
    threaded = ThreadedSync(account, store)
    await threaded.aclose()
    await account.aclose()
    assert threaded.thread.closed
    with pytest.raises(Exception, match="closed"):
        threaded.store.count()
    assert store.count() == 0  # the caller's connection is its own to close


def test_a_sibling_sees_the_stores_file_and_writes_through_its_own_connection(
    store: CallStore,
) -> None:
    sibling = store.sibling()
    try:
        assert sibling.connection is not store.connection
        sibling.set_meta("k", "v")
        assert store.get_meta("k") == "v"
        assert sibling.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        sibling.close()
    assert store.get_meta("k") == "v"  # closing the sibling leaves the store open


async def test_a_twin_shares_the_account_and_budget_but_not_the_connection_pool(
    server: SandboxServer,
) -> None:
    budget = RequestBudget.unlimited()
    account = MyOperatorClient(FAKE_TOKEN, base_url=server.base_url, budget=budget)
    twin = account.twin()
    try:
        assert twin is not account and twin.base_url == account.base_url
        assert twin.budget is budget
        page = await twin.search_logs(page_size=5)
        assert len(page.logs) == 5
    finally:
        await twin.aclose()
    # Closing the twin leaves the account's client working.
    try:
        assert len((await account.search_logs(page_size=2)).logs) == 2
    finally:
        await account.aclose()
