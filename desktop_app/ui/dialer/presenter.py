"""The dialer's presenter: every dial through the `DialGuard`, reported as status lines.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from functools import partial
from typing import Final

from PySide6.QtCore import (
    QObject,
    Signal,
    Slot,
)

from desktop_app.api.models import CallLog, User
from desktop_app.services.clock import Sleep
from desktop_app.services.dialer import (
    CheckKind,
    DialAttempt,
    DialerSettings,
    DialGuard,
    DialKind,
    UnknownCheck,
    outcome_text,
)
from desktop_app.services.identity import Identity
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.dialer.model import (
    KIND_CHECKING,
    KIND_ERROR,
    KIND_IDLE,
    KIND_IN_FLIGHT,
    KIND_INFO,
    KIND_OUTCOME,
    KIND_PLACED,
    KIND_UNKNOWN,
)
from desktop_app.ui.dialer.panel import DialerPanel

#: Pauses before each automatic look in the call log after an unclear dial: reads only,
#: about seven requests over five minutes, then the person can press "Check again".
CHECK_DELAYS_S: Final = (10.0, 10.0, 20.0, 30.0, 30.0, 60.0, 120.0)


def agents_from_users(users: Sequence[User]) -> list[tuple[str, str]]:
    """(uuid, name) of the users a call can be placed through (disabled ones cannot),
    for `DialerPanel.set_agents`."""
    return [
        (user.uuid, user.name or user.email or user.uuid)
        for user in users
        if user.uuid and user.is_enabled is not False
    ]


# ---------------------------------------------------------------------------------------
# The presenter


class DialerPresenter(Presenter):
    """Runs dials through the guard and reports them as signals for `DialerPanel`.

    A newer dial takes over the status line; an older call's follow-up or check goes on
    quietly (it still settles the guard's state and still reports `callLogged`).
    `start` looks for the calls of unclear dials left by an earlier run.
    """

    busyChanged = Signal(bool)
    statusChanged = Signal(str, str)
    """Text and kind (see the ``KIND_*`` constants)."""
    confirmationRequested = Signal(str)
    confirmationCleared = Signal()
    recentNumbersChanged = Signal(list)
    meChanged = Signal(str)
    outcomeReady = Signal(object)
    """The `CallLog` of a placed call once it is in the call log."""
    callLogged = Signal(str)
    """That call's id: select it in the feed ("follow it in the log feed")."""

    def __init__(
        self,
        guard: DialGuard,
        settings: DialerSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        check_delays_s: Sequence[float] = CHECK_DELAYS_S,
        me: Identity | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dialerPresenter")
        self.guard = guard
        self.settings = settings
        #: Who "me" is, shared with the rest of the workspace (default: the settings').
        self.me = me if me is not None else Identity(settings)
        self.on_close(self.me.subscribe(lambda uuid: self.meChanged.emit(uuid or "")))
        self._sleep = sleep
        self._check_delays = tuple(check_delays_s)
        self._busy = False
        self._generation = 0
        self._pending: tuple[str, str, str] | None = None
        self._checking = False
        self._last_status: tuple[str, str] | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def awaiting_confirmation(self) -> bool:
        return self._pending is not None

    def start(self) -> None:
        """Look in the call log for every unclear dial an earlier run (or another
        instance) left, and settle the ones old enough for the log to answer; the ones
        still unclear are shown with "Check again". Reads only, never a dial."""
        if self.closed or not self.guard.unknown_attempts:
            return
        self._spawn(self._check_pending(self._generation, earlier=True), "dialer-earlier-check")

    # -- slots ------------------------------------------------------------------------

    @Slot(str, str, str)
    def request_call(self, number_text: str, cc: str, agent_uuid: str) -> None:
        """One deliberate click: at most one request, and none while one is in flight."""
        if self._busy or self.closed:
            return
        self._clear_confirmation()
        self._start(number_text, cc, agent_uuid, confirmed=False)

    @Slot()
    def confirm_call(self) -> None:
        """"Call again" in the confirmation: the same request, confirmed."""
        pending = self._pending
        if pending is None or self._busy or self.closed:
            return
        self._clear_confirmation()
        self._start(*pending, confirmed=True)

    @Slot()
    def cancel_confirmation(self) -> None:
        """"Cancel" in the confirmation: nothing is sent; the status line goes back to
        what it said before (an unclear call's check, a call's outcome)."""
        if self._pending is not None:
            self._clear_confirmation()
            self._restore_status(fallback="Not called.")

    @Slot(str)
    def remember_me(self, uuid: str) -> None:
        self.me.set(uuid or None)

    @Slot()
    def check_now(self) -> None:
        """Look in the call log for every unclear call now (reads, never a dial)."""
        if self.closed or self._checking or not self.guard.unknown_attempts:
            return
        self._spawn(self._check_pending(self._generation, earlier=False), "dialer-check-now")

    # -- work -------------------------------------------------------------------------

    def _start(self, number_text: str, cc: str, agent_uuid: str, *, confirmed: bool) -> None:
        self._set_busy(True)  # synchronously: a second click finds the button disabled
        reserved: list[DialAttempt] = []  # this dial's record, once the guard wrote it
        self._spawn(
            self._dial(number_text, cc, agent_uuid, confirmed, reserved), "dialer-dial",
            on_failure=partial(self._dial_failed, reserved),
        )

    def _dial_failed(self, reserved: Sequence[DialAttempt], failure: TaskFailure) -> None:
        """The dial ended in something the guard does not answer for (never retried): the
        Call button comes back and "Placing the call…" gives way to a sentence. Whether
        the call may have been placed depends on this dial alone: once its record was
        written the request may have left (the guard counts it as possibly sent, and the
        call log is checked as after any unclear answer); before that, nothing was sent."""
        self._set_busy(False)
        self._generation += 1
        gen = self._generation
        if reserved:
            self._status(
                gen,
                f"The call may or may not have been placed: {failure.sentence} "
                "Press Check again to look in the call log before calling again.",
                KIND_UNKNOWN,
            )
            self._spawn(self._resolve_unknown(gen, reserved[0]), f"dialer-check-{gen}")
        else:
            self._status(gen, f"The call was not placed: {failure.sentence}", KIND_ERROR)

    def _task_failed(self, failure: TaskFailure) -> None:
        """A follow-up or a check that failed: the status line says so instead of
        "checking…" forever (the window's status bar has the details)."""
        current = (f"dialer-follow-{self._generation}", f"dialer-check-{self._generation}",
                   "dialer-check-now", "dialer-earlier-check")
        if failure.name in current:  # an older call's follow-up does not own the line
            self._status(
                self._generation, f"The call log could not be checked: {failure.sentence}",
                KIND_ERROR,
            )

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _clear_confirmation(self) -> None:
        self._pending = None
        self.confirmationCleared.emit()

    def _status(self, generation: int, text: str, kind: str) -> None:
        """Show a status unless a newer dial owns the status line by now."""
        if generation == self._generation:
            self._last_status = (text, kind)
            self.statusChanged.emit(text, kind)

    def _restore_status(self, *, fallback: str = "") -> None:
        text, kind = self._last_status or (fallback, KIND_IDLE)
        self.statusChanged.emit(text, kind)

    async def _dial(
        self, number_text: str, cc: str, agent_uuid: str, confirmed: bool,
        reserved: list[DialAttempt],
    ) -> None:
        self.statusChanged.emit("Placing the call…", KIND_IN_FLIGHT)
        try:
            outcome = await self.guard.dial(
                number_text, cc, agent_uuid, confirmed=confirmed, on_reserved=reserved.append
            )
        finally:
            self._set_busy(False)
        kind = outcome.kind
        if kind in (DialKind.NEEDS_CONFIRMATION, DialKind.BLOCKED):
            # Nothing was sent: an earlier call's check keeps the status line.
            self._pending = (number_text, cc, agent_uuid)
            self._restore_status()
            self.confirmationRequested.emit(outcome.message)
            return
        if kind is DialKind.BUSY:
            self._restore_status()
            return
        self._generation += 1
        gen = self._generation
        if kind is DialKind.FAILED:
            self._status(gen, outcome.message, KIND_ERROR)
            return
        attempt = outcome.attempt
        assert attempt is not None and outcome.number is not None
        self.settings.add_recent(outcome.number.e164)
        self.recentNumbersChanged.emit(list(self.settings.recent_numbers))
        if kind is DialKind.PLACED:
            self._status(gen, outcome.message, KIND_PLACED)
            self._spawn(self._follow(gen, attempt), f"dialer-follow-{gen}")
        else:
            self._status(gen, outcome.message, KIND_UNKNOWN)
            self._spawn(self._resolve_unknown(gen, attempt), f"dialer-check-{gen}")

    async def _follow(self, gen: int, attempt: DialAttempt) -> None:
        call = await self.guard.follow(attempt)
        shown = attempt.number.formatted()
        if call is None:
            self._status(gen, f"The call to {shown} has not appeared in the call log.", KIND_INFO)
            return
        self._report_call(gen, f"Call to {shown}", call)

    def _report_call(self, gen: int, what: str, call: CallLog) -> None:
        self._status(gen, f"{what}: {outcome_text(call)}.", KIND_OUTCOME)
        self.outcomeReady.emit(call)
        self.callLogged.emit(call.id)

    async def _resolve_unknown(self, gen: int, attempt: DialAttempt) -> None:
        """Look in the call log now and then until the unclear call is found, then once
        more when its absence would mean "not placed"; reads only, never a dial."""
        shown = attempt.number.formatted()
        for i, delay in enumerate(self._check_delays):
            await self._sleep(delay)
            if not self._still_unclear(attempt):
                return  # settled meanwhile ("Check again", or a confirmed redial)
            following = self._check_delays[i + 1] if i + 1 < len(self._check_delays) else None
            then = (
                f" Checking again in {math.ceil(following)} s…" if following is not None
                else " Press Check again, or call again (you will be asked first)."
            )
            result = await self._check_once(gen, attempt, then=then)
            if result is None or result.kind is not CheckKind.UNCLEAR:
                return
        if not self._check_delays:
            self._status(
                gen, f"The call to {shown} may have been placed. Press Check again.",
                KIND_UNKNOWN,
            )
        # The last look: when the log has surely shown the call if it was placed.
        left = self.guard.seconds_until_settled(attempt)
        if left > 0:
            await self._sleep(left)
        if self._still_unclear(attempt):
            await self._check_once(gen, attempt, then=" Press Check again.")

    def _still_unclear(self, attempt: DialAttempt) -> bool:
        return any(a.seq == attempt.seq for a in self.guard.unknown_attempts)

    async def _check_pending(self, gen: int, *, earlier: bool) -> None:
        """Check every unclear dial (the latest per number); the last one still unclear
        keeps the status line, with "Check again". For `earlier` dials (left by an
        earlier run) wait until the log can settle the ones that stay unclear, then look
        once more."""
        then = " Press Check again to look now."
        while True:
            unclear: list[tuple[DialAttempt, str]] = []
            for attempt in self.guard.unknown_attempts:
                result = await self._check_once(gen, attempt, then=then, earlier=earlier)
                if result is not None and result.kind is CheckKind.UNCLEAR:
                    unclear.append((attempt, result.message + then))
            if not unclear:
                return
            shown = (unclear[-1][1], KIND_UNKNOWN)
            if self._last_status != shown:  # another number's answer took the line
                self._status(gen, *shown)
            waits = [w for a, _ in unclear if (w := self.guard.seconds_until_settled(a)) > 0]
            if not earlier or not waits:
                return  # the log could not be read: the person presses Check again
            await self._sleep(min(waits))

    async def _check_once(
        self, gen: int, attempt: DialAttempt, *, then: str = "", earlier: bool = False
    ) -> UnknownCheck | None:
        """One look in the call log for `attempt`. A call found for a dial of an earlier
        run is only described: the feed's selection is the person's, not the past's."""
        shown = attempt.number.formatted()
        self._checking = True
        try:
            self._status(
                gen, f"The call to {shown} may have been placed — checking the call log…",
                KIND_CHECKING,
            )
            result = await self.guard.check_unknown(attempt.number)
        finally:
            self._checking = False
        if result is None:
            return None
        if result.kind is CheckKind.FOUND and result.log is not None:
            if earlier:
                self._status(
                    gen, f"An earlier call to {shown} was placed: {outcome_text(result.log)}.",
                    KIND_OUTCOME,
                )
            else:
                self._report_call(gen, f"The call to {shown} was placed", result.log)
        elif result.kind is CheckKind.NOT_FOUND:
            self._status(gen, result.message, KIND_INFO)
        else:
            self._status(gen, result.message + then, KIND_UNKNOWN)
        return result


def bind_dialer(panel: DialerPanel, presenter: DialerPresenter) -> None:
    """Connect the panel and the presenter, and show the remembered state."""
    panel.callRequested.connect(presenter.request_call)
    panel.confirmAccepted.connect(presenter.confirm_call)
    panel.confirmRejected.connect(presenter.cancel_confirmation)
    panel.rememberMeRequested.connect(presenter.remember_me)
    panel.checkRequested.connect(presenter.check_now)
    presenter.busyChanged.connect(panel.set_busy)
    presenter.statusChanged.connect(panel.show_status)
    presenter.confirmationRequested.connect(panel.ask_confirmation)
    presenter.confirmationCleared.connect(panel.hide_confirmation)
    presenter.recentNumbersChanged.connect(panel.set_recent_numbers)
    presenter.meChanged.connect(panel.set_me)
    settings = presenter.settings
    panel.set_country(settings.country_code)
    panel.set_me(presenter.me.uuid or "")
    panel.set_recent_numbers(list(settings.recent_numbers))
