"""The users directory as a feature: the team's users, cached and searched locally.

`bind` is the one place the panel and the presenter meet (the tests' rigs use it too):
the panel gets the presenter's table and state, the presenter gets the panel's requests,
and each edit session the presenter starts gets its dialog (`open_dialog`), opened over
the panel.
"""

from __future__ import annotations

from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.users import UsersService
from desktop_app.store.users import UserStore
from desktop_app.ui.common.feature import Feature, Shared, connect_all
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.users.dialog import UserDialog
from desktop_app.ui.users.panel import UsersPanel
from desktop_app.ui.users.presenter import UserEditSession, UsersPresenter


class UsersFeature(Feature):
    def __init__(
        self, service: UsersService, presenter: UsersPresenter, panel: UsersPanel
    ) -> None:
        super().__init__(presenter)
        self.service = service
        self.presenter = presenter
        self.panel = panel

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        # The window's Ctrl+F serves the users list too (its own would make the key
        # ambiguous to Qt, which would then trigger neither).
        self.panel.find_shortcut.setEnabled(False)
        window.add_search_target(
            window.users_dock, self.panel.focus_search, self.panel.clear_search
        )

    def start(self) -> None:
        self.presenter.start()


def bind(panel: UsersPanel, presenter: UsersPresenter) -> None:
    """Show `presenter` in `panel` and forward the panel's requests to it."""
    panel.attach_model(presenter.proxy)
    connect_all([
        (panel.refreshRequested, presenter.refresh),
        (panel.searchTextChanged, presenter.set_search_text),
        (panel.addRequested, presenter.start_add),
        (panel.editRequested, presenter.start_edit),
        (panel.callRequested, presenter.request_call),
        (panel.copyRequested, presenter.copy_number),
        (panel.receivesCallsRequested, presenter.set_receives_calls),
        (panel.thisIsMeRequested, presenter.set_my_uuid),
        (panel.confirmationAnswered, presenter.answer),
        (panel.undoRequested, presenter.undo),
        (presenter.statusTextChanged, panel.set_status_text),
        (presenter.countTextChanged, panel.set_count_text),
        (presenter.meTextChanged, panel.set_me_text),
        (presenter.permissionsChanged, panel.set_permissions),
        (presenter.pendingChanged, panel.set_pending),
        (presenter.refreshingChanged, panel.set_refreshing),
        (presenter.questionChanged, panel.set_question),
        (presenter.undoChanged, panel.set_undo),
        (presenter.sessionStarted, lambda session: open_dialog(panel, session)),
    ])
    panel.set_status_text(presenter.status_text)
    panel.set_count_text(presenter.count_text)
    panel.set_me_text(presenter.me_text)
    panel.set_permissions(presenter.permissions)
    panel.set_pending(presenter.pending)
    panel.set_refreshing(presenter.refreshing)
    panel.set_question(presenter.question)
    panel.set_undo(presenter.undo_text)


def open_dialog(panel: UsersPanel, session: UserEditSession) -> UserDialog:
    """The Add/Edit dialog of `session`, window-modal over `panel`: Save and "Check
    again" go to the session, its answers come back to the dialog, and the session is
    let go when the dialog closes (a save still on its way finishes first)."""
    dialog = UserDialog(session.original, panel)
    connect_all([
        (dialog.submitted, session.submit),
        (dialog.recheckRequested, session.recheck),
        (session.fieldErrors, dialog.show_field_errors),
        (session.messageChanged, dialog.show_message),
        (session.busyChanged, dialog.set_busy),
        (session.recheckAvailable, dialog.set_recheck_available),
        (session.succeeded, dialog.accept),
        (session.confirmationRequested, dialog.ask),
        (dialog.confirmationAnswered, session.answer),
        (dialog.finished, session.release),
    ])
    panel.open_dialog(dialog)
    return dialog


def build(shared: Shared) -> UsersFeature:
    # "Me" is the workspace's: "This is me" here and "Remember as me" in the dialer agree.
    service = UsersService(shared.client, UserStore.sharing(shared.store), me=shared.me)
    presenter = UsersPresenter(service)
    panel = UsersPanel()
    bind(panel, presenter)
    feature = UsersFeature(service, presenter, panel)
    feature.on_close(service.close)
    return feature
