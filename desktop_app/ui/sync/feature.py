"""The background sync as a feature: the loop, and its state in the status bar.

Two settings are followed live: how long calls are kept (`KEEP_DAYS`: older ones are
removed after every sync, and at once when it is lowered) and how many desktops share the
account (`DESKTOPS_SHARING`: the request budget's pace makes room for them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from desktop_app.services.settings import DESKTOPS_SHARING, KEEP_DAYS, Settings
from desktop_app.services.sync import SyncStatus
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.sync.presenter import LIVE_SYNC_INTERVAL_S, SyncPresenter


class SyncFeature(Feature):
    def __init__(self, presenter: SyncPresenter) -> None:
        super().__init__(presenter)
        self.presenter = presenter
        self._window: MainWindow | None = None

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        sync = self.presenter
        connect_all([
            (sync.connectionTextChanged, window.set_connection_text),
            (sync.statusChanged, self._show_state),
            (sync.lastSyncTextChanged, window.set_last_sync_text),
            (sync.budgetTextChanged, window.set_budget_text),
            (window.refreshRequested, sync.refresh_now),
        ])

    def follow_settings(self, settings: Settings) -> None:
        self.follow(settings, KEEP_DAYS, self.presenter.set_keep_days)
        self.follow(settings, DESKTOPS_SHARING, self.presenter.set_desktops_sharing)

    def start(self) -> None:
        self.presenter.start()

    def _show_state(self, status: SyncStatus) -> None:
        if self._window is not None:
            self._window.set_connection_state(status.state)


def build(
    shared: Shared,
    *,
    interval_s: float = LIVE_SYNC_INTERVAL_S,
    loop: Callable[[], Awaitable[None]] | None = None,
) -> SyncFeature:
    """`loop` keeps the cache in step instead of the engine's polling (the team relay)."""
    feature = SyncFeature(
        SyncPresenter(shared.engine, shared.client.budget, interval_s=interval_s, loop=loop)
    )
    feature.follow_settings(shared.settings)
    return feature
