"""Who on the team is on which callback, as the relay's stream tells it (no Qt).

The relay decides who holds a number (one holder at a time, `relay.claim_routes`); this
only follows its ``callback.claimed`` / ``callback.released`` events, replayed and live,
so the callback list can say "Priya is on it" and two agents do not work one customer.

- Events are taken in stream order, each once: a replay overlapping what was already
  applied (a reconnect, a restart's look back) changes nothing.
- A release counts only from the agent holding the number: a late release of a claim
  that had lapsed and been taken by a colleague leaves the colleague's.
- A claim lapses at its `until_ms`, by the relay's clock. The desktop's clock may be off
  by minutes (or days): the offset is learnt from each live event's stream id, claim or
  call (made by the relay's clock as it arrived), so a lapse is judged on the relay's
  time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from desktop_app.relay.events import CLAIM_KINDS, CallbackClaim, RelayEvent, event_id_key
from desktop_app.services.listeners import Listeners

#: A change of the learnt clock offset below this is delivery time, not news.
_CLOCK_NOISE_MS: Final = 1000


class TeamClaims:
    """number → the claim on its callback; see the module docstring."""

    def __init__(
        self, *, me: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._me = me
        self._clock = clock
        #: The relay's clock minus this desktop's, in ms (learnt from live events).
        self._offset_ms = 0
        self._claims: dict[str, CallbackClaim] = {}
        self._last_id: tuple[int, int] | None = None
        self._changes: Listeners[[]] = Listeners()

    def add_listener(self, listener: Callable[[], object]) -> Callable[[], None]:
        """Hear of every change of who is on what; returns the unsubscribe."""
        return self._changes.add(listener)

    @property
    def me(self) -> str | None:
        """This desktop's agent name (its claims read "You are on it")."""
        return self._me

    def set_me(self, agent: str | None) -> None:
        if agent != self._me:
            self._me = agent
            self._changes.emit()

    def now_ms(self) -> int:
        """The relay's time now, as best this desktop knows it."""
        return int(self._clock() * 1000) + self._offset_ms

    def apply(self, event: RelayEvent, live: bool = False) -> bool:
        """Take one event of the stream (others than claims are ignored); whether it
        changed who holds what. A live event of any kind sets the relay's clock; when that
        moves it, listeners hear of it too (a claim may have lapsed, or not, after all)."""
        moved = False
        if live and event.id:
            offset_ms = event_id_key(event.id)[0] - int(self._clock() * 1000)
            moved = abs(offset_ms - self._offset_ms) > _CLOCK_NOISE_MS and bool(self._claims)
            self._offset_ms = offset_ms
        changed = self._take(event)
        if changed or moved:
            self._changes.emit()
        return changed

    def _take(self, event: RelayEvent) -> bool:
        if event.kind not in CLAIM_KINDS:
            return False
        if event.id:
            position = event_id_key(event.id)
            if self._last_id is not None and position <= self._last_id:
                return False  # applied already: a replay
            self._last_id = position
        claim = event.callback_claim()
        if not claim.number:
            return False
        held = self._claims.get(claim.number)
        if claim.claimed:
            self._claims[claim.number] = claim
        elif held is not None and held.agent == claim.agent:
            del self._claims[claim.number]
        else:
            return False
        return True

    def holder(self, number: str) -> CallbackClaim | None:
        """Who is on `number`'s callback now (None: nobody, or their claim lapsed)."""
        claim = self._claims.get(number)
        return claim if claim is not None and claim.until_ms > self.now_ms() else None

    def held(self) -> dict[str, CallbackClaim]:
        """Every claim that has not lapsed, by number."""
        now = self.now_ms()
        return {number: c for number, c in self._claims.items() if c.until_ms > now}

    def is_mine(self, claim: CallbackClaim) -> bool:
        return self._me is not None and claim.agent == self._me

    def sentence(self, number: str) -> str | None:
        """What the callback list says of `number`: "You are on it", "Priya is on it"."""
        claim = self.holder(number)
        if claim is None:
            return None
        return "You are on it" if self.is_mine(claim) else f"{claim.agent} is on it"

    def sentences(self) -> dict[str, str]:
        """`sentence` for every number held now."""
        return {number: text for number in self.held() if (text := self.sentence(number))}

    def next_lapse_s(self) -> float | None:
        """Seconds until the next claim lapses by itself (None: none held)."""
        held = self.held()
        if not held:
            return None
        return max(0.0, (min(c.until_ms for c in held.values()) - self.now_ms()) / 1000)
