"""One open account (or the demo): its features, built in order and closed in reverse.

Everything that talks to the network or the disk is shared (`Shared`): one
`MyOperatorClient` (one request budget), one cache database, one sync engine, the declared
settings (scoped to the account or the demo) and the window-state file, one answer to "who
is me", one supervisor for every background task. Each feature follows the settings it
uses; the workspace follows the two that are the whole app's (the theme, starting at
login), so a change made in Preferences applies at once. Each feature package under
``desktop_app/ui`` builds its own models, panel and presenters from those and from the
features it depends on; this module only lists them, hands their panels to the window,
and puts in one place what one feature asks of another (`WorkspaceActions`: call back,
open a call, show the dialer).

What the first paint shows is built at once (the feed, the call detail, the callback list,
the notifications, Help's menu); the users, the dialer and Preferences (the docks behind
tabs, and a dialog) wait until the feed has painted its first page, or `LATER_AT_MOST_MS`
after the start, and are then built, installed and started (`LaterFeatures`): their
imports and widgets are not in the way of the first page. Asking for one of them (or for
`Workspace.actions`) builds them at once; `Workspace.later` runs what needs them once
they are there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import unquote

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.api.client import MyOperatorClient
from desktop_app.services import autostart
from desktop_app.services.availability import DndState
from desktop_app.services.clock import Clock
from desktop_app.services.dialer import DialerSettings
from desktop_app.services.identity import Identity
from desktop_app.services.paths import AppPaths, app_paths
from desktop_app.services.settings import (
    START_AT_LOGIN,
    THEME,
    MemoryBackend,
    Setting,
    Settings,
    SettingsBackend,
)
from desktop_app.services.sync import SyncEngine
from desktop_app.services.sync_thread import ThreadedSync
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.store import CallStore
from desktop_app.ui.call_detail import feature as call_detail
from desktop_app.ui.callbacks import feature as callbacks
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.common.theme import ThemeColors, ThemeManager, ThemeMode
from desktop_app.ui.feed import feature as feed
from desktop_app.ui.help import feature as help_menu
from desktop_app.ui.notifications import feature as notifications
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.sync import feature as sync
from desktop_app.ui.sync.presenter import LIVE_SYNC_INTERVAL_S, SYNC_LOOP

if TYPE_CHECKING:
    # The emulated service is imported only when the demo is opened, the relay's follower
    # only when connecting through the team relay.
    from desktop_app.sandbox.process import DemoService
    from desktop_app.services.relay_sync import RelayConnect, RelaySync
    from desktop_app.ui.callbacks.claims import Claimer, ClaimsFeature

    # Imported when built, after the first paint (see the module docstring), or only
    # through the team relay (the screen-pop).
    from desktop_app.ui.dialer.feature import DialerFeature
    from desktop_app.ui.preferences.feature import PreferencesFeature
    from desktop_app.ui.screen_pop.feature import ScreenPopFeature
    from desktop_app.ui.users.feature import UsersFeature

log = logging.getLogger(__name__)


def _number_hint(link: str) -> str:
    """How a log names a number: its last four digits, enough to tell links apart, never
    a customer's whole number (a short one only by its length). Percent escapes and
    ``;ext=``-style parameters are not part of the number."""
    number = unquote(link).split(";", 1)[0].split("?", 1)[0]
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) > 6:
        return f"number ending {digits[-4:]}"
    return f"a number of {len(digits)} digits"

T = TypeVar("T")

#: The latest the features the first paint does not show are built after the start,
#: should the feed not have painted a page by then (no cache, a slow first sync).
LATER_AT_MOST_MS: Final = 1000
#: How long after the feed's first page is painted they are built: whatever that paint
#: set going (the next frames, the first input, a benchmark's mark) goes first.
LATER_AFTER_PAINT_MS: Final = 50


class LaterFeatures(Feature):
    """The workspace's features built after the first paint, as one feature to the
    workspace: installed, themed, started and closed (in reverse) as they would have been
    in the workspace's own list."""

    def __init__(self, on_start: Callable[[], None]) -> None:
        super().__init__()
        self.features: tuple[Feature, ...] = ()
        self.started = False
        self._on_start = on_start
        self._place: tuple[MainWindow, TaskSupervisor] | None = None
        self._colors: ThemeColors | None = None

    def add(self, features: Sequence[Feature]) -> None:
        """Join `features` (built now): they take their place and, if the workspace has
        started, start."""
        self.features = (*self.features, *features)
        for each in features:
            if self._place is not None:
                each.install(*self._place)
            if self._colors is not None:
                each.apply_theme(self._colors)
        if self.started:
            for each in features:
                each.start()

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        self._place = (window, tasks)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        for each in self.features:
            each.apply_theme(colors)

    def start(self) -> None:
        self.started = True
        for each in self.features:
            each.start()
        self._on_start()

    async def aclose(self) -> None:
        for each in reversed(self.features):
            await each.aclose()


class _FirstPagePainted(QObject):
    """Calls back once, `delay_ms` after `widget` began a paint while `condition()` held
    (a widget's own filter: no application-wide one)."""

    def __init__(
        self,
        widget: QWidget,
        condition: Callable[[], bool],
        callback: Callable[[], None],
        delay_ms: int,
    ) -> None:
        super().__init__(widget)
        self._widget = widget
        self._condition = condition
        self._callback = callback
        self._delay_ms = delay_ms
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._condition():
            self._widget.removeEventFilter(self)
            QTimer.singleShot(self._delay_ms, self._callback)
        return False


@dataclass(frozen=True)
class WorkspaceOptions:
    """How a workspace behaves, where the defaults do not fit (the demo, tests)."""

    demo: bool = False
    sync_interval_s: float = LIVE_SYNC_INTERVAL_S
    #: The pause after typing before the server is searched too.
    remote_delay_ms: int = 600
    #: The latest the features the first paint does not show are built after the start.
    later_at_most_ms: int = LATER_AT_MOST_MS
    restore_layout: bool = True
    tray: notifications.TrayProbes = field(default_factory=notifications.TrayProbes)
    #: Wall-clock time where a feature shows how long something has lasted (DND).
    clock: Clock = time.time
    #: The app's folders (Help → About, the diagnostics' log); None: `app_paths()`.
    paths: AppPaths | None = None
    #: Help → Diagnostics: how the keyring fares (None: it works), and where the token
    #: is kept.
    keyring_problem: help_menu.KeyringProbe = help_menu.keyring_not_checked
    token_location: Callable[[], str] = help_menu.unknown_token_location
    #: Switches starting at login on or off (raises `autostart.AutostartError`).
    autostart: Callable[[bool], object] = autostart.apply


class Workspace:
    """The features of one account and the window that shows them."""

    def __init__(
        self,
        shared: Shared,
        *,
        recordings_dir: Path,
        dialer_settings: DialerSettings | None = None,
        options: WorkspaceOptions | None = None,
        theme: ThemeManager | None = None,
        sandbox: DemoService | None = None,
        threaded_sync: ThreadedSync | None = None,
        relay_sync: RelaySync | None = None,
        relay_claims: Claimer | None = None,
    ) -> None:
        options = options if options is not None else WorkspaceOptions()
        self.shared = shared
        self._threaded_sync = threaded_sync
        #: Keeps the cache in step through the team relay's stream (None: polling).
        self.relay_sync = relay_sync
        self._relay_claims = relay_claims
        self.sandbox = sandbox
        self._theme = theme
        self._autostart = options.autostart
        self._closed = False
        self._reverting = False
        self._unsubscribe: list[Callable[[], object]] = []
        self._unstarted: list[Feature] = []  # what `start` left for later turns
        if dialer_settings is None:
            dialer_settings = DialerSettings(shared.settings)
        self._dialer_settings = dialer_settings
        self._built_later: tuple[
            UsersFeature, DialerFeature, PreferencesFeature, WorkspaceActions
        ] | None = None
        self._when_built: list[Callable[[], None]] = []
        self._later_at_most_ms = options.later_at_most_ms
        widgets_before = set(QApplication.topLevelWidgets())
        try:
            self._build(options, theme, recordings_dir)
        except BaseException:
            self._discard_half_built(widgets_before)
            raise

    def _build(
        self, options: WorkspaceOptions, theme: ThemeManager | None, recordings_dir: Path
    ) -> None:
        shared = self.shared
        self.sync = sync.build(
            shared,
            interval_s=options.sync_interval_s,
            loop=None if self.relay_sync is None else self.relay_sync.run,
        )
        self.feed = feed.build(shared, self.sync, remote_delay_ms=options.remote_delay_ms)
        self.call_detail = call_detail.build(shared, self.feed, recordings_dir=recordings_dir)
        self.callbacks = callbacks.build(shared, self.sync)
        self.notifications = notifications.build(
            shared, self.callbacks, probes=options.tray, clock=options.clock
        )
        self.help = help_menu.build(
            shared,
            paths=options.paths if options.paths is not None else app_paths(),
            keyring_problem=options.keyring_problem,
            token_location=options.token_location,
            settings_snapshot=shared.settings.snapshot,
        )
        self._later = LaterFeatures(on_start=self._build_later_soon)
        self.screen_pop: ScreenPopFeature | None = None
        if self.relay_sync is not None:  # a card while it rings: only the relay says so
            from desktop_app.ui.screen_pop.feature import build as build_screen_pop

            self.screen_pop = build_screen_pop(shared, self.relay_sync, self.feed)
        self.claims: ClaimsFeature | None = None
        if self.relay_sync is not None:  # who is on which callback: the relay's stream says
            from desktop_app.ui.callbacks.claims import build as build_claims

            self.claims = build_claims(self.relay_sync, self.callbacks, self._relay_claims)
        self.features: tuple[Feature, ...] = (
            self.sync, self.feed, self.call_detail, self.callbacks, self.notifications,
            self.help, *(f for f in (self.screen_pop, self.claims) if f is not None),
            self._later,
        )

        self.window = MainWindow(
            self.feed.panel, self.call_detail.panel, shared.state, demo=options.demo,
            worklist=self.callbacks.panel, notifications=self.notifications.banner,
        )
        for each in self.features:
            each.install(self.window, shared.tasks)
        shared.tasks.add_failure_listener(self._show_failure)
        shared.tasks.add_recovery_listener(self.window.clear_problem)
        if theme is not None:
            theme.themeChanged.connect(self._apply_theme)
            self._unsubscribe.append(lambda: theme.themeChanged.disconnect(self._apply_theme))
            self._apply_theme()
            self._follow(THEME, lambda mode: theme.set_mode(ThemeMode(mode)))
        self._follow(START_AT_LOGIN, self._start_at_login)
        if options.restore_layout:
            self.window.restore_layout()

    def _discard_half_built(self, widgets_before: set[QWidget]) -> None:
        """Undo at once a build that failed part-way (a damaged cache met by a feature),
        as `aclose` would a workspace that never started.

        The features built so far leave no listener on the app's settings; their widgets
        (parentless until the window takes them: top-level, and new) are deleted now,
        not left to the cycle collector, which clears a panel's attributes while Qt still
        delivers events to it; the sync's thread stops instead of running to the end."""
        self._stop_following()
        built = [each for each in vars(self).values() if isinstance(each, Feature)]
        for each in reversed(built):
            each.discard()
        self.shared.me.close()
        for widget in QApplication.topLevelWidgets():
            if widget not in widgets_before and shiboken6.isValid(widget):
                shiboken6.delete(widget)  # with its children, while its attributes live
        if self._threaded_sync is not None:
            self._threaded_sync.close_unused()

    @classmethod
    def open(
        cls,
        client: MyOperatorClient,
        store: CallStore,
        settings: Settings | None = None,
        *,
        state: SettingsBackend | None = None,
        recordings_dir: Path,
        engine: SyncEngine | None = None,
        tasks: TaskSupervisor | None = None,
        options: WorkspaceOptions | None = None,
        theme: ThemeManager | None = None,
        sandbox: DemoService | None = None,
        engine_options: Mapping[str, Any] | None = None,
        relay: RelayConnect | None = None,
        claims: Claimer | None = None,
    ) -> Workspace:
        """A workspace over an open client and cache.

        `settings` are the declared settings scoped to this account (the app's are over
        settings.ini; in memory when not given, as for tests) and `state` the window's own
        file (layout, last folders; in memory when not given). `tasks` is the supervisor
        of every background task (tests: a short restart backoff). Without an `engine`,
        the sync runs on a thread of its own (`ThreadedSync`, built with
        `engine_options`). With `relay` (the team relay's stream, opened from a
        position), the cache follows that stream instead of polling (`RelaySync`), and
        `client` is the relay's pass-through to MyOperator, and `claims` (`RelayClaims`)
        lets the agent claim callback-list rows."""
        settings = settings if settings is not None else Settings(MemoryBackend())
        dialer_settings = DialerSettings(settings)
        threaded = None
        relay_sync = None
        if relay is not None:
            from desktop_app.services.relay_sync import RelaySync  # the relay's mode only

            engine = engine or SyncEngine(client, store, **(engine_options or {}))
            relay_sync = RelaySync(engine, relay)
        elif engine is None:
            threaded = ThreadedSync(client, store, **(engine_options or {}))
            engine = threaded.engine
        shared = Shared(
            client=client,
            store=store,
            engine=engine,
            settings=settings,
            state=state if state is not None else MemoryBackend(),
            me=Identity(dialer_settings, changes=dialer_settings.watch_me),
            tasks=tasks if tasks is not None else TaskSupervisor("workspace"),
            streamed=relay is not None,
        )
        return cls(
            shared, recordings_dir=recordings_dir, dialer_settings=dialer_settings,
            options=options, theme=theme, sandbox=sandbox, threaded_sync=threaded,
            relay_sync=relay_sync, relay_claims=claims,
        )

    # ------------------------------------------------------- built after the first paint

    @property
    def users(self) -> UsersFeature:
        return self.build_later()[0]

    @property
    def dialer(self) -> DialerFeature:
        return self.build_later()[1]

    @property
    def preferences(self) -> PreferencesFeature:
        return self.build_later()[2]

    @property
    def actions(self) -> WorkspaceActions:
        return self.build_later()[3]

    def later(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the features built after the first paint are there (at
        once if they are): what needs them must not build them before it."""
        if self._built_later is not None:
            callback()
        else:
            self._when_built.append(callback)

    def build_later(
        self,
    ) -> tuple[UsersFeature, DialerFeature, PreferencesFeature, WorkspaceActions]:
        """Build the users, the dialer and Preferences now, if they are not yet: their
        docks take the panels, and they start if the workspace has. Idempotent."""
        if self._built_later is None:
            if self._closed:
                raise RuntimeError("The workspace is closed.")
            from desktop_app.ui.dialer import feature as dialer
            from desktop_app.ui.preferences import feature as preferences
            from desktop_app.ui.users import feature as users

            shared = self.shared
            users_feature = users.build(shared)
            dialer_feature = dialer.build(shared, users_feature, settings=self._dialer_settings)
            preferences_feature = preferences.build(shared, users_feature)
            self.window.set_panel("users", users_feature.panel)
            self.window.set_panel("dialer", dialer_feature.panel)
            self._later.add((users_feature, dialer_feature, preferences_feature))
            actions = WorkspaceActions(self, users_feature, dialer_feature)
            self._built_later = (users_feature, dialer_feature, preferences_feature, actions)
            waiting, self._when_built = self._when_built, []
            for callback in waiting:
                callback()
        return self._built_later

    def _build_later_soon(self) -> None:
        """At the start: just after the feed has painted a page of calls (from the cache, or
        the first sync's: `LATER_AFTER_PAINT_MS`), or `WorkspaceOptions.later_at_most_ms`
        after now, whichever comes first."""
        viewport = self.feed.panel.table.viewport()
        model = self.feed.model
        _FirstPagePainted(
            viewport, lambda: model.rowCount() > 0, self._build_later_now, LATER_AFTER_PAINT_MS
        )
        QTimer.singleShot(self._later_at_most_ms, self.window, self._build_later_now)

    def _build_later_now(self) -> None:
        if not self._closed:
            self.build_later()

    @property
    def client(self) -> MyOperatorClient:
        return self.shared.client

    @property
    def store(self) -> CallStore:
        return self.shared.store

    @property
    def tasks(self) -> TaskSupervisor:
        return self.shared.tasks

    def start(self, *, show: bool = True) -> None:
        """Show the cache at once, then fetch filters and users and start syncing.

        The sync and the feed (what the first paint shows) start here, before the window
        is shown; the other features one per turn of the event loop after this returns
        (`starting` until then), each turn's relayout and repaint done before the next
        start: all of them in one turn held the window 30-70 ms (bench_loop_stall).
        Closing drops what has not started."""
        first = (self.sync, self.feed)
        self._unstarted = [each for each in self.features if each not in first]
        for each in first:
            each.start()
        if show:
            self.window.show()

        def start_next() -> None:
            if self._closed or not self._unstarted:
                return
            self._unstarted.pop(0).start()
            if self._unstarted:
                QTimer.singleShot(0, self.window, start_next)

        QTimer.singleShot(0, self.window, start_next)

    @property
    def starting(self) -> bool:
        """Features `start` scheduled have yet to start (one per turn of the loop)."""
        return bool(self._unstarted) and not self._closed

    async def aclose(self) -> None:
        """Close the features in reverse, then the shared parts. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop_following()
        for each in reversed(self.features):
            await each.aclose()
        self.shared.me.close()
        self.shared.settings.sync()
        await self.shared.tasks.aclose()  # whatever is left: nothing outlives the window
        if self._threaded_sync is not None:
            await self._threaded_sync.aclose()
        try:
            await self.shared.client.aclose()
        except Exception:  # closing must go on whatever the transport says
            log.exception("closing the HTTP client failed")
        self.shared.client.budget.close()
        self.shared.store.close()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)

    def _stop_following(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _follow(self, setting: Setting[T], apply: Callable[[T], None]) -> None:
        """Apply each later change of `setting` (the value at start is already in effect:
        the app started with it)."""
        self._unsubscribe.append(self.shared.settings.subscribe(setting, apply))

    def _start_at_login(self, enabled: bool) -> None:
        """Write or remove the autostart entry; when that fails, say so in the status bar
        and put the setting back, so it never claims what is not so."""
        if self._reverting:
            return  # the value put back is the one in effect: nothing to apply
        try:
            self._autostart(enabled)
        except autostart.AutostartError as exc:
            log.warning("start at login: %s", exc)
            self.window.show_message(str(exc))
            self._reverting = True
            try:
                self.shared.settings.set(START_AT_LOGIN, not enabled)
            finally:
                self._reverting = False

    def _show_failure(self, failure: TaskFailure) -> None:
        """Every background failure in words; the sync loop's is the connection's text."""
        if failure.name != SYNC_LOOP:
            self.window.show_problem(failure.name, failure.text)

    def _apply_theme(self, _dark: bool = False) -> None:
        if self._theme is None:
            return
        colors = self._theme.colors
        self.window.apply_theme(colors)
        for each in self.features:
            each.apply_theme(colors)


class WorkspaceActions:
    """What one feature asks of another, in one place.

    Every "call back" (the call detail, the callback list, a notification, the users
    list) and every link only fills in the dialer and brings it to the front: nothing is
    dialled until the agent presses Call.
    """

    def __init__(
        self, workspace: Workspace, users: UsersFeature, dialer: DialerFeature
    ) -> None:
        self._window = workspace.window
        self._feed = workspace.feed
        self._dialer = dialer
        self._users = users
        self._worklist = workspace.callbacks.panel
        self._dnd = workspace.notifications.dnd
        self._calls_known = self._dnd.state.receiving_calls
        tray = workspace.notifications.tray
        clipboard = dialer.clipboard
        connect_all([
            (users.presenter.callRequested, self.call_back),
            (workspace.call_detail.panel.callBackRequested, self.call_back),
            (workspace.callbacks.panel.callBackRequested, self.call_back),
            (tray.callBackRequested, self.call_back),
            (clipboard.prefilled, self._dialer_filled),
            (clipboard.rejected, self._dialer_filled),
            (dialer.presenter.callLogged, self._feed.select_call),
            (workspace.callbacks.panel.openCallRequested, self.open_call),
            (tray.openCallRequested, self.open_call),
            (tray.worklistRequested, self.show_worklist),
            (dialer.open_action.triggered, self.open_dialer),
            (workspace.notifications.presenter.dndStateChanged, self._dnd_changed),
        ])

    def show_dialer(self) -> None:
        self._window.show_dock(self._window.dialer_dock)

    def open_dialer(self) -> None:
        """Call → Open dialer: the dialer in front, the keyboard in its number field."""
        self.show_dialer()
        self._dialer.focus_number()

    def call_back(self, number: str) -> bool:
        """Put `number` in the dialer, ready for one click on Call (never dials)."""
        self.show_dialer()
        return self._dialer.prefill(number)

    def open_links(self, links: Sequence[str]) -> None:
        """``tel:``/``callto:`` links (or numbers) from the command line or another launch:
        into the dialer, never dialled. A malformed one is refused with a sentence."""
        if not links:
            return
        self.show_dialer()
        for link in links:
            if not self._dialer.prefill(link):
                log.info("a link was refused by the dialer")
                self._window.show_message(f"Not a number to call: {self._dialer.refusal}")
                continue
            log.info("a link is in the dialer, ready for Call (%s)", _number_hint(link))

    def open_call(self, call_id: str) -> None:
        """Show a call the agent asked for (a notification, the callback list)."""
        self._feed.select_call(call_id)
        self._window.show_dock(self._window.feed_dock)
        self._window.show_dock(self._window.detail_dock)

    def show_worklist(self) -> None:
        """The callback list in front, the keyboard in it (Enter calls back at once)."""
        self._window.show_dock(self._window.worklist_dock)
        self._worklist.focus_list()

    def _dnd_changed(self, state: DndState) -> None:
        """What do not disturb got the service to say about my calls shows in the users
        list at once, not at the next refresh."""
        previous, known = self._calls_known, state.receiving_calls
        self._calls_known = known
        uuid = self._dnd.my_uuid
        if uuid and known is not None and known != previous:
            self._users.service.note_receives_calls(uuid, known)

    def _dialer_filled(self, _text: str) -> None:
        """The clipboard's number went in (or was refused, saying why): show the dialer."""
        self.show_dialer()
