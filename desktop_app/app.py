"""The app: arguments, the QApplication + qasync loop, and what to open.

`AppController` opens the demo (the emulated service on a loopback port, in a child
process launched before Qt is imported: `desktop_app.__main__`), an account (its
token from ``MYOPERATOR_TOKEN`` for that run, else from where the first run kept it: the
OS keyring, or a file the person chose), an account through the team relay (the agent's
credential kept the same ways; the relay alone holds the token) or the first-run window
(Connect my account / Connect through the team relay / Try the demo). Sign out, Replace
token and Connect through the team relay come back here. For an account or the demo it
opens the client (one request budget), the cache database and the settings, and hands
them to a `desktop_app.workspace.Workspace`, which builds the features and closes them
all again.
Quitting is a request: the workspace is shut down first (tasks cancelled, client closed,
database closed, sandbox stopped), then the window closes and the loop ends. One app runs
per user: a second launch hands its ``tel:`` link over
(`desktop_app.runtime.single_instance`) and exits; on macOS a clicked link arrives as a
`QFileOpenEvent` instead (`desktop_app.runtime.file_open`) and takes the same path.

Two INI files live under the config dir: ``settings.ini`` (the declared settings,
`desktop_app.services.settings`) and ``window-state.ini`` (layout, last folders, notices
shown). `open_settings_files` opens both and brings older files up to date (`migrate`)
once, before anything reads them; the theme the window opens with is the setting's
(``$MYOPERATOR_DESKTOP_THEME`` overrides it for the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import qasync
from PySide6.QtCore import QObject, QSettings, QTimer, Slot
from PySide6.QtWidgets import QApplication

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import BASE_URL_ENV as BASE_URL_ENV
from desktop_app.api.client import LIVE_BASE_URL, TLS, MyOperatorClient, base_url_from
from desktop_app.api.errors import MyOperatorError
from desktop_app.runtime.binding import GuiThreadGarbageCollector, binding_defect
from desktop_app.runtime.single_instance import (
    InstanceUnreachable,
    SingleInstance,
    bring_to_front,
    claim_or_forward,
)
from desktop_app.sandbox.config import DEMO_TOKEN
from desktop_app.sandbox.process import DemoService, SandboxProcess, demo_config
from desktop_app.services import excepthook
from desktop_app.services.account import relay_api_url
from desktop_app.services.logs import configure_logging
from desktop_app.services.paths import AppPaths, app_paths
from desktop_app.services.secrets import (
    SecretStoreError,
    TokenLocation,
    TokenVault,
    relay_vault,
)
from desktop_app.services.settings import (
    BASE_URL,
    CONNECTION,
    DEMO_SCOPE,
    ME,
    RECENT_NUMBERS,
    RELAY_URL,
    THEME,
    TOKEN_STORAGE,
    Connection,
    Settings,
    SettingsBackend,
    TokenStorage,
    migrate,
)
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.store import CallStore, StoreError, damage_found, is_damage
from desktop_app.store.spend import SpendRecords
from desktop_app.ui.common.icons import app_icon
from desktop_app.ui.common.theme import ThemeManager, ThemeMode, override_from_env
from desktop_app.ui.preferences.account import RELAY_SIGN_OUT_TEXT, AccountView
from desktop_app.ui.shell.main_window import (
    APP_TITLE,
    KEY_FEED_HEADER,
    KEY_GEOMETRY,
    KEY_STATE,
)
from desktop_app.ui.sync.presenter import LIVE_SYNC_INTERVAL_S
from desktop_app.workspace import Workspace, WorkspaceOptions

if TYPE_CHECKING:
    from desktop_app.relay.claims import RelayClaims
    from desktop_app.runtime.file_open import LinkOpenFilter
    from desktop_app.sandbox.config import SandboxConfig
    from desktop_app.services.relay_sync import RelayConnect

    # Imported where first used: a workspace that opens never needs them (the demo not
    # even the sign-in presenter's module, which words where a token is kept).
    from desktop_app.ui.onboarding.presenter import LocationText, SignInPresenter
    from desktop_app.ui.onboarding.replace_dialog import ReplaceTokenDialog
    from desktop_app.ui.onboarding.window import FirstRunWindow

log = logging.getLogger(__name__)

TOKEN_ENV: Final = "MYOPERATOR_TOKEN"
#: The window's problem line for a secret the sign-in could not remove from this computer.
LEFT_BEHIND_PROBLEM: Final = "left-behind"
#: ... for an API token in the environment that wins over a saved relay connection.
ENVIRONMENT_OVER_RELAY: Final = "environment-token"
#: The demo polls more often than a real account may: its service is on this machine.
DEMO_SYNC_INTERVAL_S: Final = 30.0

#: How the demo's service is made from its config (`SandboxProcess`; tests that look
#: inside the service pass the in-process `desktop_app.sandbox.server.SandboxServer`).
DemoServiceFactory = Callable[["SandboxConfig"], DemoService]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="myoperator-desktop",
        description=f"MyOperator Desktop. The API token is read from ${TOKEN_ENV}.",
    )
    parser.add_argument(
        "--demo", action="store_true",
        help="open the demo workspace (an emulated MyOperator service; no real calls)",
    )
    parser.add_argument(
        "--base-url", default=None,
        help=f"API base URL (default ${BASE_URL_ENV}, else the one in Preferences, else "
        f"{LIVE_BASE_URL})",
    )
    parser.add_argument(
        "--reset-layout", action="store_true", help="start with the default window layout"
    )
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation headless (the emulated service, a sync, playing a "
        "recording, the hand-over to a running app), print one line per check and exit "
        "non-zero on any failure; nothing of yours is read or changed",
    )
    parser.add_argument(
        "uri", nargs="?",
        help="a tel: or callto: link (or a number) to put in the dialer; nothing is dialled "
        "until you press Call",
    )
    return parser.parse_args(argv)


#: Options of `parse_args` that take a value (skipped when picking links out of arguments).
_VALUE_OPTIONS: Final = frozenset({"--base-url"})


def links_in(argv: Iterable[str]) -> list[str]:
    """The positional arguments of a command line (another launch's, forwarded): the
    links or numbers to put in the dialer. Options and their values are left out."""
    links: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            links.append(arg)
    return links


def open_settings(paths: AppPaths) -> QSettings:
    """The declared settings' INI file under the config dir (never the registry or a
    plist); read it through `desktop_app.services.settings.Settings`."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    return QSettings(str(paths.settings_file), QSettings.Format.IniFormat)


def open_state(paths: AppPaths) -> QSettings:
    """The window-state INI file (layout, last folders, notices shown) under the config
    dir: what the window remembers about itself, kept apart from the settings."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    return QSettings(str(paths.state_file), QSettings.Format.IniFormat)


def open_settings_files(paths: AppPaths) -> tuple[QSettings, QSettings]:
    """Both INI files, an older layout brought up to date first (`migrate`: renamed keys,
    window state moved to its own file, the dialer's JSON file folded in). Idempotent:
    what it did is logged, and a second call does nothing."""
    settings, state = open_settings(paths), open_state(paths)
    try:
        migrate(settings, state, paths.config_dir)
    except Exception:  # an odd file must not stop the app: it starts on the defaults
        log.exception("migrating the settings files failed")
    settings.sync()
    state.sync()
    return settings, state


def explicit_base_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The base URL the command line or the environment asks for (checked), or None when
    neither does: the account's setting then decides."""
    if args.base_url is None and not environ.get(BASE_URL_ENV, "").strip():
        return None
    return base_url_from(args.base_url, environ)


class CacheDamaged(Exception):
    """The call cache, opened without its check, turned out damaged while the workspace
    was built over it: open it again with the check."""


def _fresh_store(db: Path) -> CallStore:
    """The demo's history is generated afresh each run: never reuse its old cache."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return CallStore.open(db)


# -------------------------------------------------------------------------- controller


class AppController(QObject):
    """Decides what to open (demo, account, or the first run) and shuts it all down."""

    def __init__(
        self,
        args: argparse.Namespace,
        paths: AppPaths,
        *,
        theme: ThemeManager | None = None,
        environ: Mapping[str, str] | None = None,
        sandbox_config: SandboxConfig | None = None,
        demo_service: DemoServiceFactory = SandboxProcess,
        workspace_options: WorkspaceOptions | None = None,
        vault: TokenVault | None = None,
        relay_credentials: TokenVault | None = None,
        settings_files: tuple[SettingsBackend, SettingsBackend] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`settings_files` are the settings and window-state files as `open_settings_files`
        returns them (opened and migrated here when not given)."""
        super().__init__(parent)
        self.setObjectName("appController")
        self._args = args
        self._paths = paths
        self._theme = theme
        self._env = dict(os.environ if environ is None else environ)
        files = settings_files if settings_files is not None else open_settings_files(paths)
        self._settings_file: SettingsBackend = files[0]
        self._state_file: SettingsBackend = files[1]
        #: One `Settings` per account scope: whoever changes a setting (the workspace, the
        #: first run) goes through the object the workspace's features listen to.
        self._settings: dict[str, Settings] = {}
        self._sandbox_config = sandbox_config
        self._demo_service = demo_service
        #: How workspaces behave (tests: a stand-in tray); demo and sync interval are set
        #: per workspace opened.
        self._workspace_options = workspace_options or WorkspaceOptions()
        #: Where the account's token is kept (keyring, a chosen file, or memory).
        self.vault = vault if vault is not None else TokenVault(paths.config_dir)
        #: Where the agent's team-relay credential is kept (the same places, its own names).
        self.relay_vault = (
            relay_credentials if relay_credentials is not None
            else relay_vault(paths.config_dir, beside=self.vault)
        )
        self.workspace: Workspace | None = None
        self.first_run: FirstRunWindow | None = None
        self.sign_in: SignInPresenter | None = None
        self.replace_dialog: ReplaceTokenDialog | None = None
        #: Where the open account's token came from (None: the demo, or nothing open).
        self.token_location: TokenLocation | None = None
        #: The team relay the open account goes through ("": MyOperator directly).
        self.relay_url = ""
        #: What the last sign-in could not remove from this computer (the other secret, or
        #: an old plain-text copy), in a sentence: shown until the next one ("": nothing).
        self.left_behind = ""
        #: The one account change running (sign out, replace, leave the demo), if any.
        self._account_change: asyncio.Task[None] | None = None
        #: A workspace being closed: shut down in full even if whoever asked is cancelled.
        self._closing: asyncio.Future[None] | None = None
        #: Whether a workspace was opened before (the first one's objects are frozen at
        #: once; a later one's only after the old one's garbage is collected).
        self._opened_before = False
        self._done: asyncio.Future[int] | None = None
        self._quitting = False
        #: Links for the dialer (the command line's, another launch's) until a workspace
        #: is open to take them.
        self._pending_links: list[str] = [args.uri] if args.uri else []
        self._tasks = TaskSupervisor("app")
        #: True while `run` is suspended in its await (see `run_controller`).
        self.running = False
        # Python runs signal handlers only when Qt hands control back: tick now and then.
        self._wakeup = QTimer(self)
        self._wakeup.setInterval(250)
        self._wakeup.timeout.connect(lambda: None)

    @property
    def settings(self) -> Settings:
        """The account's declared settings: the object its workspace's features listen
        to, so what the first run or Sign out changes reaches them."""
        return self.settings_for(demo=False)

    async def run(self) -> int:
        """Open what the arguments ask for and return the exit code once everything closed."""
        self.running = True
        try:
            return await self._run()
        finally:
            self.running = False

    async def _run(self) -> int:
        self._done = asyncio.get_running_loop().create_future()
        self._wakeup.start()
        if self._args.reset_layout:
            for key in (KEY_GEOMETRY, KEY_STATE, KEY_FEED_HEADER):
                self._state_file.remove(key)
            self._state_file.sync()
        token = self._env.get(TOKEN_ENV, "").strip()
        try:
            if self._args.demo:
                await self.open_demo()
            elif token:
                workspace = await self.open_account(token, TokenLocation.ENVIRONMENT)
                if self._stored_relay():
                    log.warning("%s overrides the saved team relay connection", TOKEN_ENV)
                    workspace.window.show_problem(ENVIRONMENT_OVER_RELAY, (
                        f"{TOKEN_ENV} is set, so this window uses that API token directly, "
                        "not the team relay this computer is connected to: unset it to "
                        "go through the relay."
                    ))
            elif self._stored_location() is not None:
                self.show_first_run()
                self._show_opening("Opening your account…")
                self._tasks.spawn(
                    "open-stored", self._open_stored(), on_failure=self._opening_failed
                )
            else:
                self.show_first_run()
        except (MyOperatorError, StoreError, OSError, RuntimeError) as exc:
            log.error("could not open the workspace: %s", exc)
            print(f"myoperator-desktop: {exc}", file=sys.stderr)
            await self.shutdown()
            code = 1
        else:
            code = await self._done
        self._wakeup.stop()
        # Last, in the same step as returning: closing the last window makes Qt quit the
        # loop, and by then this coroutine has finished.
        self.close_windows()
        return code

    # -------------------------------------------------------------- first run

    def _stored_location(self) -> TokenLocation | None:
        storage = self.settings.get(TOKEN_STORAGE)
        if storage == TokenStorage.KEYRING.value:
            return TokenLocation.KEYRING
        if storage == TokenStorage.FILE.value:
            return TokenLocation.FILE
        return None

    def show_first_run(self, message: str = "") -> FirstRunWindow:
        """The first-run window (a new one after Sign out), on its welcome page."""
        from desktop_app.ui.onboarding.window import PAGE_WELCOME, FirstRunWindow

        window = self.first_run
        if window is None:
            window = FirstRunWindow(
                token_file=str(self.vault.file_path),
                relay_file=str(self.relay_vault.file_path),
                relay_address=self.settings.get(RELAY_URL),
            )
            window.connectRequested.connect(self._connect_requested)
            window.relayRequested.connect(self._relay_requested)
            window.demoRequested.connect(self._on_demo_requested)
            window.closeRequested.connect(self.request_quit)
            self.first_run = window
            self._start_sign_in(window)
        window.show_welcome_message(message)
        window.show_page(PAGE_WELCOME)
        window.show()
        return window

    def _start_sign_in(self, window: FirstRunWindow) -> None:
        from desktop_app.ui.onboarding.presenter import SignInPresenter, bind_form

        presenter = SignInPresenter(
            self.vault, self.settings, self.account_base_url(),
            relay_vault=self.relay_vault, parent=self,
        )
        bind_form(window.token_form, presenter)
        bind_form(window.relay_form, presenter)

        def left_form() -> None:
            """Back from either form: what runs there stops, and nothing it said (a
            refusal, the storage choice) waits on the other form."""
            presenter.cancel()
            for form in (window.token_form, window.relay_form):
                form.hide_storage()

        window.token_form.backRequested.connect(left_form)
        window.relay_form.backRequested.connect(left_form)
        presenter.usersLoaded.connect(
            lambda users: window.show_profile(
                users, presenter.current_me(), presenter.current_country()
            )
        )
        presenter.usersFailed.connect(
            lambda text: window.show_profile_unavailable(
                text, presenter.current_me(), presenter.current_country()
            )
        )
        window.profileChosen.connect(lambda me, cc: presenter.finish(me, cc))
        window.profileSkipped.connect(lambda: presenter.finish(None, None))
        presenter.accountReady.connect(self._account_ready)
        self.sign_in = presenter

    @Slot()
    def _connect_requested(self) -> None:
        if self.first_run is not None:
            _show_token_page(self.first_run)

    @Slot()
    def _relay_requested(self) -> None:
        if self.first_run is not None:
            _show_token_page(self.first_run, relay=True)

    def _stored_relay(self) -> bool:
        return self.settings.get(CONNECTION) == Connection.RELAY.value

    def _show_opening(self, text: str) -> None:
        if self.first_run is not None:
            self.first_run.show_opening(text)

    async def _open_stored(self) -> None:
        """Read the kept token (or relay credential) off the GUI thread (a hung keyring
        gives up in seconds)."""
        location = self._stored_location()
        relay = self._stored_relay()
        vault = self.relay_vault if relay else self.vault
        relay_url = self.settings.get(RELAY_URL) if relay else ""
        try:
            stored = await vault.load(location)
        except SecretStoreError as exc:
            log.warning("the kept %s could not be read: %s", vault.noun, exc)
            self._back_to_token(
                f"{exc} Paste the {vault.noun} again, or try the demo.", relay=relay
            )
            return
        if stored is None or (relay and not relay_url):
            self._back_to_token(
                f"No kept {vault.noun} was found: paste it again, or try the demo.",
                relay=relay,
            )
            return
        await self.open_account(stored.token, stored.location, relay_url=relay_url)

    def _back_to_token(self, text: str, *, relay: bool | None = None) -> None:
        """The token page (the relay's when signing in through it), saying `text`."""
        if self._quitting:
            return
        relay = self._stored_relay() if relay is None else relay
        window = self.first_run or self.show_first_run()
        _show_token_page(window, relay=relay)
        form = window.relay_form if relay else window.token_form
        form.show_message(text, "error")

    def _opening_failed(self, failure: TaskFailure) -> None:
        """Opening the account failed (logged by the supervisor): back to the token page,
        saying why, never stuck on "Opening your account…"."""
        self._back_to_token(f"The account could not be opened: {failure.text}")

    @Slot(str, str, str)
    def _account_ready(self, token: str, location: str, relay_url: str) -> None:
        if self._quitting or self.workspace is not None:
            return
        self._show_opening("Opening your account…")
        self.left_behind = self.sign_in.left_behind if self.sign_in is not None else ""
        self._tasks.spawn(
            "open-account",
            self.open_account(token, TokenLocation(location), relay_url=relay_url),
            on_failure=self._opening_failed,
        )

    # -------------------------------------------------------------- opening

    async def open_demo(self) -> Workspace:
        """Start the emulated service on a free loopback port, in its own process, and
        open it."""
        config = self._sandbox_config or demo_config()
        server = self._demo_service(config)
        await asyncio.to_thread(server.start)  # launched early: by now mostly booted
        try:
            db = self._paths.database_file(demo=True)
            store = await asyncio.to_thread(_fresh_store, db)
            budget = RequestBudget(ledger=await asyncio.to_thread(SpendRecords.open, db))
            client = MyOperatorClient(DEMO_TOKEN, base_url=server.base_url, budget=budget)
        except BaseException:
            await asyncio.to_thread(server.stop)
            raise
        return await self._open(
            client, store, demo=True, sandbox=server, interval=DEMO_SYNC_INTERVAL_S,
            location=None,
        )

    def settings_for(self, *, demo: bool) -> Settings:
        """The declared settings as a workspace reads them: the account's, or the demo's
        own per-account values (its users and numbers are not the account's). The same
        object each time, so its listeners hear every change."""
        scope = DEMO_SCOPE if demo else ""
        if scope not in self._settings:
            self._settings[scope] = Settings(self._settings_file, account_scope=scope)
        return self._settings[scope]

    def account_base_url(self) -> str:
        """Where the account's API answers: ``--base-url``, else ``$MYOPERATOR_BASE_URL``,
        else the setting (an invalid stored one reads as the default, with a log line)."""
        explicit = explicit_base_url(self._args, self._env)
        if explicit is not None:
            return explicit
        return self.settings_for(demo=False).get(BASE_URL)

    async def open_account(
        self,
        token: str,
        location: TokenLocation = TokenLocation.ENVIRONMENT,
        *,
        relay_url: str = "",
    ) -> Workspace:
        """The account's cache and spending opened off the GUI thread (each may wait for
        another instance's lock), then its workspace, built while the cache's pages are
        checked beside it. A damaged cache is opened again with the check, which sets the
        file aside and starts empty: the sync fetches the calls again. With `relay_url`,
        `token` is the agent's relay credential and everything goes through the relay."""
        try:
            return await self._open_account(token, location, relay_url, check=False)
        except CacheDamaged as exc:
            log.warning("the call cache is damaged (%s): opening it again, checked", exc)
            return await self._open_account(token, location, relay_url, check=True)

    async def _open_account(
        self, token: str, location: TokenLocation, relay_url: str, *, check: bool
    ) -> Workspace:
        db = self._paths.database_file()
        store = await asyncio.to_thread(CallStore.open, db, check=check)
        relay: RelayConnect | None = None
        claims: RelayClaims | None = None
        try:
            if relay_url:
                from desktop_app.relay.claims import RelayClaims  # through the relay only

                # The relay keeps the team's one budget and answers for it (a 429 with
                # its wait): counting here as well would only hold requests back twice.
                client = MyOperatorClient(
                    token, base_url=relay_api_url(relay_url),
                    budget=RequestBudget.unlimited(), as_bearer=True,
                )
                relay = relay_stream(relay_url, token)
                claims = RelayClaims(relay_url, token)
            else:
                # The account's spending, as every instance on this cache file counted it.
                budget = RequestBudget(ledger=await asyncio.to_thread(SpendRecords.open, db))
                client = MyOperatorClient(
                    token, base_url=self.account_base_url(), budget=budget
                )
        except BaseException:
            store.close()
            raise
        return await self._open(client, store, demo=False, sandbox=None,
                                interval=LIVE_SYNC_INTERVAL_S, location=location,
                                unchecked=None if check else db, relay=relay,
                                relay_url=relay_url, claims=claims)

    async def _open(
        self,
        client: MyOperatorClient,
        store: CallStore,
        *,
        demo: bool,
        sandbox: DemoService | None,
        interval: float,
        location: TokenLocation | None,
        unchecked: Path | None = None,
        relay: RelayConnect | None = None,
        relay_url: str = "",
        claims: RelayClaims | None = None,
    ) -> Workspace:
        """The workspace over an opened client and cache; on a failure before the
        workspace owns them (or a quit, or a workspace already open) they are closed
        again, not left behind. A cache opened `unchecked` (its file) is checked on a
        worker thread while the workspace is built; `CacheDamaged` when it is not sound."""
        workspace: Workspace | None = None
        checking = (
            asyncio.ensure_future(asyncio.to_thread(damage_found, unchecked))
            if unchecked is not None else None
        )
        try:
            if self._quitting:
                raise RuntimeError("The app is quitting.")
            if self.workspace is not None:
                raise RuntimeError("Another workspace is already open.")
            self._paths.ensure()
            options = replace(
                self._workspace_options,
                demo=demo,
                sync_interval_s=interval,
                restore_layout=not self._args.reset_layout,
                paths=self._paths,
                keyring_problem=self.vault.keyring_problem,
                token_location=self._token_location_text,
            )
            try:
                workspace = Workspace.open(
                    client,
                    store,
                    self.settings_for(demo=demo),
                    state=self._state_file,
                    recordings_dir=self._paths.recordings_dir(demo=demo),
                    options=options,
                    theme=self._theme,
                    sandbox=sandbox,
                    relay=relay,
                    claims=claims,
                )
            except Exception as exc:
                if checking is not None and is_damage(exc):
                    raise CacheDamaged(str(exc)) from exc
                raise
            if checking is not None:
                problem = await checking
                if problem is not None:
                    raise CacheDamaged(problem)
                if self._quitting:
                    raise RuntimeError("The app is quitting.")
            workspace.window.quitRequested.connect(self.request_quit)
            self.workspace = workspace
            self.token_location = location
            self.relay_url = relay_url
            self._show_token_location(workspace)
            workspace.start()
            # Everything built so far lives as long as the window: moved out of the
            # collector's way, so a full collection on the GUI thread stays short
            # (bench_loop_stall). After an account change, the old workspace's cycles are
            # collected first, once Qt has deleted its window, or they would be frozen in.
            if self._opened_before:
                QTimer.singleShot(0, _collect_and_freeze)
            else:
                gc.freeze()
            self._opened_before = True
            self._close_first_run()
            links, self._pending_links = self._pending_links, []
            if links:  # into the dialer, built now for them
                workspace.actions.open_links(links)
            if store.moved_aside is not None:
                workspace.window.show_message(
                    "The call cache was damaged: it is set aside, and the calls are "
                    "fetched again."
                )
            if self.left_behind and location is not None:  # a secret still here: until dismissed
                workspace.window.show_problem(LEFT_BEHIND_PROBLEM, self.left_behind)
            log.info("workspace open (%s)", "demo" if demo else (
                "account, through the team relay" if relay_url else "account"
            ))
            return workspace
        except BaseException:
            if checking is not None:
                # Its thread lets go of the file before anything reopens it; what it
                # found is not needed any more.
                await asyncio.wait([checking])
                if not checking.cancelled():
                    checking.exception()
            if workspace is None:  # once built, the workspace closes them (`shutdown`)
                await client.aclose()
                if claims is not None:
                    await claims.aclose()
                client.budget.close()
                store.close()
                if sandbox is not None:
                    await asyncio.to_thread(sandbox.stop)
            elif self.workspace is not workspace:  # built, never shown: closed here
                await self._finish_close(workspace)
            raise

    def _show_token_location(self, workspace: Workspace) -> None:
        """Where the token is kept, in Preferences; in the window too when it deserves a
        warning (memory only, plain text). Preferences are built after the first paint:
        what they show waits for them (`Workspace.later`)."""
        location = self.token_location
        if location is None:  # the demo: no token, and the way to a real one
            view = AccountView(
                "This is the demo workspace: an emulated service, no token.", demo=True
            )
            workspace.later(lambda: self._show_account(workspace, view, demo=True))
            return
        said = self._location_said(location)
        workspace.window.set_account_notice(said.short, said.full)
        view = AccountView(said.full, said.warning)
        if self.relay_url:
            # The token stays with the relay, unless it could not be removed from here.
            token_said = (
                f". {self.left_behind}" if self.left_behind
                else ": the account's API token stays with the relay."
            )
            view = AccountView(
                f"Connected through the team relay at {self.relay_url}{token_said} "
                f"{said.full}",
                said.warning or bool(self.left_behind), relay=True,
                sign_out_text=RELAY_SIGN_OUT_TEXT,
            )
        elif self.left_behind:
            view = replace(view, status=f"{said.full} {self.left_behind}", warning=True)
        elif location is TokenLocation.ENVIRONMENT:
            view = replace(view, sign_out_text=(
                "The window closes. The token comes from MYOPERATOR_TOKEN and is not "
                "stored here, so nothing is removed: unset it to stay signed out."
            ))
        workspace.later(lambda: self._show_account(workspace, view, demo=False))

    def _show_account(self, workspace: Workspace, view: AccountView, *, demo: bool) -> None:
        preferences = workspace.preferences
        preferences.show_account(view)
        if demo:
            preferences.replaceTokenRequested.connect(self.leave_demo)
            preferences.relayRequested.connect(lambda: self.leave_demo(relay=True))
        else:
            preferences.signOutRequested.connect(self.sign_out)
            preferences.replaceTokenRequested.connect(self.replace_token)
            preferences.relayRequested.connect(self.connect_relay)

    def _location_said(self, location: TokenLocation) -> LocationText:
        from desktop_app.ui.onboarding.presenter import location_text

        if self.relay_url:
            return location_text(
                location, str(self.relay_vault.file_path), self.relay_vault.noun
            )
        return location_text(location, str(self.vault.file_path))

    def _token_location_text(self) -> str:
        if self.token_location is None:
            return "none (the demo workspace keeps no token)"
        said = self._location_said(self.token_location).full
        if self.relay_url:
            return f"none: connected through the team relay at {self.relay_url}. {said}"
        return said

    def _close_first_run(self) -> None:
        if self.sign_in is not None:
            presenter, self.sign_in = self.sign_in, None
            presenter.cancel_tasks()
            presenter.deleteLater()
        if self.first_run is not None:
            self.first_run.close_now()
            self.first_run.deleteLater()
            self.first_run = None

    @Slot(list)
    def handle_message(self, argv: list[str]) -> None:
        """Another launch's arguments (see `SingleInstance.messageReceived`): come to the
        front, and put its link in the dialer (untrusted text: parsed, never dialled)."""
        links = links_in(str(arg) for arg in argv)
        log.info("another launch handed over %d argument(s)", len(argv))
        if self.workspace is not None and not self._quitting:
            bring_to_front(self.workspace.window)
            self.workspace.actions.open_links(links)
            return
        self._pending_links.extend(links)
        if self.first_run is not None:
            bring_to_front(self.first_run)

    @Slot(str)
    def handle_link(self, link: str) -> None:
        """A link the system handed over (macOS: a `QFileOpenEvent`, see
        `forward_link_opens`): the same path as another launch's arguments."""
        self.handle_message([link])

    @Slot()
    def _on_demo_requested(self) -> None:
        if self.sign_in is not None:
            self.sign_in.cancel()  # a token check still running must not open an account
        if self.first_run is not None:
            self.first_run.set_demo_opening(True)
        self._tasks.spawn("open-demo", self.open_demo(), on_failure=self._demo_failed)

    def _demo_failed(self, failure: TaskFailure) -> None:
        """The demo did not open (logged by the supervisor): say so; the button works again."""
        if self.first_run is not None:
            self.first_run.set_demo_opening(False)
            self.first_run.show_welcome_message(f"The demo could not be opened: {failure.text}")

    # -------------------------------------------------------------- account changes

    def _start_account_change(self, name: str, change: Coroutine[Any, Any, None]) -> bool:
        """Run one account change at a time (a double click, a second request while the
        first closes the window, a quit meanwhile: refused, never two half-done)."""
        running = self._account_change is not None and not self._account_change.done()
        if running or self._quitting or self.workspace is None:
            change.close()
            return False
        self._account_change = self._tasks.spawn(
            name, change, on_failure=self._opening_failed
        )
        return True

    @Slot(bool)
    def sign_out(self, delete_cache: bool) -> None:
        """Preferences → Sign out: the token leaves wherever it was kept, the window goes,
        and the first run comes back (optionally without this account's cached data).
        A token from MYOPERATOR_TOKEN was never kept: only the window closes."""
        self._start_account_change("sign-out", self._sign_out(delete_cache))

    async def _sign_out(self, delete_cache: bool) -> None:
        location = self.token_location
        await self._close_workspace()
        window = self.show_first_run()
        window.show_opening("Signing out…")  # the keyring may take its time to answer
        problems: list[str] = []
        if location is not TokenLocation.ENVIRONMENT:
            # Both kinds of secret: whichever was used, none stays behind (the relay's
            # address does, to be offered again).
            problems += await self.vault.forget()
            problems += await self.relay_vault.forget()
            self.settings.set(TOKEN_STORAGE, TokenStorage.NONE.value)
            self.settings.reset(CONNECTION)
            self.settings.reset(ME)
            self.settings.reset(RECENT_NUMBERS)
            self.settings.sync()
        if delete_cache:
            problems += await asyncio.to_thread(self._delete_account_data)
        self.token_location = None
        self.relay_url = ""
        self.left_behind = ""  # said again by sign-out's own sentences, if still true
        said = ["You are signed out."]
        if location is TokenLocation.ENVIRONMENT:
            said.append(
                "MYOPERATOR_TOKEN is still set in the environment: unset it, or the next "
                "start opens the account again."
            )
        said += problems
        log.info("signed out%s", " and deleted the cached data" if delete_cache else "")
        self.show_first_run(" ".join(said))

    def _delete_account_data(self) -> list[str]:
        """The account's call cache (with its WAL files) and downloaded recordings."""
        problems: list[str] = []
        db = self._paths.database_file()
        for suffix in ("", "-wal", "-shm"):
            try:
                Path(str(db) + suffix).unlink(missing_ok=True)
            except OSError as exc:
                problems.append(f"The call cache could not be deleted ({exc.strerror}).")
        try:
            shutil.rmtree(self._paths.recordings_dir(), ignore_errors=False)
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"Some recordings could not be deleted ({exc.strerror}).")
        return problems

    @Slot()
    def leave_demo(self, relay: bool = False) -> None:
        """Preferences → Connect my account (or through the team relay), from the demo:
        the demo closes and the first run's token (or relay) page takes over."""
        self._start_account_change("leave-demo", self._leave_demo(relay))

    async def _leave_demo(self, relay: bool) -> None:
        await self._close_workspace()
        _show_token_page(self.show_first_run(), relay=relay)

    @Slot()
    def replace_token(self) -> None:
        """Preferences → Replace token (through the relay: Use an API token instead):
        test the new one, keep it, reopen the account with it."""
        if self.workspace is None or self._quitting:
            return
        if self.replace_dialog is not None:
            self.replace_dialog.raise_()
            return
        from desktop_app.ui.onboarding.replace_dialog import ReplaceTokenDialog

        dialog = ReplaceTokenDialog(
            token_file=str(self.vault.file_path), parent=self.workspace.window
        )
        self._open_replace_dialog(dialog)

    @Slot()
    def connect_relay(self) -> None:
        """Preferences → Connect through the team relay (or Replace relay credential):
        tested with the relay and kept, then the account reopens through it, and the API
        token leaves this computer."""
        if self.workspace is None or self._quitting:
            return
        if self.replace_dialog is not None:
            self.replace_dialog.raise_()
            return
        from desktop_app.ui.onboarding.replace_dialog import ReplaceTokenDialog

        title = (
            "Replace the relay credential" if self.relay_url
            else "Connect through the team relay"
        )
        dialog = ReplaceTokenDialog(
            token_file=str(self.relay_vault.file_path),
            relay_address=self.relay_url or self.settings.get(RELAY_URL),
            title=title, parent=self.workspace.window,
        )
        self._open_replace_dialog(dialog)

    def _open_replace_dialog(self, dialog: ReplaceTokenDialog) -> None:
        from desktop_app.ui.onboarding.presenter import SignInPresenter

        presenter = SignInPresenter(
            self.vault, self.settings, self.account_base_url(), ask_for_me=False,
            relay_vault=self.relay_vault, parent=dialog,
        )
        dialog.bind(presenter)
        presenter.accountReady.connect(
            lambda token, location, relay_url: self._token_replaced(
                token, location, relay_url, presenter.left_behind
            )
        )
        dialog.finished.connect(lambda _result: self._replace_dialog_closed(dialog))
        self.replace_dialog = dialog
        dialog.open()

    def _replace_dialog_closed(self, dialog: ReplaceTokenDialog) -> None:
        if self.replace_dialog is dialog:
            self.replace_dialog = None

    def _token_replaced(
        self, token: str, location: str, relay_url: str, left_behind: str
    ) -> None:
        dialog, self.replace_dialog = self.replace_dialog, None
        self.left_behind = left_behind
        if dialog is not None:
            dialog.accept()
        self._start_account_change(
            "reopen", self._reopen(token, TokenLocation(location), relay_url)
        )

    async def _reopen(self, token: str, location: TokenLocation, relay_url: str) -> None:
        await self._close_workspace()
        self.show_first_run()
        self._show_opening(
            "Connecting through the team relay…" if relay_url
            else "Opening your account with the new token…"
        )
        workspace = await self.open_account(token, location, relay_url=relay_url)
        workspace.window.show_message(
            f"Connected through the team relay at {relay_url}." if relay_url
            else "The new token is in use."
        )

    async def _close_workspace(self) -> None:
        """Close the open workspace in full; `shutdown` waits for the same close, so a
        quit in the middle never leaves the client, cache or demo service open."""
        workspace, self.workspace = self.workspace, None
        if workspace is None:
            return
        gc.unfreeze()  # what the window held can be collected again once it is gone
        self._closing = asyncio.ensure_future(self._finish_close(workspace))
        await asyncio.shield(self._closing)

    async def _finish_close(self, workspace: Workspace) -> None:
        window = workspace.window
        if window.isVisible():
            window.save_layout()
        window.hide()
        try:
            await workspace.aclose()
        finally:
            window.close_now()
            window.deleteLater()

    # -------------------------------------------------------------- closing

    @Slot()
    def request_quit(self) -> None:
        """Close the window (title bar, Ctrl+Q, a signal): shut down, then end the loop."""
        if self._quitting:
            return
        self._quitting = True
        self._tasks.spawn("quit", self._quit())

    async def _quit(self) -> None:
        try:
            await self.shutdown()
        finally:
            if self._done is not None and not self._done.done():
                self._done.set_result(0)

    async def shutdown(self) -> None:
        """Stop every service (windows are hidden, not closed); safe to call twice."""
        if self.replace_dialog is not None:
            self.replace_dialog.reject()
            self.replace_dialog = None
        if self._closing is not None:
            with contextlib.suppress(Exception):
                await self._closing  # a workspace an account change was closing
        if self.workspace is not None:
            window = self.workspace.window
            if window.isVisible():
                window.save_layout()
            window.hide()
            await self.workspace.aclose()
        if self.sign_in is not None:
            await self.sign_in.aclose()
        if self.first_run is not None:
            self.first_run.hide()
        self._tasks.cancel_all()  # all but this one (the "quit" task may be running it)
        gc.unfreeze()

    def close_windows(self) -> None:
        """Close and delete the windows on this (the GUI) thread.

        Left to Python's garbage collector, a window could be destroyed on whatever thread
        happens to collect it (a worker of ``to_thread``, the sandbox's server), and Qt
        cannot stop a widget's timers from there: they would later fire for freed memory.
        """
        if self.workspace is not None:
            self.workspace.window.close_now()
            self.workspace.window.deleteLater()
        self._close_first_run()


# ------------------------------------------------------------------------------- main


def _collect_and_freeze() -> None:
    """After an account change: the old workspace's garbage goes, the new one is frozen."""
    gc.collect()
    gc.freeze()


def _install_signal_handlers(controller: AppController, loop: asyncio.AbstractEventLoop) -> None:
    def handler(_signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(controller.request_quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible outside the main thread or on some platforms: Ctrl+Q still works.
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, handler)


#: Exit code of a start refused because the installed Qt binding is defective.
BROKEN_BINDING_EXIT: Final = 3


def main(
    argv: Sequence[str] | None = None, *, demo_service: SandboxProcess | None = None
) -> int:
    """Run the desktop app; returns the process exit code.

    A second launch hands its arguments to the running app and exits 0 before it opens
    any display connection; 1 when the running app does not answer; `BROKEN_BINDING_EXIT`
    on a Qt binding that would crash it. `demo_service` is the demo's service launched
    before this module was imported (`desktop_app.__main__`): the demo uses it, and it
    is stopped whatever happens.
    """
    try:
        return _main(argv, demo_service)
    finally:
        if demo_service is not None:
            demo_service.stop()


def _main(argv: Sequence[str] | None, demo_service: SandboxProcess | None) -> int:
    # First: an exception nobody handled must reach stderr and the log redacted.
    excepthook.install()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    if args.self_test:  # before the single-instance claim: a running app is not in its way
        from desktop_app.runtime.self_test import main as self_test

        return self_test()
    try:  # the same check as the `myoperator` command's: one sentence, exit 2
        args.base_url = explicit_base_url(args, os.environ)
    except ValueError as exc:
        print(f"myoperator-desktop: {exc}", file=sys.stderr)
        return 2
    defect = binding_defect()
    if defect is not None:
        print(f"myoperator-desktop: {defect}", file=sys.stderr)
        return BROKEN_BINDING_EXIT
    try:
        instance = claim_or_forward(raw, listen=False)
    except InstanceUnreachable as exc:
        print(f"myoperator-desktop: {exc}", file=sys.stderr)
        return 1
    if instance is None:
        return 0  # the running app has the link now
    try:
        return _run(args, instance, _demo_services(demo_service))
    finally:
        instance.close()


def run_controller(runner: asyncio.Runner, controller: AppController) -> int:
    """Run `controller` to its exit code on `runner`'s qasync loop.

    WORKAROUND: Qt can end its event loop underneath asyncio (the desktop session ends,
    something calls ``QApplication.quit()``): qasync's loop then stops while
    `controller.run` is still waiting, and ``run_until_complete`` raises RuntimeError
    ("Event loop stopped before Future completed"). Without this the app exits with a
    traceback and skips the shutdown: the HTTP client, the cache database and the demo's
    service process are left open. The task supervisor cannot prevent it (the loop itself
    stopped, not a task). Told apart from the controller's own RuntimeError by its state
    (still suspended in `run`), not by the message's words.
    test: tests/gui/test_task_supervision.py::test_qt_quitting_under_the_loop_still_shuts_down
    """
    try:
        return runner.run(controller.run())
    except RuntimeError:
        if not controller.running:
            raise  # the controller's own failure, not the loop stopping under it
        runner.run(controller.shutdown())
        controller.close_windows()
        return 0


def name_application(app: QApplication) -> None:
    """The names desktops show for the app. No display name: Qt would append it to every
    window title on X11 and Windows ("… — MyOperator Desktop"), and the window's own
    title already starts with it. The icon set here is every window's (the first-run
    window, the main window, dialogs) unless one sets its own."""
    app.setApplicationName(APP_TITLE)
    app.setDesktopFileName("myoperator-desktop")
    app.setWindowIcon(app_icon())


def _show_token_page(window: FirstRunWindow, *, relay: bool = False) -> None:
    from desktop_app.ui.onboarding.window import PAGE_RELAY, PAGE_TOKEN

    window.show_page(PAGE_RELAY if relay else PAGE_TOKEN)


def relay_stream(relay_url: str, credential: str) -> RelayConnect:
    """How the workspace opens the relay's event stream, from a position (None: the first
    time, reading back `backfill_s`)."""
    from desktop_app.relay.client import EventStream

    def connect(position: str | None, backfill_s: int) -> EventStream:
        return EventStream(
            relay_url, credential, last_event_id=position, backfill_s=backfill_s
        )

    return connect


def forward_link_opens(
    app: QApplication, controller: AppController, *, platform: str = sys.platform
) -> LinkOpenFilter | None:
    """Hand the ``tel:``/``callto:`` links macOS delivers as `QFileOpenEvent`s (a clicked
    link never reaches ``sys.argv`` there) to `controller`, which queues one until a
    workspace is open. Installed (its module even imported) on macOS only (None
    elsewhere, where no such event comes): an application-wide filter written in Python
    has every event of every object wrapped for Python, and the first of each kind
    creates PySide's enum classes (0.1 s of start-up, measured). Remove it with
    ``app.removeEventFilter``."""
    if platform != "darwin":
        return None
    from desktop_app.runtime.file_open import LinkOpenFilter

    link_filter = LinkOpenFilter(parent=app)
    link_filter.linkOpened.connect(controller.handle_link)
    app.installEventFilter(link_filter)
    return link_filter


def _demo_services(early: SandboxProcess | None) -> DemoServiceFactory:
    """The demo's service: the one launched early, for the first demo opened with its
    config; a new process for any other."""
    waiting = [early] if early is not None else []

    def make(config: SandboxConfig) -> DemoService:
        if waiting and waiting[0].config == config:
            return waiting.pop()
        return SandboxProcess(config)

    return make


def _run(
    args: argparse.Namespace, instance: SingleInstance, demo_service: DemoServiceFactory
) -> int:
    TLS.prepare()  # ready by the time the client is made, off this thread meanwhile
    paths = app_paths()
    paths.ensure()
    configure_logging(log_dir=paths.log_dir)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    name_application(app)
    instance.listen()  # needs the application; launches made meanwhile wait for it
    settings_files = open_settings_files(paths)
    chosen = ThemeMode(Settings(settings_files[0]).get(THEME))
    theme = ThemeManager(app, chosen, override=override_from_env())
    theme.apply()
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            controller = AppController(
                args, paths, theme=theme, settings_files=settings_files,
                demo_service=demo_service,
            )
            instance.messageReceived.connect(controller.handle_message)
            # Before the loop runs: macOS delivers the link that launched the app from it.
            link_filter = forward_link_opens(app, controller)
            _install_signal_handlers(controller, runner.get_loop())
            try:
                return run_controller(runner, controller)
            finally:
                if link_filter is not None:
                    app.removeEventFilter(link_filter)
    finally:
        collector.stop()
