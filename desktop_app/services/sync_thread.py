"""Where the sync's heavy work runs: a thread with an event loop of its own.

A 10,000-call first sync is a hundred pages, each a JSON body of a hundred records parsed
into models (phone numbers normalised on the way) and written to SQLite with its FTS
index. On the window's loop that work made every page a frame or three of frozen window.
Here the engine's decisions (which range, when to back off, its status) stay on the
window's loop, where its listeners live, while each request is sent, answered and parsed
on `SyncThread`'s loop (`ThreadedLogSource`), with a client of its own; the pages are
stored through a connection of the sync's own (`CallStore.sibling`) on a worker thread,
so the window's reads never wait for a write. What the window hears back is one page's
new calls at a time.

A thread rather than a worker process: the engine, the request budget and the cache
stay one set of objects shared by reference (a process would need each of them carried
over a pipe, the budget's pacing included), and the measured stalls came from the work
done *on* the window's thread, which a thread removes just as well (bench_loop_stall).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.models import LogPage
from desktop_app.services.sync import SyncEngine
from desktop_app.store import CallStore

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long closing waits for the thread's loop to finish what it runs.
CLOSE_TIMEOUT_S = 10.0


class SyncThread:
    """A daemon thread running an asyncio loop until `close`; `run` awaits a coroutine on
    it from any other loop (cancelling the caller cancels it there too)."""

    def __init__(self, name: str = "sync") -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work()` awaited on this thread's loop; its result or exception comes back
        here."""
        if self._closed:
            raise RuntimeError("The sync thread is closed.")

        async def call() -> T:
            return await work()

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return await asyncio.wrap_future(future)

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Call `work()` on this thread's loop (blocking work: keep it short)."""

        async def call() -> T:
            return work()

        return asyncio.run_coroutine_threadsafe(call(), self._loop)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop the loop (cancelling what still runs on it) and join the thread.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the sync thread did not stop within %.0f s", timeout)


class ThreadedLogSource:
    """The engine's `LogSource` whose requests run on `thread`, through a twin of the
    account's client used on that loop only: parsing a page happens there too.

    The twin is built there as the thread's first work, and the first request's lazy
    imports (the HTTP stack's async backend) are done with it: both cost tens of
    milliseconds, which the window's thread, then still building the window, never
    waits for."""

    def __init__(self, thread: SyncThread, account: MyOperatorClient) -> None:
        self._thread = thread
        self._ready = thread.submit(lambda: _prepared_twin(account))

    async def _client(self) -> MyOperatorClient:
        return await asyncio.wrap_future(self._ready)

    async def search_logs(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        offset: int = 0,
        page_size: int = 20,
        search: str | None = None,
        filters: str | None = None,
    ) -> LogPage:
        client = await self._client()
        return await self._thread.run(
            lambda: client.search_logs(
                start=start, end=end, offset=offset, page_size=page_size, search=search,
                filters=filters,
            )
        )

    async def aclose(self) -> None:
        """Close the twin client on the loop that used it (nothing to do once the thread
        is gone: its loop closed the connections with it)."""
        if self._thread.closed:
            return
        client = await self._client()
        await self._thread.run(client.aclose)


def _prepared_twin(account: MyOperatorClient) -> MyOperatorClient:
    """Runs on the sync thread: the twin, and the modules its first request would import."""
    twin = account.twin()
    # httpcore picks its async backend on the first connection (anyio, today).
    with contextlib.suppress(ImportError):
        importlib.import_module("anyio._backends._asyncio")
    return twin


class ThreadedSync:
    """The app's sync engine over a `SyncThread`: requests and parsing there, writes
    through a sibling of `store`, reads of the window's loop from `store` itself.
    `engine_options` are `SyncEngine`'s keywords (a wider first window, say)."""

    def __init__(
        self, client: MyOperatorClient, store: CallStore, **engine_options: Any
    ) -> None:
        self.thread = SyncThread()
        self.source = ThreadedLogSource(self.thread, client)
        self.store = store.sibling()
        self.engine = SyncEngine(self.source, self.store, reader=store, **engine_options)

    def close_unused(self) -> None:
        """Stop the thread and close the connection of a sync that never ran (the
        workspace's build failed): no request made, so no twin connection to close."""
        self.thread.close()
        self.store.close()

    async def aclose(self) -> None:
        """After the engine's tasks ended: the twin client, the thread, the connection."""
        try:
            await self.source.aclose()
        except Exception:  # closing goes on whatever the transport says
            log.exception("closing the sync thread's HTTP client failed")
        await asyncio.to_thread(self.thread.close)
        self.store.close()
