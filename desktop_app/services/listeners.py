"""The one way a service tells others of a change.

Services are Qt-free, so they cannot emit signals; each keeps a `Listeners` instead.
A listener is added with `add`, which returns the function that removes it again (a
presenter registers that with its `on_close`), and every listener hears each change in
the order it was added. One that raises is a bug in the listener, not in the service: it
is reported through the app's excepthook (redacted, and a test fails on it) and the
others still hear of the change, so one broken panel cannot keep the rest of the app
from learning, say, that a call was missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

from desktop_app.services.excepthook import report_bug

P = ParamSpec("P")


class Listeners(Generic[P]):
    """Callbacks taking `P`, told in order; see the module docstring."""

    def __init__(self) -> None:
        self._listeners: list[Callable[P, object]] = []

    def add(self, listener: Callable[P, object]) -> Callable[[], None]:
        """Tell `listener` of every change from now on; returns its removal."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in list(self._listeners):
            try:
                listener(*args, **kwargs)
            except Exception as exc:
                report_bug(exc)

    def __len__(self) -> int:
        return len(self._listeners)
