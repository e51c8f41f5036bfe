"""The composition root: arguments, QApplication + qasync loop, and the wiring.

Everything that talks to the network or the disk is built here once and closed here once:
one `MyOperatorClient` (one budget) per account, one cache database, one sync engine, one
recording cache, and in demo mode the emulated service on a loopback port. The feed, the
users directory, the dialer (behind its dial guard) and the missed-call notifier with its
callback list all share them. Quitting is a request: the services are shut down first
(tasks cancelled, client closed, database closed, sandbox stopped), then the window closes
and the loop ends. One app runs per user: a second launch hands its ``tel:`` link over
(`desktop_app.ui.single_instance`) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import qasync
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desktop_app.api.client import LIVE_BASE_URL, MyOperatorClient, base_url_from
from desktop_app.api.errors import MyOperatorError
from desktop_app.api.models import User
from desktop_app.runtime.binding import GuiThreadGarbageCollector, binding_defect
from desktop_app.runtime.single_instance import (
    InstanceUnreachable,
    SingleInstance,
    bring_to_front,
    claim_or_forward,
)
from desktop_app.services import excepthook
from desktop_app.services.availability import DndController
from desktop_app.services.dialer import CallLogFinder, DialerSettings, DialGuard
from desktop_app.services.logs import configure_logging
from desktop_app.services.notifier import Notifier
from desktop_app.services.paths import AppPaths, app_paths
from desktop_app.services.recordings import RecordingCache
from desktop_app.services.sync import SyncEngine, SyncStatus
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.services.users import UsersService
from desktop_app.services.worklist import WorkingHours, Worklist
from desktop_app.store import CallStore, StoreError
from desktop_app.store.dials import DialRecords
from desktop_app.store.users import UserStore
from desktop_app.ui.call_detail.panel import CallDetailPanel
from desktop_app.ui.call_detail.presenter import RecordingController
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.callbacks.panel import WorklistPanel
from desktop_app.ui.callbacks.presenter import WorklistPresenter
from desktop_app.ui.common.docks import make_dock
from desktop_app.ui.common.theme import ThemeManager, mode_from_env
from desktop_app.ui.dialer.clipboard import ClipboardDialer
from desktop_app.ui.dialer.panel import DialerPanel
from desktop_app.ui.dialer.presenter import (
    DialerPresenter,
    agents_from_users,
    bind_dialer,
    make_dialer_dock,
)
from desktop_app.ui.feed.model import FeedModel
from desktop_app.ui.feed.panel import FeedPanel
from desktop_app.ui.feed.presenter import FeedPresenter
from desktop_app.ui.notifications.banner import NotificationBanner
from desktop_app.ui.notifications.presenter import NotificationPresenter
from desktop_app.ui.notifications.tray import TrayController
from desktop_app.ui.shell.main_window import KEY_FEED_HEADER, KEY_GEOMETRY, KEY_STATE, MainWindow
from desktop_app.ui.shell.start_panel import StartPanel
from desktop_app.ui.sync.presenter import LIVE_SYNC_INTERVAL_S, SYNC_LOOP, SyncPresenter
from desktop_app.ui.users.panel import UsersDock
from desktop_app.ui.users.presenter import UsersPresenter

if TYPE_CHECKING:  # the emulated service is imported only when the demo is opened
    from desktop_app.sandbox import SandboxConfig, SandboxServer

log = logging.getLogger(__name__)

TOKEN_ENV: Final = "MYOPERATOR_TOKEN"
BASE_URL_ENV: Final = "MYOPERATOR_BASE_URL"
#: The demo polls more often than a real account may: its service is in-process.
DEMO_SYNC_INTERVAL_S: Final = 30.0


def demo_config() -> SandboxConfig:
    """The demo account: a month of history, a new call every 20 s, the real rate limit."""
    from desktop_app.sandbox import SandboxConfig

    return SandboxConfig(n_logs=3000, live_calls_every=20.0)


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
        help=f"API base URL (default ${BASE_URL_ENV} or {LIVE_BASE_URL})",
    )
    parser.add_argument(
        "--reset-layout", action="store_true", help="start with the default window layout"
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


WORKING_HOURS_KEY = "worklist/working_hours"
WORKING_DAYS_KEY = "worklist/working_days"


def working_hours(settings: QSettings) -> tuple[WorkingHours, str | None]:
    """The callback list's working hours from the settings file, written back so the keys
    are there to edit; a value that does not parse falls back to the default, with why."""
    default = WorkingHours()
    hours_text = str(settings.value(WORKING_HOURS_KEY, "09:00-18:00"))
    days_text = str(settings.value(WORKING_DAYS_KEY, "mon-sat"))
    settings.setValue(WORKING_HOURS_KEY, hours_text)
    settings.setValue(WORKING_DAYS_KEY, days_text)
    try:
        return WorkingHours.parse(hours_text, days_text), None
    except ValueError as exc:
        return default, f"Settings: {exc}; using the default working hours."


def open_settings(paths: AppPaths) -> QSettings:
    """INI settings under the config dir (never the registry or a plist)."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    return QSettings(str(paths.settings_file), QSettings.Format.IniFormat)


# --------------------------------------------------------------------------- workspace


@dataclass
class Workspace:
    """One open account (or the demo): its services, presenters and window."""

    window: MainWindow
    feed_panel: FeedPanel
    feed: FeedPresenter
    sync: SyncPresenter
    model: FeedModel
    detail: CallDetailPanel
    recordings: RecordingController
    client: MyOperatorClient
    store: CallStore
    engine: SyncEngine
    users: UsersPresenter
    users_dock: UsersDock
    dialer: DialerPresenter
    dialer_panel: DialerPanel
    dialer_settings: DialerSettings
    clipboard: ClipboardDialer
    notifier: Notifier
    dnd: DndController
    notifications: NotificationPresenter
    worklist: WorklistPresenter
    worklist_panel: WorklistPanel
    banner: NotificationBanner
    tray: TrayController
    #: Every background task of the workspace runs under it (each presenter's supervisor
    #: is adopted here); its failures reach the status bar.
    tasks: TaskSupervisor
    sandbox: SandboxServer | None = None
    _closed: bool = field(default=False, repr=False)

    def start(self, *, show: bool = True) -> None:
        """Show the cache at once, then fetch filters, users and start syncing."""
        self.feed.apply_now()
        self.feed.load_filters()
        self.worklist.start()
        self.sync.start()
        self.users.start()
        self.dialer.start()  # unclear dials an earlier run left: look in the call log
        self.tray.start()
        if show:
            self.window.show()

    # -------------------------------------------------------------- actions

    def show_dialer(self) -> None:
        self.window.show_dock(self.window.dialer_dock)

    def call_back(self, number: str) -> bool:
        """Put `number` in the dialer, ready for one click on Call (never dials)."""
        self.show_dialer()
        return self.dialer_panel.prefill(number)

    def open_links(self, links: Sequence[str]) -> None:
        """``tel:``/``callto:`` links (or numbers) from the command line or another launch:
        into the dialer, never dialled. A malformed one is refused with a sentence."""
        if not links:
            return
        self.show_dialer()
        for link in links:
            if not self.dialer_panel.prefill(link):
                self.window.show_message(
                    f"Not a number to call: {self.dialer_panel.status_label.text()}"
                )

    def select_call(self, call_id: str) -> None:
        """Make `call_id` the feed's current call (its detail shows), or show its detail
        when the current view does not list it."""
        row = self.model.row_of(call_id)
        if row is None:
            self.feed.select_call(call_id)
            return
        index = self.model.index(row, 0)
        table = self.feed_panel.table
        if table.currentIndex().row() == row:
            self.feed.select_call(call_id)
        else:
            table.setCurrentIndex(index)
        table.scrollTo(index)

    def open_call(self, call_id: str) -> None:
        """Show a call the agent asked for (a notification, the callback list)."""
        self.select_call(call_id)
        self.window.show_dock(self.window.feed_dock)
        self.window.show_dock(self.window.detail_dock)

    def show_worklist(self) -> None:
        self.window.show_dock(self.window.worklist_dock)

    # -------------------------------------------------------------- closing

    async def aclose(self) -> None:
        """Cancel tasks, close the client and the database, stop the sandbox. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.tray.stop()
        self.worklist.stop()
        await self.notifications.aclose()
        await self.users.aclose()
        await self.dialer.aclose()
        self.recordings.cancel()
        self.detail.player.shutdown()
        await self.feed.aclose()
        await self.sync.aclose()
        await self.tasks.aclose()  # whatever is left: nothing outlives the window
        try:
            await self.client.aclose()
        except Exception:  # closing must go on whatever the transport says
            log.exception("closing the HTTP client failed")
        self.store.close()
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)


def build_workspace(
    *,
    client: MyOperatorClient,
    store: CallStore,
    settings: QSettings,
    recordings_dir: Path,
    demo: bool = False,
    theme: ThemeManager | None = None,
    sync_interval_s: float = LIVE_SYNC_INTERVAL_S,
    restore_layout: bool = True,
    sandbox: SandboxServer | None = None,
    engine: SyncEngine | None = None,
    remote_delay_ms: int = 600,
    dialer_settings: DialerSettings | None = None,
    tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
    tray_factory: Callable[[QObject], QSystemTrayIcon] = QSystemTrayIcon,
    tasks: TaskSupervisor | None = None,
) -> Workspace:
    """Build and wire one workspace; `Workspace.start` sets it going.

    `dialer_settings` remember "me", the country and recent numbers (in memory only when
    not given); the tray probes are for tests (offscreen has no tray); `tasks` is the
    supervisor of every background task (tests: a short restart backoff).
    """
    tasks = tasks if tasks is not None else TaskSupervisor("workspace")
    engine = engine if engine is not None else SyncEngine(client, store)
    dialer_settings = dialer_settings if dialer_settings is not None else DialerSettings(None)
    me = dialer_settings.me_uuid

    # The log feed and the call detail.
    model = FeedModel(store)
    feed_panel = FeedPanel()
    feed_panel.attach_model(model)
    feed = FeedPresenter(model, store, engine, client, remote_delay_ms=remote_delay_ms)
    sync = SyncPresenter(engine, client.budget, interval_s=sync_interval_s)
    recordings = RecordingController(RecordingCache(recordings_dir, downloader=client))
    detail = CallDetailPanel(recordings)

    # The users directory; "me" is one answer shared with the dialer (its settings file).
    users_service = UsersService(client, UserStore.sharing(store), me=dialer_settings)
    users = UsersPresenter(users_service)
    users_dock = UsersDock(users)

    # The dialer: every call through the dial guard, which finds calls in the cache first.
    guard = DialGuard(
        client, CallLogFinder(client, store, engine=engine),
        records=DialRecords.sharing(store),  # what it knows outlives a restart
    )
    dialer = DialerPresenter(guard, dialer_settings)
    dialer_panel = DialerPanel()
    bind_dialer(dialer_panel, dialer)
    dialer_panel.set_agents(agents_from_users(users_service.users()))
    dialer_dock = make_dialer_dock(dialer_panel)

    # Missed calls: notifications (tray or banner), do not disturb, the callback list.
    notifier = Notifier(store, my_uuid=me)
    dnd = DndController(client, me, meta=store)
    notifications = NotificationPresenter(notifier, dnd)
    notifications.attach(engine)
    worklist_model = WorklistModel()
    worklist_panel = WorklistPanel()
    worklist_panel.attach_model(worklist_model)
    hours, hours_problem = working_hours(settings)
    worklist = WorklistPresenter(Worklist(store, my_uuid=me, hours=hours), worklist_model)
    worklist_dock = make_dock("worklistDock", "Callback list", worklist_panel)
    banner = NotificationBanner()

    window = MainWindow(
        feed_panel, detail, settings, demo=demo, users_dock=users_dock,
        dialer_dock=dialer_dock, worklist_dock=worklist_dock, notifications=banner,
    )
    for owned in (feed, sync, recordings, model, users, dialer, notifications, worklist,
                  worklist_model):
        owned.setParent(window)
    for owner in (feed, sync, recordings, users, dialer, notifications):
        owner.supervise_under(tasks)

    def on_task_failed(failure: TaskFailure) -> None:
        """Every background failure in words; the sync loop's is the connection's text."""
        if failure.name != SYNC_LOOP:
            window.show_problem(failure.name, failure.text)

    tasks.add_failure_listener(on_task_failed)
    tasks.add_recovery_listener(window.clear_problem)
    if hours_problem:
        window.show_message(hours_problem)
    tray = TrayController(
        settings, banner, window=window, tray_available=tray_available,
        supports_messages=QSystemTrayIcon.supportsMessages, tray_factory=tray_factory,
        parent=window,
    )
    # The window's Ctrl+F serves the users list too (its own would make the key ambiguous).
    for shortcut in users_dock.panel.findChildren(QShortcut):
        if shortcut.key().matches(QKeySequence(QKeySequence.StandardKey.Find)) == (
            QKeySequence.SequenceMatch.ExactMatch
        ):
            shortcut.setEnabled(False)

    def focus_users_search() -> None:
        users_dock.panel.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        users_dock.panel.search_box.selectAll()

    window.add_search_target(users_dock, focus_users_search)
    clipboard = ClipboardDialer(dialer_panel, window)
    window.addAction(clipboard.action)
    for action in (clipboard.action, None, tray.dnd_action, tray.stop_calls_action, None,
                   tray.worklist_action):
        if action is None:
            window.call_menu.addSeparator()
        else:
            window.call_menu.addAction(action)

    workspace = Workspace(
        window=window, feed_panel=feed_panel, feed=feed, sync=sync, model=model,
        detail=detail, recordings=recordings, client=client, store=store, engine=engine,
        users=users, users_dock=users_dock, dialer=dialer, dialer_panel=dialer_panel,
        dialer_settings=dialer_settings, clipboard=clipboard, notifier=notifier, dnd=dnd,
        notifications=notifications, worklist=worklist, worklist_panel=worklist_panel,
        banner=banner, tray=tray, tasks=tasks, sandbox=sandbox,
    )

    def on_dates() -> None:
        feed.set_date_selection(*feed_panel.date_selection())

    def on_chips() -> None:
        feed.set_filter_ids(feed_panel.chips.selected_ids())

    def on_load_more_state(enabled: bool, text: str) -> None:
        feed_panel.set_load_more(enabled=enabled, text=text)

    def on_status(status: SyncStatus) -> None:
        window.set_connection_state(status.state)

    feed_panel.searchTextChanged.connect(feed.set_search_text)
    feed_panel.dateSelectionChanged.connect(on_dates)
    feed_panel.chips.selectionChanged.connect(on_chips)
    feed_panel.loadMoreRequested.connect(feed.load_more)
    feed_panel.currentCallChanged.connect(feed.select_call)
    feed.countTextChanged.connect(feed_panel.set_count_text)
    feed.noticeChanged.connect(feed_panel.set_notice)
    feed.loadMoreChanged.connect(on_load_more_state)
    feed.filtersLoaded.connect(feed_panel.chips.set_groups)
    feed.callSelected.connect(detail.show_call)
    feed.exportFinished.connect(window.show_result)
    sync.newCalls.connect(feed.on_new_calls)
    sync.statusChanged.connect(feed.on_sync_status)
    sync.connectionTextChanged.connect(window.set_connection_text)
    sync.statusChanged.connect(on_status)
    sync.lastSyncTextChanged.connect(window.set_last_sync_text)
    sync.budgetTextChanged.connect(window.set_budget_text)
    window.refreshRequested.connect(sync.refresh_now)
    window.exportPathChosen.connect(feed.export_csv)
    window.playPauseRequested.connect(detail.player.toggle_play)

    # "Me": chosen in the users list ("This is me") or the dialer ("Remember as me"), kept
    # in the dialer's settings; the notifier, the callback list and DND follow it.
    applied_me: list[str | None] = [me]

    def apply_me() -> None:
        uuid = dialer_settings.me_uuid
        dialer_panel.set_me(uuid or "")
        if uuid == applied_me[0]:
            return
        applied_me[0] = uuid
        notifier.my_uuid = uuid
        dnd.my_uuid = uuid
        worklist.set_my_uuid(uuid or "")

    def on_users(listed: Sequence[User]) -> None:
        dialer_panel.set_agents(agents_from_users(listed))
        apply_me()

    def on_dialer_me(uuid: str) -> None:
        users_service.set_my_uuid(uuid or None)  # its listeners re-list: see on_users

    users.usersChanged.connect(on_users)
    dialer.meChanged.connect(on_dialer_me)

    # Every "call back" prefills the dialer and shows it; only its Call button dials.
    users.callRequested.connect(workspace.call_back)
    detail.callBackRequested.connect(workspace.call_back)
    worklist_panel.callBackRequested.connect(workspace.call_back)
    tray.callBackRequested.connect(workspace.call_back)
    clipboard.prefilled.connect(lambda _number: workspace.show_dialer())
    clipboard.rejected.connect(lambda _why: workspace.show_dialer())
    dialer.callLogged.connect(workspace.select_call)

    # Missed calls.
    sync.newCalls.connect(worklist.on_new_calls)
    worklist.undoChanged.connect(worklist_panel.set_undo)
    worklist.countChanged.connect(tray.set_unhandled_count)
    worklist.rowsChanged.connect(banner.keep_numbers)
    worklist_panel.markHandledRequested.connect(worklist.mark_handled)
    worklist_panel.markHandledRequested.connect(tray.forget_number)
    worklist_panel.undoRequested.connect(worklist.undo)
    worklist_panel.openCallRequested.connect(workspace.open_call)
    notifications.notified.connect(tray.notify)
    notifications.dndStateChanged.connect(tray.set_dnd_state)
    tray.dndRequested.connect(notifications.set_dnd)
    tray.dndRetryRequested.connect(notifications.retry_dnd)
    tray.markHandledRequested.connect(worklist.mark_handled)
    tray.markHandledRequested.connect(tray.forget_number)
    tray.openCallRequested.connect(workspace.open_call)
    tray.worklistRequested.connect(workspace.show_worklist)
    tray.quitRequested.connect(window.quitRequested)
    tray.set_dnd_state(dnd.state)

    def on_close() -> None:
        """The title bar's close: to the tray where there is one, else quit."""
        if window.isVisible():
            window.save_layout()
        if not tray.handle_close(window):
            window.quitRequested.emit()

    window.closeRequested.connect(on_close)

    if theme is not None:

        def on_theme(_dark: bool) -> None:
            colors = theme.colors
            window.apply_theme(colors)
            model.set_colors(colors)
            dialer_panel.apply_theme(colors)
            banner.apply_theme(colors)
            worklist_model.set_colors(colors)

        theme.themeChanged.connect(on_theme)
        on_theme(theme.is_dark)
    if restore_layout:
        window.restore_layout()
    return workspace


def _fresh_store(db: Path) -> CallStore:
    """The demo's history is generated afresh each run: never reuse its old cache."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return CallStore.open(db)


# -------------------------------------------------------------------------- controller


class AppController(QObject):
    """Decides what to open (demo, account, or the start panel) and shuts it all down."""

    def __init__(
        self,
        args: argparse.Namespace,
        paths: AppPaths,
        *,
        theme: ThemeManager | None = None,
        environ: Mapping[str, str] | None = None,
        sandbox_config: SandboxConfig | None = None,
        workspace_options: Mapping[str, Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("appController")
        self._args = args
        self._paths = paths
        self._theme = theme
        self._env = dict(os.environ if environ is None else environ)
        self._sandbox_config = sandbox_config
        #: Extra `build_workspace` arguments (tests: a stand-in tray).
        self._workspace_options = dict(workspace_options or {})
        self.workspace: Workspace | None = None
        self.start_panel: StartPanel | None = None
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
            settings = open_settings(self._paths)
            for key in (KEY_GEOMETRY, KEY_STATE, KEY_FEED_HEADER):
                settings.remove(key)
            settings.sync()
        token = self._env.get(TOKEN_ENV, "").strip()
        try:
            if self._args.demo:
                await self.open_demo()
            elif token:
                self.open_account(token)
            else:
                self.show_start_panel()
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

    # -------------------------------------------------------------- opening

    def show_start_panel(self) -> None:
        panel = StartPanel()
        panel.demoRequested.connect(self._on_demo_requested)
        panel.closeRequested.connect(self.request_quit)
        self.start_panel = panel
        panel.show()

    async def open_demo(self) -> Workspace:
        """Start the emulated service on a free loopback port and open it."""
        from desktop_app.sandbox import DEMO_TOKEN, SandboxServer

        config = self._sandbox_config or demo_config()
        server = SandboxServer(config)
        await asyncio.to_thread(server.start)
        try:
            client = MyOperatorClient(DEMO_TOKEN, base_url=server.base_url)
            store = await asyncio.to_thread(
                _fresh_store, self._paths.database_file(demo=True)
            )
        except BaseException:
            await asyncio.to_thread(server.stop)
            raise
        workspace = self._open(
            client, store, demo=True, sandbox=server, interval=DEMO_SYNC_INTERVAL_S
        )
        return workspace

    def open_account(self, token: str) -> Workspace:
        base_url = self._args.base_url or self._env.get(BASE_URL_ENV) or LIVE_BASE_URL
        client = MyOperatorClient(token, base_url=base_url)
        store = CallStore.open(self._paths.database_file())
        return self._open(client, store, demo=False, sandbox=None,
                          interval=LIVE_SYNC_INTERVAL_S)

    def _open(
        self,
        client: MyOperatorClient,
        store: CallStore,
        *,
        demo: bool,
        sandbox: SandboxServer | None,
        interval: float,
    ) -> Workspace:
        self._paths.ensure()
        workspace = build_workspace(
            client=client,
            store=store,
            settings=open_settings(self._paths),
            recordings_dir=self._paths.recordings_dir(demo=demo),
            demo=demo,
            theme=self._theme,
            sync_interval_s=interval,
            restore_layout=not self._args.reset_layout,
            sandbox=sandbox,
            dialer_settings=DialerSettings.for_paths(self._paths, demo=demo),
            **self._workspace_options,
        )
        workspace.window.quitRequested.connect(self.request_quit)
        self.workspace = workspace
        workspace.start()
        # Everything built so far lives as long as the window: moved out of the collector's
        # way, so a full collection on the GUI thread stays short (bench_loop_stall).
        gc.freeze()
        if self.start_panel is not None:
            self.start_panel.close_now()
            self.start_panel.deleteLater()
            self.start_panel = None
        links, self._pending_links = self._pending_links, []
        workspace.open_links(links)
        log.info("workspace open (%s)", "demo" if demo else "account")
        return workspace

    @Slot(list)
    def handle_message(self, argv: list[str]) -> None:
        """Another launch's arguments (see `SingleInstance.messageReceived`): come to the
        front, and put its link in the dialer (untrusted text: parsed, never dialled)."""
        links = links_in(str(arg) for arg in argv)
        log.info("another launch handed over %d argument(s)", len(argv))
        if self.workspace is not None and not self._quitting:
            bring_to_front(self.workspace.window)
            self.workspace.open_links(links)
            return
        self._pending_links.extend(links)
        if self.start_panel is not None:
            bring_to_front(self.start_panel)

    @Slot()
    def _on_demo_requested(self) -> None:
        if self.start_panel is not None:
            self.start_panel.demo_button.setEnabled(False)
            self.start_panel.demo_button.setText("Opening the demo workspace…")
        self._tasks.spawn("open-demo", self.open_demo(), on_failure=self._demo_failed)

    def _demo_failed(self, failure: TaskFailure) -> None:
        """The demo did not open (logged by the supervisor): the button works again."""
        if self.start_panel is not None:
            self.start_panel.demo_button.setEnabled(True)
            self.start_panel.demo_button.setText("Open the &demo workspace")
            self.start_panel.demo_button.setToolTip(f"The demo could not be opened: {failure.text}")

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
        if self.workspace is not None:
            window = self.workspace.window
            if window.isVisible():
                window.save_layout()
            window.hide()
            await self.workspace.aclose()
        if self.start_panel is not None:
            self.start_panel.hide()
        self._tasks.cancel_all()  # all but this one (the "quit" task may be running it)

    def close_windows(self) -> None:
        """Close and delete the windows on this (the GUI) thread.

        Left to Python's garbage collector, a window could be destroyed on whatever thread
        happens to collect it (a worker of ``to_thread``, the sandbox's server), and Qt
        cannot stop a widget's timers from there: they would later fire for freed memory.
        """
        if self.workspace is not None:
            self.workspace.window.close_now()
            self.workspace.window.deleteLater()
        if self.start_panel is not None:
            self.start_panel.close_now()
            self.start_panel.deleteLater()
            self.start_panel = None


# ------------------------------------------------------------------------------- main


def _install_signal_handlers(controller: AppController, loop: asyncio.AbstractEventLoop) -> None:
    def handler(_signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(controller.request_quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible outside the main thread or on some platforms: Ctrl+Q still works.
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, handler)


#: Exit code of a start refused because the installed Qt binding is defective.
BROKEN_BINDING_EXIT: Final = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit code.

    A second launch hands its arguments to the running app and exits 0 before it opens
    any display connection; 1 when the running app does not answer; `BROKEN_BINDING_EXIT`
    on a Qt binding that would crash it.
    """
    # First: an exception nobody handled must reach stderr and the log redacted.
    excepthook.install()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    try:  # the same check as the `myoperator` command's: one sentence, exit 2
        args.base_url = base_url_from(args.base_url, os.environ)
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
        return _run(args, instance)
    finally:
        instance.close()


def run_controller(runner: asyncio.Runner, controller: AppController) -> int:
    """Run `controller` to its exit code on `runner`'s qasync loop.

    WORKAROUND: Qt can end its event loop underneath asyncio (the desktop session ends,
    something calls ``QApplication.quit()``): qasync's loop then stops while
    `controller.run` is still waiting, and ``run_until_complete`` raises RuntimeError
    ("Event loop stopped before Future completed"). Without this the app exits with a
    traceback and skips the shutdown: the HTTP client, the cache database and the demo's
    server thread are left open. The task supervisor cannot prevent it (the loop itself
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


def _run(args: argparse.Namespace, instance: SingleInstance) -> int:
    paths = app_paths()
    paths.ensure()
    configure_logging(log_dir=paths.log_dir)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("MyOperator Desktop")
    app.setApplicationDisplayName("MyOperator Desktop")
    app.setDesktopFileName("myoperator-desktop")
    instance.listen()  # needs the application; launches made meanwhile wait for it
    theme = ThemeManager(app, mode_from_env())
    theme.apply()
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            controller = AppController(args, paths, theme=theme)
            instance.messageReceived.connect(controller.handle_message)
            _install_signal_handlers(controller, runner.get_loop())
            return run_controller(runner, controller)
    finally:
        collector.stop()
