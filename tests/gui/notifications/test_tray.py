"""The tray, or the window standing in for it: the choice, the fallback banner, and the
tray path with a stand-in tray (offscreen has none; its showMessage would do nothing)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QSettings, QUrl
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop_app.services.availability import DndState
from desktop_app.services.notifier import MissedCallNotice, MissedCallsSummary
from desktop_app.services.settings import DND_STOPS_CALLS, SOUND, Settings
from desktop_app.services.worklist import CallReach, Reach
from desktop_app.ui.notifications.banner import TRAY_UNAVAILABLE_TEXT, NotificationBanner
from desktop_app.ui.notifications.sound import SOUND_FILE, SoundEffectChime
from desktop_app.ui.notifications.tray import (
    CLOSE_NOTICE_TITLE,
    TrayChoice,
    TrayController,
    choose_tray,
    tray_icon,
)
from tests.helpers.qt import SpyChime, SpyTray, next_turns, wait_until

NOTE = MissedCallNotice(
    call_id="call-1",
    caller_e164="+919837211131",
    caller="098372 11131",
    department="Sales",
    start_time=1_710_146_000,
    attempts_today=2,
    reach=CallReach(Reach.MISSED_BY_ME, True, ("Asha Verma",), ()),
    title="Missed call from 098372 11131",
    message="Sales · 14:01 · 2nd try today · rang you",
)
SUMMARY = MissedCallsSummary(
    count=14, since=1_710_128_000, newest_call_id="call-14", call_ids=("call-14",),
    title="14 missed calls since 09:10", message="14 missed calls from 9 numbers",
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def state_beside(settings: Settings) -> QSettings:
    """The window-state file next to the settings file (as the app keeps them)."""
    backend = settings.backend
    assert isinstance(backend, QSettings)
    path = Path(backend.fileName()).with_name("window-state.ini")
    return QSettings(str(path), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot: QtBot) -> tuple[QWidget, NotificationBanner]:
    """A stand-in main window holding the banner."""
    host = QWidget()
    host.setObjectName("hostWindow")
    banner = NotificationBanner(host)
    QVBoxLayout(host).addWidget(banner)
    qtbot.addWidget(host)
    host.show()
    return host, banner


def make_tray(
    settings: Settings,
    window: tuple[QWidget, NotificationBanner],
    *,
    available: bool,
    messages: bool = True,
) -> TrayController:
    host, banner = window
    return TrayController(
        settings, state_beside(settings), banner, window=host, tray_available=lambda: available,
        supports_messages=lambda: messages, tray_factory=SpyTray, chime_factory=SpyChime,
    )


# -- the choice ----------------------------------------------------------------------------


def test_the_choice_follows_the_tray_and_its_messages() -> None:
    assert choose_tray(False, True) == TrayChoice(False, "window", close_to_tray=False)
    assert choose_tray(False, False) == TrayChoice(False, "window", close_to_tray=False)
    assert choose_tray(True, True) == TrayChoice(True, "tray", close_to_tray=True)
    assert choose_tray(True, False) == TrayChoice(True, "window", close_to_tray=True)


def test_offscreen_has_no_tray_so_the_default_probe_picks_the_window(
    settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    tray = TrayController(settings, state_beside(settings), window[1], window=window[0])
    assert not tray.uses_tray and tray.choice.notifications == "window"


# -- no tray: the banner -------------------------------------------------------------------


def test_without_a_tray_notifications_appear_in_the_window_with_their_actions(
    qtbot: QtBot, settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    host, banner = window
    tray = make_tray(settings, window, available=False)
    tray.start()
    assert tray.tray is None
    assert banner.isVisible() and banner.notice_text == TRAY_UNAVAILABLE_TEXT

    tray.notify(NOTE)
    (card,) = banner.cards
    assert card.title_label.text() == NOTE.title and card.message_label.text() == NOTE.message

    with qtbot.waitSignal(tray.openCallRequested) as opened:
        card.buttons["open"].click()
    assert opened.args == ["call-1"]
    assert banner.cards == [card]  # opening keeps the card

    with qtbot.waitSignal(tray.callBackRequested) as called:
        card.buttons["callBack"].click()
    assert called.args == ["+919837211131"] and banner.cards == []

    tray.notify(NOTE)
    with qtbot.waitSignal(tray.markHandledRequested) as handled:
        banner.cards[0].buttons["markHandled"].click()
    assert handled.args == ["+919837211131"] and banner.cards == []

    tray.notify(SUMMARY)
    with qtbot.waitSignal(tray.worklistRequested):
        banner.cards[0].buttons["openList"].click()

    banner.notice_ok.click()
    assert banner.notice_text == "" and not banner.isVisible()
    assert tray.handle_close(host) is False  # nothing to come back to: the caller quits
    assert host.isVisible()


def test_the_tray_unavailable_notice_is_said_once_across_restarts(
    qtbot: QtBot, settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    make_tray(settings, window, available=False).start()
    assert window[1].notice_text == TRAY_UNAVAILABLE_TEXT
    window[1].set_notice("")

    settings.sync()
    backend = settings.backend
    assert isinstance(backend, QSettings)
    again = Settings(QSettings(backend.fileName(), QSettings.Format.IniFormat))
    make_tray(again, window, available=False).start()
    assert window[1].notice_text == ""


def test_without_a_tray_a_missed_call_rings_and_asks_the_taskbar(
    monkeypatch: pytest.MonkeyPatch, settings: Settings,
    window: tuple[QWidget, NotificationBanner],
) -> None:
    alerts: list[QWidget] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: alerts.append(widget))
    tray = make_tray(settings, window, available=False)
    assert isinstance(tray.chime, SpyChime)
    assert tray.sound_action.isChecked()  # on unless turned off

    tray.notify(NOTE)
    assert tray.chime.plays == 1 and alerts == [window[0]]
    tray.notify(SUMMARY)
    assert tray.chime.plays == 2 and len(alerts) == 2

    tray.sound_action.setChecked(False)  # the setting, kept
    assert settings.get(SOUND) is False
    tray.notify(NOTE)
    assert tray.chime.plays == 2 and len(alerts) == 3  # silent, the taskbar still asked
    again = make_tray(settings, window, available=False)
    assert not again.sound_action.isChecked()


def test_the_menu_switches_and_their_settings_stay_in_step_both_ways(
    settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    """A change in Preferences (`Settings.set`) checks the Call menu's switch at once, and
    the switch stores the setting; the window-state file holds neither."""
    tray = make_tray(settings, window, available=False)
    assert tray.sound_action.isChecked() and not tray.stop_calls_action.isChecked()

    settings.set(SOUND, False)
    settings.set(DND_STOPS_CALLS, True)
    assert not tray.sound_action.isChecked() and tray.stop_calls_action.isChecked()
    tray.notify(NOTE)
    assert isinstance(tray.chime, SpyChime) and tray.chime.plays == 0

    tray.sound_action.setChecked(True)
    assert settings.get(SOUND) is True
    assert SOUND.key not in state_beside(settings).allKeys()

    tray.stop()  # the workspace closed: the actions no longer follow the settings
    settings.set(SOUND, False)
    assert tray.sound_action.isChecked()


def test_with_tray_messages_there_is_no_chime(
    monkeypatch: pytest.MonkeyPatch, settings: Settings,
    window: tuple[QWidget, NotificationBanner],
) -> None:
    alerts: list[QWidget] = []
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: alerts.append(widget))
    tray = make_tray(settings, window, available=True)
    tray.notify(NOTE)
    assert isinstance(tray.chime, SpyChime) and tray.chime.plays == 0 and alerts == []


def test_the_chime_is_a_short_bundled_wav() -> None:
    with wave.open(str(SOUND_FILE)) as sound:
        assert sound.getsampwidth() == 2 and sound.getnchannels() in (1, 2)
        assert 0.2 < sound.getnframes() / sound.getframerate() < 1.5


@pytest.fixture
def effect_plays(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each `QSoundEffect.play` (no audio device here to hear it on)."""
    from PySide6.QtMultimedia import QSoundEffect

    plays: list[object] = []

    def play(effect: QSoundEffect) -> None:
        plays.append(effect)

    monkeypatch.setattr(QSoundEffect, "play", play)
    return plays


def made(chime: SoundEffectChime) -> bool:
    return chime.effect is not None


async def test_the_first_ring_readies_the_sound_effect_in_later_turns_then_plays_it_once(
    effect_plays: list[object],
) -> None:
    owner = QObject()
    chime = SoundEffectChime(owner)
    chime.play()
    chime.play()  # a burst of missed calls while it readies: one ring
    assert not made(chime)  # nothing of QtMultimedia in the caller's turn
    await wait_until(lambda: bool(effect_plays))
    effect = chime.effect
    assert effect is not None and effect_plays == [effect]
    assert effect.source() == QUrl.fromLocalFile(str(SOUND_FILE))
    chime.play()  # ready now: at once
    assert effect_plays == [effect, effect] and chime.effect is effect
    shiboken6.delete(owner)


async def test_a_chime_whose_owner_is_gone_takes_no_further_step(
    effect_plays: list[object],
) -> None:
    owner = QObject()
    chime = SoundEffectChime(owner)
    chime.play()
    shiboken6.delete(owner)  # the window closed while the chime readied
    await next_turns(10)
    assert not made(chime) and effect_plays == []


async def test_without_a_tray_the_card_shows_in_the_same_turn_and_the_chime_follows(
    monkeypatch: pytest.MonkeyPatch, settings: Settings,
    window: tuple[QWidget, NotificationBanner], effect_plays: list[object],
) -> None:
    monkeypatch.setattr(QApplication, "alert", lambda widget, ms=0: None)
    host, banner = window
    tray = TrayController(
        settings, state_beside(settings), banner, window=host, tray_available=lambda: False,
    )
    assert isinstance(tray.chime, SoundEffectChime)
    tray.notify(NOTE)
    assert [c.note for c in banner.cards] == [NOTE] and not made(tray.chime)
    await wait_until(lambda: len(effect_plays) == 1)


# -- with a tray ---------------------------------------------------------------------------


def test_with_a_tray_notifications_are_tray_messages_and_a_click_opens_the_call(
    qtbot: QtBot, settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    host, banner = window
    tray = make_tray(settings, window, available=True)
    tray.start()
    spy = tray.tray
    assert isinstance(spy, SpyTray)
    assert not QApplication.quitOnLastWindowClosed()
    assert banner.notice_text == ""  # the tray exists: nothing to apologise for

    tray.notify(NOTE)
    assert spy.messages == [(NOTE.title, NOTE.message)]
    assert banner.cards == []  # told once, in the tray
    assert tray.call_back_action.isVisible()
    assert tray.call_back_action.text() == "Call back 098372 11131"

    host.hide()
    with qtbot.waitSignal(tray.openCallRequested) as opened:
        spy.messageClicked.emit()
    assert opened.args == ["call-1"]
    assert host.isVisible()
    assert [c.note for c in banner.cards] == [NOTE]  # its actions, in the app

    tray.notify(SUMMARY)
    with qtbot.waitSignal(tray.worklistRequested):
        spy.messageClicked.emit()

    with qtbot.waitSignal(tray.callBackRequested) as called:
        tray.call_back_action.trigger()
    assert called.args == ["+919837211131"]
    tray.forget_number("+919837211131")
    assert not tray.call_back_action.isVisible()
    QApplication.setQuitOnLastWindowClosed(True)


def test_a_tray_without_messages_keeps_the_icon_and_uses_the_window(
    settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    tray = make_tray(settings, window, available=True, messages=False)
    assert tray.uses_tray and tray.choice.notifications == "window"
    tray.notify(NOTE)
    assert isinstance(tray.tray, SpyTray) and tray.tray.messages == []
    assert len(window[1].cards) == 1


def test_closing_hides_to_the_tray_and_says_so_once(
    settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    host, _ = window
    tray = make_tray(settings, window, available=True)
    tray.start()
    assert isinstance(tray.tray, SpyTray)
    assert tray.handle_close(host) is True
    assert not host.isVisible()
    assert [t for t, _ in tray.tray.messages] == [CLOSE_NOTICE_TITLE]
    host.show()
    assert tray.handle_close(host) is True
    assert len(tray.tray.messages) == 1  # once, and persisted:

    again = make_tray(settings, window, available=True)
    assert isinstance(again.tray, SpyTray)
    again.handle_close(host)
    assert again.tray.messages == []
    QApplication.setQuitOnLastWindowClosed(True)


def test_the_menu_count_tooltip_and_icon_follow_the_unhandled_count(
    settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    tray = make_tray(settings, window, available=True)
    names = [a.objectName() for a in tray.menu.actions() if a.objectName()]
    assert names == [
        "trayShowWindow", "trayCallBack", "trayDnd", "trayDndStopsCalls", "trayWorklist",
        "trayQuit",
    ]
    assert [a.text() for a in tray.menu.actions() if a.isVisible() and a.text()] == [
        "Show window", "Do not disturb", "Also stop calls during Do not disturb",
        "Callback list", "Quit",
    ]
    tray.set_unhandled_count(3)
    assert tray.worklist_action.text() == "Callback list (3)"
    assert tray.tray is not None
    assert tray.tray.toolTip() == "MyOperator Desktop\n3 missed calls to call back"
    assert not tray.tray.icon().isNull()
    tray.set_unhandled_count(0)
    assert tray.worklist_action.text() == "Callback list"

    icon = tray_icon(120).pixmap(32, 32).toImage()
    red = [
        (x, y) for x in range(16, 32) for y in range(16)
        if icon.pixelColor(x, y).red() > 200 and icon.pixelColor(x, y).green() < 80
    ]
    assert len(red) > 40  # the red badge in the top right corner (the icon has no red)


def test_do_not_disturb_from_the_menu_and_its_state_and_failures(
    qtbot: QtBot, settings: Settings, window: tuple[QWidget, NotificationBanner]
) -> None:
    banner = window[1]
    tray = make_tray(settings, window, available=False)
    tray.stop_calls_action.setChecked(True)
    assert settings.get(DND_STOPS_CALLS) is True
    with qtbot.waitSignal(tray.dndRequested) as asked:
        tray.dnd_action.trigger()
    assert asked.args == [True, True]

    # The state coming back does not ask again.
    with qtbot.assertNotEmitted(tray.dndRequested):
        tray.set_dnd_state(DndState(on=False))
        tray.set_dnd_state(DndState(on=True, stop_calls=True, busy=True))
    assert tray.dnd_action.isChecked() and not tray.dnd_action.isEnabled()

    failed = DndState(on=False, error="Calls still do not reach you: …", retry_action="calls_on")
    tray.set_dnd_state(failed)
    assert banner.notice_text == failed.error and banner.retry_button.isVisibleTo(banner)
    with qtbot.waitSignal(tray.dndRetryRequested):
        banner.retry_button.click()
    tray.set_dnd_state(DndState(receiving_calls=True))
    assert banner.notice_text == ""
    assert "Do not disturb" not in tray.tooltip()
