"""Do not disturb: silence notifications, and optionally stop the cloud ringing the agent.

Silencing is local and always works. Stopping calls is a ``PUT /user`` of the agent's
``receive_calls`` (off when DND starts, on when it ends), and that can fail. The state
never pretends: `receiving_calls` is what the service was last told successfully (None
when a request may or may not have taken effect), and a failure leaves a plain sentence
in `error` with `retry_action` saying what `retry` would send. The one that matters is
the way back: if calls cannot be switched on again, DND is off (notifications resume) but
the agent is told, until a retry succeeds, that calls still do not reach them.

`DndState.since` is when DND began (the controller's clock), so the window can say how
long it has been on (`indicator_text`); DND restored after a restart has no known start.

Setting ``receive_calls`` is idempotent, so a retry after an unknown outcome is safe.
Whether this app switched calls off is kept in a small key-value store (the cache's
``meta``), so after a restart the app still knows to switch them back on. That note can
fail too (a full disk): then nothing is sent (before calls off) or what the service did is
kept and the missing note is said (after calls on), and the switch is never left busy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from desktop_app.api.errors import MyOperatorError, OutcomeUnknown
from desktop_app.api.redact import install_redacting_filter
from desktop_app.services.clock import Clock
from desktop_app.services.listeners import Listeners
from desktop_app.services.tasks import describe_failure

log = logging.getLogger(__name__)
# A failed cache write is logged with its traceback: redacted at the source.
install_redacting_filter(log)

#: Meta key: "1" while this app has switched the agent's calls off.
META_CALLS_OFF = "dnd.calls_off"

RetryAction = Literal["calls_off", "calls_on"]


class ReceiveCallsSwitch(Protocol):
    """The part of `MyOperatorClient` DND uses."""

    async def set_receives_calls(self, uuid: str, receives_calls: bool) -> str | None: ...


class MetaStore(Protocol):
    """Where the "calls are off" flag survives a restart (`CallStore` is one)."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str | int | float | None) -> None: ...


@dataclass(frozen=True, slots=True)
class DndState:
    """What the DND switch, the tray and the status line show."""

    on: bool = False
    #: The agent asked DND to stop calls too.
    stop_calls: bool = False
    #: What the service was last told successfully; None: unknown (a request may or may
    #: not have taken effect, or DND never touched it).
    receiving_calls: bool | None = None
    busy: bool = False
    error: str | None = None
    retry_action: RetryAction | None = None
    #: When DND was turned on (UTC seconds); None while off, or when DND came back on
    #: from a restart (its start is not kept).
    since: float | None = None

    @property
    def calls_stopped(self) -> bool | None:
        """True when calls are known to be off, None when they may be."""
        if self.receiving_calls is None:
            return None if self.stop_calls or self.retry_action else False
        return not self.receiving_calls

    @property
    def text(self) -> str:
        """One sentence for a status line or a tooltip."""
        if self.error:
            return self.error
        if self.busy:
            return "Updating your availability…"
        if not self.on:
            return "Notifications on"
        if self.receiving_calls is False:
            return "Do not disturb: notifications silenced, calls are not routed to you"
        return "Do not disturb: notifications silenced"


StateListener = Callable[[DndState], None]


class DndController:
    """The DND switch; `my_uuid` None (not yet known) allows silencing only."""

    def __init__(
        self,
        client: ReceiveCallsSwitch | None,
        my_uuid: str | None = None,
        *,
        meta: MetaStore | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._client = client
        self._clock = clock
        self.my_uuid = my_uuid
        self._meta = meta
        self._listeners: Listeners[[DndState]] = Listeners()
        calls_off = meta is not None and meta.get_meta(META_CALLS_OFF) == "1"
        # Calls this app switched off before a restart are still off: show DND as on, so
        # ending it switches them back on.
        self._state = (
            DndState(on=True, stop_calls=True, receiving_calls=False) if calls_off else DndState()
        )

    def set_my_uuid(self, uuid: str | None) -> None:
        """Whose routing "also stop calls" switches (the workspace's `Identity` calls this)."""
        self.my_uuid = uuid

    @property
    def state(self) -> DndState:
        return self._state

    @property
    def can_stop_calls(self) -> bool:
        """Whether "also stop calls" is possible (the agent's uuid and a client known)."""
        return self._client is not None and bool(self.my_uuid)

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def _set(self, state: DndState) -> DndState:
        if state != self._state:
            self._state = state
            self._listeners.emit(state)
        return state

    # -- the switch -----------------------------------------------------------------------

    async def turn_on(self, *, stop_calls: bool = False) -> DndState:
        """Silence notifications; with `stop_calls`, also stop calls reaching the agent."""
        state = self._state
        if state.busy:
            return state
        since = state.since if state.on else self._clock()
        if not stop_calls:
            return self._set(replace(state, on=True, since=since))
        if not self.can_stop_calls:
            return self._set(
                replace(
                    state, on=True, since=since, error="Notifications are silenced, but "
                    "calls cannot be stopped: your MyOperator user is not known yet."
                )
            )
        self._set(replace(state, on=True, since=since, stop_calls=True))
        return await self._switch(receive=False)

    async def turn_off(self) -> DndState:
        """End DND: notifications resume; calls DND stopped are switched back on."""
        state = self._state
        if state.busy:
            return state
        # Calls need switching on unless they are known to be on (e.g. stopping them was
        # refused outright); after an unknown outcome they may be off, and "on" is safe.
        needs_calls_on = state.receiving_calls is not True and (
            state.stop_calls or state.retry_action is not None
        )
        if not needs_calls_on:
            return self._set(DndState(receiving_calls=state.receiving_calls))
        self._set(replace(state, on=False, stop_calls=False, since=None))
        return await self._switch(receive=True)

    async def set_on(self, on: bool, *, stop_calls: bool = False) -> DndState:
        return await (self.turn_on(stop_calls=stop_calls) if on else self.turn_off())

    async def retry(self) -> DndState:
        """Send again what failed (a safe repeat: the switch is idempotent)."""
        action = self._state.retry_action
        if action is None or self._state.busy:
            return self._state
        return await self._switch(receive=action == "calls_on")

    async def _switch(self, *, receive: bool) -> DndState:
        uuid = self.my_uuid
        if self._client is None or not uuid:
            return self._set(
                replace(self._state, error="Your MyOperator user is not known yet: "
                        "calls cannot be switched.", retry_action=None)
            )
        if not receive:
            # Before sending: a crash must not forget it. Unable to note it, send nothing:
            # calls switched off by an app that forgot doing so would never come back on.
            problem = self._remember_calls_off(True)
            if problem is not None:
                return self._set(
                    replace(self._state, busy=False, retry_action="calls_off",
                            error="Notifications are silenced, but calls were not "
                            f"stopped ({problem}).")
                )
        self._set(replace(self._state, busy=True, error=None, retry_action=None))
        try:
            return self._set(await self._send(self._client, uuid, receive=receive))
        except Exception as exc:  # not the service's answer (a bug, a broken transport)
            what = "switching calls back on" if receive else "stopping calls"
            self._set(
                replace(self._state, busy=False, receiving_calls=None,
                        retry_action="calls_on" if receive else "calls_off",
                        error=f"It is not known whether {what} worked "
                        f"({_clause(describe_failure(exc))}): retry to be sure.")
            )
            raise  # the task's supervisor reports it too
        finally:
            # Whatever ended the switch (cancelled on close, a bug), it must not stay busy:
            # turn_on/turn_off/retry ignore a busy switch, so it would never work again.
            if self._state.busy:
                self._set(
                    replace(self._state, busy=False, receiving_calls=None,
                            retry_action="calls_on" if receive else "calls_off")
                )

    async def _send(self, client: ReceiveCallsSwitch, uuid: str, *, receive: bool) -> DndState:
        """The PUT, and the state it leaves: what the service was told, and any problem."""
        try:
            await client.set_receives_calls(uuid, receive)
        except MyOperatorError as exc:
            return self._failed(exc, receive=receive)
        done = replace(self._state, busy=False, receiving_calls=receive, error=None,
                       retry_action=None)
        if receive:
            problem = self._remember_calls_off(False)
            if problem is not None:  # calls are on: say so, and what was not noted
                return replace(
                    done, error="Calls reach you again, but the app could not note it "
                    f"({problem}): after a restart it may switch them on once more."
                )
        return done

    def _failed(self, exc: MyOperatorError, *, receive: bool) -> DndState:
        unknown = isinstance(exc, OutcomeUnknown)
        known = None if unknown else not receive  # a clear refusal changed nothing
        if receive:
            log.warning("switching calls back on failed: %s", exc.message)
            error = (
                "Calls may still not reach you: switching them back on failed "
                f"({exc.message}). Retry, or switch 'receive calls' on in MyOperator."
                if unknown
                else "Calls still do not reach you: switching them back on failed "
                f"({exc.message}). Retry, or switch 'receive calls' on in MyOperator."
            )
            return replace(self._state, busy=False, receiving_calls=known, error=error,
                           retry_action="calls_on")
        log.warning("switching calls off failed: %s", exc.message)
        error = (
            "Notifications are silenced, but calls may still reach you: stopping them "
            f"failed ({exc.message})."
            if unknown
            else "Notifications are silenced, but calls still reach you: stopping them "
            f"failed ({exc.message})."
        )
        if not unknown:
            # Not noted: after a restart DND shows on, and ending it sends a harmless "on".
            self._remember_calls_off(False)
        return replace(self._state, busy=False, receiving_calls=known, error=error,
                       retry_action="calls_off")

    def _remember_calls_off(self, off: bool) -> str | None:
        """Note in the cache whether this app switched calls off; on failure, why not (in
        words, for the state's sentence: a full disk must not leave the switch stuck)."""
        if self._meta is None:
            return None
        try:
            self._meta.set_meta(META_CALLS_OFF, "1" if off else None)
        except Exception as exc:
            problem = _clause(describe_failure(exc))
            log.error("noting that calls are %s failed: %s", "off" if off else "on", problem,
                      exc_info=True)
            return problem
        return None

    def dismiss_error(self) -> DndState:
        """The agent read the message and chose not to retry (calls stay as they are)."""
        return self._set(replace(self._state, error=None, retry_action=None))


def indicator_text(state: DndState, now: float) -> str:
    """The status bar's words while DND is on ("" when off), at minute granularity:
    "Do not disturb · on for 12 min"."""
    if not state.on:
        return ""
    if state.since is None:
        return "Do not disturb · on"
    minutes = max(0, int(now - state.since) // 60)
    if minutes < 1:
        return "Do not disturb · on for less than a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"Do not disturb · on for {minutes} min"
    return f"Do not disturb · on for {hours} h {minutes} min" if minutes else (
        f"Do not disturb · on for {hours} h"
    )


def _clause(sentence: str) -> str:
    """A failure's sentence as a clause inside another sentence."""
    text = sentence.rstrip(".")
    return text[:1].lower() + text[1:]
