"""A change through `Settings.set` (what Preferences does) reaches the running workspace at
once, with no restart: the theme, the Call menu's switches, the callback list's working
hours, the player's speed, announcing missed calls, the request budget's room, the
recording cache's limit, the dialer's country and starting at login. Against the emulated
service on a loopback port, as the other whole-workspace tests."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.app import AppController
from desktop_app.sandbox import SandboxServer
from desktop_app.services.autostart import AutostartError
from desktop_app.services.notifier import MissedCallNotice, MissedCallsSummary
from desktop_app.services.paths import AppPaths
from desktop_app.services.settings import (
    BASE_URL,
    COUNTRY_CODE,
    DESKTOPS_SHARING,
    ME,
    NOTIFY_MISSED,
    PLAYBACK_SPEED,
    RECORDINGS_CACHE_MB,
    SOUND,
    START_AT_LOGIN,
    THEME,
    WORKING_DAYS,
    WORKING_HOURS,
    MemoryBackend,
    Settings,
)
from desktop_app.services.worklist import WorkingHours
from desktop_app.ui.common.theme import DARK_COLORS, LIGHT_COLORS, ThemeManager, ThemeMode
from desktop_app.ui.notifications.feature import TrayProbes
from tests.helpers.qt import SpyChime, signal_future, wait_until
from tests.helpers.workspace import WorkspaceOpener, app_args, first_sync, sync_again

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0
RECORDING = Path(__file__).resolve().parents[2] / "resources" / "recordings" / "welcome.mp3"
MB = 1024 * 1024
UUID = "3965edd0-a955-4199-80c0-754fc76cecb4"


async def test_the_theme_follows_the_setting_live_unless_the_environment_forces_one(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, qapp: QApplication
) -> None:
    original = qapp.palette()
    theme = ThemeManager(qapp, ThemeMode.LIGHT)
    forced = ThemeManager(qapp, ThemeMode.SYSTEM, override=ThemeMode.LIGHT)
    theme.apply()
    try:
        async with open_workspace(feed_sandbox, theme=theme, start=False) as ws:
            settings = ws.shared.settings
            changed = signal_future(theme.themeChanged)
            settings.set(THEME, "dark")
            assert await asyncio.wait_for(changed, TIMEOUT) == (True,)
            assert theme.mode is ThemeMode.DARK and theme.colors is DARK_COLORS
            assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
            settings.set(THEME, "light")
            assert not theme.is_dark and theme.colors is LIGHT_COLORS

        # $MYOPERATOR_DESKTOP_THEME holds for the run; the choice is kept for the next.
        async with open_workspace(feed_sandbox, theme=forced, start=False) as ws:
            ws.shared.settings.set(THEME, "dark")
            assert forced.mode is ThemeMode.LIGHT and not forced.is_dark
            assert forced.chosen_mode is ThemeMode.DARK
    finally:
        qapp.setPalette(original)
        theme.deleteLater()
        forced.deleteLater()


async def test_the_sound_switch_and_the_setting_stay_in_step(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    settings = Settings(MemoryBackend())
    async with open_workspace(feed_sandbox, settings=settings) as ws:
        assert settings.listening() > 0
        action = ws.notifications.tray.sound_action
        assert action.isChecked()
        settings.set(SOUND, False)
        assert not action.isChecked()
        action.trigger()  # the Call menu
        assert settings.get(SOUND) is True
    # Closed: nothing listens any more (the settings outlive a workspace: an account
    # change opens another over the same ones).
    assert settings.listening() == 0


async def test_working_hours_apply_live_and_a_bad_stored_value_is_said(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    settings = Settings(MemoryBackend({WORKING_HOURS.key: "nine to five"}))
    async with open_workspace(feed_sandbox, settings=settings, start=False) as ws:
        worklist = ws.callbacks.presenter.worklist
        assert worklist.hours == WorkingHours()  # the default, and the status bar says why
        message = ws.window.statusBar().currentMessage()
        assert "nine to five" in message and "using the default working hours" in message

        settings.set(WORKING_HOURS, "07:00-15:30")
        settings.set(WORKING_DAYS, "mon-fri")
        assert worklist.hours == WorkingHours.parse("07:00-15:30", "mon-fri")


async def test_each_new_recording_starts_at_the_chosen_speed(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        player = ws.call_detail.panel.player
        ws.shared.settings.set(PLAYBACK_SPEED, 1.5)
        player.load_file(str(RECORDING), False)
        assert player.player.playbackRate() == pytest.approx(1.5)
        player.set_speed(2.0)  # this recording only
        player.load_file(str(RECORDING), False)
        assert player.player.playbackRate() == pytest.approx(1.5)
        player.shutdown()


async def test_with_announcing_off_a_missed_call_gets_no_banner_but_is_listed(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    settings = Settings(MemoryBackend())
    settings.set(NOTIFY_MISSED, False)
    async with open_workspace(
        feed_sandbox, settings=settings, tray=TrayProbes(chime=SpyChime)
    ) as ws:
        banner, chime = ws.notifications.banner, ws.notifications.tray.chime
        assert isinstance(chime, SpyChime)
        notes: list[object] = []
        ws.notifications.presenter.notified.connect(notes.append)
        await first_sync(ws)  # the last hours' missed calls: no summary either
        missed = feed_sandbox.state.add_call(
            answered=False, incoming=True, caller_number="9812312346"
        )
        await sync_again(ws, feed_sandbox)
        await wait_until(lambda: ws.callbacks.panel.select_number("+919812312346"), TIMEOUT)
        assert notes == [] and banner.cards == [] and chime.plays == 0
        assert ws.notifications.tray.unhandled_count > 0  # the count still follows

        settings.set(NOTIFY_MISSED, True)  # on again: the next one is announced, alone
        again = feed_sandbox.state.add_call(
            answered=False, incoming=True, caller_number="9812312347"
        )
        await sync_again(ws, feed_sandbox)
        await wait_until(lambda: bool(banner.cards), TIMEOUT)
        assert [n.call_id for n in notes if isinstance(n, MissedCallNotice)] == [again.id]
        assert not any(isinstance(n, MissedCallsSummary) for n in notes)
        assert missed.id not in {getattr(c.note, "call_id", "") for c in banner.cards}
        assert chime.plays == 1


async def test_the_budget_room_and_the_dialers_country_follow_their_settings(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        assert ws.client.budget.room == 4
        ws.shared.settings.set(DESKTOPS_SHARING, 1)
        assert ws.client.budget.room == 1
        ws.shared.settings.set(COUNTRY_CODE, "65")
        assert ws.dialer.panel.country_code() == "65"


async def test_a_smaller_recording_cache_evicts_at_once_off_the_gui_thread(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        cache = ws.call_detail.recordings.cache
        for age, name in enumerate(("oldest.mp3", "older.mp3", "newest.mp3")):
            path = cache.directory / name
            with path.open("wb") as file:
                file.truncate(30 * MB)  # sparse: takes no room on this disk
            os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))
        ws.shared.settings.set(RECORDINGS_CACHE_MB, 50)
        assert cache.max_bytes == 50 * MB
        await wait_until(lambda: cache.size_bytes() <= 50 * MB, TIMEOUT)
        assert sorted(p.name for p in cache.directory.iterdir()) == ["newest.mp3"]


async def test_start_at_login_is_applied_and_a_failure_puts_the_setting_back(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = tmp_path / "xdg" / "autostart" / "myoperator-desktop.desktop"
    async with open_workspace(feed_sandbox, start=False) as ws:
        ws.shared.settings.set(START_AT_LOGIN, True)
        assert entry.is_file() and "X-GNOME-Autostart-enabled=true" in entry.read_text()
        ws.shared.settings.set(START_AT_LOGIN, False)
        assert not entry.exists()

    def refuse(_enabled: bool) -> None:
        raise AutostartError("Starting at login is not available here yet: open it yourself.")

    async with open_workspace(feed_sandbox, start=False, autostart=refuse) as ws:
        ws.shared.settings.set(START_AT_LOGIN, True)
        assert ws.shared.settings.get(START_AT_LOGIN) is False  # put back
        assert "not available here yet" in ws.window.statusBar().currentMessage()


def test_the_app_migrates_once_at_start_and_takes_the_base_url_from_the_setting(
    desktop_home: AppPaths, qapp: QApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """Before anything reads them, the old files are brought up to date (dialer.json
    folded in, window state moved); the account's base URL is the setting unless the
    command line or the environment names one; an unusable stored one reads as the
    default, with a line in the log."""
    config = desktop_home.config_dir
    (config / "dialer.json").write_text(json.dumps({"me": UUID, "country_code": "44"}))
    old = QSettings(str(desktop_home.settings_file), QSettings.Format.IniFormat)
    old.setValue("window/state", b"\x00\x01")
    old.setValue(BASE_URL.key, "https://api.example.test/v1")
    old.sync()
    with caplog.at_level(logging.INFO, logger="desktop_app.services.settings"):
        controller = AppController(app_args(), desktop_home, environ={})
    assert any("settings migration" in r.getMessage() for r in caplog.records)
    account = controller.settings_for(demo=False)
    assert account is controller.settings_for(demo=False)  # one object: one set of listeners
    assert account.get(ME) == UUID and account.get(COUNTRY_CODE) == "44"
    assert controller.settings_for(demo=True).get(ME) == ""
    state = QSettings(str(desktop_home.state_file), QSettings.Format.IniFormat)
    assert state.contains("window/state")
    assert controller.account_base_url() == "https://api.example.test/v1"

    from_env = AppController(
        app_args(), desktop_home, environ={"MYOPERATOR_BASE_URL": "http://127.0.0.1:8123"}
    )
    assert from_env.account_base_url() == "http://127.0.0.1:8123"
    given = AppController(app_args("--base-url", "https://other.example.test"), desktop_home,
                          environ={})
    assert given.account_base_url() == "https://other.example.test"

    account.backend.setValue(BASE_URL.key, "http://plain.example.test")  # by hand
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="desktop_app.services.settings"):
        fallback = AppController(app_args(), desktop_home, environ={})
        assert fallback.account_base_url() == BASE_URL.default
    assert [r for r in caplog.records if BASE_URL.key in r.getMessage()]
    for each in (controller, from_env, given, fallback):
        each.deleteLater()
