"""A country picker by name, with its calling code: "India (+91)".

Typing finds a country anywhere in its name, best matches first (a name that starts with
the text, then a word of it that does, then the rest), so "ind" offers India before the
British Indian Ocean Territory; Enter takes the first offer. What leaves is the calling
code ("91"), never the typed text: a country is chosen or nothing changes.
"""

from __future__ import annotations

import phonenumbers
from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QApplication, QComboBox, QCompleter, QWidget

from desktop_app.ui.common.countries import country_choices

CodeRole = Qt.ItemDataRole.UserRole + 1
RegionRole = Qt.ItemDataRole.UserRole + 2
#: The name without the code, what typing is matched against.
NameRole = Qt.ItemDataRole.UserRole + 3

ModelIndex = QModelIndex | QPersistentModelIndex


def _rank(name: str, query: str) -> int | None:
    """How well `query` matches a country's `name` (lower is better), None if not at all."""
    name, query = name.casefold(), query.casefold().strip()
    if not query:
        return 3
    if name.startswith(query):
        return 0
    if any(word.startswith(query) for word in name.replace("-", " ").split()):
        return 1
    if query in name:
        return 2
    return None


class RankedCountries(QSortFilterProxyModel):
    """The countries matching what was typed, best first (`_rank`), then by name; a
    typed code ("+44", "44") matches the countries that use it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._query = ""
        self.setDynamicSortFilter(False)

    def set_query(self, text: str) -> None:
        self.beginFilterChange()
        self._query = text.strip()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        self.sort(0)

    def _score(self, index: ModelIndex) -> int | None:
        query = self._query
        code = query.lstrip("+")
        if code.isdigit():
            if str(index.data(CodeRole)) != code:
                return None
            main = phonenumbers.region_code_for_country_code(int(code))
            return 0 if index.data(RegionRole) == main else 1
        return _rank(str(index.data(NameRole)), query)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        index = self.sourceModel().index(source_row, 0, source_parent)
        return self._score(index) is not None

    def lessThan(self, left: ModelIndex, right: ModelIndex) -> bool:
        a, b = self._score(left), self._score(right)
        if a != b:
            return (a if a is not None else 9) < (b if b is not None else 9)
        return str(left.data(NameRole)).casefold() < str(right.data(NameRole)).casefold()


class CountryCombo(QComboBox):
    """Every country phonenumbers knows, by name with its calling code.

    `set_code` shows a code's main country (the United Kingdom for 44, not Guernsey);
    `code` is the chosen country's code; `codeChosen` says when the person chose another
    (once, however the choice was made: the list, the completer or Enter).
    """

    codeChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("countryCombo")
        self.setAccessibleName("Country")
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(16)
        self.setMinimumContentsLength(24)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for label, code, region in country_choices():
            self.addItem(label)
            row = self.count() - 1
            self.setItemData(row, code, CodeRole)
            self.setItemData(row, region, RegionRole)
            self.setItemData(row, label.rsplit(" (+", 1)[0], NameRole)
            self.setItemData(row, f"{label}", Qt.ItemDataRole.AccessibleTextRole)

        self.ranked = RankedCountries(self)
        self.ranked.setSourceModel(self.model())
        completer = QCompleter(self.ranked, self)
        completer.setObjectName("countryCompleter")
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setMaxVisibleItems(10)
        self.setCompleter(completer)
        line = self.lineEdit()
        assert line is not None  # editable
        line.setObjectName("countrySearch")
        line.setAccessibleName("Country name or code")
        line.setPlaceholderText("Type a country's name or code")
        line.textEdited.connect(self.ranked.set_query)
        # After the combo's own handler, which takes an exact name itself.
        line.returnPressed.connect(self._take_best)
        self.activated.connect(self._chosen)
        self._last_code = ""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_moved)

    # -- the interface ------------------------------------------------------------------

    def code(self) -> str:
        value = self.currentData(CodeRole)
        return str(value) if value is not None else ""

    def set_code(self, code: str) -> bool:
        """Show the main country of calling code `code` ("91"); False if none uses it."""
        code = code.strip().lstrip("+")
        if not code.isdigit():
            return False
        region = phonenumbers.region_code_for_country_code(int(code))
        row = self.findData(region, RegionRole)
        if row < 0:
            row = self.findData(code, CodeRole)
        if row < 0:
            return False
        self.setCurrentIndex(row)
        self._last_code = self.code()
        self._show_current()
        return True

    # -- what the person does -----------------------------------------------------------

    def _chosen(self, row: int) -> None:
        self._show_current()
        code = self.code()
        if row >= 0 and code != self._last_code:
            self._last_code = code
            self.codeChosen.emit(code)

    def _take_best(self) -> None:
        """Enter after typing: the exact country, else the best match, else as it was."""
        line = self.lineEdit()
        text = line.text().strip() if line is not None else ""
        if self.findText(text, Qt.MatchFlag.MatchFixedString) >= 0:
            return  # the combo chose it (and said so)
        best = -1
        if text:
            self.ranked.set_query(text)
            if self.ranked.rowCount() > 0:
                best = self.ranked.mapToSource(self.ranked.index(0, 0)).row()
        completer = self.completer()
        popup = completer.popup() if completer is not None else None
        if popup is not None:
            popup.hide()
        if best >= 0:
            self.setCurrentIndex(best)
            self._chosen(best)
        else:
            self._show_current()

    def _show_current(self) -> None:
        """The field shows the chosen country, not a fragment that was typed."""
        line = self.lineEdit()
        if line is not None and self.currentIndex() >= 0:
            line.setText(self.itemText(self.currentIndex()))
            line.setCursorPosition(0)

    def _focus_moved(self, old: QWidget | None, new: QWidget | None) -> None:
        """Leaving with a fragment typed chooses nothing: the chosen country shows again.

        Watched through the application's focusChanged: while the completer's popup is
        open Qt moves the focus without a FocusOut event to the combo."""
        if old is None or not (old is self or self.isAncestorOf(old)):
            return  # not leaving this combo
        if new is None or new is self or self.isAncestorOf(new):
            return
        completer = self.completer()
        popup = completer.popup() if completer is not None else None
        if popup is not None and (new is popup or popup.isAncestorOf(new)):
            return
        self._show_current()
