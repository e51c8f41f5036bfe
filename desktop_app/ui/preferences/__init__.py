"""Preferences (Ctrl+,) and the two pickers the first run shares with it."""

from desktop_app.ui.preferences.country import CountryCombo
from desktop_app.ui.preferences.dialog import PreferencesDialog
from desktop_app.ui.preferences.me_picker import MePicker

__all__ = ["CountryCombo", "MePicker", "PreferencesDialog"]
