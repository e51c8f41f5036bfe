"""Claims on the callback list's rows, through the team relay only: each row someone is on
says who ("Priya is on it", "You are on it"), and "I'm on it" / "Release" ask the relay.

Who holds what is `services.team_claims.TeamClaims`, fed by the relay's stream
(`RelaySync.add_claim_listener`); asking is `relay.claims.RelayClaims`. A refusal (a
colleague was quicker) is shown in the status bar as the relay words it; what the team
sees comes back through the stream, this agent's own claims included.
"""

from __future__ import annotations

import contextlib
from typing import Final, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.relay.claims import ClaimRefused, ClaimUnavailable
from desktop_app.relay.client import RelayAuthError
from desktop_app.relay.events import CallbackClaim, RelayEvent
from desktop_app.services.formatting import format_number
from desktop_app.services.relay_sync import RelaySync
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.team_claims import TeamClaims
from desktop_app.ui.callbacks.feature import CallbacksFeature
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.common.feature import Feature, connect_all
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.shell.main_window import MainWindow

#: The task asking the relay (a newer click replaces one still asking).
CLAIM_TASK: Final = "callback-claim"
_LONGEST_TIMER_MS: Final = 3_600_000


class Claimer(Protocol):
    """The part of `relay.claims.RelayClaims` this uses."""

    async def claim(self, number: str) -> CallbackClaim: ...

    async def release(self, number: str) -> bool: ...

    async def whoami(self) -> str: ...

    async def aclose(self) -> None: ...


class ClaimsPresenter(Presenter):
    """Puts the team's claims on the model (again when one lapses) and runs the agent's
    claim and release."""

    messageChanged = Signal(str)
    """A sentence for the status bar: a claim made, released or refused."""

    def __init__(
        self,
        claims: TeamClaims,
        model: WorklistModel,
        claimer: Claimer | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("claimsPresenter")
        self.claims = claims
        self._model = model
        self._claimer = claimer
        self._lapse = QTimer(self)
        self._lapse.setObjectName("claimLapse")
        self._lapse.setSingleShot(True)
        self._lapse.timeout.connect(self.show_claims)
        self.on_close(claims.add_listener(self.show_claims))

    def start(self) -> None:
        self.show_claims()
        if self._claimer is not None:
            self._spawn(self._learn_who_i_am(self._claimer), "claims-whoami")

    def stop(self) -> None:
        self._lapse.stop()

    def on_event(self, event: RelayEvent, live: bool) -> None:
        """A claim event of the relay's stream (`RelaySync.add_claim_listener`)."""
        if not self.closed:
            self.claims.apply(event, live)

    @Slot()
    def show_claims(self) -> None:
        """Put who is on what on the model; look again when the next claim lapses."""
        held = self.claims.held()
        mine = frozenset(number for number, claim in held.items() if self.claims.is_mine(claim))
        self._model.set_claims(self.claims.sentences(), mine)
        lapse_s = self.claims.next_lapse_s()
        if lapse_s is None:
            self._lapse.stop()
        elif not self.closed:
            self._lapse.start(min(_LONGEST_TIMER_MS, int(lapse_s * 1000) + 50))

    @Slot(str)
    def claim(self, number: str) -> None:
        if self._claimer is not None:
            self._spawn(self._ask(self._claimer, number, claim=True), CLAIM_TASK)

    @Slot(str)
    def release(self, number: str) -> None:
        if self._claimer is not None:
            self._spawn(self._ask(self._claimer, number, claim=False), CLAIM_TASK)

    async def _ask(self, claimer: Claimer, number: str, *, claim: bool) -> None:
        shown = format_number(number)
        try:
            if claim:
                taken = await claimer.claim(number)
                self.claims.set_me(taken.agent)
                sentence = f"You are on {shown}'s callback: the team sees it."
            else:
                released = await claimer.release(number)
                sentence = (
                    f"You released {shown}'s callback." if released
                    else f"Your claim on {shown}'s callback had already lapsed."
                )
        except (ClaimRefused, ClaimUnavailable) as exc:
            sentence = str(exc)
        except RelayAuthError as exc:
            sentence = f"The team relay refused this agent credential: {exc}"
        self.messageChanged.emit(sentence)

    async def _learn_who_i_am(self, claimer: Claimer) -> None:
        """This agent's name, so their own claims read "You are on it"."""
        # Else learnt at this agent's first claim.
        with contextlib.suppress(ClaimRefused, ClaimUnavailable, RelayAuthError):
            self.claims.set_me(await claimer.whoami() or None)


class ClaimsFeature(Feature):
    def __init__(self, presenter: ClaimsPresenter, claimer: Claimer | None) -> None:
        super().__init__(presenter)
        self.presenter = presenter
        self._claimer = claimer

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self.presenter.messageChanged.connect(window.show_message)

    def start(self) -> None:
        self.presenter.start()

    async def aclose(self) -> None:
        self.presenter.stop()
        await super().aclose()
        if self._claimer is not None:  # the workspace's, like its client: closed with it
            await self._claimer.aclose()


def build(
    relay_sync: RelaySync, callbacks: CallbacksFeature, claimer: Claimer | None
) -> ClaimsFeature:
    """The claims on the callback list, through the team relay (`claimer` None: shown,
    not made)."""
    presenter = ClaimsPresenter(TeamClaims(), callbacks.model, claimer)
    feature = ClaimsFeature(presenter, claimer)
    if claimer is not None:
        callbacks.panel.enable_claims()
        connect_all([
            (callbacks.panel.claimRequested, presenter.claim),
            (callbacks.panel.releaseRequested, presenter.release),
        ])
    feature.on_close(relay_sync.add_claim_listener(presenter.on_event))
    return feature
