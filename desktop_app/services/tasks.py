"""One supervisor for every background task: named, newest wins, never lost in silence.

A task that dies on the event loop leaves nothing behind but a traceback on stderr: the
control that waited for it waits forever, and a loop that should have kept running (the
sync) is simply gone. So every coroutine the app runs in the background is started here:

- **named**: starting a task under a name still running cancels the old one (a new
  search, a new fetch: the newest request wins), and so does `cancel(name)`; a task that
  finishes its work asks `is_current(name)` before it speaks for that name, so a replaced
  request never overwrites its successor's answer;
- **reported**: a failure is logged (through the redacting filter: the token never
  reaches a log) and handed to the task's own handler (the panel concerned puts a
  control back and says why) and to every listener (the window's status bar), as one
  plain sentence (`describe_failure`);
- **restarted** where that makes sense (`keep_running`: the sync loop), after a backoff
  that grows with each failure in a row and starts afresh once the owner says the work
  recovered (`report_recovered`); a one-shot a person started (a dial) is never retried;
- **cancelled on close** (`aclose`), and awaited, so nothing outlives its window.

Owners nest (`adopt`): each presenter has its own supervisor (its `aclose` cancels its own
tasks), and failures travel up to the workspace's, where the window listens.

Qt-free: presenters adapt it; tests drive it on a plain asyncio loop.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from desktop_app.api.errors import MyOperatorError
from desktop_app.api.redact import install_redacting_filter, redact
from desktop_app.api.waits import format_wait
from desktop_app.services.clock import Sleep
from desktop_app.services.excepthook import report_bug
from desktop_app.store import StoreError
from desktop_app.store.dials import DialRecordError

log = logging.getLogger(__name__)
# A failure's traceback may quote a URL with the token in it: redact at the source, so
# even a handler the project did not install (a test runner's capture) never sees it.
install_redacting_filter(log)

T = TypeVar("T")

DISK_FULL: Final = "the disk is full"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds to wait before the n-th restart in a row: `base_s`, doubling up to `cap_s`,
    each shortened by up to `jitter` at random so many desktops do not retry in step."""

    base_s: float = 5.0
    cap_s: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < self.base_s or not 0.0 <= self.jitter < 1.0:
            raise ValueError("need 0 <= base_s <= cap_s and 0 <= jitter < 1")

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(max(failures, 1) - 1, 30))
        return ceiling * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """One failure of a named task, as the window shows it."""

    name: str
    error: BaseException
    #: One plain sentence, token-free (see `describe_failure`).
    sentence: str
    #: Seconds until the supervisor starts the task again; None: it will not.
    retry_in: float | None = None

    @property
    def text(self) -> str:
        """The sentence with the retry, e.g. "…: the disk is full. Retrying in 30 s."."""
        if self.retry_in is None:
            return self.sentence
        return f"{self.sentence} Retrying in {format_wait(max(1.0, self.retry_in))}."


FailureHandler = Callable[[TaskFailure], None]
RecoveryListener = Callable[[str], None]
BugHook = Callable[[BaseException], None]


def describe_failure(exc: BaseException) -> str:
    """One plain sentence for any exception a task may end with, never carrying the token.

    Groups (anyio's connect raises one) are described by their first leaf.
    """
    leaf = _first_leaf(exc)
    if isinstance(leaf, MyOperatorError):
        text = leaf.message
    elif isinstance(leaf, sqlite3.Error):
        if _sqlite_code(leaf) == sqlite3.SQLITE_FULL:
            text = f"The call cache could not be saved: {DISK_FULL}"
        else:
            text = f"The call cache could not be used: {leaf}"
    elif isinstance(leaf, StoreError):
        text = str(leaf)
    elif isinstance(leaf, DialRecordError):  # its text is the reason ("the disk is full")
        text = f"The dial records in the call cache could not be used: {leaf}"
    elif isinstance(leaf, OSError):
        if leaf.errno == errno.ENOSPC:
            text = f"A file could not be written: {DISK_FULL}"
        else:
            reason = leaf.strerror or str(leaf) or type(leaf).__name__
            text = f"A file could not be read or written: {reason}"
    else:
        detail = f": {leaf}" if str(leaf) else ""
        text = f"Something unexpected went wrong ({type(leaf).__name__}{detail})"
    text = redact(text.strip())
    return text if text.endswith((".", "!", "?")) else text + "."


def is_operational(exc: BaseException) -> bool:
    """Whether `exc` is the world failing (network, service, disk, cache) rather than a
    bug in this app; bugs also go to the supervisor's bug hook (the excepthook)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_operational(e) for e in exc.exceptions)
    return isinstance(
        exc, MyOperatorError | StoreError | DialRecordError | sqlite3.Error | OSError
    )


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _sqlite_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


class SupervisorClosed(RuntimeError):
    """A task was started after `aclose`: the owner is shutting down."""


class TaskSupervisor:
    """Owns named asyncio tasks; see the module docstring.

    `bug_hook` receives failures that are not `is_operational` (default: the excepthook,
    through `excepthook.report_bug`: redacted, and a test fails on a bug); only the
    outermost supervisor's hook is used. A supervisor
    given no `backoff` or `sleep` uses the nearest parent's (tests set them once, on the
    workspace's).
    """

    def __init__(
        self,
        label: str = "",
        *,
        backoff: Backoff | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        bug_hook: BugHook | None = report_bug,
    ) -> None:
        self.label = label
        self._backoff = backoff
        self._sleep_given = sleep
        self._rng = rng or random.Random()
        self._bug_hook = bug_hook
        self._parent: TaskSupervisor | None = None
        self._children: list[TaskSupervisor] = []
        self._by_name: dict[str, asyncio.Task[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: dict[asyncio.Task[Any], FailureHandler] = {}
        self._failure_listeners: list[FailureHandler] = []
        self._recovery_listeners: list[RecoveryListener] = []
        #: Failures in a row of each `keep_running` task (reset by `report_recovered`).
        self._streaks: dict[str, int] = {}
        self._wake: dict[str, asyncio.Event] = {}
        #: Names whose last outcome was a failure the listeners heard of.
        self._failed: set[str] = set()
        self._closed = False

    # -------------------------------------------------------------- reading

    @property
    def closed(self) -> bool:
        return self._closed

    def task(self, name: str) -> asyncio.Task[Any] | None:
        """The newest task started under `name`, while it has not finished."""
        task = self._by_name.get(name)
        return task if task is not None and not task.done() else None

    def running(self, name: str) -> bool:
        return self.task(name) is not None

    def is_current(self, name: str) -> bool:
        """Whether the calling task is the newest one of `name`, neither replaced nor
        cancelled by name since: what a finishing request asks before it updates what
        the name stands for (and, in its own last steps, to not count itself as busy)."""
        current = _current_task()
        return current is not None and self.task(name) is current

    @property
    def backoff(self) -> Backoff:
        """The restart backoff: this supervisor's, else the nearest parent's."""
        node: TaskSupervisor | None = self
        while node is not None:
            if node._backoff is not None:
                return node._backoff
            node = node._parent
        return Backoff()

    def _sleep(self, seconds: float) -> Awaitable[None]:
        node: TaskSupervisor | None = self
        while node is not None:
            if node._sleep_given is not None:
                return node._sleep_given(seconds)
            node = node._parent
        return asyncio.sleep(seconds)

    @property
    def names(self) -> list[str]:
        return [name for name, task in self._by_name.items() if not task.done()]

    def failures_in_a_row(self, name: str) -> int:
        return self._streaks.get(name, 0)

    # -------------------------------------------------------------- listening

    def add_failure_listener(self, listener: FailureHandler) -> Callable[[], None]:
        """Hear of every failure here and in adopted supervisors; returns an unsubscriber."""
        self._failure_listeners.append(listener)
        return lambda: _discard(self._failure_listeners, listener)

    def add_recovery_listener(self, listener: RecoveryListener) -> Callable[[], None]:
        """Hear the name of a task that failed before and has now done its work."""
        self._recovery_listeners.append(listener)
        return lambda: _discard(self._recovery_listeners, listener)

    def adopt(self, child: TaskSupervisor) -> TaskSupervisor:
        """Make `child`'s failures and recoveries reach this supervisor's listeners, and
        close it with this one. Returns `child`."""
        if child is self or child._parent is self:
            return child
        if child._parent is not None:
            _discard(child._parent._children, child)
        child._parent = self
        self._children.append(child)
        return child

    # -------------------------------------------------------------- starting

    def spawn(
        self,
        name: str,
        coro: Coroutine[Any, Any, T],
        *,
        on_failure: FailureHandler | None = None,
    ) -> asyncio.Task[T]:
        """Run `coro` once as `name`, cancelling an older task of that name.

        A failure is reported (never retried); `on_failure` is where the owner puts its
        control back into a usable state with a sentence.
        """
        if self._closed:
            coro.close()
            raise SupervisorClosed(f"{self.label or 'supervisor'} is closed; {name} not started")
        self._replace(name)
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._track(name, task, on_failure)
        return task

    def keep_running(
        self,
        name: str,
        factory: Callable[[], Awaitable[object]],
        *,
        on_failure: FailureHandler | None = None,
        backoff: Backoff | None = None,
    ) -> asyncio.Task[None]:
        """Run ``factory()`` as `name` and start it again after each failure, with a
        growing backoff, until it returns or is cancelled. Each failure is reported with
        the time until the restart; `retry_now` cuts that wait short."""
        self._streaks.pop(name, None)
        wake = self._wake[name] = asyncio.Event()
        return self.spawn(name, self._keep_running(name, factory, on_failure, backoff, wake))

    def retry_now(self, name: str) -> None:
        """End the backoff of a `keep_running` task now (the person pressed Refresh)."""
        wake = self._wake.get(name)
        if wake is not None:
            wake.set()

    def report_recovered(self, name: str) -> None:
        """The owner saw `name` do its work again: its next failure starts the backoff
        afresh, and the listeners may take its failure off the screen."""
        self._streaks.pop(name, None)
        if name in self._failed:
            self._failed.discard(name)
            self._recovered(name)

    # -------------------------------------------------------------- stopping

    def cancel(self, name: str) -> bool:
        """Cancel the task running as `name`; False when there was none.

        The name is free at once (`running` is False, `is_current` False in the cancelled
        task) although the task ends on its next turn; `aclose` still waits for it.
        """
        task = self.task(name)
        if task is None:
            return False
        del self._by_name[name]
        self._wake.pop(name, None)
        task.cancel()
        return True

    def cancel_all(self) -> None:
        """Cancel every task (this supervisor's and its children's) except the caller."""
        current = asyncio.current_task() if _loop_running() else None
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for child in list(self._children):
            child.cancel_all()

    async def aclose(self) -> None:
        """Refuse new tasks, cancel every task (children's too) and wait for them to end."""
        self._closed = True
        for child in list(self._children):
            await child.aclose()
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -------------------------------------------------------------- private

    def _replace(self, name: str) -> None:
        old = self._by_name.get(name)
        if old is not None and not old.done() and old is not _current_task():
            old.cancel()  # newest wins

    def _track(
        self, name: str, task: asyncio.Task[Any], on_failure: FailureHandler | None
    ) -> None:
        self._by_name[name] = task
        self._tasks.add(task)
        if on_failure is not None:
            self._handlers[task] = on_failure
        task.add_done_callback(lambda done: self._done(name, done))

    def _done(self, name: str, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        handler = self._handlers.pop(task, None)
        if self._by_name.get(name) is task:
            del self._by_name[name]
            self._wake.pop(name, None)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if name in self._failed and name not in self._streaks:
                self.report_recovered(name)
            return
        self._fail(name, exc, handler, retry_in=None, first_in_streak=True)

    async def _keep_running(
        self,
        name: str,
        factory: Callable[[], Awaitable[object]],
        on_failure: FailureHandler | None,
        backoff: Backoff | None,
        wake: asyncio.Event,
    ) -> None:
        while True:
            wake.clear()
            try:
                await factory()
                return
            except Exception as exc:  # reported below; anything else ends the task
                failures = self._streaks.get(name, 0) + 1
                self._streaks[name] = failures
                delay = (backoff or self.backoff).delay(failures, self._rng)
                self._fail(
                    name, exc, on_failure, retry_in=delay, first_in_streak=failures == 1
                )
                del exc  # the traceback holds the frames: not across the wait
            await self._wait(delay, wake)

    async def _wait(self, seconds: float, wake: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (sleeper, waker):
                waiting.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _fail(
        self,
        name: str,
        exc: BaseException,
        handler: FailureHandler | None,
        *,
        retry_in: float | None,
        first_in_streak: bool,
    ) -> None:
        failure = TaskFailure(name, exc, describe_failure(exc), retry_in)
        where = f"{self.label}/{name}" if self.label else name
        if first_in_streak:
            log.error("background task %s failed: %s", where, failure.text, exc_info=exc)
        else:  # the same loop failing again: the traceback was logged at the first
            log.warning("background task %s failed again: %s", where, failure.text)
        self._failed.add(name)
        if handler is not None:
            _call_safely(handler, failure)
        self._report(failure)
        if first_in_streak and not is_operational(exc):
            hook = self._root()._bug_hook
            if hook is not None:
                hook(exc)

    def _report(self, failure: TaskFailure) -> None:
        for listener in list(self._failure_listeners):
            _call_safely(listener, failure)
        if self._parent is not None:
            self._parent._report(failure)

    def _recovered(self, name: str) -> None:
        for listener in list(self._recovery_listeners):
            _call_safely(listener, name)
        if self._parent is not None:
            self._parent._recovered(name)

    def _root(self) -> TaskSupervisor:
        node = self
        while node._parent is not None:
            node = node._parent
        return node


def _call_safely(function: Callable[[Any], None], argument: Any) -> None:
    """A failing listener must not hide the failure it was told about."""
    try:
        function(argument)
    except Exception:
        log.exception("a task failure listener failed")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _current_task() -> asyncio.Task[Any] | None:
    return asyncio.current_task() if _loop_running() else None


def _discard(items: list[Any], item: Any) -> None:
    if item in items:
        items.remove(item)
