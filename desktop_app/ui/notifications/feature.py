"""Missed-call notifications as a feature: the notifier, do not disturb, the tray (or the
banner standing in for it), and what closing the window means with or without a tray.

"Announce missed calls" (`NOTIFY_MISSED`) is followed live: off, a missed call gets no tray
message, card or chime (the notifier records it as seen, so turning it on again brings no
backlog); the callback list and the tray icon's count still follow every missed call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon

from desktop_app.services.availability import DndController
from desktop_app.services.clock import Clock
from desktop_app.services.notifier import Notifier
from desktop_app.services.settings import NOTIFY_MISSED
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.ui.callbacks.feature import CallbacksFeature
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.notifications.banner import NotificationBanner
from desktop_app.ui.notifications.presenter import NotificationPresenter
from desktop_app.ui.notifications.sound import Chime, SoundEffectChime
from desktop_app.ui.notifications.tray import TrayController
from desktop_app.ui.shell.main_window import MainWindow


@dataclass(frozen=True)
class TrayProbes:
    """How the tray is found and made, and the sound that stands in for it; tests stand in
    for a desktop that has one."""

    available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable
    supports_messages: Callable[[], bool] = QSystemTrayIcon.supportsMessages
    factory: Callable[[QObject], QSystemTrayIcon] = QSystemTrayIcon
    #: The missed-call sound (no audio device in tests).
    chime: Callable[[QObject], Chime] = SoundEffectChime


class NotificationsFeature(Feature):
    def __init__(
        self,
        notifier: Notifier,
        dnd: DndController,
        presenter: NotificationPresenter,
        banner: NotificationBanner,
        tray: TrayController,
        callbacks: CallbacksFeature,
    ) -> None:
        super().__init__(presenter)
        self.notifier = notifier
        self.dnd = dnd
        self.presenter = presenter
        self.banner = banner
        self.tray = tray
        self._callbacks = callbacks
        self._window: MainWindow | None = None

    def follow_me(self, shared: Shared) -> None:
        self.on_close(shared.me.add_listener(self.notifier.set_my_uuid))
        self.on_close(shared.me.add_listener(self.dnd.set_my_uuid))

    def follow_settings(self, shared: Shared) -> None:
        self.follow(shared.settings, NOTIFY_MISSED, self.notifier.set_announcing)

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        tray, callbacks = self.tray, self._callbacks.presenter
        tray.set_window(window)
        connect_all([
            (self.presenter.notified, tray.notify),
            (self.presenter.dndStateChanged, tray.set_dnd_state),
            (tray.dndRequested, self.presenter.set_dnd),
            (tray.dndRetryRequested, self.presenter.retry_dnd),
            (tray.markHandledRequested, callbacks.mark_handled),
            (tray.markHandledRequested, tray.forget_number),
            (self._callbacks.panel.markHandledRequested, tray.forget_number),
            (callbacks.countChanged, tray.set_unhandled_count),
            (callbacks.rowsChanged, self.banner.keep_numbers),
            (tray.quitRequested, window.quitRequested),
            (window.closeRequested, self._close_window),
            (self.presenter.dndIndicatorChanged, window.set_dnd_indicator),
            (window.dndOffRequested, self.presenter.end_dnd),
        ])
        tray.set_dnd_state(self.dnd.state)
        window.set_dnd_indicator(self.presenter.dnd_indicator)
        window.addAction(tray.dnd_action)  # its shortcut works with the menu bar hidden
        window.addAction(tray.worklist_action)
        menu = window.call_menu
        menu.addSeparator()
        menu.addAction(tray.dnd_action)
        menu.addAction(tray.stop_calls_action)
        menu.addAction(tray.sound_action)
        menu.addSeparator()
        menu.addAction(tray.worklist_action)

    def apply_theme(self, colors: ThemeColors) -> None:
        self.banner.apply_theme(colors)

    def start(self) -> None:
        self.tray.start()

    def discard(self) -> None:
        self.tray.stop()
        super().discard()

    async def aclose(self) -> None:
        self.tray.stop()
        await super().aclose()  # a check in flight has ended (its thread too)

    def _close_window(self) -> None:
        """The title bar's close: to the tray where there is one, else quit."""
        window = self._window
        if window is None:
            return
        if window.isVisible():
            window.save_layout()
        if not self.tray.handle_close(window):
            window.quitRequested.emit()


def build(
    shared: Shared,
    callbacks: CallbacksFeature,
    *,
    probes: TrayProbes | None = None,
    clock: Clock = time.time,
) -> NotificationsFeature:
    """`clock` times how long DND has been on (tests: a `ManualClock`)."""
    probes = probes if probes is not None else TrayProbes()
    # A connection of its own: the checks read and write on a worker thread, and must not
    # hold the window's connection meanwhile.
    store = shared.store.sibling()
    notifier = Notifier(store, my_uuid=shared.me.uuid)
    dnd = DndController(shared.client, shared.me.uuid, meta=shared.store, clock=clock)
    presenter = NotificationPresenter(notifier, dnd, clock=clock)
    presenter.attach(shared.engine)
    banner = NotificationBanner()
    tray = TrayController(
        shared.settings, shared.state, banner, tray_available=probes.available,
        supports_messages=probes.supports_messages, tray_factory=probes.factory,
        chime_factory=probes.chime,
    )
    feature = NotificationsFeature(notifier, dnd, presenter, banner, tray, callbacks)
    feature.close_after_tasks(store.close)
    feature.follow_me(shared)
    feature.follow_settings(shared)
    return feature
