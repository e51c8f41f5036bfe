"""The dialer as a feature: one click-to-call through the dial guard, and the clipboard.

Its remembered choices are the declared settings (`DialerSettings`): a default country or
recent numbers changed in Preferences show in the panel at once, as "me" does through the
workspace's `Identity`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtGui import QAction, QKeySequence

from desktop_app.api.models import User
from desktop_app.services.dialer import (
    FOLLOW_ACTIVE_S,
    CallLogFinder,
    DialerSettings,
    DialGuard,
)
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.store.dials import DialRecords
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.dialer.clipboard import ClipboardDialer
from desktop_app.ui.dialer.panel import DialerPanel
from desktop_app.ui.dialer.presenter import DialerPresenter, agents_from_users
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.users.feature import UsersFeature

OPEN_SHORTCUT: Final = "Ctrl+N"


class DialerFeature(Feature):
    def __init__(
        self, presenter: DialerPresenter, panel: DialerPanel, settings: DialerSettings
    ) -> None:
        super().__init__(presenter)
        self.presenter = presenter
        self.panel = panel
        self.settings = settings
        #: Its action's shortcut works once `install` adds it to the window.
        self.clipboard = ClipboardDialer(panel)
        #: Call → Open dialer (the workspace shows the dock and focuses the number).
        self.open_action = QAction("Open &dialer", self.clipboard)
        self.open_action.setObjectName("actionOpenDialer")
        self.open_action.setShortcut(QKeySequence(OPEN_SHORTCUT))
        self.open_action.setToolTip("Show the dialer, ready to type a number")

    def follow_users(self, users: UsersFeature) -> None:
        """Offer the users as the agent whose phone rings first."""
        self._show_agents(users.service.users())
        connect_all([(users.presenter.usersChanged, self._show_agents)])

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self.clipboard.setParent(window)
        window.addAction(self.open_action)
        window.addAction(self.clipboard.action)
        # First in the Call menu, before the tray's commands installed earlier (the dialer
        # is built after the first paint).
        menu, ours = window.call_menu, [self.open_action, self.clipboard.action]
        before = menu.actions()
        if before:
            menu.insertActions(before[0], ours)
        else:
            menu.addActions(ours)

    def apply_theme(self, colors: ThemeColors) -> None:
        self.panel.apply_theme(colors)

    def start(self) -> None:
        """Unclear dials an earlier run left: look for them in the call log."""
        self.presenter.start()

    def focus_number(self) -> None:
        self.panel.focus_number()

    def prefill(self, text: str) -> bool:
        """Put a number (or a ``tel:`` link) from outside the dialer (a call back, a link)
        in it; never dials. It starts a new call, so my phone rings first whatever agent
        the last one rang, and a refused link leaves no earlier number ready to call."""
        self.panel.choose_me()
        return self.panel.prefill(text)

    @property
    def refusal(self) -> str:
        """Why the last prefill was refused, in the panel's words."""
        return self.panel.status_label.text()

    def _show_agents(self, users: Sequence[User]) -> None:
        self.presenter.set_agents(agents_from_users(users))
        self.panel.set_me(self.presenter.me.uuid or "")


def bind(panel: DialerPanel, presenter: DialerPresenter) -> None:
    """Connect the panel and the presenter, and show the remembered state."""
    connect_all([
        (panel.callRequested, presenter.request_call),
        (panel.confirmAccepted, presenter.confirm_call),
        (panel.confirmRejected, presenter.cancel_confirmation),
        (panel.rememberMeRequested, presenter.remember_me),
        (panel.checkRequested, presenter.check_now),
        (presenter.busyChanged, panel.set_busy),
        (presenter.statusChanged, panel.show_status),
        (presenter.confirmationRequested, panel.ask_confirmation),
        (presenter.confirmationCleared, panel.hide_confirmation),
        (presenter.recentNumbersChanged, panel.set_recent_numbers),
        (presenter.meChanged, panel.set_me),
        (presenter.agentsChanged, panel.set_agents),
        (presenter.agentChoiceUsed, panel.choose_me),
    ])
    settings = presenter.settings
    panel.set_home_country(settings.country_code)
    panel.set_me(presenter.me.uuid or "")
    panel.set_recent_numbers(list(settings.recent_numbers))


def build(
    shared: Shared, users: UsersFeature, *, settings: DialerSettings | None = None
) -> DialerFeature:
    """`settings` default to the workspace's (`shared.settings`)."""
    settings = settings if settings is not None else DialerSettings(shared.settings)
    guard = DialGuard(
        shared.client,
        CallLogFinder(shared.client, shared.store, engine=shared.engine),
        records=DialRecords.sharing(shared.store),  # what it knows outlives a restart
        # Through the relay, a placed call's After Call webhook brings it within a second
        # of its end: following it only listens (an unclear outcome is still looked up).
        follow_active_s=0.0 if shared.streamed else FOLLOW_ACTIVE_S,
    )
    presenter = DialerPresenter(guard, settings, me=shared.me)
    panel = DialerPanel()
    bind(panel, presenter)
    feature = DialerFeature(presenter, panel, settings)
    feature.follow_users(users)
    # Changes made elsewhere (Preferences); the dialer's own also come back this way.
    feature.on_close(settings.watch_country(panel.set_home_country))
    feature.on_close(
        settings.watch_recent(lambda numbers: panel.set_recent_numbers(list(numbers)))
    )
    return feature


