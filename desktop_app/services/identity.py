"""Who "me" is: the one answer the whole workspace shares.

The API never says whose token it is, so the agent says it once ("This is me" in the
users list, "Remember as me" in the dialer). The users directory (who may add users), the
dialer (the phone that rings first), the notifier and the callback list (calls that rang
*me*) and do not disturb (*my* routing) all depend on it: each subscribes here instead of
being told by whoever changed it. Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from desktop_app.api.validation import validate_uuid
from desktop_app.services.listeners import Listeners

MeListener = Callable[[str | None], None]


class MeSetting(Protocol):
    """Where the answer is remembered (the dialer's settings fit)."""

    @property
    def me_uuid(self) -> str | None: ...

    def set_me_uuid(self, uuid: str | None) -> None: ...


class _InMemory:
    def __init__(self, uuid: str | None) -> None:
        self.me_uuid = uuid

    def set_me_uuid(self, uuid: str | None) -> None:
        self.me_uuid = uuid


class Identity:
    """The agent's own user: read, changed, and listened to in one place.

    Listeners hear every change once, in the order they were added (`Listeners`: one
    that raises is reported and does not stop the others). With `changes` (the setting's
    own subscription, `DialerSettings.watch_me`), a change made elsewhere (Preferences,
    the first-run flow) reaches them too.
    """

    def __init__(
        self,
        setting: MeSetting | None = None,
        *,
        changes: Callable[[MeListener], Callable[[], None]] | None = None,
    ) -> None:
        self._setting: MeSetting = setting if setting is not None else _InMemory(None)
        self._listeners: Listeners[[str | None]] = Listeners()
        self._known = self._setting.me_uuid
        self._unwatch = changes(self._changed) if changes is not None else None

    @property
    def uuid(self) -> str | None:
        return self._setting.me_uuid

    def close(self) -> None:
        """Stop hearing the setting's changes (the workspace closes)."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def _changed(self, uuid: str | None) -> None:
        if uuid != self._known:
            self._known = uuid
            self._listeners.emit(uuid)

    def set(self, uuid: str | None) -> None:
        """Remember `uuid` as me (blank or None forgets); listeners hear of a change.

        Raises ValidationError for something that is not a user id, before anything
        is remembered.
        """
        checked = validate_uuid(uuid, field="support_user_id") if uuid else None
        if checked == self._setting.me_uuid:
            return
        self._setting.set_me_uuid(checked)
        self._changed(checked)  # once: a watched setting may have said so already

    def add_listener(self, listener: MeListener) -> Callable[[], None]:
        """Call `listener` with the new uuid on every change; returns the unsubscribe."""
        return self._listeners.add(listener)
