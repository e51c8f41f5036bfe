"""Runs the diagnostics into the table, and copies the report.

The checks run as one named task of this presenter's supervisor (adopted by the
workspace's): a new run replaces one in progress, closing the dialog cancels it, and
closing the workspace cancels and awaits it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop_app.services.diagnostics import (
    CheckStatus,
    DiagnosticsContext,
    build_report,
    log_tail,
    run_checks,
)
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.help.diagnostics_model import DiagnosticsModel

RUN_TASK: Final = "diagnostics"
REPORT_TASK: Final = "diagnostics-report"


class DiagnosticsPresenter(Presenter):
    """The checks' run and the report; see the module docstring."""

    #: True while the checks run.
    runningChanged = Signal(bool)
    #: One line under the table: progress, then the outcome.
    summaryChanged = Signal(str)
    #: The report was put on the clipboard (its text).
    reportCopied = Signal(str)

    def __init__(
        self,
        make_context: Callable[[], DiagnosticsContext],
        *,
        log_dir: Path,
        versions: Callable[[], Mapping[str, str]],
        platform: Callable[[], str],
        settings_snapshot: Callable[[], Mapping[str, str]],
        copy_text: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosticsPresenter")
        self.model = DiagnosticsModel(parent=self)
        self._make_context = make_context
        self._log_dir = log_dir
        self._versions = versions
        self._platform = platform
        self._settings_snapshot = settings_snapshot
        self._copy_text = copy_text
        self._summary = "The checks have not run yet."
        self.on_close(self._stop_quietly)

    @property
    def running(self) -> bool:
        return self.tasks.running(RUN_TASK)

    @property
    def summary(self) -> str:
        return self._summary

    # -------------------------------------------------------------- requests

    @Slot()
    def run(self) -> None:
        """Run every check from the start (a run in progress is replaced)."""
        if self.closed:
            return
        self.model.start_run()
        self._set_summary(self._progress())
        self._spawn(self._run(), RUN_TASK)
        self.runningChanged.emit(True)

    @Slot()
    def cancel(self) -> None:
        """Stop a run in progress (the dialog closed); what finished stays."""
        if self.tasks.cancel(RUN_TASK):
            self.model.stop()
            self._set_summary(f"Stopped after {self.model.done} of {self.model.rowCount()} checks.")
            self.runningChanged.emit(False)

    @Slot()
    def copy_report(self) -> None:
        """Put the report of the results so far on the clipboard."""
        if not self.closed:
            self._spawn(self._copy_report(), REPORT_TASK)

    # -------------------------------------------------------------- work

    async def _run(self) -> None:
        context = self._make_context()
        async for result in run_checks(context):
            self.model.add_result(result)
            self._set_summary(self._progress())
        self._set_summary(self._outcome())
        self.runningChanged.emit(False)

    async def _copy_report(self) -> None:
        lines = await asyncio.to_thread(log_tail, self._log_dir)
        text = build_report(
            self.model.results(),
            versions=self._versions(),
            platform=self._platform(),
            settings=self._settings_snapshot(),
            log_lines=lines,
        )
        self._copy_text(text)
        self.reportCopied.emit(text)

    def _task_failed(self, failure: TaskFailure) -> None:
        if failure.name == RUN_TASK:
            self.model.stop()
            self._set_summary(f"The checks stopped: {failure.text}")
            self.runningChanged.emit(False)
        else:
            self._set_summary(f"The report could not be made: {failure.text}")

    def _stop_quietly(self) -> None:
        self.model.stop()

    # -------------------------------------------------------------- words

    def _progress(self) -> str:
        total = self.model.rowCount()
        return f"Checking… {self.model.done} of {total} done."

    def _outcome(self) -> str:
        results = self.model.results()
        failed = sum(r.status is CheckStatus.FAILED for r in results)
        warned = sum(r.status is CheckStatus.WARNING for r in results)
        if not failed and not warned:
            return f"All {len(results)} checks are done: nothing needs attention."
        parts = []
        if failed:
            parts.append(f"{failed} failed")
        if warned:
            parts.append(f"{warned} {'warning' if warned == 1 else 'warnings'}")
        return f"Done: {' and '.join(parts)}. What to do is beside each."

    def _set_summary(self, text: str) -> None:
        self._summary = text
        self.summaryChanged.emit(text)
