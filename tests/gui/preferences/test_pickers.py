"""The two pickers Preferences shares with the first run: "Which user are you?" by search
and keyboard, and the country by name with its calling code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop_app.ui.preferences.country import CountryCombo
from desktop_app.ui.preferences.me_picker import (
    SKIP_LABEL,
    ChosenRole,
    MePicker,
    UuidRole,
    user_matches,
)
from tests.gui.preferences.conftest import USERS

ASHA, VIKRAM, MEERA, RAHUL = USERS


@pytest.fixture
def picker(qtbot: QtBot) -> MePicker:
    picker = MePicker(prompt="Which user are you?")
    qtbot.addWidget(picker)
    picker.set_users(USERS)
    picker.show()
    qtbot.waitExposed(picker)
    picker.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    picker.search.setFocus()
    return picker


def shown_names(picker: MePicker) -> list[str]:
    proxy = picker.proxy
    return [proxy.index(row, 0).data() for row in range(proxy.rowCount())]


# ----------------------------------------------------------------------- MePicker


def test_everyone_is_listed_then_not_in_the_list(picker: MePicker) -> None:
    assert shown_names(picker) == [u.name for u in USERS] + [SKIP_LABEL]
    assert picker.prompt.text() == "Which user are you?" and picker.prompt.isVisible()
    assert picker.current_uuid() is None


def test_typing_filters_on_name_extension_number_and_email(picker: MePicker) -> None:
    QTest.keyClicks(picker.search, "vik")
    assert shown_names(picker) == ["Vikram Singh", SKIP_LABEL]
    picker.search.clear()
    QTest.keyClicks(picker.search, "207")  # Meera's extension
    assert shown_names(picker) == ["Meera Nair", SKIP_LABEL]
    picker.search.clear()
    QTest.keyClicks(picker.search, "098765 00004")  # Rahul's number as dialled at home
    assert shown_names(picker) == ["Rahul Verma", SKIP_LABEL]
    picker.search.clear()
    QTest.keyClicks(picker.search, "example.com rao")
    assert shown_names(picker) == ["Asha Rao", SKIP_LABEL]


def test_down_moves_into_the_list_and_enter_chooses(picker: MePicker, qtbot: QtBot) -> None:
    QTest.keyClicks(picker.search, "meera")
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    assert picker.list.hasFocus()
    assert picker.list.currentIndex().data(UuidRole) == MEERA.uuid
    with qtbot.waitSignal(picker.chosen, timeout=1000) as chosen:
        QTest.keyClick(picker.list, Qt.Key.Key_Return)
    assert chosen.args == [MEERA.uuid]
    assert picker.current_uuid() == MEERA.uuid
    assert picker.chosen_label.text() == "You are Meera Nair (ext. 207)."


def test_enter_in_the_search_chooses_the_first_match(picker: MePicker, qtbot: QtBot) -> None:
    QTest.keyClicks(picker.search, "rahul")
    with qtbot.waitSignal(picker.chosen, timeout=1000) as chosen:
        QTest.keyClick(picker.search, Qt.Key.Key_Return)
    assert chosen.args == [RAHUL.uuid]


def test_arrows_only_move_and_up_from_the_top_returns_to_the_search(
    picker: MePicker, qtbot: QtBot
) -> None:
    with qtbot.assertNotEmitted(picker.chosen):
        QTest.keyClick(picker.search, Qt.Key.Key_Down)
        QTest.keyClick(picker.list, Qt.Key.Key_Down)
        assert picker.list.currentIndex().data(UuidRole) == VIKRAM.uuid
        QTest.keyClick(picker.list, Qt.Key.Key_Up)
        QTest.keyClick(picker.list, Qt.Key.Key_Up)
    assert picker.search.hasFocus()
    assert picker.current_uuid() is None


def test_typing_in_the_list_goes_on_searching(picker: MePicker) -> None:
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    QTest.keyClicks(picker.list, "as")
    assert picker.search.hasFocus() and picker.search.text() == "as"
    assert shown_names(picker) == ["Asha Rao", SKIP_LABEL]


def test_not_in_the_list_is_a_choice_too(picker: MePicker, qtbot: QtBot) -> None:
    picker.set_current(ASHA.uuid)
    QTest.keyClicks(picker.search, "nobody by this name")
    assert shown_names(picker) == [SKIP_LABEL]
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(picker.chosen, timeout=1000) as chosen:
        QTest.keyClick(picker.list, Qt.Key.Key_Space)
    assert chosen.args == [""]
    assert picker.current_uuid() is None
    assert picker.chosen_label.text() == "No user chosen as you."


def test_a_click_chooses(picker: MePicker, qtbot: QtBot) -> None:
    index = picker.proxy.index(1, 0)
    rect = picker.list.visualRect(index)
    with qtbot.waitSignal(picker.chosen, timeout=1000) as chosen:
        QTest.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert chosen.args == [VIKRAM.uuid]


def test_set_current_marks_without_announcing_and_survives_a_new_list(
    picker: MePicker, qtbot: QtBot
) -> None:
    with qtbot.assertNotEmitted(picker.chosen):
        picker.set_current(RAHUL.uuid)
    row = picker.model.row_of(RAHUL.uuid)
    assert picker.model.index(row).data(ChosenRole) is True
    assert picker.list.currentIndex().data(UuidRole) == RAHUL.uuid
    QTest.keyClicks(picker.search, "a")
    picker.set_users((replace(RAHUL, name="Rahul V."), ASHA))
    assert picker.current_uuid() == RAHUL.uuid
    assert picker.search.text() == "a"
    assert picker.chosen_label.text() == "You are Rahul V.."
    picker.set_users(())
    assert "not loaded" in picker.chosen_label.text()


def test_user_matches_needs_every_word() -> None:
    assert user_matches(ASHA, "asha 45670")
    assert not user_matches(ASHA, "asha vikram")
    assert user_matches(ASHA, "")


# -------------------------------------------------------------------- CountryCombo


@pytest.fixture
def country(qtbot: QtBot) -> Iterator[tuple[CountryCombo, QLineEdit]]:
    holder = QWidget()  # held here: qtbot keeps only a weak reference
    qtbot.addWidget(holder)
    combo = CountryCombo()
    after = QLineEdit()
    after.setObjectName("after")
    layout = QVBoxLayout(holder)
    layout.addWidget(combo)
    layout.addWidget(after)
    holder.show()
    qtbot.waitExposed(holder)
    holder.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is holder)
    combo.set_code("44")
    yield combo, after
    holder.close()


def test_countries_are_named_with_their_calling_code(
    country: tuple[CountryCombo, QLineEdit],
) -> None:
    combo, _after = country
    assert combo.currentText() == "United Kingdom (+44)" and combo.code() == "44"
    assert combo.findText("India (+91)") >= 0
    assert combo.set_code("+1") and combo.currentText() == "United States (+1)"
    assert not combo.set_code("999") and combo.code() == "1"


def test_typing_ind_finds_india_first(
    country: tuple[CountryCombo, QLineEdit], qtbot: QtBot
) -> None:
    combo, _after = country
    line = combo.lineEdit()
    assert line is not None
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, "ind")
    offered = [combo.ranked.index(r, 0).data() for r in range(combo.ranked.rowCount())]
    assert offered[0] == "India (+91)"
    assert "British Indian Ocean Territory (+246)" in offered
    with qtbot.waitSignal(combo.codeChosen, timeout=1000) as chosen:
        QTest.keyClick(line, Qt.Key.Key_Return)
    assert chosen.args == ["91"]
    assert combo.code() == "91" and line.text() == "India (+91)"


def test_a_typed_code_offers_its_main_country_first(
    country: tuple[CountryCombo, QLineEdit], qtbot: QtBot
) -> None:
    combo, _after = country
    line = combo.lineEdit()
    assert line is not None
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, "+1")
    assert combo.ranked.index(0, 0).data() == "United States (+1)"
    with qtbot.waitSignal(combo.codeChosen, timeout=1000) as chosen:
        QTest.keyClick(line, Qt.Key.Key_Return)
    assert chosen.args == ["1"]


def test_text_matching_no_country_changes_nothing(
    country: tuple[CountryCombo, QLineEdit], qtbot: QtBot
) -> None:
    combo, after = country
    line = combo.lineEdit()
    assert line is not None
    with qtbot.assertNotEmitted(combo.codeChosen):
        line.setFocus()
        line.selectAll()
        QTest.keyClicks(line, "atlantis")
        QTest.keyClick(line, Qt.Key.Key_Return)
        assert combo.code() == "44" and line.text() == "United Kingdom (+44)"
        line.selectAll()
        QTest.keyClicks(line, "fra")  # and then Tab leaves: France is not chosen
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        qtbot.waitUntil(after.hasFocus)
    assert combo.code() == "44" and line.text() == "United Kingdom (+44)"
