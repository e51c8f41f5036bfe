"""What a feature is to the workspace, and what every feature shares.

Each package under ``ui/`` (feed, call detail, users, dialer, callbacks, notifications,
sync) has one ``build(...)`` that makes its models, panel and presenters from the
`Shared` parts and the features it depends on, connects them (`connect_all`), and
returns a `Feature`. The workspace then installs each in the window, starts them in the
order they were built and closes them in reverse: construction and teardown of a feature
sit side by side in its own package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, SignalInstance

from desktop_app.api.client import MyOperatorClient
from desktop_app.services.identity import Identity
from desktop_app.services.settings import Setting, Settings, SettingsBackend
from desktop_app.services.sync import SyncEngine
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.store import CallStore
from desktop_app.ui.common.presenter import Cleanups, Presenter
from desktop_app.ui.common.theme import ThemeColors

if TYPE_CHECKING:
    from desktop_app.ui.shell.main_window import MainWindow

T = TypeVar("T")


@dataclass(frozen=True)
class Shared:
    """The parts every feature of one workspace uses; the workspace closes them."""

    client: MyOperatorClient
    store: CallStore
    engine: SyncEngine
    #: The declared settings, scoped to this account (or the demo); a feature reads each
    #: through it and subscribes, so a change made in Preferences applies at once.
    settings: Settings
    #: What the window remembers about itself (layout, last folders, notices shown): a
    #: file of its own, never the settings.
    state: SettingsBackend
    #: Who "me" is; the features that depend on it subscribe.
    me: Identity
    #: Every background task of the workspace runs under it (presenters' are adopted).
    tasks: TaskSupervisor
    #: The cache follows the team relay's stream: ended calls arrive without asking, so
    #: nothing searches the log just to see one come (each search is the team's budget).
    streamed: bool = False


#: (signal, slot); a slot may be another signal, which then re-emits.
Connection = tuple[SignalInstance, Callable[..., Any] | SignalInstance]


def connect_all(connections: Iterable[Connection]) -> None:
    """The one way a panel and its presenter are bound: a list of (signal, slot) pairs
    that reads as the feature's wiring diagram."""
    for signal, slot in connections:
        signal.connect(slot)


class Feature:
    """A feature's life as the workspace sees it; packages subclass and override.

    `presenters` are adopted by the window (Qt ownership) and the workspace's supervisor
    (failures reach the status bar) in `install`, and closed in reverse in `aclose`, after
    what was registered with `on_close` (the feature's subscriptions) has been undone and
    before what was registered with `close_after_tasks`.
    """

    def __init__(self, *presenters: Presenter) -> None:
        self.presenters: tuple[Presenter, ...] = presenters
        self._cleanups = Cleanups(type(self).__name__)
        self._after_tasks = Cleanups(type(self).__name__)

    def on_close(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` (an unsubscribe, say) when the feature closes."""
        self._cleanups.add(cleanup)

    def close_after_tasks(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` once the feature's tasks have ended, on close: what their worker
        threads still use (a cache connection of the feature's own)."""
        self._after_tasks.add(cleanup)

    def follow(
        self, settings: Settings, setting: Setting[T], apply: Callable[[T], None]
    ) -> None:
        """Apply `setting`'s value now and after every change made anywhere (Preferences),
        until the feature closes."""
        apply(settings.get(setting))
        self.on_close(settings.subscribe(setting, apply))

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        """Take the feature's place in the window: menus, shortcuts, status bar."""
        for presenter in self.presenters:
            presenter.setParent(window)
            presenter.supervise_under(tasks)

    def apply_theme(self, colors: ThemeColors) -> None:
        """Recolour what the palette does not reach (painted icons, item colours)."""

    def start(self) -> None:
        """Begin the feature's background work (first fetches, loops, timers)."""

    def discard(self) -> None:
        """Undo the subscriptions of a feature never installed nor started (the
        workspace's build failed after it): no task ran, so none to await."""
        self._cleanups.run()
        for presenter in reversed(self.presenters):
            presenter.discard()
        self._after_tasks.run()

    async def aclose(self) -> None:
        """Undo the subscriptions, stop timers, cancel and await the feature's tasks.
        Idempotent."""
        self._cleanups.run()
        for presenter in reversed(self.presenters):
            await presenter.aclose()
        self._after_tasks.run()


def own(parent: QObject, *children: QObject) -> None:
    """Give Qt objects built before the window to it, so they die on the GUI thread."""
    for child in children:
        child.setParent(parent)
