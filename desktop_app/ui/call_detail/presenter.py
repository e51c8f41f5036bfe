"""The presenter between the selected call's recording and the player widget.

What state the recording is in, and what a fetch makes of it, is `RecordingSession`'s
(`desktop_app.services.recordings`); this presenter runs the fetch and the "save a copy"
under its task supervisor (one fetch at a time: selecting another call cancels it) and
turns the session's changes into signals. It never sees the widgets: the feature
(`call_detail.feature.bind`) connects its signals to the player's slots and the panel's
and player's requests to its slots. The widgets hold no coroutine and no business rule.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop_app.api.models import CallLog
from desktop_app.services.paths import SaveFolders, SaveKind
from desktop_app.services.recordings import NOT_READY_MESSAGE as NOT_READY_MESSAGE
from desktop_app.services.recordings import (
    RecordingCache,
    RecordingSession,
    RecordingStatus,
    save_copy,
)
from desktop_app.services.recordings import RecordingState as RecordingState
from desktop_app.ui.common.presenter import Presenter

log = logging.getLogger(__name__)

#: The one fetch at a time: selecting another call starts a new one, which wins.
FETCH_TASK: Final = "recording-fetch"
#: Fitting the cache into a smaller limit (a newer one replaces it).
EVICT_TASK: Final = "recording-evict"


class RecordingController(Presenter):
    """Fetches the selected call's recording into the cache and tells the player about it.

    Fetching is on demand (Play, Space, Retry) unless `auto_fetch`: each fetch spends a
    request of the account's shared budget (20 a minute), and an agent clicking through
    the log should not spend it. A cached recording is ready at once without any request.
    Selecting another call cancels the fetch in flight.
    """

    stateChanged = Signal(str)
    """The new `RecordingState` value; read `message` for the sentence to show."""
    statusChanged = Signal(str, str)
    """The new `RecordingState` value and the sentence that describes it (what a view shows)."""
    suggestedPathChanged = Signal(str)
    """A new file to offer in "Save as…" (see `suggested_path`)."""
    ready = Signal(str, bool)
    """Local file path of the selected call's recording, and whether to start playing."""
    saved = Signal(str)
    """A copy was written to this path."""
    saveFailed = Signal(str)
    """A copy could not be written; the argument is a sentence for the user."""

    def __init__(
        self,
        cache: RecordingCache,
        *,
        auto_fetch: bool = False,
        folders: SaveFolders | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordingController")
        self._folders = folders if folders is not None else SaveFolders()
        self.cache = cache
        self._session = RecordingSession(cache, on_change=self._on_status)
        self._auto_fetch = auto_fetch
        self._suggested = self.suggested_path

    # ------------------------------------------------------------- reading

    @property
    def call(self) -> CallLog | None:
        return self._session.call

    @property
    def state(self) -> RecordingState:
        return self._session.status.state

    @property
    def message(self) -> str:
        """The sentence that describes `state` to the user."""
        return self._session.status.message

    @property
    def local_path(self) -> Path | None:
        """The cached file once `state` is READY."""
        return self._session.status.path

    @property
    def suggested_path(self) -> str:
        """The file "Save as…" offers: a name a person can read (the call's start and
        caller), in the folder last chosen (else Downloads)."""
        folder = self._folders.start(SaveKind.RECORDING)
        return str(folder / self._session.suggested_filename)

    # ------------------------------------------------------------- actions

    @Slot(object)
    def load_call(self, call: CallLog | None) -> None:
        """Show `call`'s recording (None: nothing selected); cancels the previous fetch."""
        if not self._session.select(call):
            return  # the same call selected again (or re-synced unchanged): keep going
        self.tasks.cancel(FETCH_TASK)  # the fetch of the call selected before
        path = self.local_path
        if path is not None:
            self.ready.emit(str(path), False)
        elif self.state is RecordingState.AVAILABLE and self._auto_fetch:
            self.fetch(autoplay=False)

    @Slot(bool)
    def fetch(self, autoplay: bool = True) -> None:
        """Start fetching the selected call's recording (no-op if none or already busy)."""
        call = self._session.begin_fetch()
        if call is None:
            return
        self._spawn(
            self._fetch(call, autoplay), FETCH_TASK,
            on_failure=lambda failure: self._session.fetch_failed(call, failure.sentence),
        )

    def set_cache_limit(self, max_bytes: int) -> None:
        """The cache's size limit changed: a smaller one removes the oldest played
        recordings now, in a worker thread (a large cache takes a while to walk), never
        the one the player holds."""
        if self.cache.set_max_bytes(max_bytes):
            self._spawn(
                asyncio.to_thread(self.cache.evict, keep=self.local_path), EVICT_TASK
            )

    @Slot(str)
    def save_to(self, destination: str | Path) -> None:
        """Copy the ready recording to `destination` off the UI thread; emits saved/saveFailed.

        The copy is atomic and never written through a link (see `save_copy`); a folder
        receives it under the suggested name, and `saved` names the file written. The
        folder is remembered for the next "Save as…".
        """
        source = self.local_path
        if source is None:
            self.saveFailed.emit("There is no recording to save yet.")
            return
        self._folders.remember(SaveKind.RECORDING, destination)
        self._announce_suggested()
        name = self._session.suggested_filename
        # Named by destination: saving a second copy elsewhere does not cancel the first.
        self._spawn(
            self._save(source, Path(destination), name), f"recording-save:{destination}",
            on_failure=lambda failure: self.saveFailed.emit(
                f"The recording could not be saved to {destination}: {failure.sentence}"
            ),
        )

    def cancel(self) -> None:
        """Cancel every task this controller started (the window calls it on close)."""
        self.cancel_tasks()
        self._session.fetch_stopped()

    # ------------------------------------------------------------- private

    async def _fetch(self, call: CallLog, autoplay: bool) -> None:
        path = await self._session.fetch(call)
        if path is not None:
            self.ready.emit(str(path), autoplay)

    async def _save(self, source: Path, destination: Path, name: str) -> None:
        try:
            written = await asyncio.to_thread(save_copy, source, destination, name=name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.saveFailed.emit(f"The recording could not be saved to {destination}: {reason}.")
            return
        self.saved.emit(str(written))

    def _on_status(self, status: RecordingStatus) -> None:
        self.stateChanged.emit(status.state.value)
        self.statusChanged.emit(status.state.value, status.message)
        self._announce_suggested()

    def _announce_suggested(self) -> None:
        suggested = self.suggested_path
        if suggested != self._suggested:
            self._suggested = suggested
            self.suggestedPathChanged.emit(suggested)
