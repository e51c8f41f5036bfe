"""Signing in: a pasted token trimmed, checked, tested with one request, then kept.

The order matters to the person: nothing is kept before the service accepted the token
(a typo is not stored anywhere), and a keyring that fails or hangs never blocks the
window: the vault gives up after its timeout and the form offers this session only, or a
plain-text file after a warning. Then "Which user are you?" is asked from the account's
users, with the choice already made carried over. Used by the first-run window and by
Preferences → Replace token (which skips the users step).

Connecting through the team relay takes the same steps with the relay's address and the
agent's own credential instead of the token: the relay says whose credential it is, the
credential is kept where a token would be (under its own name), and the users come
through the relay. Whichever is kept, the other secret leaves this computer: a desktop
on the relay keeps no API token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx
from PySide6.QtCore import QObject, Signal

from desktop_app.api.client import MyOperatorClient, RetryPolicy, normalize_base_url
from desktop_app.api.errors import MyOperatorError
from desktop_app.api.models import User
from desktop_app.services.account import (
    check_relay,
    check_token,
    clean_credential,
    clean_token,
    relay_api_url,
)
from desktop_app.services.secrets import (
    SecretStoreError,
    TokenLeftBehind,
    TokenLocation,
    TokenVault,
)
from desktop_app.services.settings import (
    CONNECTION,
    COUNTRY_CODE,
    ME,
    RELAY_URL,
    TOKEN_STORAGE,
    Connection,
    Settings,
    TokenStorage,
    check_relay_url,
)
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.common.feature import connect_all
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.onboarding.token_form import (
    KIND_ERROR,
    KIND_NONE,
    KIND_PROGRESS,
    RelayForm,
    TokenForm,
)

log = logging.getLogger(__name__)

SIGN_IN_TASK: Final = "sign-in"
USERS_TASK: Final = "sign-in-users"
CHECKING_TEXT: Final = "Checking the token with MyOperator…"
KEEPING_TEXT: Final = "Keeping the token in the system keyring…"
RELAY_CHECKING_TEXT: Final = "Checking the credential with the team relay…"
RELAY_KEEPING_TEXT: Final = "Keeping the credential in the system keyring…"

#: Where each kept token is recorded in the settings (the token itself never is).
STORAGE_OF: Final = {
    TokenLocation.KEYRING: TokenStorage.KEYRING,
    TokenLocation.FILE: TokenStorage.FILE,
}


@dataclass(frozen=True)
class LocationText:
    """Where the token is kept, in words: `short` for the status bar, `full` for
    Preferences, and whether it deserves a warning."""

    short: str
    full: str
    warning: bool


def location_text(
    location: TokenLocation, file_path: str, noun: str = "token"
) -> LocationText:
    """`noun`: the secret kept ("token", or "relay credential")."""
    if location is TokenLocation.KEYRING:
        return LocationText("", f"The {noun} is kept in the system keyring.", False)
    if location is TokenLocation.FILE:
        return LocationText(
            f"{noun.capitalize()} stored in plain text",
            f"The {noun} is stored in plain text at {file_path} (readable only by you). "
            f"Replace the {noun} once a keyring works to move it there.",
            True,
        )
    if location is TokenLocation.ENVIRONMENT:
        return LocationText(
            "", "The token comes from MYOPERATOR_TOKEN for this run only.", False
        )
    return LocationText(
        "Signed in for this session only",
        f"The {noun} is kept for this session only: no keyring works here, so you will "
        "paste it again next time.",
        True,
    )


class SignInPresenter(Presenter):
    """Token text (or a relay's address and credential) in; `accountReady(secret,
    location, relay_url)` out once it is tested and kept."""

    #: (sentence, kind) for the token form.
    messageChanged = Signal(str, str)
    busyChanged = Signal(bool)
    #: No keyring works (the sentence says why): session only, or a plain-text file?
    storageChoiceNeeded = Signal(str)
    #: The token is kept: now "Which user are you?" (the users, or why they are missing).
    usersLoaded = Signal(list)
    usersFailed = Signal(str)
    #: Everything is done: open the account with this secret (location: a TokenLocation;
    #: relay_url: the team relay's address, "" when the secret is the API token).
    accountReady = Signal(str, str, str)

    def __init__(
        self,
        vault: TokenVault,
        settings: Settings,
        base_url: str,
        *,
        relay_vault: TokenVault | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ask_for_me: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signInPresenter")
        self._vault = vault
        self._relay_vault = relay_vault
        self._settings = settings
        #: The relay's address while signing in through it; "" for the API token.
        self._relay_url = ""
        #: Whose credential the relay said it is, and the MyOperator user they are (when
        #: the admin linked them: "Which user are you?" starts there).
        self.agent = ""
        self._relay_user = ""
        self._base_url = base_url
        self._transport = transport
        self._ask_for_me = ask_for_me
        self._token = ""
        self._location = TokenLocation.SESSION
        self.busy = False
        #: The secret was kept, but something could not be removed from this computer (an
        #: older plain-text copy, the other secret): the sentences, joined ("": nothing).
        self.left_behind = ""

    @property
    def location(self) -> TokenLocation:
        return self._location

    @property
    def relay_url(self) -> str:
        return self._relay_url

    def _vaults(self) -> tuple[TokenVault, TokenVault | None]:
        """Where this sign-in's secret is kept, and where the other kind is forgotten."""
        if self._relay_url:
            assert self._relay_vault is not None  # submit_relay refuses without one
            return self._relay_vault, self._vault
        return self._vault, self._relay_vault

    # ------------------------------------------------------------------ token

    def submit(self, text: str) -> None:
        """Trim and shape-check at once; then test and keep, off the GUI's way."""
        if self.busy:
            return
        try:
            token = clean_token(text)
        except ValueError as exc:
            self.messageChanged.emit(str(exc), KIND_ERROR)
            return
        self._relay_url = ""
        self._set_busy(True)
        self._spawn(self._check_and_keep(token), SIGN_IN_TASK)

    def submit_relay(self, address: str, text: str) -> None:
        """The relay's address and the agent's credential: both checked at once, then
        tested with the relay and kept (the same steps as a token)."""
        if self.busy:
            return
        problem = check_relay_url(address.strip()) if address.strip() else (
            "The relay's address is empty: paste the one your admin gave you."
        )
        if problem is not None or self._relay_vault is None:
            self.messageChanged.emit(problem or "This window cannot keep a credential.",
                                     KIND_ERROR)
            return
        try:
            credential = clean_credential(text)
        except ValueError as exc:
            self.messageChanged.emit(str(exc), KIND_ERROR)
            return
        self._relay_url = normalize_base_url(address, source="The relay's address")
        self._set_busy(True)
        self._spawn(self._check_and_keep(credential), SIGN_IN_TASK)

    async def _check_and_keep(self, secret: str) -> None:
        relay = bool(self._relay_url)
        self.left_behind = ""  # this attempt's, not an earlier one's
        self.messageChanged.emit(RELAY_CHECKING_TEXT if relay else CHECKING_TEXT,
                                 KIND_PROGRESS)
        if relay:
            said = await check_relay(self._relay_url, secret, transport=self._transport)
            ok, sentence, self.agent = said.ok, said.sentence, said.agent
            self._relay_user = said.user
        else:
            check = await check_token(secret, self._base_url, transport=self._transport)
            ok, sentence = check.ok, check.sentence
        if not ok:
            self.messageChanged.emit(sentence, KIND_ERROR)
            self._set_busy(False)
            return
        self._token = secret
        self.messageChanged.emit(RELAY_KEEPING_TEXT if relay else KEEPING_TEXT, KIND_PROGRESS)
        vault, _other = self._vaults()
        try:
            await vault.keep(secret, TokenLocation.KEYRING)
        except TokenLeftBehind as exc:  # kept; only an old plain-text copy stayed
            self._left(str(exc))
        except SecretStoreError as exc:
            log.warning("the keyring could not keep the %s: %s", vault.noun, exc)
            accepted = sentence if relay else "MyOperator accepted the token."
            self.messageChanged.emit(accepted, KIND_NONE)
            self._set_busy(False)
            self.storageChoiceNeeded.emit(str(exc))
            return
        await self._kept(TokenLocation.KEYRING)

    def keep_for_session(self) -> None:
        """No keyring: keep the tested token in memory only (said so in the window)."""
        if self._token and not self.busy:
            self._set_busy(True)
            self._spawn(self._keep_elsewhere(TokenLocation.SESSION), SIGN_IN_TASK)

    def keep_in_file(self) -> None:
        """No keyring, and the person confirmed the warning: a 0600 file."""
        if self._token and not self.busy:
            self._set_busy(True)
            self._spawn(self._keep_elsewhere(TokenLocation.FILE), SIGN_IN_TASK)

    async def _keep_elsewhere(self, location: TokenLocation) -> None:
        vault, _other = self._vaults()
        try:
            await vault.keep(self._token, location)
        except TokenLeftBehind as exc:  # kept; only an old plain-text copy stayed
            self._left(str(exc))
        except SecretStoreError as exc:
            self.messageChanged.emit(str(exc), KIND_ERROR)
            self._set_busy(False)
            self.storageChoiceNeeded.emit(f"The {vault.noun} could not be stored.")
            return
        await self._kept(location)

    def _left(self, sentence: str) -> None:
        self.left_behind = f"{self.left_behind} {sentence}".strip()

    async def _kept(self, location: TokenLocation) -> None:
        self._location = location
        storage = STORAGE_OF.get(location, TokenStorage.NONE)
        self._settings.set(TOKEN_STORAGE, storage.value)
        connection = Connection.RELAY if self._relay_url else Connection.DIRECT
        self._settings.set(CONNECTION, connection.value)
        if self._relay_url:
            self._settings.set(RELAY_URL, self._relay_url)
        self._settings.sync()
        vault, other = self._vaults()
        log.info("%s kept (%s)", vault.noun, location.value)
        if other is not None:  # one secret per desktop: the relay's agents hold no token
            for problem in await other.forget():
                log.warning("after signing in: %s", problem)
                self._left(problem)
        if not self._ask_for_me:
            self._set_busy(False)
            self.accountReady.emit(self._token, location.value, self._relay_url)
            return
        self.messageChanged.emit("Loading your team's users…", KIND_PROGRESS)
        await self._load_users()

    async def _load_users(self) -> None:
        """One users list for "Which user are you?"; a failure only skips the question."""
        relay = bool(self._relay_url)
        client = MyOperatorClient(
            self._token,
            base_url=relay_api_url(self._relay_url) if relay else self._base_url,
            transport=self._transport,
            retry=RetryPolicy(attempts=2, max_budget_wait_s=5.0), timeout=10.0,
            as_bearer=relay,
        )
        try:
            users: Sequence[User] = await client.all_users()
        except MyOperatorError as exc:
            self.usersFailed.emit(
                f"Your team's users could not be loaded ({exc.message}) You can choose "
                "who you are later, in Preferences."
            )
        else:
            self.usersLoaded.emit(list(users))
        finally:
            await client.aclose()
            self.messageChanged.emit("", KIND_NONE)
            self._set_busy(False)

    # ------------------------------------------------------------------ me

    def current_me(self) -> str | None:
        """Who to offer as "me": the user the relay knows this agent as, else the choice
        made before."""
        return (self._relay_url and self._relay_user) or self._settings.get(ME) or None

    def current_country(self) -> str:
        return self._settings.get(COUNTRY_CODE)

    def finish(self, me_uuid: str | None, country_code: str | None) -> None:
        """The profile step's answers (None: left as they were), then open the account."""
        try:
            if me_uuid is not None:
                self._settings.set(ME, me_uuid)
            if country_code:
                self._settings.set(COUNTRY_CODE, country_code)
        except ValueError as exc:  # the pickers offer only valid values; still never lose
            log.warning("profile not saved: %s", exc)
        self._settings.sync()
        self.accountReady.emit(self._token, self._location.value, self._relay_url)

    # ------------------------------------------------------------------ state

    def cancel(self) -> None:
        """Stop a check or keep in flight (the person chose something else): the form
        works again, what was typed stays."""
        self.cancel_tasks()
        self.messageChanged.emit("", KIND_NONE)
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busyChanged.emit(busy)

    def _task_failed(self, failure: TaskFailure) -> None:
        """Whatever went wrong is said on the form, and the form works again."""
        self.messageChanged.emit(failure.text, KIND_ERROR)
        self._set_busy(False)


def bind_form(form: TokenForm, presenter: SignInPresenter) -> None:
    """The one wiring of a token or relay form to its presenter (first run, Replace
    token, Connect through the team relay)."""
    if isinstance(form, RelayForm):
        form.relaySubmitted.connect(presenter.submit_relay)
    else:
        form.submitted.connect(presenter.submit)
    connect_all([
        (form.sessionChosen, presenter.keep_for_session),
        (form.fileChosen, presenter.keep_in_file),
        (presenter.messageChanged, form.show_message),
        (presenter.busyChanged, form.set_busy),
        (presenter.storageChoiceNeeded, form.offer_storage),
    ])
