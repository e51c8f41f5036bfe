"""The Users directory against the emulated service (in-process): the table, search and
sort, every field rule beside its field, every server rejection with the dialog still open
and its text kept, edits that send only what changed, an unanswered save re-checked before
any retry, the receives-calls switch, call and copy; saves of two dialogs never cancel
each other, and an unexpected failure (a cache that refuses writes) never leaves a control
on "Saving…" or "Refreshing…"."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QMenu, QTableView, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.models import ContactType, User
from desktop_app.sandbox import BASIC_TOKEN, SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.sandbox.model import SandboxUser
from desktop_app.services.users import Permissions, UsersService
from desktop_app.store import CallStore, UserStore
from desktop_app.ui.users import panel as panel_module
from desktop_app.ui.users.dialog import CountryCodeBox, UserDialog
from desktop_app.ui.users.feature import bind
from desktop_app.ui.users.model import Column, UsersModel, UsersProxyModel
from desktop_app.ui.users.panel import UsersPanel
from desktop_app.ui.users.presenter import UserEditSession, UsersPresenter
from tests.helpers.qt import signal_future, wait_until
from tests.helpers.tokens import FAKE_TOKEN

TIMEOUT = 10.0
NEW_NUMBER = "98765 43219"
GHOST = User(uuid="gone-0000", name="Gone Away", country_code="91",
             contact_number="9876500001", number_e164="+919876500001", extension=88)


@pytest.fixture
def app() -> SandboxApp:
    return create_app(
        SandboxConfig(n_logs=20, rate_limit=None, tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8})
    )


@dataclass
class Rig:
    state: SandboxState
    service: UsersService
    presenter: UsersPresenter
    panel: UsersPanel
    #: The cache file the users list lives in (shared with the calls, as in the app).
    cache: CallStore

    def user(self, name: str) -> User:
        return next(u for u in self.service.users() if u.name == name)

    def names(self) -> list[str]:
        proxy = self.presenter.proxy
        return [proxy.index(r, Column.NAME).data() for r in range(proxy.rowCount())]

    def column(self, column: Column) -> list[str]:
        proxy = self.presenter.proxy
        return [proxy.index(r, column).data() for r in range(proxy.rowCount())]


@contextlib.asynccontextmanager
async def users_rig(
    qtbot: QtBot,
    app: SandboxApp,
    tmp_path: Path,
    *,
    token: str = FAKE_TOKEN,
    extra_cached: Iterable[User] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Rig]:
    """The panel over a refreshed cache (plus `extra_cached` users only the cache has)."""
    client = MyOperatorClient(
        token,
        base_url="http://sandbox",
        transport=transport if transport is not None else httpx.ASGITransport(app=app),
        budget=RequestBudget.unlimited(),
        retry=RetryPolicy(attempts=2, backoff_base_s=0.01, backoff_cap_s=0.02),
    )
    cache = CallStore.open(tmp_path / "cache.db")
    store = UserStore.sharing(cache)
    await UsersService(client, store).refresh()
    extra = tuple(extra_cached)
    if extra:
        store.replace_all([*store.all(), *extra])
    service = UsersService(client, store)
    presenter = UsersPresenter(service)
    panel = UsersPanel()
    bind(panel, presenter)
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    try:
        yield Rig(app.sandbox, service, presenter, panel, cache)
    finally:
        dialog = panel.dialog
        if dialog is not None:
            dialog.reject()
        await presenter.aclose()
        await client.aclose()
        cache.close()


def type_into(dialog: UserDialog, **values: str) -> None:
    """Replace fields' text the way a person would (select all, type)."""
    for field, text in values.items():
        widget = dialog.input(field)
        if isinstance(widget, CountryCodeBox):
            widget.setCurrentIndex(-1)
            widget.setEditText("")
            line = widget.lineEdit()
            assert line is not None
            QTest.keyClicks(line, text)
        elif isinstance(widget, QLineEdit):
            widget.selectAll()
            QTest.keyClick(widget, Qt.Key.Key_Delete)
            QTest.keyClicks(widget, text)
        else:
            raise AssertionError(f"{field} is not typed into")


def choose(dialog: UserDialog, field: str, value: object) -> None:
    box = dialog.input(field)
    assert isinstance(box, QComboBox)
    row = box.findData(value)
    assert row >= 0, (field, value)
    box.setCurrentIndex(row)


def save_confirmed(dialog: UserDialog) -> None:
    """Click Save, then the question's yes (an edit of another user is asked first)."""
    QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.confirm_bar.asking
    QTest.mouseClick(dialog.confirm_bar.yes_button, Qt.MouseButton.LeftButton)


async def saved_answer(rig: Rig, dialog: UserDialog) -> None:
    """Click Save (and yes, if asked) and wait until the dialog shows errors or a
    message, or closes."""
    QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    if dialog.confirm_bar.asking:
        QTest.mouseClick(dialog.confirm_bar.yes_button, Qt.MouseButton.LeftButton)
    await wait_until(
        lambda: rig.panel.dialog is None
        or (dialog.save_button.isEnabled() and bool(dialog.field_errors() or dialog.message))
        or dialog.recheck_button.isVisible(),
        TIMEOUT,
    )


def add_dialog(rig: Rig, **values: str) -> UserDialog:
    dialog = rig.panel.open_add_dialog()
    assert dialog.isVisible() and rig.panel.dialog is dialog
    type_into(dialog, **({"name": "Kavya Menon", "contact_number": NEW_NUMBER} | values))
    return dialog


# ------------------------------------------------------------------------ the table


async def test_the_model_passes_the_model_tester(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path, qtmodeltester: ModelTester
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        qtmodeltester.check(rig.presenter.model)
        qtmodeltester.check(rig.presenter.proxy)
        rig.presenter.set_search_text("sharma")
        qtmodeltester.check(rig.presenter.proxy)
    empty = UsersModel()
    qtmodeltester.check(empty)


async def test_the_table_shows_every_column(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        assert rig.panel.table.model() is rig.presenter.proxy
        assert rig.presenter.proxy.rowCount() == 12
        assert rig.panel.findChild(QLineEdit, "usersSearch") is rig.panel.search_box
        row = rig.names().index("Rohan Verma")
        assert [rig.presenter.proxy.index(row, c).data() for c in Column] == [
            "Rohan Verma", "12", "083189 32238", "rohan.verma@sandbox-traders.example",
            "Admin", "Yes", "Yes", "Mobile",
        ]
        vikram = rig.names().index("Vikram Chopra")
        assert rig.column(Column.PANEL_ACCESS)[vikram] == "No"
        assert rig.column(Column.CONTACT_TYPE)[rig.names().index("Ananya Nair")] == "SIP"
        deepa = rig.names().index("Deepa Patel")
        assert rig.column(Column.RECEIVES_CALLS)[deepa] == "No"
        sid = rig.names().index("Siddharth Sharma")
        assert "disabled" in rig.presenter.proxy.index(sid, Column.NAME).data(
            Qt.ItemDataRole.AccessibleTextRole
        )
        assert rig.panel.objectName() == "usersPanel"
        assert rig.panel.table.accessibleName() == "Users"


async def test_search_filters_instantly_without_a_request(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        before = len(rig.state.requests)
        assert rig.panel.findChild(QTableView, "usersTable") is rig.panel.table
        search = rig.panel.search_box
        for typed, expected in [
            ("kulk", ["Arjun Kulkarni", "Imran Kulkarni"]),  # name fragment
            ("ROHAN.V", ["Rohan Verma"]),  # email fragment
            ("83189-32", ["Rohan Verma"]),  # number digits, typed with a dash
            ("090256", ["Aarav Menon"]),  # with the trunk 0
            ("+91 87484", ["Vikram Chopra"]),
            ("sharma 22", ["Siddharth Sharma"]),  # name and extension
            ("nobody here", []),
        ]:
            search.clear()
            QTest.keyClicks(search, typed)
            assert rig.names() == expected, typed
        assert "of 12 users" in rig.presenter.count_text
        search.clear()
        assert len(rig.names()) == 12 and rig.presenter.count_text == "12 users"
        assert len(rig.state.requests) == before


async def test_a_selected_user_hidden_by_the_search_is_deselected(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        assert rig.panel.select_user(rig.user("Rohan Verma").uuid)
        QTest.keyClicks(rig.panel.search_box, "sharma")
        assert rig.panel.current_user() is None
        assert not rig.panel.button("call").isEnabled()
        rig.panel.search_box.clear()
        assert rig.panel.select_user(rig.user("Aditya Sharma").uuid)
        QTest.keyClicks(rig.panel.search_box, "sharma")
        assert rig.panel.current_user() == rig.user("Aditya Sharma")


async def test_sort_by_any_column(qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        table = rig.panel.table
        header = table.horizontalHeader()
        # A click on the "Ext." header sorts numerically.
        x = header.sectionViewportPosition(Column.EXTENSION) + 5
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
        extensions = [int(e) for e in rig.column(Column.EXTENSION)]
        assert extensions in (sorted(extensions), sorted(extensions, reverse=True))
        table.sortByColumn(Column.EXTENSION, Qt.SortOrder.DescendingOrder)
        assert [int(e) for e in rig.column(Column.EXTENSION)] == list(range(22, 10, -1))
        table.sortByColumn(Column.ROLE, Qt.SortOrder.AscendingOrder)
        assert rig.column(Column.ROLE)[:5] == ["SuperAdmin", "Admin", "Admin", "Manager", "Basic"]
        admins = rig.names()[1:3]
        assert admins == sorted(admins)  # ties by name
        table.sortByColumn(Column.RECEIVES_CALLS, Qt.SortOrder.DescendingOrder)
        assert rig.column(Column.RECEIVES_CALLS)[:2] == ["No", "No"]
        for column in Column:
            table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
            keys = [rig.presenter.proxy.index(r, column).data(Qt.ItemDataRole.UserRole + 2)
                    for r in range(12)]
            assert keys == sorted(keys), column.name
        table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        assert rig.names() == sorted(rig.names(), key=str.casefold)
        # Sorting keeps the search.
        QTest.keyClicks(rig.panel.search_box, "kulkarni")
        table.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
        assert rig.names() == ["Imran Kulkarni", "Arjun Kulkarni"]


# --------------------------------------------------------- the panel, unbound


def lone_panel(qtbot: QtBot, *users: User, show: bool = True) -> UsersPanel:
    """A panel over a plain model of `users`: no presenter, nothing bound."""
    model = UsersModel()
    model.set_users(users)
    proxy = UsersProxyModel()
    proxy.setSourceModel(model)
    panel = UsersPanel()
    qtbot.addWidget(panel)
    model.setParent(panel)
    proxy.setParent(panel)
    panel.attach_model(proxy)
    if show:
        panel.show()
    return panel


async def test_the_panel_alone_forwards_what_the_person_does_with_the_users_uuid(
    qtbot: QtBot,
) -> None:
    panel = lone_panel(qtbot, GHOST, replace(GHOST, uuid="other-0001", name="Other One"))
    assert "presenter" not in vars(panel_module) and "UsersPresenter" not in vars(panel_module)
    seen: list[tuple[str, tuple[object, ...]]] = []
    for name in ("refreshRequested", "addRequested", "editRequested", "callRequested",
                 "copyRequested", "receivesCallsRequested", "searchTextChanged",
                 "thisIsMeRequested"):
        getattr(panel, name).connect(lambda *args, name=name: seen.append((name, args)))
    assert panel.table.model().rowCount() == 2
    assert not panel.button("call").isEnabled()  # nobody selected: nothing to forward
    assert panel.select_user(GHOST.uuid)
    for button in ("refresh", "add", "edit", "call", "copy", "receives"):
        assert panel.button(button).isEnabled(), button
        QTest.mouseClick(panel.button(button), Qt.MouseButton.LeftButton)
    panel._this_is_me()
    panel.table.activated.emit(panel.table.currentIndex())  # Enter or a double-click
    QTest.keyClicks(panel.search_box, "g")
    assert seen == [
        ("refreshRequested", ()),
        ("addRequested", ()),
        ("editRequested", (GHOST.uuid,)),
        ("callRequested", (GHOST.uuid,)),
        ("copyRequested", (GHOST.uuid,)),
        ("receivesCallsRequested", (GHOST.uuid, not GHOST.receives_calls)),
        ("thisIsMeRequested", (GHOST.uuid,)),
        ("editRequested", (GHOST.uuid,)),
        ("searchTextChanged", ("g",)),
    ]
    # Unbound, nothing answers: no dialog, and the switch shows the saved state.
    assert panel.dialog is None and panel.open_add_dialog() is None
    assert panel.button("receives").isChecked() is bool(GHOST.receives_calls)


async def test_the_panel_alone_shows_what_it_is_given(qtbot: QtBot) -> None:
    panel = lone_panel(qtbot, GHOST)
    assert panel.select_user(GHOST.uuid)
    add, edit, receives = (panel.button(n) for n in ("add", "edit", "receives"))
    assert add.isEnabled() and edit.isEnabled() and receives.isEnabled()

    panel.set_pending(frozenset({GHOST.uuid}))
    assert not receives.isEnabled() and receives.toolTip() == "Saving…"
    assert edit.isEnabled()
    panel.set_pending(frozenset({"someone-else"}))
    assert receives.isEnabled() and receives.toolTip() != "Saving…"

    panel.set_permissions(Permissions(may_add=False, add_reason="Only admins add users.",
                                      may_edit=False, edit_reason="Only admins edit."))
    assert not add.isEnabled() and add.toolTip() == "Only admins add users."
    assert not edit.isEnabled() and edit.toolTip() == "Only admins edit."
    assert not receives.isEnabled() and receives.toolTip() == "Only admins edit."
    panel.set_permissions(Permissions())
    assert add.isEnabled() and edit.isEnabled() and receives.isEnabled()

    panel.set_refreshing(True)
    assert not panel.button("refresh").isEnabled()
    panel.set_refreshing(False)
    assert panel.button("refresh").isEnabled()
    for setter, label in ((panel.set_status_text, "usersStatus"),
                          (panel.set_count_text, "usersCount"),
                          (panel.set_me_text, "usersMe")):
        setter(f"text of {label}")
        widget = panel.findChild(QLabel, label)
        assert widget is not None and widget.text() == f"text of {label}"


async def test_each_session_the_presenter_starts_gets_one_window_modal_dialog(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        sessions: list[UserEditSession] = []
        rig.presenter.sessionStarted.connect(sessions.append)
        assert rig.presenter.start_edit("no-such-uuid") is None
        assert sessions == [] and rig.panel.dialog is None

        dialog = await edit_dialog(rig, "Rohan Verma")
        assert [s.original for s in sessions] == [rig.user("Rohan Verma")]
        assert sessions[0] is session_of(rig, "Rohan Verma")
        assert dialog.parent() is rig.panel and dialog.isVisible()
        assert dialog.windowModality() == Qt.WindowModality.WindowModal
        assert dialog.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        closed = signal_future(dialog.finished)
        dialog.reject()
        assert await asyncio.wait_for(closed, TIMEOUT) == (0,)
        assert rig.panel.dialog is None

        added = rig.panel.open_add_dialog()
        assert added is not None and added is rig.panel.dialog and added.original is None
        assert len(sessions) == 2 and sessions[1].original is None


# ------------------------------------------------------------------- field rules


FIELD_RULES = [
    ("name", {"name": ""}, "Enter the user's name"),
    ("contact_number", {"contact_number": ""}, "Enter the contact number"),
    ("contact_number", {"contact_number": "12345"}, "not a valid phone number"),
    ("contact_number", {"contact_number": "98765-abc-19"}, "not a phone number"),
    ("contact_number", {"contact_number": "+91 90256 49588"}, "Aarav Menon already has"),
    ("contact_number", {"contact_number": "090256-49588"}, "Aarav Menon already has"),
    ("country_code", {"country_code": "0471"}, "state or area code"),
    ("country_code", {"country_code": ""}, "country dialling code"),
    ("country_code", {"country_code": "999"}, "not a country dialling code"),
    ("extension", {"extension": "ten"}, "from 11 to 99"),
    ("extension", {"extension": "5"}, "from 11 to 99"),
    ("extension", {"extension": "100"}, "from 11 to 99"),
    ("extension", {"extension": "12"}, "Rohan Verma"),
    ("email", {"email": "kavya@"}, "not an email address"),
    ("email", {"email": "kavya example.com"}, "not an email address"),
    ("alternate_cc", {"alternate_contact_number": "98765 01234"}, "country code"),
    ("alternate_cc", {"alternate_contact_number": "98765 01234", "alternate_cc": "0471"},
     "state or area code"),
    ("alternate_contact_number", {"alternate_contact_number": "123", "alternate_cc": "91"},
     "not a valid phone number"),
]


@pytest.mark.parametrize(
    ("field", "typed", "says"), FIELD_RULES, ids=[f"{r[0]}-{i}" for i, r in enumerate(FIELD_RULES)]
)
async def test_each_field_rule_shows_beside_its_field_before_sending(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path, field: str, typed: dict[str, str], says: str
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = add_dialog(rig, **typed)
        form = dialog.form()
        await saved_answer(rig, dialog)
        assert rig.panel.dialog is dialog and dialog.isVisible()
        assert list(dialog.field_errors()) == [field]
        assert says in dialog.field_error(field)
        error_label = dialog.findChild(QLabel, f"userDialogError_{field}")
        assert error_label is not None and error_label.isVisible()
        assert dialog.input(field).accessibleDescription() == dialog.field_error(field)
        assert dialog.form() == form  # everything typed is still there
        assert rig.state.requests_to("/user", "POST") == []
        # Editing the field clears its error.
        widget = dialog.input(field)
        target = widget.lineEdit() if isinstance(widget, QComboBox) else widget
        assert isinstance(target, QLineEdit)
        QTest.keyClicks(target, "9")
        assert dialog.field_error(field) == ""


async def test_all_wrong_fields_show_at_once_and_the_first_takes_focus(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = add_dialog(rig, name="", contact_number="1", extension="x", email="@")
        await saved_answer(rig, dialog)
        assert list(dialog.field_errors()) == ["name", "contact_number", "extension", "email"]
        assert dialog.focusWidget() is dialog.input("name")


async def test_choices_are_choices(qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = rig.panel.open_add_dialog()
        for field, values in (
            ("panel_access", [True, False]),
            ("receive_calls", [True, False]),
            ("contact_type", ["mobile", "sip", "landline"]),
        ):
            box = dialog.input(field)
            assert isinstance(box, QComboBox) and not box.isEditable()
            assert [box.itemData(i) for i in range(box.count())] == values
        cc = dialog.input("country_code")
        assert isinstance(cc, CountryCodeBox) and cc.currentText() == "India (+91)"
        assert cc.code_text() == "91"
        cc.set_code("44")
        assert cc.currentText() == "United Kingdom (+44)" and cc.code_text() == "44"
        cc.setEditText("+1")
        assert cc.code_text() == "+1"
        for name in ("userDialogName", "userDialogContactNumber", "userDialogExtension",
                     "userDialogEmail", "userDialogAlternateNumber",
                     "userDialogAlternateCountryCode", "userDialogPanelAccess",
                     "userDialogReceiveCalls", "userDialogContactType", "userDialogSave"):
            widget = dialog.findChild(QWidget, name)
            assert widget is not None and widget.accessibleName(), name


# ------------------------------------------------------------------------------- add


async def test_add_sends_every_field_and_closes(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = add_dialog(rig, extension="77", email="kavya@example.com",
                            alternate_contact_number="+44 20 7946 0958")
        choose(dialog, "panel_access", False)
        choose(dialog, "receive_calls", False)
        choose(dialog, "contact_type", "landline")
        closed = signal_future(dialog.finished)
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(closed, TIMEOUT) == (1,)
        assert rig.state.requests_to("/user", "POST")[-1].params == {
            "name": "Kavya Menon", "contact_number": "9876543219", "country_code": "91",
            "extension": "77", "email": "kavya@example.com",
            "alternate_contact_number": "2079460958", "alternate_cc": "44",
            "panel_access": "2", "receive_calls": "2", "contact_type": "landline",
        }
        assert "Kavya Menon" in rig.names()
        assert rig.presenter.status_text == "Added Kavya Menon."
        status = rig.panel.findChild(QLabel, "usersStatus")
        assert status is not None and status.text() == "Added Kavya Menon."


async def _rejected(rig: Rig, dialog: UserDialog) -> None:
    form = dialog.form()
    await saved_answer(rig, dialog)
    assert rig.panel.dialog is dialog and dialog.isVisible()
    assert dialog.form() == form
    assert dialog.save_button.isEnabled()


async def test_server_rejects_a_contact_number_taken_meanwhile(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        # Someone else adds a user with this number after our list was read.
        rig.state.add_user({"name": "Elsewhere", "contact_number": "9876543219",
                            "country_code": "91"})
        dialog = add_dialog(rig)
        await _rejected(rig, dialog)
        assert list(dialog.field_errors()) == ["contact_number"]
        assert "already assigned" in dialog.field_error("contact_number")
        post = rig.state.requests_to("/user", "POST")[-1]
        assert post.processed and post.status == 200  # the live quirk: HTTP 200, error body


async def test_server_rejects_an_extension_taken_meanwhile(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.add_user({"name": "Elsewhere", "contact_number": "9876501234",
                            "country_code": "91", "extension": "77"})
        dialog = add_dialog(rig, extension="77")
        await _rejected(rig, dialog)
        assert list(dialog.field_errors()) == ["extension"]
        assert "already assigned" in dialog.field_error("extension")


async def test_server_rejects_a_duplicate_email(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = add_dialog(rig, email="Rohan.Verma@sandbox-traders.example")
        await _rejected(rig, dialog)
        assert list(dialog.field_errors()) == ["email"]


async def test_permission_denied_is_plain_and_then_add_is_disabled(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path, token=BASIC_TOKEN) as rig:
        add = rig.panel.button("add")
        assert add.isEnabled()  # nobody has said who "me" is: the server decides
        dialog = add_dialog(rig)
        await _rejected(rig, dialog)
        assert dialog.field_errors() == {}
        assert "not allowed" in dialog.message and "nothing was saved" in dialog.message
        assert not add.isEnabled()
        assert "only SuperAdmin and Admin" in add.toolTip()


async def test_my_role_decides_whether_add_is_offered(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        add = rig.panel.button("add")
        me = rig.panel.findChild(QLabel, "usersMe")
        assert me is not None
        assert add.isEnabled() and me.text() == "You: not chosen"
        rig.panel.select_user(rig.user("Kavya Rao").uuid)
        rig.panel._this_is_me()
        assert not add.isEnabled()
        assert "Basic" in add.toolTip() and "Kavya Rao" in add.toolTip()
        assert me.text() == "You: Kavya Rao (Basic)"
        rig.presenter.set_my_uuid(rig.user("Rohan Verma").uuid)
        assert add.isEnabled() and add.toolTip() == "Add a user to the account"


# ------------------------------------------------------------------------------ edit


async def edit_dialog(rig: Rig, name: str) -> UserDialog:
    assert rig.panel.select_user(rig.user(name).uuid)
    QTest.mouseClick(rig.panel.button("edit"), Qt.MouseButton.LeftButton)
    dialog = rig.panel.dialog
    assert dialog is not None and dialog.original == rig.user(name)
    return dialog


async def test_edit_sends_only_the_changed_fields(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rohan = rig.user("Rohan Verma")
        dialog = await edit_dialog(rig, "Rohan Verma")
        assert dialog.form().contact_number == "8318932238"
        type_into(dialog, name="Rohan V. Verma", contact_number="+91 83189-32238")
        choose(dialog, "contact_type", ContactType.SIP.value)
        closed = signal_future(dialog.finished)
        save_confirmed(dialog)
        await asyncio.wait_for(closed, TIMEOUT)
        puts = rig.state.requests_to("/user", "PUT")
        assert len(puts) == 1
        assert puts[-1].params == {
            "uuid": rohan.uuid, "name": "Rohan V. Verma", "contact_type": "sip",
        }
        assert "Rohan V. Verma" in rig.names()
        assert rig.panel.current_user() == rig.user("Rohan V. Verma")  # still selected


async def test_edit_with_a_new_number_sends_its_country_code(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rohan = rig.user("Rohan Verma")
        dialog = await edit_dialog(rig, "Rohan Verma")
        type_into(dialog, contact_number="020 7946 0958", country_code="United Kingdom (+44)")
        closed = signal_future(dialog.finished)
        save_confirmed(dialog)
        await asyncio.wait_for(closed, TIMEOUT)
        assert rig.state.requests_to("/user", "PUT")[-1].params == {
            "uuid": rohan.uuid, "contact_number": "2079460958", "country_code": "44",
        }


async def test_edit_without_changes_sends_nothing(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = await edit_dialog(rig, "Rohan Verma")
        closed = signal_future(dialog.finished)
        QTest.keyClick(dialog.input("name"), Qt.Key.Key_Return)  # Enter saves
        await asyncio.wait_for(closed, TIMEOUT)
        assert rig.state.requests_to("/user", "PUT") == []
        assert rig.presenter.status_text == "Nothing changed."


@pytest.mark.parametrize("field", ["extension", "email", "alternate_contact_number"])
async def test_edit_cannot_empty_a_field_the_api_cannot_clear(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path, field: str
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = await edit_dialog(rig, "Rohan Verma")
        type_into(dialog, **{field: ""})
        await _rejected(rig, dialog)
        assert list(dialog.field_errors()) == [field]
        assert "cannot be removed" in dialog.field_error(field)
        assert rig.state.requests_to("/user", "PUT") == []


async def test_edit_of_a_user_gone_from_the_server_is_plain_and_refreshes(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path, extra_cached=[GHOST]) as rig:
        assert "Gone Away" in rig.names()
        dialog = await edit_dialog(rig, "Gone Away")
        type_into(dialog, name="Still Here?")
        await _rejected(rig, dialog)
        assert "no longer in MyOperator's list" in dialog.message
        assert dialog.field_errors() == {}
        assert "Gone Away" not in rig.names()
        assert dialog.input("name").property("text") == "Still Here?"


async def test_a_basic_token_may_not_edit(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path, token=BASIC_TOKEN) as rig:
        dialog = await edit_dialog(rig, "Rohan Verma")
        type_into(dialog, name="Nope")
        await _rejected(rig, dialog)
        assert "not allowed" in dialog.message
        dialog.reject()
        await wait_until(lambda: rig.panel.dialog is None)
        assert not rig.panel.button("edit").isEnabled()
        assert not rig.panel.button("receives").isEnabled()
        assert rig.panel.button("edit").toolTip()


# ----------------------------------------------------------------- unknown outcome


async def test_an_unanswered_edit_is_rechecked_and_shown_applied(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.faults.add("503:path=/user,method=PUT,after=1,count=1")
        dialog = await edit_dialog(rig, "Rohan Verma")
        type_into(dialog, name="Rohan Two")
        messages: list[str] = []
        rig.presenter.statusTextChanged.connect(messages.append)
        closed = signal_future(dialog.finished)
        save_confirmed(dialog)
        assert await asyncio.wait_for(closed, TIMEOUT) == (1,)
        assert any("no clear answer" in m for m in messages)
        assert "It was saved" in rig.presenter.status_text
        assert len(rig.state.requests_to("/user", "PUT")) == 1  # never resent
        assert "Rohan Two" in rig.names()


async def test_an_unanswered_edit_that_did_not_arrive_offers_the_retry(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.faults.add("503:path=/user,method=PUT,count=1")  # refused unprocessed
        dialog = await edit_dialog(rig, "Rohan Verma")
        type_into(dialog, name="Rohan Two")
        await _rejected(rig, dialog)
        assert "It was not saved" in dialog.message and "save again" in dialog.message
        assert not dialog.recheck_button.isVisible()
        closed = signal_future(dialog.finished)
        save_confirmed(dialog)  # the retry
        await asyncio.wait_for(closed, TIMEOUT)
        assert len(rig.state.requests_to("/user", "PUT")) == 2
        assert "Rohan Two" in rig.names()


async def test_an_unclear_recheck_keeps_save_off_until_checked_again(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.faults.add("503:path=/user,method=POST,after=1,count=1")
        reads = rig.state.faults.add("503:path=/user,method=GET")
        dialog = add_dialog(rig)
        await saved_answer(rig, dialog)
        assert dialog.recheck_button.isVisible() and dialog.recheck_button.isEnabled()
        assert not dialog.save_button.isEnabled()
        assert "Could not check" in dialog.message
        assert dialog.form().name == "Kavya Menon"
        rig.state.faults.remove(reads)
        closed = signal_future(dialog.finished)
        QTest.mouseClick(dialog.recheck_button, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(closed, TIMEOUT)
        assert len(rig.state.requests_to("/user", "POST")) == 1
        assert "Kavya Menon" in rig.names()


# --------------------------------------------------------- call, copy, receives calls


async def test_receives_calls_switch(qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        deepa = rig.user("Deepa Patel")
        assert rig.panel.select_user(deepa.uuid)
        switch = rig.panel.button("receives")
        assert switch.isEnabled() and not switch.isChecked()
        done = signal_future(rig.presenter.pendingChanged)
        QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
        assert rig.panel.confirm_bar.asking  # nobody is "me": Deepa is someone else
        QTest.mouseClick(rig.panel.confirm_bar.yes_button, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(done, TIMEOUT)  # started
        assert not switch.isEnabled()
        await wait_until(lambda: not rig.presenter.is_pending(deepa.uuid))
        assert rig.state.requests_to("/user", "PUT")[-1].params == {
            "uuid": deepa.uuid, "receive_calls": "1",
        }
        assert rig.presenter.status_text == "Deepa Patel now receives calls."
        row = rig.names().index("Deepa Patel")
        assert rig.column(Column.RECEIVES_CALLS)[row] == "Yes"
        assert switch.isChecked() and switch.isEnabled()
        assert rig.panel.current_user() == rig.user("Deepa Patel")


async def test_an_unanswered_switch_is_rechecked(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.faults.add("503:path=/user,method=PUT,after=1,count=1")
        rohan = rig.user("Rohan Verma")
        rig.presenter.set_receives_calls(rohan.uuid, False)
        rig.presenter.answer(True)
        await wait_until(lambda: not rig.presenter.is_pending(rohan.uuid))
        assert rig.presenter.status_text == "Rohan Verma no longer receives calls."
        assert len(rig.state.requests_to("/user", "PUT")) == 1
        assert rig.user("Rohan Verma").receives_calls is False


async def test_call_and_copy_number(qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        assert not rig.panel.button("call").isEnabled()
        assert rig.panel.select_user(rig.user("Rohan Verma").uuid)
        calls = signal_future(rig.presenter.callRequested)
        QTest.mouseClick(rig.panel.button("call"), Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(calls, TIMEOUT) == ("+918318932238",)
        copied = signal_future(rig.presenter.numberCopied)
        QTest.mouseClick(rig.panel.button("copy"), Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(copied, TIMEOUT) == ("+918318932238",)
        assert QGuiApplication.clipboard().text() == "+918318932238"
        assert rig.state.requests_to("/clickOcall") == []  # the dialer places calls


async def test_refresh_on_demand_and_its_failure(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.add_user({"name": "New Colleague", "contact_number": "9876501111",
                            "country_code": "91"})
        assert "New Colleague" not in rig.names()
        QTest.mouseClick(rig.panel.button("refresh"), Qt.MouseButton.LeftButton)
        await wait_until(lambda: "New Colleague" in rig.names())
        await wait_until(lambda: not rig.presenter.refreshing)
        assert rig.presenter.status_text == "Users refreshed: 13."
        fault = rig.state.faults.add("503:path=/user,method=GET")
        rig.presenter.refresh()
        await wait_until(lambda: "Could not refresh" in rig.presenter.status_text)
        rig.state.faults.remove(fault)
        assert len(rig.names()) == 13  # the cached list stays


# ------------------------------------------------- nothing cancelled, nothing stuck


class HeldPuts(httpx.AsyncBaseTransport):
    """The in-process service with every PUT held until `release`: a save stays on its
    way for as long as a test needs, with no timing involved."""

    def __init__(self, app: SandboxApp) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._gate = asyncio.Event()
        #: One item per PUT that reached the transport (and is held there).
        self.arrived: asyncio.Queue[None] = asyncio.Queue()

    def release(self) -> None:
        self._gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.arrived.put_nowait(None)
            await self._gate.wait()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def session_of(rig: Rig, name: str) -> UserEditSession:
    sessions = [
        s for s in rig.presenter.findChildren(UserEditSession)
        if s.original is not None and s.original.name == name
    ]
    assert len(sessions) == 1
    return sessions[0]


async def test_a_save_from_a_new_dialog_does_not_cancel_one_still_on_its_way(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    """Both saves ran as "users-save": the second cancelled the first PUT (its outcome
    never checked, its session busy for good)."""
    transport = HeldPuts(app)
    async with users_rig(qtbot, app, tmp_path, transport=transport) as rig:
        first = await edit_dialog(rig, "Rohan Verma")
        first_session = session_of(rig, "Rohan Verma")
        type_into(first, name="Rohan Two")
        first_saved = signal_future(first_session.succeeded)
        save_confirmed(first)
        await asyncio.wait_for(transport.arrived.get(), TIMEOUT)
        first.reject()  # closed while its save is on its way

        second = await edit_dialog(rig, "Deepa Patel")
        type_into(second, name="Deepa Two")
        second_closed = signal_future(second.finished)
        save_confirmed(second)
        await asyncio.wait_for(transport.arrived.get(), TIMEOUT)
        transport.release()

        await asyncio.wait_for(first_saved, TIMEOUT)  # its session heard the answer
        assert not first_session.busy
        assert await asyncio.wait_for(second_closed, TIMEOUT) == (1,)
        assert [r.params.get("name") for r in rig.state.requests_to("/user", "PUT")] == [
            "Rohan Two", "Deepa Two",
        ]
        assert {"Rohan Two", "Deepa Two"} <= set(rig.names())


async def test_an_unexpected_failure_of_a_save_frees_the_dialog_and_keeps_the_form(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    """The cache refuses the write after the PUT (the list's refresh): the dialog stayed
    on "Saving…" for good. Whether it was saved is not known to the dialog: it says so."""
    async with users_rig(qtbot, app, tmp_path) as rig:
        dialog = await edit_dialog(rig, "Rohan Verma")
        session = session_of(rig, "Rohan Verma")
        type_into(dialog, name="Rohan Two")
        form = dialog.form()
        rig.cache.connection.execute("PRAGMA query_only = ON")  # a real refusal to write
        answered = signal_future(session.messageChanged)
        save_confirmed(dialog)
        text, kind = await asyncio.wait_for(answered, TIMEOUT)
        assert (text, kind) == (
            "Check the list before saving again: it may or may not have been saved (the "
            "call cache could not be used: attempt to write a readonly database).",
            "warning",
        )
        assert dialog.message == text and not session.busy
        assert dialog.isVisible() and dialog.form() == form  # what was typed is kept
        assert dialog.save_button.isEnabled()
        assert rig.presenter.status_text == text


async def test_an_unexpected_failure_of_a_refresh_is_on_the_panels_line(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.cache.connection.execute("PRAGMA query_only = ON")
        statuses: list[str] = []
        rig.presenter.statusTextChanged.connect(statuses.append)
        failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_status(text: str) -> None:
            if text.startswith("Could not") and not failed.done():
                failed.set_result(text)

        rig.presenter.statusTextChanged.connect(on_status)
        rig.presenter.refresh()
        assert await asyncio.wait_for(failed, TIMEOUT) == (
            "Could not refresh the users: The call cache could not be used: attempt to "
            "write a readonly database."
        )
        assert statuses == ["Refreshing the users…", failed.result()]
        status = rig.panel.findChild(QLabel, "usersStatus")
        assert status is not None and status.text() == rig.presenter.status_text
        assert not rig.presenter.refreshing and rig.panel.button("refresh").isEnabled()
        assert len(rig.names()) == 12  # the cached list stays


async def test_a_recheck_that_fails_unexpectedly_offers_check_again_not_save(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    """No clear answer to the add, then the re-check's list cannot be stored: still
    unknown, so Save stays off (it could add the user twice) and Check again is offered."""
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.state.faults.add("503:path=/user,method=POST,after=1,count=1")
        dialog = add_dialog(rig)
        rig.cache.connection.execute("PRAGMA query_only = ON")
        await saved_answer(rig, dialog)
        assert dialog.message.startswith("Check again before saving again: it could not be")
        assert dialog.recheck_button.isVisible() and dialog.recheck_button.isEnabled()
        assert not dialog.save_button.isEnabled()
        assert dialog.form().name == "Kavya Menon"

        rig.cache.connection.execute("PRAGMA query_only = OFF")
        closed = signal_future(dialog.finished)
        QTest.mouseClick(dialog.recheck_button, Qt.MouseButton.LeftButton)
        assert await asyncio.wait_for(closed, TIMEOUT) == (1,)
        assert len(rig.state.requests_to("/user", "POST")) == 1  # never resent


async def test_a_switch_that_fails_unexpectedly_says_so_and_works_again(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        deepa = rig.user("Deepa Patel")
        rig.cache.connection.execute("PRAGMA query_only = ON")
        rig.presenter.set_receives_calls(deepa.uuid, True)
        rig.presenter.answer(True)
        assert rig.presenter.is_pending(deepa.uuid)
        finished = signal_future(rig.presenter.pendingChanged)  # the next one: it ended
        failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_status(text: str) -> None:
            if text.startswith("Check the list") and not failed.done():
                failed.set_result(text)

        rig.presenter.statusTextChanged.connect(on_status)
        assert "may or may not have been saved" in await asyncio.wait_for(failed, TIMEOUT)
        await asyncio.wait_for(finished, TIMEOUT)
        assert not rig.presenter.is_pending(deepa.uuid)


# ------------------------------------------ permissions as the account has them (issue 10)


OTHERS = "Only an admin can change other users; you are a Basic user."


def at_sandbox(rig: Rig, name: str) -> SandboxUser:
    """The user as the emulated service holds them."""
    user = rig.state.find_user(rig.user(name).uuid)
    assert user is not None
    return user


def context_menu_actions(rig: Rig, name: str) -> dict[str, QAction]:
    """The row's context menu (right-click), its actions by text."""
    row = rig.presenter.proxy.row_of(rig.user(name).uuid)
    rect = rig.panel.table.visualRect(rig.presenter.proxy.index(row, Column.NAME))
    rig.panel.table.customContextMenuRequested.emit(rect.center())
    menu = rig.panel.findChild(QMenu, "usersContextMenu")
    assert menu is not None
    actions = {a.text(): a for a in menu.actions() if a.text()}
    menu.close()
    return actions


async def test_a_basic_me_cannot_change_other_users(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    """Edit and Receives calls changed a colleague at once, although Add was blocked."""
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.presenter.set_my_uuid(rig.user("Kavya Rao").uuid)  # Basic
        assert rig.panel.select_user(rig.user("Rohan Verma").uuid)
        edit, switch = rig.panel.button("edit"), rig.panel.button("receives")
        assert not edit.isEnabled() and edit.toolTip() == OTHERS
        assert not switch.isEnabled() and switch.toolTip() == OTHERS
        actions = context_menu_actions(rig, "Rohan Verma")
        assert not actions["Edit…"].isEnabled() and actions["Edit…"].toolTip() == OTHERS
        assert not actions["Receives calls"].isEnabled()

        QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
        rig.panel.table.activated.emit(rig.panel.table.currentIndex())  # Enter, double-click
        rig.presenter.set_receives_calls(rig.user("Rohan Verma").uuid, False)  # not by-passed
        assert rig.presenter.start_edit(rig.user("Rohan Verma").uuid) is None
        assert rig.panel.dialog is None and not rig.panel.confirm_bar.asking
        assert rig.presenter.status_text == OTHERS
        assert rig.state.requests_to("/user", "PUT") == []


async def test_a_basic_me_still_switches_their_own_calls(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        kavya = rig.user("Kavya Rao")
        rig.presenter.set_my_uuid(kavya.uuid)
        assert rig.panel.select_user(kavya.uuid)
        edit, switch = rig.panel.button("edit"), rig.panel.button("receives")
        assert not edit.isEnabled()
        assert edit.toolTip() == (
            "Only an admin can change users' details; you are a Basic user. You can still "
            "switch your own calls on or off."
        )
        assert switch.isEnabled() and switch.isChecked()
        QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
        assert not rig.panel.confirm_bar.asking  # my own: nothing to ask
        await wait_until(lambda: rig.user("Kavya Rao").receives_calls is False)
        assert [r.params for r in rig.state.requests_to("/user", "PUT")] == [
            {"uuid": kavya.uuid, "receive_calls": "2"},
        ]
        assert at_sandbox(rig, "Kavya Rao").receive_calls == 2
        assert not rig.panel.button("undo").isVisible()


async def test_stopping_a_colleagues_calls_is_asked_and_cancel_sends_nothing(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.presenter.set_my_uuid(rig.user("Rohan Verma").uuid)  # Admin
        assert rig.panel.select_user(rig.user("Pooja Singh").uuid)
        switch, bar = rig.panel.button("receives"), rig.panel.confirm_bar
        assert switch.isEnabled() and switch.isChecked()
        QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
        assert bar.asking
        assert bar.title_label.text() == "Stop calls to Pooja Singh's phone?"
        assert "IVR calls will no longer ring Pooja Singh" in bar.text_label.text()
        assert bar.yes_button.text() == "Stop calls"
        assert rig.panel.focusWidget() is bar.yes_button
        assert switch.isChecked()  # shows what is saved, not what is asked

        QTest.mouseClick(bar.no_button, Qt.MouseButton.LeftButton)
        assert not bar.asking and rig.presenter.status_text == "Nothing was changed."
        QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
        assert bar.asking
        QTest.keyClick(bar.yes_button, Qt.Key.Key_Escape)  # Esc answers no too
        assert not bar.asking
        assert not rig.presenter.is_pending(rig.user("Pooja Singh").uuid)
        assert rig.presenter.tasks.names == []  # nothing on its way either
        assert rig.state.requests_to("/user", "PUT") == []
        assert at_sandbox(rig, "Pooja Singh").receive_calls == 1


async def test_a_colleagues_switch_confirmed_is_sent_and_undone(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.presenter.set_my_uuid(rig.user("Rohan Verma").uuid)
        pooja = rig.user("Pooja Singh")
        assert rig.panel.select_user(pooja.uuid)
        undo = rig.panel.button("undo")
        assert not undo.isVisible()
        QTest.mouseClick(rig.panel.button("receives"), Qt.MouseButton.LeftButton)
        QTest.mouseClick(rig.panel.confirm_bar.yes_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: undo.isVisible())
        assert rig.presenter.status_text == "Pooja Singh no longer receives calls."
        assert at_sandbox(rig, "Pooja Singh").receive_calls == 2
        assert undo.toolTip() == "Switch calls back on for Pooja Singh"

        QTest.mouseClick(undo, Qt.MouseButton.LeftButton)
        assert not undo.isVisible()
        await wait_until(lambda: rig.user("Pooja Singh").receives_calls is True)
        await wait_until(lambda: rig.presenter.status_text.startswith("Undone"))
        assert rig.presenter.status_text == "Undone: Pooja Singh receives calls again."
        assert at_sandbox(rig, "Pooja Singh").receive_calls == 1
        assert [r.params for r in rig.state.requests_to("/user", "PUT")] == [
            {"uuid": pooja.uuid, "receive_calls": "2"},
            {"uuid": pooja.uuid, "receive_calls": "1"},
        ]
        assert rig.column(Column.RECEIVES_CALLS)[rig.names().index("Pooja Singh")] == "Yes"


async def test_an_edit_of_a_colleague_is_asked_cancel_keeps_the_form_and_undo_restores(
    qtbot: QtBot, app: SandboxApp, tmp_path: Path
) -> None:
    async with users_rig(qtbot, app, tmp_path) as rig:
        rig.presenter.set_my_uuid(rig.user("Rohan Verma").uuid)
        pooja = rig.user("Pooja Singh")
        dialog = await edit_dialog(rig, "Pooja Singh")
        type_into(dialog, name="Pooja S. Singh", extension="45")
        typed = dialog.form()
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        bar = dialog.confirm_bar
        assert bar.asking and bar.title_label.text() == "Change Pooja Singh's details?"
        assert "Name: Pooja Singh → Pooja S. Singh" in bar.text_label.text()
        assert "Extension: 18 → 45" in bar.text_label.text()
        assert not dialog.save_button.isEnabled()

        QTest.mouseClick(bar.no_button, Qt.MouseButton.LeftButton)
        assert rig.panel.dialog is dialog and dialog.isVisible() and not bar.asking
        assert dialog.form() == typed  # nothing typed is lost
        assert dialog.save_button.isEnabled() and "Nothing was sent" in dialog.message
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert bar.asking
        dialog.reject()  # Cancel / Esc while asked: back to the form, not closed
        assert dialog.isVisible() and dialog.form() == typed
        assert rig.state.requests_to("/user", "PUT") == []

        closed = signal_future(dialog.finished)
        save_confirmed(dialog)
        assert await asyncio.wait_for(closed, TIMEOUT) == (1,)
        assert (at_sandbox(rig, "Pooja S. Singh").name, at_sandbox(rig, "Pooja S. Singh")
                .extension) == ("Pooja S. Singh", 45)
        undo = rig.panel.button("undo")
        assert undo.isVisible() and undo.toolTip() == "Put back Pooja Singh's previous details"
        QTest.mouseClick(undo, Qt.MouseButton.LeftButton)
        await wait_until(lambda: "Pooja Singh" in rig.names())
        sandbox = rig.state.find_user(pooja.uuid)
        assert sandbox is not None and (sandbox.name, sandbox.extension) == ("Pooja Singh", 18)
        assert rig.state.requests_to("/user", "PUT")[-1].params == {
            "uuid": pooja.uuid, "name": "Pooja Singh", "extension": "18",
        }


async def test_a_hidden_list_fits_its_columns_when_first_shown(qtbot: QtBot) -> None:
    """Measuring every cell costs tens of milliseconds: not for a list nobody sees."""
    long_name = replace(GHOST, name="Someone With A Remarkably Long Name Indeed")
    panel = lone_panel(qtbot, show=False)
    proxy = panel.table.model()
    assert isinstance(proxy, UsersProxyModel)
    model = proxy.sourceModel()
    assert isinstance(model, UsersModel)
    header = panel.table.horizontalHeader()
    narrow = header.sectionSize(Column.NAME)
    model.set_users([long_name])
    assert header.sectionSize(Column.NAME) == narrow  # hidden: not measured
    panel.show()
    assert header.sectionSize(Column.NAME) > narrow
    wide = header.sectionSize(Column.NAME)
    model.set_users([GHOST])  # shown: measured at once, as before
    assert header.sectionSize(Column.NAME) < wide
