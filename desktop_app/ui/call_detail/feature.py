"""The call detail as a feature: the selected call, its legs and its recording's player.

`bind` is the one place the panel (and its player) meet the recording presenter: one
`connect_all` list, then the presenter's current state shown once, so the widgets never
hold the presenter nor read from it. Tests bind a panel with `bind`, a player alone
with `bind_player`.

Two settings are followed live: the recording cache's size limit (`RECORDINGS_CACHE_MB`;
a smaller one evicts at once, in a worker thread) and the speed each new recording starts
at (`PLAYBACK_SPEED`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from desktop_app.services.paths import SaveFolders
from desktop_app.services.recordings import RecordingCache
from desktop_app.services.settings import PLAYBACK_SPEED, RECORDINGS_CACHE_MB, Settings
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.call_detail.panel import CallDetailPanel
from desktop_app.ui.call_detail.player import PlayerWidget
from desktop_app.ui.call_detail.presenter import RecordingController, RecordingState
from desktop_app.ui.common.feature import Connection, Feature, Shared, connect_all
from desktop_app.ui.feed.feature import FeedFeature
from desktop_app.ui.shell.main_window import MainWindow

_MB: Final = 1024 * 1024


class CallDetailFeature(Feature):
    def __init__(self, panel: CallDetailPanel, recordings: RecordingController) -> None:
        super().__init__(recordings)
        self.panel = panel
        self.recordings = recordings

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        connect_all([
            (window.playPauseRequested, self.panel.player.toggle_play),
            (self.recordings.saved, window.show_saved_file),
        ])

    def follow_settings(self, settings: Settings) -> None:
        self.follow(
            settings, RECORDINGS_CACHE_MB, lambda mb: self.recordings.set_cache_limit(mb * _MB)
        )
        self.follow(settings, PLAYBACK_SPEED, self.panel.player.set_default_speed)

    async def aclose(self) -> None:
        """The download and the player stop first: no sound after the window is gone."""
        self.recordings.cancel()
        self.panel.player.shutdown()
        await super().aclose()


def player_connections(player: PlayerWidget, recordings: RecordingController) -> list[Connection]:
    """The player's wiring: what the presenter says reaches its slots, what the person
    asks of it reaches the presenter."""
    return [
        (recordings.statusChanged, player.show_status),
        (recordings.suggestedPathChanged, player.set_suggested_path),
        (recordings.ready, player.load_file),
        (recordings.saved, player.show_saved),
        (recordings.saveFailed, player.show_save_failed),
        (player.fetchRequested, recordings.fetch),
        (player.saveRequested, recordings.save_to),
    ]


def show_current(player: PlayerWidget, recordings: RecordingController) -> None:
    """Show what the presenter holds now: the signals only carry what changes later."""
    player.show_status(recordings.state.value, recordings.message)
    player.set_suggested_path(recordings.suggested_path)
    path = recordings.local_path
    if recordings.state is RecordingState.READY and path is not None:
        player.load_file(str(path), False)


def bind(panel: CallDetailPanel, recordings: RecordingController) -> None:
    """Bind the panel and its player to the recording presenter: the call shown is the
    call whose recording is presented."""
    connect_all([
        (panel.callShown, recordings.load_call),
        *player_connections(panel.player, recordings),
    ])
    show_current(panel.player, recordings)


def bind_player(player: PlayerWidget, recordings: RecordingController) -> None:
    """Bind a player on its own (tests, benchmarks) as `bind` binds the panel's."""
    connect_all(player_connections(player, recordings))
    show_current(player, recordings)


def build(shared: Shared, feed: FeedFeature, *, recordings_dir: Path) -> CallDetailFeature:
    limit = shared.settings.get(RECORDINGS_CACHE_MB) * _MB
    recordings = RecordingController(
        RecordingCache(recordings_dir, downloader=shared.client, max_bytes=limit),
        folders=SaveFolders(shared.state),
    )
    panel = CallDetailPanel()
    bind(panel, recordings)
    connect_all([(feed.presenter.callSelected, panel.show_call)])
    feature = CallDetailFeature(panel, recordings)
    feature.follow_settings(shared.settings)
    return feature
