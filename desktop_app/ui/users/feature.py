"""The users directory as a feature: the team's users, cached and searched locally."""

from __future__ import annotations

from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.users import UsersService
from desktop_app.store.users import UserStore
from desktop_app.ui.common.feature import Feature, Shared
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.users.panel import UsersPanel
from desktop_app.ui.users.presenter import UsersPresenter


class UsersFeature(Feature):
    def __init__(self, service: UsersService, presenter: UsersPresenter) -> None:
        super().__init__(presenter)
        self.service = service
        self.presenter = presenter
        self.panel = UsersPanel(presenter)

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        # The window's Ctrl+F serves the users list too (its own would make the key
        # ambiguous to Qt, which would then trigger neither).
        self.panel.find_shortcut.setEnabled(False)
        window.add_search_target(window.users_dock, self.panel.focus_search)

    def start(self) -> None:
        self.presenter.start()


def build(shared: Shared) -> UsersFeature:
    # "Me" is the workspace's: "This is me" here and "Remember as me" in the dialer agree.
    service = UsersService(shared.client, UserStore.sharing(shared.store), me=shared.me)
    return UsersFeature(service, UsersPresenter(service))
