"""The screen-pop as a feature: the card window, fed by the team relay's live calls.

Built only when the workspace connects through the relay: polling learns of a call
after it ends, too late for a card before the agent picks up."""

from __future__ import annotations

from desktop_app.services.relay_sync import RelaySync
from desktop_app.services.screen_pop import CallerCard, ScreenPops
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.store.callers import CallerRecords
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.feed.feature import FeedFeature
from desktop_app.ui.screen_pop.panel import ScreenPopPanel
from desktop_app.ui.screen_pop.presenter import ScreenPopPresenter
from desktop_app.ui.shell.main_window import MainWindow


class ScreenPopFeature(Feature):
    def __init__(
        self,
        presenter: ScreenPopPresenter,
        panel: ScreenPopPanel,
        feed: FeedFeature,
    ) -> None:
        super().__init__(presenter)
        self.presenter = presenter
        self.panel = panel
        self._feed = feed
        self._window: MainWindow | None = None

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        self.panel.setParent(window, self.panel.windowFlags())
        connect_all([
            (self.presenter.cardChanged, self.panel.show_card),
            (self.presenter.openRequested, self._open),
            (self.panel.noteEdited, self.presenter.note_edited),
            (self.panel.openClicked, self.presenter.open_caller),
            (self.panel.dismissClicked, self.presenter.dismiss),
        ])

    def _open(self, card: CallerCard) -> None:
        """The caller's calls in the feed, the window in front."""
        window = self._window
        if window is None:
            return
        self._feed.panel.search.setText(card.caller)
        if card.last_call_id is not None:
            self._feed.select_call(card.last_call_id)
        window.show_dock(window.feed_dock)
        window.showNormal() if window.isMinimized() else window.show()
        window.raise_()
        window.activateWindow()

    async def aclose(self) -> None:
        self.presenter.save_note()
        await super().aclose()  # the note's write has ended, then its connection closed
        self.panel.hide()


def build(shared: Shared, relay_sync: RelaySync, feed: FeedFeature) -> ScreenPopFeature:
    # A connection of its own: the card is read on a worker thread while the window reads.
    store = shared.store.sibling()
    pops = ScreenPops(CallerRecords(store))
    presenter = ScreenPopPresenter(pops, lambda: shared.me.uuid)
    feature = ScreenPopFeature(presenter, ScreenPopPanel(), feed)
    feature.close_after_tasks(store.close)
    feature.on_close(relay_sync.add_live_call_listener(presenter.live_call))
    return feature
