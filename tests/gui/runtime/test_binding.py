"""The Qt binding the project ships is sound, and a defective one is refused at start-up."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from desktop_app.runtime import binding


class _Emitter(QObject):
    fired = Signal(bool)


def test_the_locked_binding_loses_no_references(qapp: QApplication) -> None:
    """PySide6 6.12.0 on CPython 3.11 lost one reference to True per emit and one to None
    per void call; 6.12.0 is excluded from the lock, and this fails if it comes back."""
    emitter = _Emitter()
    target = QObject()
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(5000):
        emitter.fired.emit(True)
        target.setObjectName("x")
    assert sys.getrefcount(True) >= true_before - 16
    assert sys.getrefcount(None) >= none_before - 16
    assert binding.binding_defect() is None


@pytest.mark.parametrize("probe", ["emit_loses_true", "void_calls_lose_none"])
def test_a_defective_binding_is_refused_with_one_sentence(
    qapp: QApplication,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    probe: str,
) -> None:
    from desktop_app import app

    monkeypatch.setattr(binding, probe, lambda: True)
    claimed: list[object] = []
    monkeypatch.setattr(app, "claim_or_forward", lambda *a, **k: claimed.append(a))

    assert app.main(["--demo"]) == app.BROKEN_BINDING_EXIT

    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, "one sentence, on one line"
    assert err.startswith("myoperator-desktop: PySide6 ")
    assert "would crash this app" in err
    assert "requirements.lock" in err and "6.11.3" in err
    assert not claimed, "refused before it claims the single instance or opens a window"


def test_a_qt_object_in_a_cycle_is_destroyed_on_the_gui_thread(qapp: QApplication) -> None:
    """What `GuiThreadGarbageCollector` is for: a worker thread that allocates would
    otherwise run the collector itself, and destroy a cyclic QObject (with its timers) there."""
    died_on: list[threading.Thread] = []

    class Holder:
        pass

    collector = binding.GuiThreadGarbageCollector(interval_ms=60_000)
    collector.start()
    try:
        holder = Holder()
        holder.timer = QTimer()  # type: ignore[attr-defined]
        holder.timer.start(60_000)  # type: ignore[attr-defined]
        holder.me = holder  # type: ignore[attr-defined]  # only a collection frees it
        weakref.finalize(holder, lambda: died_on.append(threading.current_thread()))
        del holder

        def allocate() -> None:  # far past every generation's threshold
            kept = [[index] for index in range(300_000)]
            kept.clear()

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert died_on == [], "collected on the worker thread"
        collector.check()
        gc.collect()
    finally:
        collector.stop()
    assert died_on == [threading.main_thread()]
