"""The Qt binding's health at start-up, and the one binding workaround the app still needs.

PySide6 6.12.0 on CPython 3.11 returns ``True`` from every ``SignalInstance.emit()`` and
``None`` from every void method (``setObjectName``, ``killTimer``…) without taking a
reference to it. Each emit or call lowers the reference count by one; an app open all day
empties it and CPython aborts with "Fatal Python error: bool_dealloc" (or none_dealloc).
CPython 3.12 made those objects immortal, which hides the defect; 6.11.3, 6.10.3 and
6.8.3 do not have it. The project does not ship such a binding (requirements.lock pins a
sound one), and `binding_defect` refuses one that got installed anyway: there is no safe
way to run on it.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Final

import PySide6
from PySide6.QtCore import QObject, QTimer, Signal

#: More lost references than this in `PROBE_ROUNDS` calls is the defect, not noise.
PROBE_ROUNDS: Final = 16


class _Probe(QObject):
    fired = Signal()


def emit_loses_true() -> bool:
    """Whether an emit lowers the reference count of True (the PySide6 6.12.0 defect)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBE_ROUNDS):
        probe.fired.emit()
    return before - sys.getrefcount(True) >= PROBE_ROUNDS


def void_calls_lose_none() -> bool:
    """Whether a call of a method returning nothing lowers the reference count of None."""
    probe = QObject()
    probe.setObjectName("probe")  # the first call caches PySide's signature data
    before = sys.getrefcount(None)
    for _ in range(PROBE_ROUNDS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= PROBE_ROUNDS


def binding_defect() -> str | None:
    """One sentence naming the fix when the installed binding would crash the app, else None.

    The probe costs a few dozen references on a defective binding, far fewer than True
    and None hold at start-up.
    """
    if not (emit_loses_true() or void_calls_lose_none()):
        return None
    python = ".".join(str(part) for part in sys.version_info[:3])
    return (
        f"PySide6 {PySide6.__version__} loses references on every signal under Python "
        f"{python} and would crash this app: install the versions in requirements.lock "
        "(`make demo` does), or PySide6 6.11.3."
    )


class GuiThreadGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    WORKAROUND: Qt objects must be destroyed on their own thread, and Python's collector
    knows no threads. Without this (any binding release), the process segfaults minutes
    later; `tests/gui/runtime/test_binding.py` fails if the collector lets a worker collect.
    Left automatic, the collector runs in whichever thread happens to allocate when a
    threshold is crossed: a ``to_thread`` worker, or the demo's sandbox server. A Qt object
    caught in a reference cycle is then destroyed on that thread, where Qt cannot stop its
    timers; they go on firing for freed memory and the app crashes later in
    ``sendThroughObjectEventFilters``. So automatic collection is switched off while this
    object runs, and the same generational thresholds are checked on a GUI-thread timer.

    CPython itself holds back full collections until the long-lived objects have grown by a
    quarter; that count is not visible from Python, so full collections (the ones that
    stall the window for tens of milliseconds) are instead spaced by `full_every_s`.
    The thresholds are checked every `interval_ms` (100 ms): while the sync thread parses
    pages, half a second let the young generations grow to a 10-25 ms collection.
    """

    def __init__(
        self,
        interval_ms: int = 100,
        parent: QObject | None = None,
        *,
        full_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("guiThreadGarbageCollector")
        self._full_every_s = full_every_s
        self._clock = clock
        self._last_full = clock()
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setObjectName("guiThreadGarbageCollectorTimer")
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more here, then give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        """Collect the generations whose thresholds were crossed, as Python would."""
        first, second, third = gc.get_count()
        t0, t1, t2 = self._thresholds
        if first > t0:
            generation = 0
            if second > t1:
                generation = 1
                now = self._clock()
                if third > t2 and now - self._last_full >= self._full_every_s:
                    generation = 2
                    self._last_full = now
            gc.collect(generation)
