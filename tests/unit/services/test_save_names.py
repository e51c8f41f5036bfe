"""Where saved files go and what they are called: Documents for exports, Downloads for
recordings, the last folder chosen remembered per kind, and names a person can read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import platformdirs
import pytest

from desktop_app.services.formatting import format_number
from desktop_app.services.paths import (
    HOME_ENV,
    LAST_FOLDER_KEYS,
    SaveFolders,
    SaveKind,
    default_save_folder,
    export_file_name,
    recording_file_name,
    safe_file_name,
)
from desktop_app.services.recordings import suggested_recording_name
from tests.helpers.builders import make_call

IST = timezone(timedelta(hours=5, minutes=30))


class DictSettings:
    """The two QSettings calls `SaveFolders` makes, over a dict."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def value(self, key: str, /) -> object:
        return self.values.get(key)

    def setValue(self, key: str, value: object, /) -> None:
        self.values[key] = value


# -------------------------------------------------------------------------- names


def test_an_export_is_named_by_its_day() -> None:
    assert export_file_name(date(2026, 11, 30)) == "calls-2026-11-30.csv"


def test_a_recording_is_named_by_its_local_start_and_caller() -> None:
    started = datetime(2026, 11, 30, 10, 57, 41, tzinfo=IST)
    name = recording_file_name(started, "+91 98123 00001", "8f14e45fceea167a5a36dedd4bea2543.mp3")
    assert name == "2026-11-30 10-57 +91 98123 00001.mp3"
    assert recording_file_name(started, "", None) == "2026-11-30 10-57.mp3"
    assert recording_file_name(started, "+1 202-555-0100", "a.WAV") == (
        "2026-11-30 10-57 +1 202-555-0100.wav"
    )
    assert recording_file_name(started, "x", "odd.name/with?suffix") == "2026-11-30 10-57 x.mp3"


def test_the_suggested_recording_name_uses_the_international_number_and_local_time() -> None:
    call = make_call(filename="3c59dc048e8850243be8079a5c74d079.mp3")
    local = datetime.fromtimestamp(call.start_time, tz=UTC).astimezone()
    assert format_number(call.caller_number, international=True) == "+91 98372 11131"
    assert suggested_recording_name(call) == (
        f"{local:%Y-%m-%d %H-%M} +91 98372 11131.mp3"
    )


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('a<b>c:d"e/f\\g|h?i*j.mp3', "a-b-c-d-e-f-g-h-i-j.mp3"),
        ("tab\there\x00.mp3", "tab-here-.mp3"),
        ("ends with dots. . .", "ends with dots"),
        ("CON.mp3", "_CON.mp3"),
        ("lpt1", "_lpt1"),
        ("   ", "file"),
        ("console.mp3", "console.mp3"),
    ],
)
def test_names_are_valid_on_windows_macos_and_linux(raw: str, safe: str) -> None:
    assert safe_file_name(raw) == safe


def test_a_long_name_is_cut_but_keeps_its_extension() -> None:
    name = safe_file_name("x" * 300 + ".mp3")
    assert len(name) == 200 and name.endswith("x.mp3")


# ------------------------------------------------------------------------ folders


def test_exports_default_to_documents_and_recordings_to_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents, downloads = tmp_path / "Docs", tmp_path / "Dl"
    documents.mkdir()
    downloads.mkdir()
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(documents))
    monkeypatch.setattr(platformdirs, "user_downloads_dir", lambda: str(downloads))
    assert default_save_folder(SaveKind.EXPORT, {}) == documents
    assert default_save_folder(SaveKind.RECORDING, {}) == downloads


def test_a_missing_documents_folder_falls_back_to_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(tmp_path / "none"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    assert default_save_folder(SaveKind.EXPORT, {}) == tmp_path


def test_the_home_override_keeps_saves_under_it(tmp_path: Path) -> None:
    environ = {HOME_ENV: str(tmp_path)}
    assert default_save_folder(SaveKind.RECORDING, environ) == tmp_path  # no Downloads yet
    (tmp_path / "Downloads").mkdir()
    assert default_save_folder(SaveKind.RECORDING, environ) == tmp_path / "Downloads"


def test_the_last_folder_chosen_is_remembered_per_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    reports = tmp_path / "reports"
    reports.mkdir()
    settings = DictSettings()
    folders = SaveFolders(settings)
    assert folders.start(SaveKind.EXPORT) == tmp_path

    folders.remember(SaveKind.EXPORT, reports / "calls-2026-11-30.csv")

    assert settings.values == {LAST_FOLDER_KEYS[SaveKind.EXPORT]: str(reports)}
    assert SaveFolders(settings).start(SaveKind.EXPORT) == reports
    assert SaveFolders(settings).start(SaveKind.RECORDING) == tmp_path  # its own memory
    folders.remember(SaveKind.RECORDING, reports)  # a folder chosen as the target
    assert folders.start(SaveKind.RECORDING) == reports


def test_a_remembered_folder_that_is_gone_or_odd_is_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    settings = DictSettings()
    folders = SaveFolders(settings)
    for remembered in (str(tmp_path / "deleted"), "relative/folder", 42, ["a"], ""):
        settings.values[LAST_FOLDER_KEYS[SaveKind.EXPORT]] = remembered
        assert folders.start(SaveKind.EXPORT) == tmp_path, remembered


def test_without_settings_the_folder_is_remembered_for_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    folders = SaveFolders()
    folders.remember(SaveKind.RECORDING, tmp_path / "kept.mp3")
    assert folders.start(SaveKind.RECORDING) == tmp_path
