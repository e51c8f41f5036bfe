"""The presenter between the recording cache and the player widget.

It owns the asyncio tasks (fetch, save a copy), run by its `TaskSupervisor` (see
`desktop_app.ui.presenters.Presenter`), so the widget holds no coroutine and no business
rule: the widget only renders `state`/`message` and plays the file it is handed.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop_app.api.errors import MyOperatorError, NotReadyYet
from desktop_app.api.models import CallLog
from desktop_app.services.recordings import RecordingCache, save_copy
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.common.presenter import Presenter

log = logging.getLogger(__name__)


class RecordingState(StrEnum):
    """What the player can say about the selected call's recording."""

    NONE = "none"  # no call selected, a missed call, or no file name
    AVAILABLE = "available"  # has a recording, not fetched yet (fetching costs a request)
    FETCHING = "fetching"
    NOT_READY = "not_ready"  # "no voice file found": MyOperator is still processing it
    ERROR = "error"
    READY = "ready"  # a local file is ready to play


NOT_READY_MESSAGE = "Not ready yet — MyOperator is still processing this recording."
#: The one fetch at a time: selecting another call starts a new one, which wins.
FETCH_TASK: Final = "recording-fetch"


class RecordingController(Presenter):
    """Fetches the selected call's recording into the cache and tells the player about it.

    Fetching is on demand (Play, Space, Retry) unless `auto_fetch`: each fetch spends a
    request of the account's shared budget (20 a minute), and an agent clicking through
    the log should not spend it. A cached recording is ready at once without any request.
    Selecting another call cancels the fetch in flight.
    """

    stateChanged = Signal(str)
    """The new `RecordingState` value; read `message` for the sentence to show."""
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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordingController")
        self._cache = cache
        self._auto_fetch = auto_fetch
        self._call: CallLog | None = None
        self._state = RecordingState.NONE
        self._message = ""
        self._path: Path | None = None

    # ------------------------------------------------------------- reading

    @property
    def call(self) -> CallLog | None:
        return self._call

    @property
    def state(self) -> RecordingState:
        return self._state

    @property
    def message(self) -> str:
        """The sentence that describes `state` to the user."""
        return self._message

    @property
    def local_path(self) -> Path | None:
        """The cached file once `state` is READY."""
        return self._path

    @property
    def suggested_filename(self) -> str:
        """A name for "Save as…": the service's file name, which is unique per call."""
        if self._path is not None:
            return self._path.name
        if self._call is not None and self._call.filename:
            return self._call.filename
        return "recording.mp3"

    # ------------------------------------------------------------- actions

    def load_call(self, call: CallLog | None) -> None:
        """Show `call`'s recording (None: nothing selected); cancels the previous fetch."""
        if call is not None and call == self._call and self._state is not RecordingState.NONE:
            return  # the same call selected again (or re-synced unchanged): keep going
        self._cancel_fetch()
        self._call = call
        self._path = None
        if call is None or not call.has_recording or not call.filename:
            self._set_state(RecordingState.NONE, _no_recording_message(call))
            return
        try:
            cached = self._cache.cached_path(call.filename)
        except MyOperatorError as exc:
            self._set_state(RecordingState.ERROR, exc.message)
            return
        if cached is not None:
            self._become_ready(cached, autoplay=False)
        elif self._auto_fetch:
            self.fetch(autoplay=False)
        else:
            self._set_state(RecordingState.AVAILABLE, "Recording available — press Play.")

    @Slot()
    def retry(self) -> None:
        """Fetch again after "not ready yet" or an error, and play when it arrives."""
        self.fetch(autoplay=True)

    def fetch(self, *, autoplay: bool = True) -> None:
        """Start fetching the selected call's recording (no-op if none or already busy)."""
        call = self._call
        if call is None or not call.filename or not call.has_recording:
            return
        if self._state in (RecordingState.FETCHING, RecordingState.READY):
            return
        self._set_state(RecordingState.FETCHING, "Fetching recording…")
        self._spawn(
            self._fetch(call, call.filename, autoplay), FETCH_TASK,
            on_failure=lambda failure: self._fetch_failed(call, failure),
        )

    def save_to(self, destination: str | Path) -> None:
        """Copy the ready recording to `destination` off the UI thread; emits saved/saveFailed.

        The copy is atomic and never written through a link (see `save_copy`); a folder
        receives it under the recording's name, and `saved` names the file written.
        """
        source = self._path
        if source is None:
            self.saveFailed.emit("There is no recording to save yet.")
            return
        # Named by destination: saving a second copy elsewhere does not cancel the first.
        self._spawn(
            self._save(source, Path(destination)), f"recording-save:{destination}",
            on_failure=lambda failure: self.saveFailed.emit(
                f"The recording could not be saved to {destination}: {failure.sentence}"
            ),
        )

    def cancel(self) -> None:
        """Cancel every task this controller started (the window calls it on close)."""
        self.cancel_tasks()
        if self._state is RecordingState.FETCHING:
            self._set_state(RecordingState.AVAILABLE, "Recording available — press Play.")

    # ------------------------------------------------------------- private

    async def _fetch(self, call: CallLog, filename: str, autoplay: bool) -> None:
        try:
            path = await self._cache.get(filename)
        except NotReadyYet:
            if self._call is call:
                self._set_state(RecordingState.NOT_READY, NOT_READY_MESSAGE)
            return
        except MyOperatorError as exc:
            if self._call is call:
                self._set_state(RecordingState.ERROR, exc.message)
            return
        except OSError as exc:
            if self._call is call:
                reason = exc.strerror or type(exc).__name__
                self._set_state(
                    RecordingState.ERROR, f"The recording could not be stored on disk: {reason}."
                )
            return
        if self._call is call:
            self._become_ready(path, autoplay=autoplay)

    async def _save(self, source: Path, destination: Path) -> None:
        try:
            written = await asyncio.to_thread(save_copy, source, destination)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.saveFailed.emit(f"The recording could not be saved to {destination}: {reason}.")
            return
        self.saved.emit(str(written))

    def _fetch_failed(self, call: CallLog, failure: TaskFailure) -> None:
        """A fetch that ended in something `_fetch` does not expect: never left "Fetching…"."""
        if self._call is call and self._state is RecordingState.FETCHING:
            self._set_state(
                RecordingState.ERROR,
                f"Something went wrong fetching the recording: {failure.sentence}",
            )

    def _cancel_fetch(self) -> None:
        self.tasks.cancel(FETCH_TASK)

    def _become_ready(self, path: Path, *, autoplay: bool) -> None:
        self._path = path
        self._set_state(RecordingState.READY, "")
        self.ready.emit(str(path), autoplay)

    def _set_state(self, state: RecordingState, message: str) -> None:
        self._state = state
        self._message = message
        self.stateChanged.emit(state.value)


def _no_recording_message(call: CallLog | None) -> str:
    if call is None:
        return "No recording"
    if not call.answered:
        return "No recording — the call was not answered."
    return "No recording"
