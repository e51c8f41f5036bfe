"""Preferences against a real settings file: every setting the dialog edits round-trips
(through its editor into the file, and from `Settings.set` into its editor), a refused
value keeps what was typed and says why, Restore defaults, changes made elsewhere while
it is open, and the account block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_app.services import settings as settings_module
from desktop_app.services.settings import (
    BASE_URL,
    COUNTRY_CODE,
    DECLARED,
    DESKTOPS_SHARING,
    KEEP_DAYS,
    ME,
    NOTIFY_MISSED,
    RECENT_NUMBERS,
    THEME,
    TOKEN_STORAGE,
    WORKING_HOURS,
    Kind,
    Section,
    Setting,
    Settings,
    check_base_url,
)
from desktop_app.ui.preferences.account import AccountView
from desktop_app.ui.preferences.country import CountryCombo
from desktop_app.ui.preferences.dialog import PreferencesDialog, page_id, page_settings
from desktop_app.ui.preferences.editors import (
    ChoiceEditor,
    SettingField,
    editor_name,
    error_name,
    make_editor,
)
from desktop_app.ui.preferences.me_picker import MePicker
from tests.gui.preferences.conftest import USERS, reread

EDITED = [s for section in Section for s in page_settings(section)]

#: Two values a person might choose (neither the default) for the settings whose kind
#: cannot suggest one; a new text setting needs its pair here.
SAMPLES: dict[str, tuple[Any, Any]] = {
    BASE_URL.key: ("https://api.example.com", "https://other.example.com"),
    WORKING_HOURS.key: ("08:30-17:00", "10:00-19:30"),
    settings_module.WORKING_DAYS.key: ("mon-fri", "mon,wed,fri"),
    ME.key: (USERS[1].uuid, USERS[2].uuid),
    COUNTRY_CODE.key: ("44", "1"),
}
#: How a person finds a country by typing its name.
COUNTRY_NAMES = {"44": "United Kingdom", "1": "United States", "91": "India"}


def two_values(setting: Setting[Any]) -> tuple[Any, Any]:
    if setting.key in SAMPLES:
        return SAMPLES[setting.key]
    if setting.kind is Kind.BOOL:
        return (not setting.default, setting.default)
    if setting.kind in (Kind.INT, Kind.FLOAT):
        assert setting.minimum is not None and setting.maximum is not None, setting
        return (setting.minimum, setting.maximum)
    if setting.kind is Kind.CHOICE:
        others = [value for value, _label in setting.choices if value != setting.default]
        return (others[0], others[-1])
    raise AssertionError(f"no sample values for {setting.key}: add them to SAMPLES")


def field_of(dialog: PreferencesDialog, setting: Setting[Any]) -> SettingField:
    dialog.open_page(setting.section)
    field = dialog.field(setting.key)
    assert field is not None, setting.key
    return field


def enter(field: SettingField, value: Any) -> None:
    """Put `value` in the field as a person would: click, type and Enter, pick."""
    widget = field.editor.widget
    if isinstance(widget, QCheckBox):
        if widget.isChecked() != value:
            QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())
    elif isinstance(widget, QAbstractSpinBox):
        widget.setFocus()
        widget.selectAll()
        QTest.keyClicks(widget, str(int(value)) if isinstance(widget, QSpinBox) else str(value))
        QTest.keyClick(widget, Qt.Key.Key_Return)
    elif isinstance(widget, MePicker):
        name = next(u.name for u in USERS if u.uuid == value)
        widget.search.setFocus()
        widget.search.clear()
        QTest.keyClicks(widget.search, name)
        QTest.keyClick(widget.search, Qt.Key.Key_Down)
        QTest.keyClick(widget.list, Qt.Key.Key_Return)
    elif isinstance(widget, CountryCombo):
        line = widget.lineEdit()
        assert line is not None
        line.setFocus()
        line.selectAll()
        QTest.keyClicks(line, COUNTRY_NAMES[value])
        QTest.keyClick(line, Qt.Key.Key_Return)
    elif isinstance(widget, QComboBox):
        assert isinstance(field.editor, ChoiceEditor)
        widget.setFocus()
        widget.setCurrentIndex(field.editor.values.index(value))
    elif isinstance(widget, QLineEdit):
        type_text(widget, str(value))
    else:
        raise AssertionError(f"no way to enter a value in {type(widget).__name__}")


def type_text(line: QLineEdit, text: str) -> None:
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, text)
    QTest.keyClick(line, Qt.Key.Key_Return)


def shown(field: SettingField) -> Any:
    widget = field.editor.widget
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return widget.value()
    if isinstance(widget, MePicker):
        return widget.current_uuid() or ""
    if isinstance(widget, CountryCombo):
        return widget.code()
    if isinstance(widget, QComboBox):
        assert isinstance(field.editor, ChoiceEditor)
        return field.editor.values[widget.currentIndex()]
    if isinstance(widget, QLineEdit):
        return widget.text()
    raise AssertionError(type(widget).__name__)


# --------------------------------------------------------------------- round trips


@pytest.mark.parametrize("setting", EDITED, ids=[s.key for s in EDITED])
def test_each_setting_round_trips_through_its_editor(
    dialog: PreferencesDialog, settings: Settings, ini_file: Path, setting: Setting[Any]
) -> None:
    first, second = two_values(setting)
    assert first != setting.default and first != second
    field = field_of(dialog, setting)
    assert field.editor.widget.objectName() == editor_name(setting.key)
    assert dialog.findChild(QWidget, editor_name(setting.key)) is field.editor.widget
    assert shown(field) == setting.default

    enter(field, first)
    assert settings.get(setting) == first
    assert not settings.is_default(setting)
    assert field.error_text == ""
    settings.sync()
    assert reread(ini_file).get(setting) == first  # in the file, not only in memory

    settings.set(setting, second)
    assert shown(field) == second


def test_every_editable_declaration_has_an_editor_and_no_other(
    dialog: PreferencesDialog,
) -> None:
    for setting in DECLARED:
        editor = dialog.findChild(QWidget, editor_name(setting.key))
        if setting.editable or setting in (ME, COUNTRY_CODE):
            assert editor is not None, setting.key
        else:
            assert editor is None, setting.key
    assert TOKEN_STORAGE not in EDITED and RECENT_NUMBERS not in EDITED


def test_the_editor_comes_from_the_declaration(qtbot: QtBot) -> None:
    spin = make_editor(KEEP_DAYS).widget
    assert isinstance(spin, QSpinBox)
    assert (spin.minimum(), spin.maximum(), spin.suffix()) == (7, 3650, " days")
    assert not spin.keyboardTracking()  # 365 typed is never stored as 3, then 36
    combo = make_editor(THEME).widget
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == [
        label for _value, label in THEME.choices
    ]
    assert isinstance(make_editor(NOTIFY_MISSED).widget, QCheckBox)
    assert isinstance(make_editor(BASE_URL).widget, QLineEdit)
    for each in (spin, combo):
        each.deleteLater()


def test_a_new_declaration_gets_its_editor_with_no_other_code(
    qtbot: QtBot, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = Setting(
        "sync/page_size", 50, "Calls per request", Section.SYNC, Kind.INT,
        help="How many calls one request asks for.", minimum=10, maximum=100,
    )
    monkeypatch.setattr(settings_module, "DECLARED", (*DECLARED, extra))
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    field = dialog.field(extra.key)
    assert field is not None
    assert field.help_label.text() == extra.help
    spin = dialog.findChild(QSpinBox, "pref_sync_page_size")
    assert spin is not None and (spin.minimum(), spin.maximum()) == (10, 100)
    dialog.show()
    enter(field, 70)
    assert settings.get(extra) == 70


def test_typing_a_number_stores_it_once_when_entered(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    heard: list[int] = []
    settings.subscribe(KEEP_DAYS, heard.append)
    field = field_of(dialog, KEEP_DAYS)
    spin = field.editor.widget
    assert isinstance(spin, QSpinBox)
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "90")
    assert heard == []  # typing alone stores nothing
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert heard == [90]
    assert settings.get(KEEP_DAYS) == 90


# ----------------------------------------------------------------- refused values


@pytest.mark.parametrize(
    ("setting", "typed"),
    [(BASE_URL, "http://example.com"), (WORKING_HOURS, "9 to 5")],
    ids=["plain-http", "hours-in-words"],
)
def test_a_refused_value_keeps_the_text_says_why_and_stores_nothing(
    dialog: PreferencesDialog, settings: Settings, ini_file: Path,
    setting: Setting[str], typed: str,
) -> None:
    field = field_of(dialog, setting)
    line = field.editor.widget
    assert isinstance(line, QLineEdit)
    type_text(line, typed)

    assert line.text() == typed
    error = dialog.findChild(QLabel, error_name(setting.key))
    assert error is field.error_label and error is not None
    assert error.isVisible()
    with pytest.raises(ValueError) as refusal:
        setting.parse(typed)
    assert error.text() == str(refusal.value)
    assert settings.get(setting) == setting.default
    assert settings.is_default(setting)
    settings.sync()
    assert reread(ini_file).is_default(setting)

    good = SAMPLES[setting.key][0]
    type_text(line, good)
    assert not error.isVisible()
    assert settings.get(setting) == good


def test_plain_http_is_refused_with_the_rules_sentence(dialog: PreferencesDialog) -> None:
    field = field_of(dialog, BASE_URL)
    line = field.editor.widget
    assert isinstance(line, QLineEdit)
    type_text(line, "http://example.com")
    assert field.error_text == check_base_url("http://example.com")
    assert "https://" in field.error_text


def test_a_refused_text_is_replaced_by_the_stored_value_when_reopened(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    field = field_of(dialog, WORKING_HOURS)
    line = field.editor.widget
    assert isinstance(line, QLineEdit)
    type_text(line, "9 to 5")
    dialog.close()
    dialog.present()
    assert line.text() == WORKING_HOURS.default
    assert field.error_text == ""


# ---------------------------------------------------------------- restore defaults


def test_restore_defaults_resets_the_page_and_only_the_page(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    settings.set(KEEP_DAYS, 30)
    settings.set(DESKTOPS_SHARING, 1)
    settings.set(NOTIFY_MISSED, False)  # another page
    dialog.open_page(Section.SYNC)
    button = dialog.findChild(QPushButton, f"restore_{page_id(Section.SYNC)}")
    assert button is not None and button.isVisible() and button.isEnabled()

    QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    assert settings.is_default(KEEP_DAYS) and settings.is_default(DESKTOPS_SHARING)
    assert shown(field_of(dialog, KEEP_DAYS)) == KEEP_DAYS.default
    assert shown(field_of(dialog, DESKTOPS_SHARING)) == DESKTOPS_SHARING.default
    assert settings.get(NOTIFY_MISSED) is False
    assert not button.isEnabled()  # nothing left to restore


def test_restore_defaults_clears_a_refusal_and_keeps_who_i_am(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    settings.set(ME, USERS[0].uuid)
    settings.set(COUNTRY_CODE, "44")
    field = field_of(dialog, BASE_URL)
    line = field.editor.widget
    assert isinstance(line, QLineEdit)
    type_text(line, "http://example.com")
    button = dialog.findChild(QPushButton, f"restore_{page_id(Section.ACCOUNT)}")
    assert button is not None and button.isEnabled()  # the country is not the default

    QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    assert line.text() == BASE_URL.default and field.error_text == ""
    assert settings.get(COUNTRY_CODE) == "91"
    assert settings.get(ME) == USERS[0].uuid  # an answer, not a preference


def test_the_button_follows_whether_anything_differs(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    dialog.open_page(Section.APPEARANCE)
    button = dialog.findChild(QPushButton, f"restore_{page_id(Section.APPEARANCE)}")
    assert button is not None and not button.isEnabled()
    enter(field_of(dialog, THEME), "dark")
    assert button.isEnabled()
    settings.reset(THEME)
    assert not button.isEnabled()


# ------------------------------------------------------- changes made elsewhere


def test_a_change_made_elsewhere_shows_while_open_and_not_after_closing(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    field = field_of(dialog, NOTIFY_MISSED)
    box = field.editor.widget
    assert isinstance(box, QCheckBox) and box.isChecked()

    settings.set(NOTIFY_MISSED, False)  # the tray menu's toggle, say
    assert not box.isChecked()

    dialog.close()
    assert not dialog.following
    settings.set(NOTIFY_MISSED, True)
    assert not box.isChecked()  # no longer listening

    dialog.present()
    assert dialog.following
    assert box.isChecked()  # shown as stored when opened again


def test_closing_leaves_no_listener_behind(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    assert any(settings._listeners.values())
    dialog.close()
    assert not any(settings._listeners.values())


def test_the_picker_and_the_country_follow_changes_made_elsewhere(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    settings.set(ME, USERS[3].uuid)  # "This is me" in the users list, say
    settings.set(COUNTRY_CODE, "44")
    picker, combo = dialog.me_picker, dialog.country_combo
    assert picker is not None and combo is not None
    assert picker.current_uuid() == USERS[3].uuid
    assert combo.code() == "44" and combo.currentText() == "United Kingdom (+44)"


def test_choosing_not_in_the_list_forgets_me(
    dialog: PreferencesDialog, settings: Settings
) -> None:
    settings.set(ME, USERS[0].uuid)
    picker = dialog.me_picker
    assert picker is not None
    skip = picker.proxy.index(picker.proxy.rowCount() - 1, 0)
    picker.list.setFocus()
    picker.list.setCurrentIndex(skip)
    QTest.keyClick(picker.list, Qt.Key.Key_Return)
    assert settings.get(ME) == ""
    assert picker.current_uuid() is None


# ------------------------------------------------------------------- the account


def test_the_account_block_shows_where_the_token_is_and_asks_for_the_rest(
    dialog: PreferencesDialog, qtbot: QtBot
) -> None:
    dialog.show_account(AccountView("Kept in the system keyring"))
    status = dialog.findChild(QLabel, "tokenStatus")
    icon = dialog.findChild(QLabel, "tokenStatusIcon")
    assert status is not None and icon is not None
    assert status.text() == "Kept in the system keyring" and not icon.isVisible()

    dialog.show_account(AccountView("Stored in plain text at /home/me/.config/token", True))
    assert status.text().startswith("Stored in plain text") and icon.isVisible()
    assert "color" in status.styleSheet()

    replace = dialog.findChild(QPushButton, "replaceToken")
    assert replace is not None and replace.isVisible()
    with qtbot.waitSignal(dialog.replaceTokenRequested, timeout=1000):
        QTest.mouseClick(replace, Qt.MouseButton.LeftButton)

    # Sign out is asked first; the cached data goes only if that box is ticked.
    answers: list[bool] = []
    dialog.signOutRequested.connect(answers.append)
    account = dialog.account
    QTest.mouseClick(account.sign_out_button, Qt.MouseButton.LeftButton)
    assert account.sign_out_confirm.asking and answers == []
    QTest.mouseClick(account.sign_out_confirm.no_button, Qt.MouseButton.LeftButton)
    assert not account.sign_out_confirm.asking and answers == []
    QTest.mouseClick(account.sign_out_button, Qt.MouseButton.LeftButton)
    account.delete_data_check.setChecked(True)
    QTest.mouseClick(account.sign_out_confirm.yes_button, Qt.MouseButton.LeftButton)
    assert answers == [True]
    # Asked once: no second sign-out (or replace) while the window closes.
    assert not account.sign_out_button.isEnabled()
    assert not account.replace_button.isEnabled()
    assert dialog.isVisible()  # asking is all it does


# ------------------------------------------------------------------ the window


def test_pages_follow_the_sections_and_the_keyboard(dialog: PreferencesDialog) -> None:
    assert list(dialog.pages) == list(Section)
    pages = dialog.findChild(QListView, "preferencesPages")
    assert pages is not None
    assert [pages.model().index(i, 0).data() for i in range(pages.model().rowCount())] == [
        s.value for s in Section
    ]
    assert dialog.current_section is Section.ACCOUNT
    QTest.keyClick(dialog, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert dialog.current_section is Section.SYNC
    pages.setCurrentIndex(pages.model().index(4, 0))
    assert dialog.current_section is Section.APPEARANCE
    assert dialog.stack.currentWidget().objectName() == "page_appearance"


def test_it_is_not_modal_and_enter_in_a_field_does_not_close_it(
    dialog: PreferencesDialog,
) -> None:
    assert not dialog.isModal()
    line = field_of(dialog, WORKING_HOURS).editor.widget
    assert isinstance(line, QLineEdit)
    type_text(line, "08:00-16:00")
    assert dialog.isVisible()


def test_every_widget_is_named_for_tests_and_assistive_tech(
    dialog: PreferencesDialog,
) -> None:
    ours = (QLabel, QLineEdit, QComboBox, QPushButton, QListView, QCheckBox, QSpinBox)
    unnamed = [
        f"{type(w).__name__} in {w.parent().objectName()}"
        for w in dialog.findChildren(QWidget)
        if isinstance(w, ours) and not w.objectName()
        and w.window() is dialog  # not the popups of combo boxes and completers
    ]
    assert unnamed == []
    for setting in EDITED:
        widget = dialog.findChild(QWidget, editor_name(setting.key))
        assert widget is not None and widget.accessibleName() == setting.label


def test_help_is_under_the_field_and_in_its_tooltip(dialog: PreferencesDialog) -> None:
    field = field_of(dialog, KEEP_DAYS)
    assert field.help_label.text() == KEEP_DAYS.help
    assert field.help_label.wordWrap() and field.help_label.isVisible()
    assert field.editor.widget.toolTip() == KEEP_DAYS.help


def test_the_keyboard_starts_in_the_pages_list_and_tab_enters_the_page(
    dialog: PreferencesDialog, qtbot: QtBot
) -> None:
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    assert dialog.focusWidget() is dialog.page_list
    QTest.keyClick(dialog.page_list, Qt.Key.Key_Down)  # Calls and sync
    QTest.keyClick(dialog.page_list, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is field_of(dialog, KEEP_DAYS).editor.widget


def test_tab_walks_the_account_page_in_reading_order(
    dialog: PreferencesDialog, settings: Settings, qtbot: QtBot
) -> None:
    settings.set(COUNTRY_CODE, "44")  # so Restore defaults is enabled, a stop of its own
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    stops = []
    for _ in range(12):
        focus = QApplication.focusWidget()
        assert focus is not None
        stops.append(focus.objectName())
        QTest.keyClick(focus, Qt.Key.Key_Tab)
    walk = stops[: stops.index("preferencesClose") + 1]
    assert walk == [
        "preferencesPages", "restore_account", "replaceToken", "connectRelay", "signOut",
        editor_name(BASE_URL.key), "meSearch", "meList", editor_name(COUNTRY_CODE.key),
        "preferencesClose",
    ]
