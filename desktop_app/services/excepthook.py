"""The one excepthook of the app: a traceback, redacted, on stderr and in the log.

Python's default hook prints the exception's own text, and that text may quote a URL with
the API token in it (an httpx error, say). The redacting log filter covers log records
only, so an exception nobody handled (an async slot's, a supervised task's bug, a
thread's) would reach stderr raw. `install` replaces the hooks once at start-up; the task
supervisor sends its bugs through `report_bug`, which uses this hook even where it was
never installed.

Qt-free.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from desktop_app.api.redact import install_redacting_filter, redact

log = logging.getLogger(__name__)
install_redacting_filter(log)


def redacted_traceback(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    """The traceback as Python would print it, every token value replaced."""
    return redact("".join(traceback.format_exception(kind, exc, tb)))


def redacting_excepthook(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """`sys.excepthook`: the redacted traceback to stderr and to the log."""
    _emit(redacted_traceback(kind, exc, tb))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    """`threading.excepthook`: the same, naming the thread."""
    if args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = redacted_traceback(args.exc_type, args.exc_value, args.exc_traceback)
    _emit(f"Exception in thread {redact(name)}:\n{text}")


def _emit(text: str) -> None:
    stderr = sys.stderr
    if stderr is not None:  # None in a GUI launch without a console
        try:
            stderr.write(text)
            stderr.flush()
        except (OSError, ValueError):  # closed
            pass
    log.error("unhandled exception\n%s", text.rstrip())


def install() -> None:
    """Make the redacting hook the process's (`sys` and `threading`); idempotent."""
    sys.excepthook = redacting_excepthook
    threading.excepthook = _thread_hook


def report_bug(exc: BaseException) -> None:
    """Hand a failure that is a bug to the excepthook in charge, never to Python's raw one.

    Whatever hook was set on top of ours (a crash watch, a test runner's capture) still
    hears of it; where none was installed (a test, the CLI), ours is used directly.
    """
    hook = sys.excepthook
    if hook is sys.__excepthook__:
        hook = redacting_excepthook
    hook(type(exc), exc, exc.__traceback__)
