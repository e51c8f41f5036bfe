"""The callback list's working hours come from the settings file, which a person can edit."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from PySide6.QtCore import QSettings

from desktop_app.services.worklist import WorkingHours
from desktop_app.ui.callbacks.feature import WORKING_DAYS_KEY, WORKING_HOURS_KEY, working_hours


def settings_at(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_defaults_are_written_back_for_editing(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "s.ini")
    hours, problem = working_hours(settings)
    assert (hours, problem) == (WorkingHours(), None)
    settings.sync()
    reread = settings_at(tmp_path / "s.ini")
    assert reread.value(WORKING_HOURS_KEY) == "09:00-18:00"
    assert reread.value(WORKING_DAYS_KEY) == "mon-sat"


def test_edited_hours_apply(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "s.ini")
    settings.setValue(WORKING_HOURS_KEY, "08:30-20:00")
    settings.setValue(WORKING_DAYS_KEY, "mon-fri")
    hours, problem = working_hours(settings)
    assert problem is None
    assert (hours.start, hours.end, hours.days) == (time(8, 30), time(20, 0), frozenset(range(5)))


def test_a_value_that_does_not_parse_falls_back_and_says_why(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "s.ini")
    settings.setValue(WORKING_HOURS_KEY, "nine to five")
    hours, problem = working_hours(settings)
    assert hours == WorkingHours()
    assert problem is not None and "09:00-18:00" in problem and "nine to five" in problem
