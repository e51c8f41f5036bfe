"""The base of every presenter: a QObject that owns its asyncio tasks.

Every coroutine a panel needs runs under the presenter's `TaskSupervisor`
(desktop_app.services.tasks): a strong reference, a name (a new request replaces the old),
cancellation on close (qasync drops unreferenced tasks, and an ``async def`` on a QWidget
outlives its widget badly), and failures logged and shown in words rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QTimer

from desktop_app.services.tasks import FailureHandler, TaskFailure, TaskSupervisor

log = logging.getLogger(__name__)


class Cleanups:
    """What undoes a setup (an unsubscribe, say), registered beside the setup so the two
    are read together, and run in reverse on close. One that fails is logged and the
    rest still run: closing must go on."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._cleanups: list[Callable[[], object]] = []

    def add(self, cleanup: Callable[[], object]) -> None:
        self._cleanups.append(cleanup)

    def run(self) -> None:
        """Run each cleanup once, newest first; idempotent."""
        cleanups, self._cleanups = self._cleanups, []
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception:
                log.exception("a cleanup of %s failed", self._owner)


class Presenter(QObject):
    """A presenter's tasks, run by its own `TaskSupervisor` (named, newest wins, failures
    logged and reported, cancelled on close). The workspace adopts each owner's supervisor
    into its own (`supervise_under`), so failures also reach the window's status bar."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = TaskSupervisor(type(self).__name__)
        self._cleanups = Cleanups(type(self).__name__)

    @property
    def closed(self) -> bool:
        return self.tasks.closed

    def supervise_under(self, root: TaskSupervisor) -> None:
        """Report this owner's failures to `root` too, and close with it."""
        self.tasks.label = self.objectName() or self.tasks.label
        root.adopt(self.tasks)

    def _spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        name: str,
        *,
        on_failure: FailureHandler | None = None,
    ) -> asyncio.Task[Any]:
        """Start `coro` as `name` (cancelling an older one of that name); a failure is
        reported, and `on_failure` (default `_task_failed`) puts the controls back."""
        return self.tasks.spawn(
            name, coro, on_failure=on_failure if on_failure is not None else self._task_failed
        )

    def _task_failed(self, failure: TaskFailure) -> None:
        """Override to return a control to a usable state with `failure.text`."""

    def on_close(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` (an unsubscribe, say) when the presenter closes, beside whatever
        set it up, so construction and teardown are read together."""
        self._cleanups.add(cleanup)

    def cancel_tasks(self) -> None:
        self.tasks.cancel_all()

    def discard(self) -> None:
        """Undo the subscriptions of a presenter that never ran a task (`Feature.discard`)."""
        self._cleanups.run()

    async def aclose(self) -> None:
        """Stop timers, cancel every task and wait until they have all finished."""
        for timer in self.findChildren(QTimer):
            timer.stop()
        self._cleanups.run()  # a failing one is logged: the tasks must still be cancelled
        await self.tasks.aclose()
