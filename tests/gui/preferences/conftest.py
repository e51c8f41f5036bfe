"""Preferences' tests: a real settings file (INI, as the app keeps it) in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop_app.api.models import User
from desktop_app.services.settings import Settings
from desktop_app.ui.preferences.dialog import PreferencesDialog

USERS = (
    User(uuid="u-asha-0001", name="Asha Rao", extension=10, email="asha.rao@example.com",
         country_code="91", contact_number="9812345670", number_e164="+919812345670"),
    User(uuid="u-vikram-0002", name="Vikram Singh", extension=11, email="vikram@example.com",
         country_code="91", contact_number="9812345671", number_e164="+919812345671"),
    User(uuid="u-meera-0003", name="Meera Nair", extension=207, email=None,
         country_code="91", contact_number="9812345672", number_e164="+919812345672"),
    User(uuid="u-rahul-0004", name="Rahul Verma", extension=None, email="rahul@example.com",
         country_code="91", contact_number="9876500004", number_e164="+919876500004"),
)


@pytest.fixture
def ini_file(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def settings(ini_file: Path) -> Settings:
    return Settings(QSettings(str(ini_file), QSettings.Format.IniFormat))


@pytest.fixture
def dialog(qtbot: QtBot, settings: Settings) -> Iterator[PreferencesDialog]:
    """Preferences, shown and active (as after Ctrl+,), with the users listed."""
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    dialog.set_users(USERS)
    dialog.present()
    qtbot.waitExposed(dialog)
    yield dialog
    dialog.close()


def reread(ini_file: Path) -> Settings:
    """The same file read afresh, as the next start of the app would."""
    return Settings(QSettings(str(ini_file), QSettings.Format.IniFormat))
