"""Preferences (Ctrl+,): one page per `Section`, editors made from the declarations.

Non-modal and applied at once, like GNOME's and macOS's: there is no OK or Apply, a
switch takes effect when flipped and a text when Enter is pressed or the focus leaves
it; every feature follows through its `Settings.subscribe`. The dialog is shown with
``show()``, never ``exec()`` (a nested loop breaks qasync). While it is open it follows
changes made elsewhere (a menu's toggle); it stops following when it closes.

Pages list on the left (the sidebar of GNOME Settings, KDE's System Settings): each
page is a form of its section's declared, editable settings (`declared(section)`), with
"Restore defaults" for that page. The Account page adds the account block the app fills
in (where the token is kept, Replace token…, Sign out…) and edits "This is me"
(`MePicker`) and the default country (`CountryCombo`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QHideEvent, QKeySequence, QPalette, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import User
from desktop_app.services.settings import (
    COUNTRY_CODE,
    ME,
    Section,
    Setting,
    Settings,
    declared,
)
from desktop_app.ui.common.confirm import ConfirmBar
from desktop_app.ui.common.theme import DARK_COLORS, LIGHT_COLORS, ThemeColors
from desktop_app.ui.preferences.account import SIGN_OUT_TEXT, AccountView
from desktop_app.ui.preferences.country import CountryCombo
from desktop_app.ui.preferences.editors import (
    SettingEditor,
    SettingField,
    label_name,
    make_editor,
)
from desktop_app.ui.preferences.me_picker import MePicker

ModelIndex = QModelIndex | QPersistentModelIndex

#: Content wider than this reads as a spreadsheet, not a form.
CONTENT_MAX_WIDTH = 720
DEFAULT_SIZE = QSize(860, 640)


def page_id(section: Section) -> str:
    """A section as an object-name fragment ("Calls and sync" -> "calls_and_sync")."""
    return "".join(c if c.isalnum() else "_" for c in section.value.lower()).strip("_")


# ---------------------------------------------------------------- special editors


class MeEditor(SettingEditor):
    """"This is me" edited by picking the user (`MePicker`)."""

    restorable = False
    expands = True

    def __init__(self, setting: Setting[Any]) -> None:
        self.picker = MePicker()
        super().__init__(setting, self.picker)
        self.picker.chosen.connect(self.edited.emit)

    def _show(self, value: Any) -> None:
        self.picker.set_current(str(value) or None)


class CountryEditor(SettingEditor):
    """The default country edited by name (`CountryCombo`); stored as its code."""

    def __init__(self, setting: Setting[Any]) -> None:
        self.combo = CountryCombo()
        super().__init__(setting, self.combo)
        self.combo.codeChosen.connect(self.edited.emit)

    def _show(self, value: Any) -> None:
        self.combo.set_code(str(value))


#: Settings edited by a widget of their own rather than the kind's (they are declared
#: `editable=False` because the generic editor would not do).
SPECIAL_EDITORS: dict[str, Callable[[Setting[Any]], SettingEditor]] = {
    ME.key: MeEditor,
    COUNTRY_CODE.key: CountryEditor,
}


def page_settings(section: Section) -> tuple[Setting[Any], ...]:
    """What a page edits: the section's editable declarations and the special ones."""
    return tuple(
        s for s in declared(section) if s.editable or s.key in SPECIAL_EDITORS
    )


def editor_for(setting: Setting[Any]) -> SettingEditor:
    special = SPECIAL_EDITORS.get(setting.key)
    return special(setting) if special is not None else make_editor(setting)


# ---------------------------------------------------------------------- the pages list


class PagesModel(QAbstractListModel):
    """The pages, in `Section` order."""

    def __init__(self, sections: Sequence[Section], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesPagesModel")
        self.sections = tuple(sections)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.sections)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.sections):
            return None
        section = self.sections[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return section.value
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{section.value} preferences"
        return None


class _RoomyDelegate(QStyledItemDelegate):
    """Sidebar rows a comfortable click target tall."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 24, max(size.height() + 14, 32))


# -------------------------------------------------------------------------- a page


class PreferencesPage(QScrollArea):
    """One section's form: a heading with "Restore defaults", then a row per setting
    (its label on the left; the editor, the reason of a refusal and the help text on the
    right). The Account page carries the account block above its settings."""

    def __init__(
        self,
        section: Section,
        settings: Settings,
        *,
        top: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.section = section
        name = page_id(section)
        self.setObjectName(f"page_{name}")
        self.setAccessibleName(f"{section.value} preferences")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields, not the page

        self.title = QLabel(section.value)
        self.title.setObjectName(f"title_{name}")
        self.title.setAccessibleName("Page")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.restore_button = QPushButton("Restore defaults")
        self.restore_button.setObjectName(f"restore_{name}")
        self.restore_button.setAccessibleName(f"Restore the defaults of {section.value}")
        self.restore_button.setToolTip(
            f"Put every setting of “{section.value}” back to its default"
        )
        self.restore_button.setAutoDefault(False)
        self.restore_button.clicked.connect(self.restore_defaults)
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addStretch(1)
        heading.addWidget(self.restore_button)

        self.form = QFormLayout()
        self.form.setObjectName(f"form_{name}")
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setHorizontalSpacing(16)
        self.form.setVerticalSpacing(12)
        if top is not None:
            self.form.addRow(top)

        self.fields: list[SettingField] = []
        for setting in page_settings(section):
            self._add_field(SettingField(editor_for(setting), settings))

        content = QWidget()
        content.setObjectName(f"content_{name}")
        content.setMaximumWidth(CONTENT_MAX_WIDTH)
        column = QVBoxLayout(content)
        column.setContentsMargins(24, 18, 24, 18)
        column.setSpacing(16)
        column.addLayout(heading)
        column.addLayout(self.form)
        column.addStretch(1)
        holder = QWidget()
        holder.setObjectName(f"holder_{name}")
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        # Up to its widest, left-aligned: every page's form starts at the same place.
        row.addWidget(content, 1)
        row.addStretch(0)
        self.setWidget(holder)
        self._update_restore()

    def _add_field(self, field: SettingField) -> None:
        self.fields.append(field)
        setting = field.setting
        label = QLabel("" if field.editor.labels_itself else setting.label)
        label.setObjectName(label_name(setting.key))
        label.setAccessibleName(setting.label)
        label.setBuddy(field.editor.widget)
        if setting.help:
            label.setToolTip(setting.help)
        # The label's text centred on the editor's first line, not on the help under it.
        first_line = field.editor.widget
        if isinstance(field.editor, MeEditor):
            first_line = field.editor.picker.search
        label.setFixedHeight(first_line.sizeHint().height())
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.addRow(label, field)
        field.shown.connect(self._update_restore)

    # -- behaviour ---------------------------------------------------------------------

    def follow(self) -> None:
        for field in self.fields:
            field.follow()
        self._update_restore()

    def unfollow(self) -> None:
        for field in self.fields:
            field.unfollow()

    def restore_defaults(self) -> None:
        for field in self.fields:
            if field.editor.restorable:
                field.restore_default()
        self._update_restore()

    def _update_restore(self, *_args: object) -> None:
        restorable = [f for f in self.fields if f.editor.restorable]
        self.restore_button.setVisible(bool(restorable))
        self.restore_button.setEnabled(any(not f.is_default() for f in restorable))

    def field(self, key: str) -> SettingField | None:
        return next((f for f in self.fields if f.setting.key == key), None)


# ------------------------------------------------------------------- account block


class AccountBlock(QWidget):
    """How this desktop connects and where its secret is kept, and what can be done with
    it (by the app): a new token, the team relay, signing out."""

    replaceTokenRequested = Signal()
    relayRequested = Signal()
    #: Confirmed; True: also delete this account's cached calls and recordings.
    signOutRequested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountBlock")
        self.setAccessibleName("API token")

        caption = QLabel("API token")
        self.caption = caption
        caption.setObjectName("tokenCaption")
        caption.setAccessibleName("API token")
        font = caption.font()
        font.setBold(True)
        caption.setFont(font)
        self.icon = QLabel()
        self.icon.setObjectName("tokenStatusIcon")
        self.icon.setAccessibleName("Warning")
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        self.icon.hide()
        self.status = QLabel(AccountView().status)
        self.status.setObjectName("tokenStatus")
        self.status.setAccessibleName("Where the token is kept")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = False

        self.replace_button = QPushButton("Replace token…")
        self.replace_button.setObjectName("replaceToken")
        self.replace_button.setAccessibleName("Replace token")
        self.replace_button.setToolTip("Enter a new API token (it is tested before it is kept)")
        self.relay_button = QPushButton("Connect through the team relay…")
        self.relay_button.setObjectName("connectRelay")
        self.relay_button.setAccessibleName("Connect through the team relay")
        self.relay_button.setToolTip(
            "Use the team relay's address and your own credential instead of the API token"
        )
        self.sign_out_button = QPushButton("Sign out…")
        self.sign_out_button.setObjectName("signOut")
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.setToolTip("Remove the token from this computer")
        for button in (self.replace_button, self.relay_button, self.sign_out_button):
            button.setAutoDefault(False)
        self.replace_button.clicked.connect(self.replaceTokenRequested)
        self.relay_button.clicked.connect(self.relayRequested)
        self.sign_out_button.clicked.connect(self._ask_sign_out)
        # Signing out is asked first, inside the page; the cached data is an extra choice.
        self.sign_out_confirm = ConfirmBar("signOutConfirm")
        self.delete_data_check = QCheckBox(
            "Also delete this account's cached calls and recordings from this computer"
        )
        self.delete_data_check.setObjectName("signOutDeleteData")
        confirm_layout = self.sign_out_confirm.layout()
        assert isinstance(confirm_layout, QBoxLayout)
        confirm_layout.insertWidget(2, self.delete_data_check)
        self.sign_out_confirm.answered.connect(self._sign_out_answered)
        #: What signing out does, as the confirmation says it (the app may change it).
        self.sign_out_text = SIGN_OUT_TEXT

        status_row = QHBoxLayout()
        status_row.setSpacing(6)
        status_row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        status_row.addWidget(self.status, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.replace_button)
        buttons.addWidget(self.relay_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)

        frame = QFrame()
        frame.setObjectName("accountFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(14, 12, 14, 12)
        inner.setSpacing(8)
        inner.addWidget(caption)
        inner.addLayout(status_row)
        inner.addLayout(buttons)
        inner.addWidget(self.sign_out_confirm)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)

    def _ask_sign_out(self) -> None:
        self.delete_data_check.setChecked(False)
        self.sign_out_confirm.ask("Sign out of this account?", self.sign_out_text, "Sign out")

    def _sign_out_answered(self, yes: bool) -> None:
        if yes:
            # Asked once: the window closes; a second click must not ask again meanwhile.
            self.sign_out_button.setEnabled(False)
            self.replace_button.setEnabled(False)
            self.relay_button.setEnabled(False)
            self.signOutRequested.emit(self.delete_data_check.isChecked())

    def show_account(self, view: AccountView) -> None:
        self.status.setText(view.status)
        self.warning = view.warning
        self.icon.setVisible(view.warning)
        self.status.setAccessibleDescription("Warning" if view.warning else "")
        self.sign_out_text = view.sign_out_text
        if view.demo:
            self.replace_button.setText("Connect my account…")
            self.replace_button.setAccessibleName("Connect my account")
        elif view.relay:
            self.caption.setText("Team relay")
            self.replace_button.setText("Use an API token instead…")
            self.replace_button.setAccessibleName("Use an API token instead")
            self.replace_button.setToolTip(
                "Connect with the account's API token, without the relay"
            )
            self.relay_button.setText("Replace relay credential…")
            self.relay_button.setAccessibleName("Replace relay credential")
            self.relay_button.setToolTip("Give the relay's address or your credential again")
        self.sign_out_button.setHidden(view.demo)


# -------------------------------------------------------------------------- the dialog


class PreferencesDialog(QDialog):
    """Preferences over `settings`. Show it with `show()` (or `open_page`).

    `set_users` fills "Which user are you?"; `show_account` says where the token is
    kept (`warning` for a plain-text file); Replace token… and Sign out… only ask
    (`replaceTokenRequested`, `signOutRequested`): the app does the work.
    """

    replaceTokenRequested = Signal()
    relayRequested = Signal()
    signOutRequested = Signal(bool)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setAccessibleName("Preferences")
        self.setWindowTitle("Preferences")
        self.setModal(False)
        self.setSizeGripEnabled(True)
        self.settings = settings
        self._following = False
        # Made first, so Tab goes from the pages list into the page, then to Close.
        self.page_list = QListView()

        self.account = AccountBlock()
        self.account.replaceTokenRequested.connect(self.replaceTokenRequested)
        self.account.relayRequested.connect(self.relayRequested)
        self.account.signOutRequested.connect(self.signOutRequested)

        self.pages: dict[Section, PreferencesPage] = {}
        self.stack = QStackedWidget()
        self.stack.setObjectName("preferencesStack")
        self.stack.setAccessibleName("Page")
        for section in Section:
            top = self.account if section is Section.ACCOUNT else None
            if not page_settings(section) and top is None:
                continue  # nothing to show: no empty page
            page = PreferencesPage(section, settings, top=top)
            self.pages[section] = page
            self.stack.addWidget(page)

        self.pages_model = PagesModel(tuple(self.pages), self)
        self.page_list.setObjectName("preferencesPages")
        self.page_list.setAccessibleName("Pages")
        self.page_list.setModel(self.pages_model)
        self.page_list.setItemDelegate(_RoomyDelegate(self.page_list))
        self.page_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.page_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.page_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.page_list.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.page_list.setFixedWidth(self._sidebar_width())
        self.page_list.selectionModel().currentRowChanged.connect(self._page_changed)
        self.page_list.setCurrentIndex(self.pages_model.index(0, 0))

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.setObjectName("preferencesButtons")
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("preferencesClose")
        close.setAccessibleName("Close")
        close.setAutoDefault(False)
        self.buttons.rejected.connect(self.close)

        body = QHBoxLayout()
        body.setSpacing(0)
        body.addWidget(self.page_list)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        for keys, step in (("Ctrl+PgDown", 1), ("Ctrl+PgUp", -1),
                           ("Ctrl+Tab", 1), ("Ctrl+Shift+Tab", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setObjectName(f"shortcutPage{'Next' if step > 0 else 'Previous'}")
            shortcut.activated.connect(lambda step=step: self._step_page(step))

        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(640, 440))
        self.apply_theme(DARK_COLORS if _is_dark(self.palette()) else LIGHT_COLORS)

    # -- the interface ------------------------------------------------------------------

    def set_users(self, users: Sequence[User]) -> None:
        """The account's users, for "Which user are you?"."""
        if self.me_picker is not None:
            self.me_picker.set_users(users)

    def show_account(self, view: AccountView) -> None:
        self.account.show_account(view)
        self._color_token_status()

    def open_page(self, section: Section) -> None:
        """Show (or raise) the dialog at `section`'s page."""
        if section in self.pages:
            row = tuple(self.pages).index(section)
            self.page_list.setCurrentIndex(self.pages_model.index(row, 0))
        self.present()

    def present(self) -> None:
        """Show the dialog (the keyboard in the pages list), or bring it to the front
        if it is open (the keyboard where it was)."""
        opening = not self.isVisible()
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        if opening:
            self.page_list.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    @property
    def me_picker(self) -> MePicker | None:
        page = self.pages.get(ME.section)
        field = page.field(ME.key) if page is not None else None
        return field.editor.widget if field is not None and isinstance(
            field.editor.widget, MePicker
        ) else None

    @property
    def country_combo(self) -> CountryCombo | None:
        page = self.pages.get(COUNTRY_CODE.section)
        field = page.field(COUNTRY_CODE.key) if page is not None else None
        return field.editor.widget if field is not None and isinstance(
            field.editor.widget, CountryCombo
        ) else None

    def field(self, key: str) -> SettingField | None:
        for page in self.pages.values():
            found = page.field(key)
            if found is not None:
                return found
        return None

    @property
    def current_section(self) -> Section:
        return tuple(self.pages)[self.stack.currentIndex()]

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        for page in self.pages.values():
            for field in page.fields:
                field.set_error_color(colors.missed_fg.name())
        self._color_token_status()

    # -- life ---------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self._follow()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():  # minimised is still open
            self._unfollow()

    def done(self, result: int) -> None:
        self._unfollow()
        super().done(result)

    def _follow(self) -> None:
        if self._following:
            return
        self._following = True
        for page in self.pages.values():
            page.follow()

    def _unfollow(self) -> None:
        if not self._following:
            return
        self._following = False
        for page in self.pages.values():
            page.unfollow()

    @property
    def following(self) -> bool:
        return self._following

    # -- inside -------------------------------------------------------------------------

    def _page_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.stack.setCurrentIndex(current.row())

    def _step_page(self, step: int) -> None:
        count = self.pages_model.rowCount()
        row = (self.page_list.currentIndex().row() + step) % count
        self.page_list.setCurrentIndex(self.pages_model.index(row, 0))

    def _sidebar_width(self) -> int:
        metrics = self.page_list.fontMetrics()
        widest = max(metrics.horizontalAdvance(s.value) for s in self.pages) if self.pages else 0
        return max(170, widest + 48)

    def _color_token_status(self) -> None:
        colors = getattr(self, "_colors", None)
        if colors is None:
            return
        self.account.status.setStyleSheet(
            f"color: {colors.missed_fg.name()};" if self.account.warning else ""
        )


def _is_dark(palette: QPalette) -> bool:
    color: QColor = palette.color(QPalette.ColorRole.Window)
    return color.lightness() < 128
