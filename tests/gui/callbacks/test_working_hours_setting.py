"""The callback list's working hours are the declared settings `WORKING_HOURS` and
`WORKING_DAYS`: read through `Settings`, applied live, never written back by the reader;
a stored value that does not parse falls back to the default, with a sentence."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from desktop_app.services.settings import WORKING_DAYS, WORKING_HOURS, Settings
from desktop_app.services.worklist import WorkingHours
from desktop_app.ui.callbacks.feature import working_hours


def settings_at(path: Path) -> Settings:
    return Settings(QSettings(str(path), QSettings.Format.IniFormat))


def test_the_defaults_are_the_declarations_and_nothing_is_written(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "s.ini")
    hours, problem = working_hours(settings)
    assert (hours, problem) == (WorkingHours(), None)
    settings.sync()
    assert settings_at(tmp_path / "s.ini").backend.allKeys() == []
    assert (WORKING_HOURS.default, WORKING_DAYS.default) == ("09:00-18:00", "mon-sat")


def test_edited_hours_apply(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "s.ini")
    settings.set(WORKING_HOURS, "08:30-20:00")
    settings.set(WORKING_DAYS, "mon-fri")
    hours, problem = working_hours(settings_at(tmp_path / "s.ini"))
    assert problem is None
    assert (hours.start, hours.end, hours.days) == (time(8, 30), time(20, 0), frozenset(range(5)))


def test_a_stored_value_that_does_not_parse_falls_back_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_at(tmp_path / "s.ini")
    settings.backend.setValue(WORKING_HOURS.key, "nine to five")  # edited by hand
    hours, problem = working_hours(settings)
    assert hours == WorkingHours()
    assert problem is not None and problem.startswith("Settings: ")
    assert "09:00-18:00" in problem and "nine to five" in problem
    assert problem.endswith("; using the default working hours.")
    with pytest.raises(ValueError, match="09:00-18:00"):
        settings.set(WORKING_HOURS, "nine to five")  # Preferences refuses it outright
