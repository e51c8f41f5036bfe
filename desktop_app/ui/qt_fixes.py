"""Workarounds for defects of the Qt binding, each checked at runtime before it is applied.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` returns ``True`` without taking a
reference to it, so every emit from Python (a Python-defined signal or a C++ one) lowers
the reference count of ``True`` by one. ``True`` starts with a few hundred references;
after that many emits CPython aborts with "Fatal Python error: bool_dealloc", at the
latest at exit. (CPython 3.12+ makes ``True`` immortal, which hides the defect.) An app
that stays open all day emits far more than that, so the missing reference is added back
after each emit. The probe below measures the defect first: on a fixed binding nothing is
patched.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

log = logging.getLogger(__name__)

_installed = False


class _Probe(QObject):
    fired = Signal()


def emit_steals_true() -> bool:
    """Whether an emit lowers the reference count of True (the PySide6 6.12.0 defect)."""
    probe = _Probe()
    rounds = 8
    before = sys.getrefcount(True)
    for _ in range(rounds):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        # Give back what the probe itself took.
        for _ in range(lost):
            _incref(True)
    return lost >= rounds


def _incref(obj: object) -> None:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def install_pyside_workarounds() -> bool:
    """Patch `SignalInstance.emit` if (and only if) the defect is present. Idempotent.

    Returns whether the patch is in place.
    """
    global _installed
    if _installed:
        return True
    if not emit_steals_true():
        return False
    original = SignalInstance.emit

    def emit(self: SignalInstance, *args: Any) -> Any:
        result: Any = original(self, *args)
        if result is True:
            _incref(True)
        return result

    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit  # type: ignore[method-assign]
    _installed = True
    log.info("patched SignalInstance.emit for the PySide6 True-reference defect")
    return True
