"""The call detail as a feature: the selected call, its legs and its recording's player."""

from __future__ import annotations

from pathlib import Path

from desktop_app.services.recordings import RecordingCache
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.call_detail.panel import CallDetailPanel
from desktop_app.ui.call_detail.presenter import RecordingController
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.feed.feature import FeedFeature
from desktop_app.ui.shell.main_window import MainWindow


class CallDetailFeature(Feature):
    def __init__(self, panel: CallDetailPanel, recordings: RecordingController) -> None:
        super().__init__(recordings)
        self.panel = panel
        self.recordings = recordings

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        window.playPauseRequested.connect(self.panel.player.toggle_play)

    async def aclose(self) -> None:
        """The download and the player stop first: no sound after the window is gone."""
        self.recordings.cancel()
        self.panel.player.shutdown()
        await super().aclose()


def build(shared: Shared, feed: FeedFeature, *, recordings_dir: Path) -> CallDetailFeature:
    recordings = RecordingController(RecordingCache(recordings_dir, downloader=shared.client))
    panel = CallDetailPanel(recordings)
    connect_all([(feed.presenter.callSelected, panel.show_call)])
    return CallDetailFeature(panel, recordings)
