"""One editor per declared setting, made from its declaration alone.

`make_editor` picks the widget from the setting's `Kind` (a check box, a spin box with the
range and unit, a combo box of the choices' labels, a line edit), so a new declaration gets
its editor with no other code. `SettingField` puts the editor in a form row with its help
text and the sentence of a refused value, and applies what the person enters at once
(GNOME-style): switches, lists and numbers when they change, text when editing finishes.
A refused value keeps what was typed in the field and shows the reason under it; nothing
is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.settings import Kind, Setting, Settings

#: Spin boxes of settings without a bound still need one.
_INT_BOUND = 2_000_000_000
#: Text fields: wide enough for a service address, narrow enough to read as one value.
TEXT_MIN_CHARS = 24
TEXT_MAX_CHARS = 44
#: Number fields all as wide (a column of them lines up), room for "50000 MB".
NUMBER_MIN_CHARS = 10


def widget_name(prefix: str, key: str) -> str:
    """An object name from a setting's key ("sync/keep_days" -> "pref_sync_keep_days")."""
    return prefix + key.replace("/", "_")


def editor_name(key: str) -> str:
    return widget_name("pref_", key)


def error_name(key: str) -> str:
    return widget_name("error_", key)


def help_name(key: str) -> str:
    return widget_name("help_", key)


def label_name(key: str) -> str:
    return widget_name("label_", key)


class SettingEditor(QObject):
    """A widget showing one setting's value; `edited` carries what the person entered
    (for `Settings.set` to parse and judge). `show_value` never emits `edited`."""

    edited = Signal(object)

    #: The widget carries the setting's label itself (a check box): the form row has none.
    labels_itself = False
    #: Restore defaults resets it (not so for who "me" is: an answer, not a preference).
    restorable = True
    #: Stretches across the field column (text), or keeps its natural width (the rest).
    expands = False

    def __init__(self, setting: Setting[Any], widget: QWidget) -> None:
        super().__init__(widget)
        self.setting = setting
        self.widget = widget
        widget.setObjectName(editor_name(setting.key))
        widget.setAccessibleName(setting.label)
        if setting.help:
            widget.setToolTip(setting.help)
            widget.setAccessibleDescription(setting.help)

    def show_value(self, value: Any) -> None:
        blocker = QSignalBlocker(self.widget)
        try:
            self._show(value)
        finally:
            blocker.unblock()

    def _show(self, value: Any) -> None:
        raise NotImplementedError


class BoolEditor(SettingEditor):
    labels_itself = True

    def __init__(self, setting: Setting[Any]) -> None:
        self.box = QCheckBox(setting.label)
        super().__init__(setting, self.box)
        self.box.toggled.connect(self.edited.emit)

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class IntEditor(SettingEditor):
    """Applied on Enter, focus out or a step, not per keystroke: typing 365 must not
    store 3 and 36 on the way (keeping calls for 36 days would prune the cache)."""

    def __init__(self, setting: Setting[Any]) -> None:
        self.spin = QSpinBox()
        super().__init__(setting, self.spin)
        low = int(setting.minimum) if setting.minimum is not None else -_INT_BOUND
        high = int(setting.maximum) if setting.maximum is not None else _INT_BOUND
        self.spin.setRange(low, high)
        _spin_common(self.spin, setting)
        self.spin.valueChanged.connect(self.edited.emit)

    def _show(self, value: Any) -> None:
        self.spin.setValue(int(value))


class FloatEditor(SettingEditor):
    def __init__(self, setting: Setting[Any]) -> None:
        self.spin = QDoubleSpinBox()
        super().__init__(setting, self.spin)
        self.spin.setDecimals(2)
        self.spin.setRange(
            setting.minimum if setting.minimum is not None else -float(_INT_BOUND),
            setting.maximum if setting.maximum is not None else float(_INT_BOUND),
        )
        _spin_common(self.spin, setting)
        self.spin.valueChanged.connect(self.edited.emit)

    def _show(self, value: Any) -> None:
        self.spin.setValue(float(value))


def _spin_common(spin: QAbstractSpinBox, setting: Setting[Any]) -> None:
    spin.setMinimumWidth(spin.fontMetrics().averageCharWidth() * NUMBER_MIN_CHARS)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    if setting.suffix and isinstance(spin, QSpinBox | QDoubleSpinBox):
        spin.setSuffix(f" {setting.suffix}")


class ChoiceEditor(SettingEditor):
    def __init__(self, setting: Setting[Any]) -> None:
        self.combo = QComboBox()
        super().__init__(setting, self.combo)
        #: The choices' values, in the combo's order.
        self.values: list[Any] = []
        for value, label in setting.choices:
            self.combo.addItem(label)
            self.values.append(value)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.currentIndexChanged.connect(self._chosen)

    def _chosen(self, index: int) -> None:
        if 0 <= index < len(self.values):
            self.edited.emit(self.values[index])

    def _show(self, value: Any) -> None:
        if value in self.values:
            self.combo.setCurrentIndex(self.values.index(value))


class TextEditor(SettingEditor):
    """Applied when editing finishes (Enter, or the focus leaves), never per keystroke."""

    expands = True

    def __init__(self, setting: Setting[Any]) -> None:
        self.line = QLineEdit()
        super().__init__(setting, self.line)
        char = self.line.fontMetrics().averageCharWidth()
        self.line.setMinimumWidth(char * TEXT_MIN_CHARS)
        self.line.setMaximumWidth(char * TEXT_MAX_CHARS)
        self.line.editingFinished.connect(self._finished)

    def _finished(self) -> None:
        self.edited.emit(self.line.text())

    def _show(self, value: Any) -> None:
        self.line.setText(str(value))
        self.line.setCursorPosition(0)


class TextListEditor(TextEditor):
    """A list as comma-separated text (a list setting a person edits is short)."""

    def _finished(self) -> None:
        items = [part.strip() for part in self.line.text().split(",")]
        self.edited.emit(tuple(item for item in items if item))

    def _show(self, value: Any) -> None:
        super()._show(", ".join(str(each) for each in value))


EditorFactory = Callable[[Setting[Any]], SettingEditor]

#: Which editor each kind of setting gets.
EDITORS: dict[Kind, EditorFactory] = {
    Kind.BOOL: BoolEditor,
    Kind.INT: IntEditor,
    Kind.FLOAT: FloatEditor,
    Kind.CHOICE: ChoiceEditor,
    Kind.TEXT: TextEditor,
    Kind.TEXT_LIST: TextListEditor,
}


def make_editor(setting: Setting[Any]) -> SettingEditor:
    """The editor of `setting`, from its kind (and range, unit, choices)."""
    return EDITORS[setting.kind](setting)


# ---------------------------------------------------------------------------- the row


class SettingField(QWidget):
    """An editor with its help text under it and, when a value was refused, the reason.

    It applies what the editor reports through `Settings.set` and follows changes made
    elsewhere (`follow`; `unfollow` when the dialog closes). `shown` says the editor now
    shows the stored value (after a change from here or elsewhere, or a reset).
    """

    shown = Signal()

    def __init__(
        self, editor: SettingEditor, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self.setting = editor.setting
        self._settings = settings
        self._unsubscribe: Callable[[], None] | None = None
        key = self.setting.key
        self.setObjectName(widget_name("field_", key))

        self.help_label = QLabel(self.setting.help)
        self.help_label.setObjectName(help_name(key))
        self.help_label.setAccessibleName(f"About {self.setting.label}")
        self.help_label.setWordWrap(True)
        self.help_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.help_label.setVisible(bool(self.setting.help))
        self.help_label.setSizePolicy(
            QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum
        )
        font = self.help_label.font()
        font.setPointSizeF(font.pointSizeF() * 0.92)
        self.help_label.setFont(font)

        self.error_label = QLabel()
        self.error_label.setObjectName(error_name(key))
        self.error_label.setAccessibleName(f"Problem with {self.setting.label}")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        if editor.expands:
            layout.addWidget(editor.widget)
        else:
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(editor.widget)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.help_label)
        if editor.labels_itself:
            # Under the check box's text, not its box.
            style = editor.widget.style()
            indent = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth) + style.pixelMetric(
                QStyle.PixelMetric.PM_CheckBoxLabelSpacing
            )
            self.help_label.setIndent(indent)
            self.error_label.setIndent(indent)

        editor.edited.connect(self._apply)

    # -- what the person does ---------------------------------------------------------

    def _apply(self, value: object) -> None:
        try:
            parsed = self.setting.parse(value)
            if parsed != self._settings.get(self.setting):
                self._settings.set(self.setting, parsed)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self._show(self._settings.get(self.setting))  # as stored (trimmed, say)

    # -- what is shown ----------------------------------------------------------------

    @property
    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisibleTo(self) else ""

    def show_error(self, sentence: str) -> None:
        self.error_label.setText(sentence)
        self.error_label.show()
        self.editor.widget.setAccessibleDescription(sentence)

    def clear_error(self) -> None:
        if self.error_label.isHidden():
            return
        self.error_label.clear()
        self.error_label.hide()
        self.editor.widget.setAccessibleDescription(self.setting.help)

    def refresh(self) -> None:
        """Show the stored value (what was typed and refused is dropped)."""
        self._show(self._settings.get(self.setting))

    def _show(self, value: Any) -> None:
        self.editor.show_value(value)
        self.clear_error()
        self.shown.emit()

    def follow(self) -> None:
        """Show the stored value now and every change made elsewhere (a menu's toggle)."""
        self.refresh()
        if self._unsubscribe is None:
            self._unsubscribe = self._settings.subscribe(self.setting, self._show)

    def unfollow(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def restore_default(self) -> None:
        self._settings.reset(self.setting)
        self._show(self.setting.default)

    def is_default(self) -> bool:
        return bool(self._settings.get(self.setting) == self.setting.default)

    def set_error_color(self, color: str) -> None:
        self.error_label.setStyleSheet(f"color: {color};")
