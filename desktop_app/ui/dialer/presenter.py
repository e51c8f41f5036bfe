"""The dialer's presenter: the panel's requests go to a `DialFlow`, its snapshots come
back as signals.

A dial's whole life (placing through the guard, following the call, checking an unclear
outcome, the earlier run's dials, which dial owns the status line) is the Qt-free
`desktop_app.services.dial_flow.DialFlow`; the presenter runs its coroutines under its
own `TaskSupervisor` and turns each `DialSnapshot` into one signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from PySide6.QtCore import (
    QObject,
    Signal,
    Slot,
)

from desktop_app.api.models import User
from desktop_app.services.clock import Sleep
from desktop_app.services.dial_flow import CHECK_DELAYS_S, DialEvent, DialFlow, DialSnapshot
from desktop_app.services.dialer import DialerSettings, DialGuard
from desktop_app.services.identity import Identity
from desktop_app.ui.common.presenter import Presenter


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
    """The dialer's signals for `DialerPanel`, from its `DialFlow` (`flow`).

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
    agentsChanged = Signal(list)
    """(uuid, name) of the agents a call can ring first."""
    agentChoiceUsed = Signal()
    """A dial may have left with the agent chosen for it: that choice was for that call
    only, so the next one rings me first again."""
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
        self.me = me if me is not None else Identity(settings, changes=settings.watch_me)
        self.on_close(self.me.add_listener(lambda uuid: self.meChanged.emit(uuid or "")))
        self.flow = DialFlow(guard, tasks=self.tasks, sleep=sleep, check_delays_s=check_delays_s)
        self.flow.add_listener(self._present)
        self._agent_names: dict[str, str] = {}

    @property
    def busy(self) -> bool:
        return self.flow.busy

    @property
    def awaiting_confirmation(self) -> bool:
        return self.flow.awaiting_confirmation

    def start(self) -> None:
        """Look in the call log for every unclear dial an earlier run (or another
        instance) left (`DialFlow.start`). Reads only, never a dial."""
        self.flow.start()

    def set_agents(self, agents: Sequence[tuple[str, str]]) -> None:
        """The agents a call can ring first, as (uuid, name): named in the status line
        when the phone that rings is not mine."""
        self._agent_names = {uuid: name for uuid, name in agents}
        self.agentsChanged.emit(list(agents))

    def agent_name(self, agent_uuid: str) -> str | None:
        """Who `agent_uuid` is, for "… rings first"; None when it is me."""
        if agent_uuid and agent_uuid == self.me.uuid:
            return None
        return self._agent_names.get(agent_uuid) or "the chosen agent"

    # -- slots ------------------------------------------------------------------------

    @Slot(str, str, str)
    def request_call(self, number_text: str, cc: str, agent_uuid: str) -> None:
        """One deliberate click: at most one request, and none while one is in flight."""
        self.flow.request(number_text, cc, agent_uuid, self.agent_name(agent_uuid))

    @Slot()
    def confirm_call(self) -> None:
        """"Call again" in the confirmation: the same request, confirmed."""
        self.flow.confirm()

    @Slot()
    def cancel_confirmation(self) -> None:
        """"Cancel" in the confirmation: nothing is sent; the status line goes back."""
        self.flow.cancel()

    @Slot(str)
    def remember_me(self, uuid: str) -> None:
        self.me.set(uuid or None)

    @Slot()
    def check_now(self) -> None:
        """Look in the call log for every unclear call now (reads, never a dial)."""
        self.flow.check_now()

    # -- presenting -------------------------------------------------------------------

    def _present(self, snapshot: DialSnapshot) -> None:
        """One change of the flow, as the one signal that says it."""
        event = snapshot.event
        if event is DialEvent.BUSY:
            self.busyChanged.emit(snapshot.busy)
        elif event is DialEvent.STATUS:
            self.statusChanged.emit(snapshot.status.text, snapshot.status.kind)
        elif event is DialEvent.ASKED:
            self.confirmationRequested.emit(snapshot.question or "")
        elif event is DialEvent.ANSWERED:
            self.confirmationCleared.emit()
        elif event is DialEvent.DIALLED:
            if snapshot.number is not None:
                self.settings.add_recent(snapshot.number)
                self.recentNumbersChanged.emit(list(self.settings.recent_numbers))
            self.agentChoiceUsed.emit()
        elif event is DialEvent.LOGGED and snapshot.call is not None:
            self.outcomeReady.emit(snapshot.call)
            self.callLogged.emit(snapshot.call.id)
