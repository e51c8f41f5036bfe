"""The system tray, or the window standing in for it.

Where a tray exists the app lives in it: an icon with the number of missed calls still to
call back, a menu (Show window, Do not disturb, Callback list, Quit), notifications as tray
messages, and closing the window hides it (saying so the first time). Where none exists
(``QSystemTrayIcon.isSystemTrayAvailable()`` is False on many Linux desktops, offscreen
and Xvfb, and there ``showMessage`` silently does nothing) notifications go to the
in-window `NotificationBanner`, the banner says once that the tray is unavailable, and
closing the window quits, since nothing would be left to bring it back. `choose_tray`
makes that decision from injectable probes, so it is tested without a desktop.

Tray messages cannot carry buttons, so their actions live in the app: clicking a message
opens the window on that call and puts the notification, with Call back / Open / Mark
handled, in the banner.

A card in the window is easy to miss when the agent works in another application, so
where notifications go to the window a missed call also plays a short chime (the `SOUND`
setting, on unless turned off; "Sound for missed calls" in the Call menu) and asks the
taskbar for attention (`QApplication.alert`, which does nothing while the window is
active).

The menu's two switches are declared settings (`SOUND`, `DND_STOPS_CALLS`): toggling one
stores it, and a change made in Preferences checks or unchecks it at once. Whether the
"closing hides the window" and "no tray here" notices were said is window state, kept in
the window-state file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from desktop_app.services.availability import DndState
from desktop_app.services.notifier import (
    MissedCallNotice,
    MissedCallsSummary,
    Notification,
)
from desktop_app.services.settings import (
    DND_STOPS_CALLS,
    SOUND,
    Setting,
    Settings,
    SettingsBackend,
)
from desktop_app.ui.common.icons import app_icon_image
from desktop_app.ui.notifications.banner import TRAY_UNAVAILABLE_TEXT, NotificationBanner
from desktop_app.ui.notifications.sound import Chime, SoundEffectChime

log = logging.getLogger(__name__)

APP_NAME = "MyOperator Desktop"
#: Window-state keys this module owns (notices said once).
KEY_CLOSE_NOTICE_SHOWN = "tray/closeNoticeShown"
KEY_TRAY_UNAVAILABLE_SHOWN = "tray/unavailableNoticeShown"

#: Window-wide shortcuts of the Call menu's entries this module owns.
DND_SHORTCUT = "Ctrl+Shift+M"
WORKLIST_SHORTCUT = "Ctrl+L"

CLOSE_NOTICE_TITLE = "MyOperator Desktop is still running"
CLOSE_NOTICE_TEXT = (
    "It keeps watching for missed calls. Open it from the tray icon; Quit is in its menu."
)
MESSAGE_TIMEOUT_MS = 10_000

NotificationTarget = Literal["tray", "window"]


@dataclass(frozen=True, slots=True)
class TrayChoice:
    """Where the app lives and where notifications go."""

    tray_icon: bool  # show an icon in the system tray
    notifications: NotificationTarget  # tray messages, or the in-window banner
    close_to_tray: bool  # closing the window hides it instead of quitting


def choose_tray(tray_available: bool, supports_messages: bool) -> TrayChoice:
    """The rule: a tray icon where a tray exists; tray messages where it can show them;
    everything in the window otherwise (and closing the window then quits)."""
    if not tray_available:
        return TrayChoice(tray_icon=False, notifications="window", close_to_tray=False)
    return TrayChoice(
        tray_icon=True,
        notifications="tray" if supports_messages else "window",
        close_to_tray=True,
    )


def _state_flag(state: SettingsBackend, key: str) -> bool:
    value: Any = state.value(key, False)
    return value is True or str(value).lower() in ("true", "1")


class TrayController(QObject):
    """The tray icon and its menu, or the in-window fallback; see the module docstring.

    Build it with the workspace's settings, the window-state file and the banner the
    window shows, call `start`, feed it `notify`, `set_unhandled_count` and
    `set_dnd_state`, and route the window's close request through `handle_close`; `stop`
    also stops following the settings.
    """

    showWindowRequested = Signal()
    openCallRequested = Signal(str)
    """A call id the agent wants to see (a clicked notification, "Open")."""
    callBackRequested = Signal(str)
    """An E.164 number to ring back (prefill the dialer; its guard still applies)."""
    markHandledRequested = Signal(str)
    """An E.164 number the agent has dealt with."""
    worklistRequested = Signal()
    """Show the callback list."""
    dndRequested = Signal(bool, bool)
    """(on, also stop calls) chosen from the menu."""
    dndRetryRequested = Signal()
    quitRequested = Signal()

    def __init__(
        self,
        settings: Settings,
        state: SettingsBackend,
        banner: NotificationBanner,
        *,
        window: QWidget | None = None,
        tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        supports_messages: Callable[[], bool] = QSystemTrayIcon.supportsMessages,
        tray_factory: Callable[[QObject], QSystemTrayIcon] = QSystemTrayIcon,
        chime_factory: Callable[[QObject], Chime] = SoundEffectChime,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("trayController")
        self._settings = settings
        self._state = state
        self._unsubscribe: list[Callable[[], None]] = []
        self.banner = banner
        self._window = window
        self.choice = choose_tray(bool(tray_available()), bool(supports_messages()))
        self._count = 0
        self._dnd = DndState()
        self._last_message: Notification | None = None
        self._latest_notice: MissedCallNotice | None = None

        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.show_action = self._action("trayShowWindow", "Show window", self._show_window)
        self.call_back_action = self._action("trayCallBack", "Call back", self._call_back_latest)
        self.call_back_action.setVisible(False)
        self.menu.addSeparator()
        self.dnd_action = self._action("trayDnd", "Do not disturb", None)
        self.dnd_action.setCheckable(True)
        self.dnd_action.setShortcut(QKeySequence(DND_SHORTCUT))
        self.dnd_action.toggled.connect(self._on_dnd_toggled)
        self.stop_calls_action = self._action(
            "trayDndStopsCalls", "Also stop calls during Do not disturb", None
        )
        self._bind(self.stop_calls_action, DND_STOPS_CALLS)
        self.worklist_action = self._action("trayWorklist", "Callback list", self._worklist)
        self.worklist_action.setShortcut(QKeySequence(WORKLIST_SHORTCUT))
        self.menu.addSeparator()
        self.quit_action = self._action("trayQuit", "Quit", self.quitRequested.emit)
        # For the window's Call menu only: the tray's menu has no use for it.
        self.sound_action = QAction("Sound for missed calls", self)
        self.sound_action.setObjectName("notificationSound")
        self._bind(self.sound_action, SOUND)
        self.chime = chime_factory(self)

        self.tray: QSystemTrayIcon | None = None
        if self.choice.tray_icon:
            self.tray = tray_factory(self)
            self.tray.setObjectName("trayIcon")
            self.tray.setContextMenu(self.menu)
            self.tray.activated.connect(self._on_activated)
            self.tray.messageClicked.connect(self._on_message_clicked)
        self._update_icon()

        banner.callBackRequested.connect(self.callBackRequested)
        banner.openCallRequested.connect(self._open_call)
        banner.markHandledRequested.connect(self.markHandledRequested)
        banner.openWorklistRequested.connect(self._worklist)
        banner.retryRequested.connect(self.dndRetryRequested)

    def set_window(self, window: QWidget) -> None:
        """The window "Show window" brings back (built after the tray's banner)."""
        self._window = window
        self.setParent(window)

    def _bind(self, action: QAction, setting: Setting[bool]) -> None:
        """A checkable action that is `setting`: toggling it stores it, a change stored
        anywhere (Preferences) checks or unchecks it."""
        action.setCheckable(True)
        action.setChecked(self._settings.get(setting))

        def store(checked: bool) -> None:
            self._settings.set(setting, checked)

        def show(value: bool) -> None:
            if action.isChecked() != value:
                action.setChecked(value)  # its toggled signal stores the same value: no-op

        action.toggled.connect(store)
        self._unsubscribe.append(self._settings.subscribe(setting, show))

    def _action(self, name: str, text: str, slot: Callable[[], None] | None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if slot is not None:
            action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    # -- state ----------------------------------------------------------------------------

    @property
    def uses_tray(self) -> bool:
        return self.tray is not None

    @property
    def unhandled_count(self) -> int:
        return self._count

    @property
    def stop_calls_with_dnd(self) -> bool:
        return self.stop_calls_action.isChecked()

    def start(self) -> None:
        """Show the tray icon (keeping the app alive with the window closed), or say once
        that the tray is unavailable."""
        if self.tray is not None:
            QApplication.setQuitOnLastWindowClosed(False)
            self.tray.show()
            return
        if not _state_flag(self._state, KEY_TRAY_UNAVAILABLE_SHOWN):
            self._state.setValue(KEY_TRAY_UNAVAILABLE_SHOWN, True)
            self.banner.set_notice(TRAY_UNAVAILABLE_TEXT)

    def stop(self) -> None:
        """Hide the icon and stop following the settings (the workspace closes)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.tray is not None:
            self.tray.hide()

    # -- notifications --------------------------------------------------------------------

    @Slot(object)
    def notify(self, note: Notification) -> None:
        """Announce one notification: a tray message, or a card in the window with the
        chime and the taskbar's attention."""
        if isinstance(note, MissedCallNotice):
            self._latest_notice = note
            self.call_back_action.setText(f"Call back {note.caller}")
            self.call_back_action.setVisible(True)
        if self.tray is not None and self.choice.notifications == "tray":
            self._last_message = note
            self.tray.showMessage(
                note.title, note.message, QSystemTrayIcon.MessageIcon.Information,
                MESSAGE_TIMEOUT_MS,
            )
            return
        self.banner.show_notification(note)
        if self.sound_action.isChecked():  # the SOUND setting, kept in step with it
            self.chime.play()
        if self._window is not None:
            QApplication.alert(self._window)

    def _on_message_clicked(self) -> None:
        note = self._last_message
        self._show_window()
        if note is None:
            return
        self.banner.show_notification(note)  # its actions, one click away
        if isinstance(note, MissedCallNotice):
            self.openCallRequested.emit(note.call_id)
        elif isinstance(note, MissedCallsSummary):
            self.worklistRequested.emit()

    def _call_back_latest(self) -> None:
        if self._latest_notice is not None:
            self.callBackRequested.emit(self._latest_notice.caller_e164)

    @Slot(str)
    def forget_number(self, number: str) -> None:
        """The number was called back or handled: drop its menu entry."""
        if self._latest_notice is not None and self._latest_notice.caller_e164 == number:
            self._latest_notice = None
            self.call_back_action.setVisible(False)

    # -- count and do not disturb ---------------------------------------------------------

    @Slot(int)
    def set_unhandled_count(self, count: int) -> None:
        """Missed calls still to call back: shown on the icon, its tooltip and the menu."""
        self._count = max(0, count)
        self.worklist_action.setText(
            f"Callback list ({self._count})" if self._count else "Callback list"
        )
        self._update_icon()

    @Slot(object)
    def set_dnd_state(self, state: DndState) -> None:
        """Reflect the DND state (without asking for it again); show a failure plainly."""
        self._dnd = state
        blocked = self.dnd_action.blockSignals(True)
        self.dnd_action.setChecked(state.on)
        self.dnd_action.blockSignals(blocked)
        self.dnd_action.setEnabled(not state.busy)
        if state.error:
            self.banner.set_notice(state.error, retry=state.retry_action is not None)
            if self.tray is not None and self.choice.notifications == "tray":
                self._last_message = None
                self.tray.showMessage(
                    "Do not disturb", state.error, QSystemTrayIcon.MessageIcon.Warning,
                    MESSAGE_TIMEOUT_MS,
                )
        elif self.banner.notice.isVisibleTo(self.banner) and self.banner.retry_button.isVisible():
            self.banner.set_notice("")  # the problem it reported is solved
        self._update_icon()

    def _on_dnd_toggled(self, on: bool) -> None:
        self.dndRequested.emit(on, self.stop_calls_action.isChecked())

    def tooltip(self) -> str:
        lines = [APP_NAME]
        if self._count:
            noun = "call" if self._count == 1 else "calls"
            lines.append(f"{self._count} missed {noun} to call back")
        if self._dnd.on or self._dnd.error:
            lines.append(self._dnd.text)
        return "\n".join(lines)

    def _update_icon(self) -> None:
        if self.tray is None:
            return
        self.tray.setIcon(tray_icon(self._count, dnd=self._dnd.on))
        self.tray.setToolTip(self.tooltip())

    # -- the window -----------------------------------------------------------------------

    def handle_close(self, window: QWidget | None = None) -> bool:
        """The window's close button: with a tray, hide the window (saying so the first
        time) and return True; without one return False (the caller quits)."""
        if not self.choice.close_to_tray:
            return False
        target = window if window is not None else self._window
        if target is not None:
            target.hide()
        if not _state_flag(self._state, KEY_CLOSE_NOTICE_SHOWN):
            self._state.setValue(KEY_CLOSE_NOTICE_SHOWN, True)
            if self.tray is not None:
                self._last_message = None
                self.tray.showMessage(
                    CLOSE_NOTICE_TITLE, CLOSE_NOTICE_TEXT,
                    QSystemTrayIcon.MessageIcon.Information, MESSAGE_TIMEOUT_MS,
                )
        return True

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._show_window()

    def _show_window(self) -> None:
        if self._window is not None:
            if self._window.isMinimized():
                self._window.showNormal()
            else:
                self._window.show()
            self._window.raise_()
            self._window.activateWindow()
        self.showWindowRequested.emit()

    def _open_call(self, call_id: str) -> None:
        self._show_window()
        self.openCallRequested.emit(call_id)

    def _worklist(self) -> None:
        self._show_window()
        self.worklistRequested.emit()


TRAY_SIZES = (16, 22, 24, 32, 48, 64)
BADGE_RED = QColor("#d92d20")


def tray_icon(count: int, *, dnd: bool = False) -> QIcon:
    """The app's icon with the missed-call count as a red badge in its top right corner,
    greyed while Do not disturb is on (the badge stays red: calls still wait)."""
    icon = QIcon()
    for size in TRAY_SIZES:
        icon.addPixmap(_paint_tray(size, count, dnd))
    return icon


def _badge_text(count: int, size: int) -> str:
    """What fits legibly: one digit at 16 px (a bare dot beyond 9; the tooltip has the
    number), two characters up to 24 px, three above."""
    if count > 9 and size < 22:
        return ""
    if count > 9 and size < 32:
        return "9+"
    return "99+" if count > 99 else str(count)


def _greyed(image: QImage) -> QImage:
    """The image in grey tones, its transparency kept."""
    grey = image.convertToFormat(QImage.Format.Format_ARGB32).convertToFormat(
        QImage.Format.Format_Grayscale8
    ).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(grey)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
    painter.drawImage(0, 0, image)  # keeps grey only where the icon is
    painter.end()
    return grey


def _paint_tray(size: int, count: int, dnd: bool) -> QPixmap:
    image = app_icon_image(size)
    if dnd:
        image = _greyed(image)
    if count > 0:
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        s = size / 32.0
        text = _badge_text(count, size)
        height = 17 * s  # over half the icon: a digit stays legible at 16 px
        width = max(height, height + 6 * s * (len(text) - 1))
        rect = QRectF(size - width, 0, width, height)
        ring = max(1.0, 1.5 * s)  # a white edge parts the badge from the icon
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#ffffff"))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        inner = rect.adjusted(ring, ring, -ring, -ring)
        painter.setBrush(BADGE_RED)
        painter.drawRoundedRect(inner, inner.height() / 2, inner.height() / 2)
        if text:
            font = QFont()
            font.setBold(True)
            font.setPixelSize(max(7, round((12 if len(text) == 1 else 10.5) * s)))
            painter.setFont(font)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return QPixmap.fromImage(image)
