"""The log feed as a feature: the call table, its search, dates, filter chips and export."""

from __future__ import annotations

from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.common.feature import Feature, Shared, connect_all, own
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.feed.model import FeedModel
from desktop_app.ui.feed.panel import FeedPanel
from desktop_app.ui.feed.presenter import FeedPresenter
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.sync.feature import SyncFeature


class FeedFeature(Feature):
    def __init__(self, model: FeedModel, panel: FeedPanel, presenter: FeedPresenter) -> None:
        super().__init__(presenter)
        self.model = model
        self.panel = panel
        self.presenter = presenter

    def bind(self, sync: SyncFeature) -> None:
        panel, feed = self.panel, self.presenter
        connect_all([
            (panel.searchTextChanged, feed.set_search_text),
            (panel.dateSelectionChanged, self._dates_changed),
            (panel.chips.selectionChanged, self._chips_changed),
            (panel.loadMoreRequested, feed.load_more),
            (panel.currentCallChanged, feed.select_call),
            (feed.countTextChanged, panel.set_count_text),
            (feed.noticeChanged, panel.set_notice),
            (feed.loadMoreChanged, self._load_more_changed),
            (feed.filtersLoaded, panel.chips.set_groups),
            (sync.presenter.newCalls, feed.on_new_calls),
            (sync.presenter.callsPruned, feed.on_calls_pruned),
            (sync.presenter.statusChanged, feed.on_sync_status),
        ])

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        own(window, self.model)
        connect_all([
            (self.presenter.exportFinished, window.show_result),
            (self.presenter.exportSaved, window.show_saved_file),
            (window.exportPathChosen, self.presenter.export_csv),
        ])

    def apply_theme(self, colors: ThemeColors) -> None:
        self.model.set_colors(colors)

    def start(self) -> None:
        """Show the cache at once, then fetch the account's filters and ready the cached
        countries' number formats."""
        self.presenter.apply_now()
        self.presenter.load_filters()
        self.presenter.prepare_number_formats()

    def select_call(self, call_id: str) -> None:
        """Make `call_id` the current call (its detail shows), or show its detail when
        the current view does not list it."""
        row = self.model.row_of(call_id)
        if row is None:
            self.presenter.select_call(call_id)
            return
        index = self.model.index(row, 0)
        table = self.panel.table
        if table.currentIndex().row() == row:
            self.presenter.select_call(call_id)
        else:
            table.setCurrentIndex(index)
        table.scrollTo(index)

    def _dates_changed(self) -> None:
        self.presenter.set_date_selection(*self.panel.date_selection())

    def _chips_changed(self) -> None:
        self.presenter.set_filter_ids(self.panel.chips.selected_ids())

    def _load_more_changed(self, enabled: bool, text: str) -> None:
        self.panel.set_load_more(enabled=enabled, text=text)


def build(shared: Shared, sync: SyncFeature, *, remote_delay_ms: int = 600) -> FeedFeature:
    model = FeedModel(shared.store)
    panel = FeedPanel()
    panel.attach_model(model)
    presenter = FeedPresenter(
        model, shared.store, shared.engine, shared.client, remote_delay_ms=remote_delay_ms
    )
    feature = FeedFeature(model, panel, presenter)
    feature.bind(sync)
    return feature


