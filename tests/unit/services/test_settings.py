"""The declared settings over a real INI file (QSettings, as the app keeps them; no
QApplication needed): every setting round-trips, a damaged value reads as its default with
one log line, and the older files (version 1's settings.ini, dialer.json) migrate once."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from desktop_app.services.settings import (
    BASE_URL,
    CONNECTION,
    COUNTRY_CODE,
    DECLARED,
    DEMO_SCOPE,
    DESKTOPS_SHARING,
    DND_STOPS_CALLS,
    KEEP_DAYS,
    ME,
    NOTIFY_MISSED,
    PLAYBACK_SPEED,
    RECENT_NUMBERS,
    RECORDINGS_CACHE_MB,
    RELAY_URL,
    SETTINGS_VERSION,
    SOUND,
    START_AT_LOGIN,
    STATE_FILE_NAME,
    THEME,
    TOKEN_STORAGE,
    VERSION_KEY,
    WORKING_DAYS,
    WORKING_HOURS,
    MemoryBackend,
    Setting,
    Settings,
    migrate,
)

UUID = "3965edd0-a955-4199-80c0-754fc76cecb4"
OTHER_UUID = "7a1c2e34-0b6f-4d1e-9c55-2f8a1b3c4d5e"

#: A value other than the default for every declared setting.
SAMPLES: dict[Setting[Any], Any] = {
    BASE_URL: "https://api.example.test/v2",
    TOKEN_STORAGE: "keyring",
    CONNECTION: "relay",
    RELAY_URL: "https://relay.example.test",
    ME: UUID,
    COUNTRY_CODE: "44",
    RECENT_NUMBERS: ("+919812345678", "+442079460958"),
    KEEP_DAYS: 90,
    DESKTOPS_SHARING: 1,
    NOTIFY_MISSED: False,
    SOUND: False,
    DND_STOPS_CALLS: True,
    WORKING_HOURS: "08:30-17:30",
    WORKING_DAYS: "mon-fri",
    RECORDINGS_CACHE_MB: 120,
    PLAYBACK_SPEED: 1.25,
    THEME: "dark",
    START_AT_LOGIN: True,
}


def ini(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def reread(settings: Settings) -> Settings:
    """The same file through a new QSettings, as the next run of the app reads it."""
    settings.sync()
    backend = settings.backend
    assert isinstance(backend, QSettings)
    return Settings(ini(Path(backend.fileName())), account_scope=settings.account_scope)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(ini(tmp_path / "settings.ini"))


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- round trips ---------------------------------------------------------------------------


def test_every_declared_setting_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(DECLARED)
    for setting, value in SAMPLES.items():
        assert value != setting.default, setting


@pytest.mark.parametrize("setting", DECLARED, ids=lambda s: s.key)
def test_every_declared_setting_round_trips_through_the_ini_file(
    settings: Settings, setting: Setting[Any]
) -> None:
    assert settings.get(setting) == setting.default and settings.is_default(setting)
    stored = settings.set(setting, SAMPLES[setting])
    assert stored == SAMPLES[setting]
    again = reread(settings)
    assert again.get(setting) == SAMPLES[setting]
    assert type(again.get(setting)) is type(setting.default)
    assert not again.is_default(setting) and again.problem(setting) is None
    again.reset(setting)
    assert reread(again).get(setting) == setting.default


@pytest.mark.parametrize(
    "numbers", [(), ("+919812345678",), ("+919812345678", "+442079460958", "+12125550100")]
)
def test_recent_numbers_of_any_length_round_trip(
    settings: Settings, numbers: tuple[str, ...]
) -> None:
    """QSettings reads a one-item list back as bare text, and an empty one as nothing."""
    settings.set(RECENT_NUMBERS, ("+919000000000",))
    settings.set(RECENT_NUMBERS, numbers)
    assert reread(settings).get(RECENT_NUMBERS) == numbers


def test_per_account_settings_are_kept_apart_for_the_demo(settings: Settings) -> None:
    demo = Settings(settings.backend, account_scope=DEMO_SCOPE)
    settings.set(ME, UUID)
    demo.set(ME, OTHER_UUID)
    settings.set(THEME, "light")
    assert reread(settings).get(ME) == UUID and reread(demo).get(ME) == OTHER_UUID
    assert reread(demo).get(THEME) == "light"  # not per account: one for the app
    assert demo.storage_key(ME) == f"{DEMO_SCOPE}/{ME.key}"


def test_a_refused_value_says_why_and_stores_nothing(settings: Settings) -> None:
    settings.set(KEEP_DAYS, 90)
    with pytest.raises(ValueError, match="Keep calls for must be from 7 to 3650 days"):
        settings.set(KEEP_DAYS, 3)
    with pytest.raises(ValueError, match="https"):
        settings.set(BASE_URL, "http://api.example.test")
    with pytest.raises(ValueError, match="Theme must be one of"):
        settings.set(THEME, "purple")
    assert reread(settings).get(KEEP_DAYS) == 90 and settings.is_default(BASE_URL)


def test_listeners_hear_each_change_once_until_they_unsubscribe(settings: Settings) -> None:
    heard: list[int] = []
    unsubscribe = settings.subscribe(KEEP_DAYS, heard.append)
    settings.set(KEEP_DAYS, 30)
    settings.set(KEEP_DAYS, "30")  # the same value: nothing to say
    settings.reset(KEEP_DAYS)
    unsubscribe()
    settings.set(KEEP_DAYS, 60)
    assert heard == [30, KEEP_DAYS.default]


# -- damaged values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "raw"),
    [
        (KEEP_DAYS, "a year"),  # garbage text
        (KEEP_DAYS, "3"),  # out of range
        (DESKTOPS_SHARING, "0"),
        (RECORDINGS_CACHE_MB, "999999999"),
        (NOTIFY_MISSED, "maybe"),  # not a boolean
        (SOUND, "2"),
        (PLAYBACK_SPEED, "3.5"),  # not one of the choices
        (PLAYBACK_SPEED, "nan"),
        (THEME, "purple"),
        (COUNTRY_CODE, "0044"),
        (ME, "has space"),
        (RECENT_NUMBERS, ["+919812345678", "9812345678"]),
        (WORKING_HOURS, "nine to five"),
        (WORKING_DAYS, "weekdays"),
        (BASE_URL, "ftp://example.test"),
        (TOKEN_STORAGE, "the fridge"),
    ],
    ids=lambda v: v.key if isinstance(v, Setting) else repr(v),
)
def test_a_damaged_value_reads_as_the_default_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, setting: Setting[Any], raw: object
) -> None:
    backend = ini(tmp_path / "settings.ini")
    backend.setValue(setting.key, raw)  # written by hand, or by another version
    backend.sync()
    settings = Settings(ini(tmp_path / "settings.ini"))
    with caplog.at_level(logging.WARNING, logger="desktop_app.services.settings"):
        assert settings.get(setting) == setting.default
        assert settings.get(setting) == setting.default  # read again: not logged again
    (line,) = warnings_of(caplog)
    assert setting.key in line and line.endswith("Using the default.")
    assert settings.problem(setting) is not None
    settings.set(setting, SAMPLES[setting])  # a good value replaces it
    assert settings.get(setting) == SAMPLES[setting] and settings.problem(setting) is None


def test_a_value_of_the_wrong_type_reads_as_the_default() -> None:
    """What another program (or a hand) put there: a list for a number, a number for
    text, a mapping for a list."""
    backend = MemoryBackend({
        KEEP_DAYS.key: ["90"], COUNTRY_CODE.key: 44.5, RECENT_NUMBERS.key: {"a": 1},
        START_AT_LOGIN.key: None,
    })
    settings = Settings(backend)
    assert settings.get(KEEP_DAYS) == KEEP_DAYS.default
    assert settings.get(COUNTRY_CODE) == COUNTRY_CODE.default
    assert settings.get(RECENT_NUMBERS) == ()
    assert settings.get(START_AT_LOGIN) is False


def test_a_settings_file_of_binary_junk_starts_on_the_defaults(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.ini"
    junk = random.Random(11).randbytes(4096)
    path.write_bytes(junk + b"\n[sync]\nkeep_days=\x00\xff\xfe\n" + junk)
    state = ini(tmp_path / STATE_FILE_NAME)
    with caplog.at_level(logging.WARNING, logger="desktop_app.services.settings"):
        migrate(ini(path), state, tmp_path)  # must not raise either
        settings = Settings(ini(path))
        for setting in DECLARED:
            assert settings.get(setting) == setting.default
            settings.get(setting)
    # One line at most per setting, however often it is read.
    assert len(warnings_of(caplog)) <= len(DECLARED)
    settings.set(KEEP_DAYS, 30)  # and it can be written over
    assert reread(settings).get(KEEP_DAYS) == 30


# -- migration -----------------------------------------------------------------------------


def version_1_file(config: Path) -> Path:
    """settings.ini as version 1 of the app wrote it."""
    path = config / "settings.ini"
    old = ini(path)
    old.setValue("tray/dndStopsCalls", True)
    old.setValue("tray/closeNoticeShown", True)
    old.setValue("tray/unavailableNoticeShown", "true")
    old.setValue("window/geometry", b"\x01\xd9\xd0\xcb\x00\x03")
    old.setValue("window/state", b"\x00\x00\x00\xff")
    old.setValue("feed/header", b"\x00\x00\x00\x0a")
    old.setValue("files/last_export_dir", "/home/asha/Documents")
    old.setValue("folders/last", "/home/asha")
    old.setValue("notifications/sound", "false")
    old.setValue("worklist/working_hours", "08:00-16:00")
    old.setValue("worklist/working_days", "mon-fri")
    old.sync()
    return path


def test_a_version_1_settings_file_migrates_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = version_1_file(tmp_path)
    settings, state = ini(path), ini(tmp_path / STATE_FILE_NAME)
    with caplog.at_level(logging.INFO, logger="desktop_app.services.settings"):
        done = migrate(settings, state, tmp_path)
    assert "renamed tray/dndStopsCalls to notifications/dnd_stops_calls" in done
    assert "moved window/geometry to the window state file" in done
    assert any("settings migration:" in r.getMessage() for r in caplog.records)
    settings.sync()
    state.sync()

    declared = Settings(ini(path))
    assert declared.get(DND_STOPS_CALLS) is True
    assert declared.get(SOUND) is False
    assert (declared.get(WORKING_HOURS), declared.get(WORKING_DAYS)) == ("08:00-16:00", "mon-fri")
    left = set(ini(path).allKeys())
    assert left == {
        DND_STOPS_CALLS.key, SOUND.key, WORKING_HOURS.key, WORKING_DAYS.key, VERSION_KEY
    }
    moved = ini(tmp_path / STATE_FILE_NAME)
    assert set(moved.allKeys()) == {
        "tray/closeNoticeShown", "tray/unavailableNoticeShown", "window/geometry",
        "window/state", "feed/header", "files/last_export_dir", "folders/last",
    }
    assert bytes(moved.value("window/geometry")) == b"\x01\xd9\xd0\xcb\x00\x03"
    assert moved.value("files/last_export_dir") == "/home/asha/Documents"
    assert int(ini(path).value(VERSION_KEY)) == SETTINGS_VERSION

    # Idempotent: a second start finds nothing to do and changes nothing.
    before = path.read_bytes(), (tmp_path / STATE_FILE_NAME).read_bytes()
    assert migrate(ini(path), ini(tmp_path / STATE_FILE_NAME), tmp_path) == []
    assert (path.read_bytes(), (tmp_path / STATE_FILE_NAME).read_bytes()) == before


def test_a_renamed_key_does_not_overwrite_a_newer_value(tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    both = ini(path)
    both.setValue("tray/dndStopsCalls", "true")
    both.setValue(DND_STOPS_CALLS.key, "false")
    migrate(both, ini(tmp_path / STATE_FILE_NAME), tmp_path)
    assert Settings(both).get(DND_STOPS_CALLS) is False
    assert not both.contains("tray/dndStopsCalls")


def test_the_dialer_files_fold_into_the_declared_settings(tmp_path: Path) -> None:
    (tmp_path / "dialer.json").write_text(json.dumps({
        "me": UUID, "country_code": "44",
        "recent": ["+919812345678", "not a number", 5, "+442079460958"],
    }))
    (tmp_path / "demo-dialer.json").write_text(json.dumps({
        "me": OTHER_UUID, "country_code": "91", "recent": []
    }))
    backend = ini(tmp_path / "settings.ini")
    done = migrate(backend, ini(tmp_path / STATE_FILE_NAME), tmp_path)
    assert f"{ME.key} from dialer.json" in done and f"{ME.key} from demo-dialer.json" in done
    backend.sync()

    account = Settings(ini(tmp_path / "settings.ini"))
    demo = Settings(ini(tmp_path / "settings.ini"), account_scope=DEMO_SCOPE)
    assert account.get(ME) == UUID and account.get(COUNTRY_CODE) == "44"
    assert account.get(RECENT_NUMBERS) == ("+919812345678", "+442079460958")
    assert demo.get(ME) == OTHER_UUID and demo.get(COUNTRY_CODE) == "91"
    assert demo.get(RECENT_NUMBERS) == ()
    # Read once: kept beside, renamed, in case an older version is started again.
    assert not (tmp_path / "dialer.json").exists()
    assert json.loads((tmp_path / "dialer.json.migrated").read_text())["me"] == UUID
    assert (tmp_path / "demo-dialer.json.migrated").is_file()

    # Idempotent: the file is not read again, the values stay.
    account.set(COUNTRY_CODE, "65")
    assert migrate(account.backend, ini(tmp_path / STATE_FILE_NAME), tmp_path) == []
    assert reread(account).get(COUNTRY_CODE) == "65"


def test_a_corrupt_dialer_file_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dialer.json"
    path.write_bytes(b'{"me": "3965edd0-\xff\xfe')
    backend = ini(tmp_path / "settings.ini")
    with caplog.at_level(logging.WARNING, logger="desktop_app.services.settings"):
        done = migrate(backend, ini(tmp_path / STATE_FILE_NAME), tmp_path)
    assert done == []
    (line,) = warnings_of(caplog)
    assert "dialer.json" in line
    assert path.read_bytes() == b'{"me": "3965edd0-\xff\xfe'  # untouched, where it was
    assert not (tmp_path / "dialer.json.migrated").exists()
    assert Settings(backend).get(ME) == "" and Settings(backend).get(COUNTRY_CODE) == "91"
    assert migrate(backend, ini(tmp_path / STATE_FILE_NAME), tmp_path) == []
