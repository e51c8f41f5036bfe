"""Workarounds for defects of the Qt binding, each checked at runtime before it is applied.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` returns ``True`` without taking a
reference to it, so every emit from Python (a Python-defined signal or a C++ one) lowers
the reference count of ``True`` by one; other calls of the binding lose references to
``True`` too. ``True`` starts with a few hundred references; once they are gone CPython
aborts with "Fatal Python error: bool_dealloc", at the latest at exit. An app that stays
open all day emits far more than that.

Every call of a method that returns nothing (``setObjectName``, ``killTimer``,
``postEvent``, …) likewise loses a reference to ``None``; qasync calls ``killTimer`` after
every asyncio callback, so a busy session aborts with "none_dealloc" within the hour.

CPython 3.12 made ``True``, ``False`` and ``None`` immortal, which hides such defects. The
same is done here for older versions: their reference counts get a margin no process can
use up, so the stray decrements are harmless. The probe below measures the defect first; on a
fixed binding (or a newer CPython) nothing is touched.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

#: Added to the reference counts of True, False and None: 2**40 lost references would take
#: a million calls a second for twelve days.
MARGIN: Final = 1 << 40

_applied = False


class _Probe(QObject):
    fired = Signal()


def emit_loses_true() -> bool:
    """Whether an emit lowers the reference count of True (the PySide6 6.12.0 defect)."""
    probe = _Probe()
    rounds = 16
    before = sys.getrefcount(True)
    for _ in range(rounds):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        _add_references(True, lost)  # give back what the probe itself took
    return lost >= rounds


def _add_references(obj: object, count: int) -> None:
    # ob_refcnt is the first field of every PyObject (a Py_ssize_t). Only on the GIL-holding
    # thread, as every refcount change is.
    refcnt = ctypes.c_ssize_t.from_address(id(obj))
    refcnt.value += count


def void_calls_lose_none() -> bool:
    """Whether a call of a method returning nothing lowers the reference count of None.

    PySide6 6.12.0 does this for every void method (``setObjectName``, ``killTimer``,
    ``postEvent`` …); qasync calls ``killTimer`` after every asyncio callback, so a
    session aborts with "none_dealloc" after some tens of thousands of them.
    """
    probe = QObject()
    rounds = 16
    before = sys.getrefcount(None)
    for _ in range(rounds):
        probe.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    if lost > 0:
        _add_references(None, lost)  # give back what the probe itself took
    return lost >= rounds


def install_pyside_workarounds() -> bool:
    """Protect True, False and None from the binding's lost references, if they need it.

    Idempotent; returns whether the protection is in place.
    """
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12):
        return False
    loses_true = emit_loses_true()
    loses_none = void_calls_lose_none()
    if not (loses_true or loses_none):
        return False
    for singleton in (True, False, None):
        _add_references(singleton, MARGIN)
    _applied = True
    log.info("PySide6 loses references to True/None: True, False and None made effectively "
             "immortal")
    return True


class GuiThreadGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    Left automatic, the collector runs in whichever thread happens to allocate when a
    threshold is crossed: a ``to_thread`` worker, or the demo's sandbox server. A Qt object
    caught in a reference cycle is then destroyed on that thread, where Qt cannot stop its
    timers; they go on firing for freed memory and the app crashes later in
    ``sendThroughObjectEventFilters``. So automatic collection is switched off while this
    object runs, and the same generational thresholds are checked on a GUI-thread timer.

    CPython itself holds back full collections until the long-lived objects have grown by a
    quarter; that count is not visible from Python, so full collections (the ones that
    stall the window for tens of milliseconds) are instead spaced by `full_every_s`.
    """

    def __init__(
        self,
        interval_ms: int = 500,
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
