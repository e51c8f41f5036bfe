"""The Users directory: the account's users cached locally, checked edits, honest saves.

Plain asyncio, no Qt. What it decides, and why:

- **Validation before sending** reuses `desktop_app.api.validation` field by field, so the
  dialog can show every wrong field at once (the client's own check stops at the first)
  and no rule exists twice. On top, the rules only a list of everyone can check: the
  contact number and the extension must not belong to another user.
- **Edits send only what changed**, with the uuid. The contact number and its country code
  travel together (the client will not guess a number's country), and so do the alternate
  number and its code. A field that held a value and was emptied is refused before
  sending: the API has no way to clear it (blank means "not given").
- **Refresh after every change**, so the list shows what the server now holds. A refresh
  that fails after a successful save does not turn the save into a failure: it is
  reported beside it (`SaveResult.refresh_error`).
- **A save with an unknown outcome** (the request may have reached the server, the answer
  was lost) is never resent. `SaveOutcomeUnknown` carries what was sent; and
  `verify_after_unknown` re-fetches the list and says whether the change is visible
  (`APPLIED`), absent (`NOT_APPLIED`: safe to retry) or neither (`UNCLEAR`). The life
  of a dialog's save and of the receives-calls switch around these calls (answers,
  checks, task names) is `desktop_app.services.user_edit`'s.
- **Who may add users.** The API does not say whose token this is, so the service cannot
  know the token's role. It uses two facts: the user the person said is them ("my user",
  chosen once, in the panel or the dialer: the workspace's `Identity`, else one over the
  cache's meta table), whose role decides
  until the server says otherwise; and the server's own answer: a `PermissionDenied` to
  an add (or an edit) disables that action for the session, whatever "my user" says.
  Until either is known, adding stays allowed: the server is the judge, and its refusal
  costs one request and is shown plainly.
- **Who may change whom** (`Permissions.for_user`). The contract's one role rule about
  managing users is that only SuperAdmin and Admin add them; changing a colleague (their
  number, their routing) is the same power, so a "me" of any other role (Basic, Manager)
  changes no one else. Their own row keeps one thing: the receives-calls switch. The
  contract documents a PUT of just ``uuid`` and ``receive_calls`` as how integrations
  toggle an agent's availability (the do-not-disturb switch maps onto it): it is the
  agent's own availability, not user management. Their other fields (the number the
  cloud rings, extension, panel access) stay an admin's to change. Until "me" is known,
  nothing is held back; the server's refusal still disables editing for everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal, Protocol

from desktop_app.api import validation
from desktop_app.api.errors import (
    MyOperatorError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ValidationError,
)
from desktop_app.api.models import ContactType, NewUser, User, UserPage, UserUpdate
from desktop_app.services.formatting import prepare_number_formats
from desktop_app.services.identity import Identity
from desktop_app.services.listeners import Listeners
from desktop_app.store.users import UserStore

log = logging.getLogger(__name__)

#: The dialog's fields, in the API's names and in the order they are shown.
FORM_FIELDS: tuple[str, ...] = (
    "name",
    "country_code",
    "contact_number",
    "extension",
    "email",
    "alternate_cc",
    "alternate_contact_number",
    "panel_access",
    "receive_calls",
    "contact_type",
)
#: How a person calls each field (the dialog's labels, a confirmation's lines).
FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "country_code": "Country code",
    "contact_number": "Contact number",
    "extension": "Extension",
    "email": "Email",
    "alternate_cc": "Alternate number's country code",
    "alternate_contact_number": "Alternate number",
    "panel_access": "Panel access",
    "receive_calls": "Receives calls",
    "contact_type": "Contact type",
}
#: How a person calls each contact type (the list, the dialog's choices, a confirmation).
CONTACT_TYPE_LABELS: dict[ContactType, str] = {
    ContactType.MOBILE: "Mobile",
    ContactType.SIP: "SIP",
    ContactType.LANDLINE: "Landline",
}
#: A uuid-shaped placeholder: `user_update_params` checks any single field given with it.
_PROBE_UUID = "field-check"
_ADD_DENIED = (
    "MyOperator refused to let this API token add users (only SuperAdmin and Admin may)."
)
_EDIT_DENIED = "MyOperator refused to let this API token change users."


class UsersApi(Protocol):
    """The part of `MyOperatorClient` the directory uses (a fake can stand in)."""

    async def all_users(self, *, keyword: str | None = None) -> tuple[User, ...]: ...

    def iter_users(
        self, *, keyword: str | None = None, page_size: int = 100
    ) -> AsyncIterator[UserPage]: ...

    async def add_user(self, user: NewUser) -> str | None: ...

    async def update_user(self, update: UserUpdate) -> str | None: ...


@dataclass(frozen=True, slots=True)
class UserForm:
    """What the Add/Edit dialog holds: text as typed, choices as values."""

    name: str = ""
    country_code: str = validation.DEFAULT_COUNTRY_CODE
    contact_number: str = ""
    extension: str = ""
    email: str = ""
    alternate_cc: str = ""
    alternate_contact_number: str = ""
    panel_access: bool = True
    receive_calls: bool = True
    contact_type: ContactType = ContactType.MOBILE

    @classmethod
    def from_user(cls, user: User) -> UserForm:
        """The form an Edit dialog starts from; unknown switches show the API's defaults."""
        return cls(
            name=user.name,
            country_code=user.country_code or validation.DEFAULT_COUNTRY_CODE,
            contact_number=user.contact_number or "",
            extension="" if user.extension is None else str(user.extension),
            email=user.email or "",
            alternate_cc=user.alternate_cc or "",
            alternate_contact_number=user.alternate_contact_number or "",
            panel_access=True if user.panel_access is None else user.panel_access,
            receive_calls=True if user.receives_calls is None else user.receives_calls,
            contact_type=user.contact_type or ContactType.MOBILE,
        )


class FieldErrors(ValidationError):
    """Several fields are wrong (nothing was sent); `errors` maps API field → sentence."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first = next(iter(errors.items()), ("", "Check the highlighted fields."))
        super().__init__(first[1], field=first[0] or None, sent=False)
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change sent once whose outcome is unknown: enough to look for it afterwards."""

    kind: Literal["add", "update"]
    params: Mapping[str, str]
    before: User | None = None
    known_uuids: frozenset[str] = frozenset()

    @property
    def uuid(self) -> str | None:
        return self.params.get("uuid")


class SaveOutcomeUnknown(OutcomeUnknown):
    """`OutcomeUnknown` with the change attached, for `UsersService.verify_after_unknown`."""

    def __init__(self, message: str, *, operation: str, change: PendingChange) -> None:
        super().__init__(message, operation=operation)
        self.change = change


class Verdict(Enum):
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    message: str
    user: User | None = None


@dataclass(frozen=True, slots=True)
class SaveResult:
    """A save the server confirmed. `refresh_error` says the list could not be re-read."""

    message: str
    uuid: str | None = None
    user: User | None = None
    sent: Mapping[str, str] = field(default_factory=dict)
    refresh_error: MyOperatorError | None = None


@dataclass(frozen=True, slots=True)
class UserPermissions:
    """What may be changed of one user; a reason (for a tooltip) says why not."""

    may_edit: bool = True
    edit_reason: str = ""
    may_switch_calls: bool = True
    switch_reason: str = ""


@dataclass(frozen=True, slots=True)
class Permissions:
    """Which changes the UI offers; a reason (for a tooltip) says why one is not.

    `may_edit` False: the server refused changes, to anyone. `only_me` set: "my" role
    changes no one but me, and of me only the receives-calls switch (see the module
    docstring); `others_reason` and `own_reason` say so.
    """

    may_add: bool = True
    add_reason: str = ""
    may_edit: bool = True
    edit_reason: str = ""
    only_me: str | None = None
    others_reason: str = ""
    own_reason: str = ""

    def for_user(self, uuid: str) -> UserPermissions:
        """What the person may change of the user `uuid`."""
        if not self.may_edit:
            return UserPermissions(False, self.edit_reason, False, self.edit_reason)
        if self.only_me is None:
            return UserPermissions()
        if uuid != self.only_me:
            return UserPermissions(False, self.others_reason, False, self.others_reason)
        return UserPermissions(False, self.own_reason)


Listener = Callable[[], None]


class _StoredMe:
    """Where "me" is remembered when the app shares no other place: the cache's meta."""

    def __init__(self, store: UserStore) -> None:
        self._store = store

    @property
    def me_uuid(self) -> str | None:
        return self._store.my_uuid()

    def set_me_uuid(self, uuid: str | None) -> None:
        self._store.set_my_uuid(uuid)


class UsersService:
    """The directory: `refresh` from the API into the cache, read and search locally,
    add and edit with checks, and report changes to listeners (the presenter)."""

    def __init__(
        self, client: UsersApi, store: UserStore, *, me: Identity | None = None
    ) -> None:
        self._client = client
        self._store = store
        self._users: tuple[User, ...] = store.all()
        self._me = me if me is not None else Identity(_StoredMe(store))
        # "Me" decides who may add users: a change made anywhere (the dialer) re-lists.
        self._forget_me = self._me.add_listener(lambda _uuid: self._listeners.emit())
        self._add_denied: str | None = None
        self._edit_denied: str | None = None
        self._listeners: Listeners[[]] = Listeners()

    def close(self) -> None:
        """Stop hearing of "me": the identity is the workspace's and may outlive this."""
        self._forget_me()

    # -- listening ------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` whenever the users or the permissions change; returns an
        unsubscribe function."""
        return self._listeners.add(listener)

    # -- reading --------------------------------------------------------------------------

    def users(self) -> tuple[User, ...]:
        """Everyone in the cache, in the service's order."""
        return self._users

    def get(self, uuid: str) -> User | None:
        return next((u for u in self._users if u.uuid == uuid), None)

    def search(self, text: str) -> tuple[User, ...]:
        """Local search (see `UserStore.search`): no request, instant."""
        return self._store.search(text)

    def synced_at(self) -> int | None:
        return self._store.synced_at()

    async def refresh(self) -> tuple[User, ...]:
        """Re-read everyone: one ``_all=1`` request; page by page if the service refuses it."""
        try:
            users: list[User] = list(await self._client.all_users())
        except ValidationError as exc:
            log.info("GET /user with _all=1 refused (%s); paging instead", exc.message)
            users = [u async for page in self._client.iter_users(page_size=100) for u in page.users]
        await asyncio.to_thread(self._store.replace_all, users)
        self._users = await asyncio.to_thread(self._read_all)
        self._listeners.emit()
        return self._users

    def _read_all(self) -> tuple[User, ...]:
        """The cache's users, their numbers formatted once on this (worker) thread: a
        list's first fill otherwise pays phonenumbers' first parse of their country on
        the window's thread (15-25 ms, a frame and more, while a sync runs)."""
        users = self._store.all()
        prepare_number_formats(u.number_e164 for u in users if u.number_e164)
        return users

    def note_receives_calls(self, uuid: str, on: bool) -> None:
        """Another part of the app (do not disturb) told the service that `uuid` does or
        does not receive calls, and it agreed: show it now rather than at the next
        refresh. Listeners hear only of a change."""
        user = self.get(uuid)
        if user is None or user.receives_calls is on:
            return
        self._store.set_receives_calls(uuid, on)
        self._users = tuple(
            replace(u, receives_calls=on) if u.uuid == uuid else u for u in self._users
        )
        self._listeners.emit()

    # -- who is "me", who may do what -------------------------------------------------------

    @property
    def my_uuid(self) -> str | None:
        return self._me.uuid

    def me(self) -> User | None:
        uuid = self._me.uuid
        return None if uuid is None else self.get(uuid)

    def set_my_uuid(self, uuid: str | None) -> None:
        """Say which user the token belongs to (None forgets); listeners hear of a change,
        since it can change who may add users."""
        self._me.set(uuid)

    def permissions(self) -> Permissions:
        """What to offer: the server's refusals first, then "my user"'s role, else allowed."""
        me = self.me()
        may_add, add_reason = True, ""
        if self._add_denied is not None:
            may_add, add_reason = False, self._add_denied
        elif me is not None and me.role is not None and not me.role.may_add_users:
            may_add = False
            add_reason = (
                f"You ({me.name}) are a {me.role.label} user: only SuperAdmin and Admin "
                "users may add users."
            )
        if self._edit_denied is not None:
            return Permissions(may_add, add_reason, False, self._edit_denied)
        if me is not None and me.role is not None and not me.role.may_change_other_users:
            role = me.role.label
            return Permissions(
                may_add,
                add_reason,
                only_me=me.uuid,
                others_reason=(
                    f"Only an admin can change other users; you are a {role} user."
                ),
                own_reason=(
                    f"Only an admin can change users' details; you are a {role} user. You "
                    "can still switch your own calls on or off."
                ),
            )
        return Permissions(may_add, add_reason)

    def is_me(self, uuid: str) -> bool:
        """Whether `uuid` is the user the person said is them (a change to anyone else is
        confirmed first)."""
        return uuid == self._me.uuid

    # -- checking -------------------------------------------------------------------------

    def check_form(self, form: UserForm, *, original: User | None = None) -> dict[str, str]:
        """Every problem of `form` as API field → sentence (empty: fine to send).

        `original` is the user being edited (None: a new user). Only the fields the person
        changed are checked (what the server holds is not second-guessed, e.g. an extension
        outside the usual range); `original` is left out of the uniqueness checks, and a
        field it had may not be emptied.
        """
        errors: dict[str, str] = {}
        changed = _changed_groups(form, original)

        def note(exc: ValidationError, default: str) -> None:
            errors.setdefault(exc.field or default, exc.message)

        if "name" in changed:
            try:
                _check_only(name=form.name)
            except ValidationError as exc:
                note(exc, "name")

        number = _normalized_number(form, errors) if "contact_number" in changed else None

        extension: int | None = None
        if "extension" in changed:
            if form.extension.strip():
                try:
                    extension = validation.validate_extension(form.extension)
                except ValidationError as exc:
                    note(exc, "extension")
            elif original is not None and original.extension is not None:
                errors["extension"] = (
                    "An extension cannot be removed through the API: keep one from "
                    f"{validation.EXTENSION_RANGE[0]} to {validation.EXTENSION_RANGE[1]}."
                )

        if "email" in changed:
            if form.email.strip():
                try:
                    validation.validate_email(form.email)
                except ValidationError as exc:
                    note(exc, "email")
            elif original is not None and original.email:
                errors["email"] = "An email address cannot be removed through the API."

        if "alternate_contact_number" in changed:
            if form.alternate_contact_number.strip():
                try:
                    _check_only(
                        alternate_contact_number=form.alternate_contact_number,
                        alternate_cc=form.alternate_cc,
                    )
                except ValidationError as exc:
                    note(exc, "alternate_contact_number")
            elif original is not None and original.alternate_contact_number:
                errors["alternate_contact_number"] = (
                    "An alternate number cannot be removed through the API."
                )

        duplicates = self.uniqueness_errors(
            number=number if number is not None and (
                original is None or not _same_number(original, *number)
            ) else None,
            extension=extension if extension is not None and (
                original is None or extension != original.extension
            ) else None,
            exclude_uuid=None if original is None else original.uuid,
        )
        for name, message in duplicates.items():
            errors.setdefault(name, message)
        order = {name: i for i, name in enumerate(FORM_FIELDS)}
        return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))

    def uniqueness_errors(
        self,
        *,
        number: tuple[str, str] | None = None,
        extension: int | None = None,
        exclude_uuid: str | None = None,
    ) -> dict[str, str]:
        """A contact number (country code, national number) or an extension another user
        of the cache already has."""
        errors: dict[str, str] = {}
        for user in self._users:
            if user.uuid == exclude_uuid:
                continue
            if number is not None and "contact_number" not in errors and _same_number(
                user, *number
            ):
                errors["contact_number"] = (
                    f"{user.name or 'Another user'} already has this number: each contact "
                    "number must be unique in the company."
                )
            if extension is not None and "extension" not in errors and (
                user.extension == extension
            ):
                errors["extension"] = (
                    f"Extension {extension} already belongs to {user.name or 'another user'}."
                )
        return errors

    def new_user(self, form: UserForm) -> NewUser:
        """The `NewUser` of a form that passes `check_form` (else `FieldErrors`); blank
        optional fields are left out, so the server's defaults apply."""
        errors = self.check_form(form)
        if errors:
            raise FieldErrors(errors)
        number = _normalized_number(form, {})
        assert number is not None  # checked above
        alternate = form.alternate_contact_number.strip()
        return NewUser(
            name=form.name.strip(),
            contact_number=number[1],
            country_code=number[0],
            extension=int(form.extension) if form.extension.strip() else None,
            email=form.email.strip() or None,
            alternate_contact_number=alternate or None,
            alternate_cc=(form.alternate_cc.strip() or None) if alternate else None,
            panel_access=form.panel_access,
            receive_calls=form.receive_calls,
            contact_type=form.contact_type,
        )

    def build_update(self, original: User, form: UserForm) -> UserUpdate | None:
        """The `UserUpdate` holding only what `form` changes in `original` (None: nothing
        changed; `FieldErrors` if a changed field is wrong)."""
        errors = self.check_form(form, original=original)
        if errors:
            raise FieldErrors(errors)
        changed = _changed_groups(form, original)
        start = UserForm.from_user(original)
        changes: dict[str, Any] = {}
        if "name" in changed and form.name.strip() != original.name:
            changes["name"] = form.name.strip()
        if "contact_number" in changed:
            number = _normalized_number(form, {})
            if number is not None and not _same_number(original, *number):
                changes["country_code"], changes["contact_number"] = number
        if (
            "extension" in changed
            and form.extension.strip()
            and int(form.extension) != original.extension
        ):
            changes["extension"] = int(form.extension)
        if "email" in changed and form.email.strip() and form.email.strip() != original.email:
            changes["email"] = form.email.strip()
        if "alternate_contact_number" in changed and form.alternate_contact_number.strip():
            alt = _check_only(
                alternate_contact_number=form.alternate_contact_number,
                alternate_cc=form.alternate_cc,
            )
            pair = (alt["alternate_cc"], alt["alternate_contact_number"])
            if pair != (original.alternate_cc, original.alternate_contact_number):
                changes["alternate_cc"], changes["alternate_contact_number"] = pair
        for choice in ("panel_access", "receive_calls", "contact_type"):
            if getattr(form, choice) != getattr(start, choice):
                changes[choice] = getattr(form, choice)
        if not changes:
            return None
        return UserUpdate(uuid=original.uuid, **changes)

    # -- changing -------------------------------------------------------------------------

    def _refuse_duplicates(
        self, params: Mapping[str, str], *, exclude_uuid: str | None = None
    ) -> None:
        """Raise FieldErrors when the params about to be sent reuse another user's contact
        number or extension (the cache knows before the server says so)."""
        errors = self.uniqueness_errors(
            number=(params["country_code"], params["contact_number"])
            if "contact_number" in params
            else None,
            extension=int(params["extension"]) if "extension" in params else None,
            exclude_uuid=exclude_uuid,
        )
        if errors:
            raise FieldErrors(errors)


    async def add(self, new: NewUser) -> SaveResult:
        """Add a user (sent at most once), then refresh; see the module docstring."""
        params = validation.new_user_params(new)
        self._refuse_duplicates(params)
        known = frozenset(u.uuid for u in self._users)
        try:
            uuid = await self._client.add_user(new)
        except OutcomeUnknown as exc:
            raise SaveOutcomeUnknown(
                exc.message,
                operation=exc.operation,
                change=PendingChange("add", params, known_uuids=known),
            ) from None
        except PermissionDenied:
            self._add_denied = _ADD_DENIED
            self._listeners.emit()
            raise
        refresh_error = await self._refresh_after_change()
        user = self.get(uuid) if uuid else None
        if user is None:
            user = _find_added(self._users, params, known)
        return SaveResult(
            message=f"Added {params['name']}.",
            uuid=uuid or (user.uuid if user else None),
            user=user,
            sent=params,
            refresh_error=refresh_error,
        )

    async def update(self, original: User, form: UserForm) -> SaveResult | None:
        """Send only what `form` changes in `original` (None: nothing changed)."""
        update = self.build_update(original, form)
        if update is None:
            return None
        return await self.apply_update(update, before=original)

    async def apply_update(self, update: UserUpdate, *, before: User | None = None) -> SaveResult:
        """Send `update` as it is (checked for uniqueness first), then refresh."""
        params = validation.user_update_params(update)
        self._refuse_duplicates(params, exclude_uuid=update.uuid)
        try:
            message = await self._client.update_user(update)
        except OutcomeUnknown as exc:
            raise SaveOutcomeUnknown(
                exc.message,
                operation=exc.operation,
                change=PendingChange("update", params, before=before),
            ) from None
        except PermissionDenied:
            self._edit_denied = _EDIT_DENIED
            self._listeners.emit()
            raise
        except NotFound:
            await self._refresh_after_change()  # it is gone: show the list without it
            raise
        refresh_error = await self._refresh_after_change()
        user = self.get(update.uuid)
        name = user.name if user else (before.name if before else "the user")
        return SaveResult(
            message=message or f"Saved {name}.",
            uuid=update.uuid,
            user=user,
            sent=params,
            refresh_error=refresh_error,
        )

    async def verify_after_unknown(self, change: PendingChange) -> Verification:
        """Re-fetch the list and look for `change` in it; never resends anything."""
        try:
            await self.refresh()
        except MyOperatorError as exc:
            return Verification(
                Verdict.UNCLEAR,
                f"Could not check whether it was saved: {exc.message} Check again before "
                "saving again.",
            )
        if change.kind == "add":
            added = _find_added(self._users, change.params, change.known_uuids)
            if added is not None:
                return Verification(
                    Verdict.APPLIED, f"It was saved: {added.name} is now in the list.", added
                )
            return Verification(
                Verdict.NOT_APPLIED,
                "It was not saved: the new user is not in MyOperator's list. You can save "
                "again.",
            )
        user = self.get(change.uuid or "")
        if user is None:
            return Verification(
                Verdict.UNCLEAR, "The user is no longer in MyOperator's list: nothing to retry."
            )
        sent = {k: v for k, v in change.params.items() if k != "uuid"}
        matching = [k for k, v in sent.items() if _holds(user, k, v)]
        if len(matching) == len(sent):
            return Verification(
                Verdict.APPLIED, f"It was saved: {user.name} shows the change.", user
            )
        before = change.before
        if not matching and (before is None or all(
            _holds(user, k, _param_of(before, k)) for k in sent
        )):
            return Verification(
                Verdict.NOT_APPLIED,
                f"It was not saved: {user.name} is unchanged. You can save again.",
                user,
            )
        return Verification(
            Verdict.UNCLEAR,
            f"Only part of the change shows on {user.name} (someone else may be editing): "
            "check the fields before saving again.",
            user,
        )

    async def _refresh_after_change(self) -> MyOperatorError | None:
        try:
            await self.refresh()
        except MyOperatorError as exc:
            log.info("users refresh after a change failed: %s", exc.message)
            return exc
        return None


# -- helpers ------------------------------------------------------------------------------


def _check_only(**values: Any) -> dict[str, str]:
    """Run the client's own rules on a few fields (as a PUT of just those would)."""
    return validation.user_update_params(UserUpdate(uuid=_PROBE_UUID, **values))


def _changed_groups(form: UserForm, original: User | None) -> frozenset[str]:
    """The field groups `form` changes in `original` as typed (all of them for a new
    user). A number and its country code are one group, named after the number."""
    groups = {
        "name": ("name",),
        "contact_number": ("contact_number", "country_code"),
        "extension": ("extension",),
        "email": ("email",),
        "alternate_contact_number": ("alternate_contact_number", "alternate_cc"),
    }
    if original is None:
        return frozenset(groups)
    start = UserForm.from_user(original)
    return frozenset(
        group
        for group, names in groups.items()
        if any(getattr(form, n).strip() != getattr(start, n).strip() for n in names)
    )


def _normalized_number(form: UserForm, errors: dict[str, str]) -> tuple[str, str] | None:
    """(country code, national number) of the form's contact number; problems go to
    `errors` (a "+cc" written in the number wins over the country code field)."""
    try:
        cc, national = validation.normalize_number(
            form.contact_number, form.country_code, field="contact_number"
        )
    except ValidationError as exc:
        errors.setdefault(exc.field or "contact_number", exc.message)
        if exc.field == "contact_number" and not form.contact_number.strip().startswith(
            ("+", "00")
        ):
            try:
                validation.validate_country_code(form.country_code)
            except ValidationError as cc_exc:
                errors.setdefault("country_code", cc_exc.message)
        return None
    return cc, national


def _same_number(user: User, cc: str, national: str) -> bool:
    if user.contact_number == national and user.country_code == cc:
        return True
    return user.number_e164 is not None and user.number_e164 == f"+{cc}{national}"


def _find_added(
    users: tuple[User, ...], params: Mapping[str, str], known: frozenset[str]
) -> User | None:
    return next(
        (
            u
            for u in users
            if u.uuid not in known
            and _same_number(u, params["country_code"], params["contact_number"])
        ),
        None,
    )


def restoring_update(before: User, sent: Mapping[str, str]) -> UserUpdate | None:
    """The PUT that sets back what `sent` changed, from `before`'s values; None when one
    of them is not known or cannot be sent (blank means "not given" to the API, so a
    field that was empty cannot be emptied again)."""
    changes: dict[str, Any] = {}
    for name in sent:
        if name == "uuid":
            continue
        attr = "receives_calls" if name == "receive_calls" else name
        value = getattr(before, attr, None)
        if value is None or value == "":
            return None
        changes[name] = value
    if not changes:
        return None
    return UserUpdate(uuid=before.uuid, **changes)


def holds_all(user: User, params: Mapping[str, str]) -> bool:
    """Whether `user` still holds every value of `params` (the uuid aside)."""
    return all(_holds(user, k, v) for k, v in params.items() if k != "uuid")


def _param_of(user: User, name: str) -> str | None:
    """A user's value of an API field, as a request would carry it."""
    if name in ("panel_access", "receive_calls"):
        flag = user.panel_access if name == "panel_access" else user.receives_calls
        return None if flag is None else ("1" if flag else "2")
    if name == "extension":
        return None if user.extension is None else str(user.extension)
    if name == "contact_type":
        return None if user.contact_type is None else user.contact_type.value
    value = getattr(user, name, None)
    return None if value is None else str(value)


def _holds(user: User, name: str, value: str | None) -> bool:
    """Whether `user` holds `value` for API field `name` (emails compare without case:
    the service may lower-case them)."""
    held = _param_of(user, name)
    if name == "email" and held is not None and value is not None:
        return held.casefold() == value.casefold()
    return held == value
