"""The callback list as a feature: missed calls not yet called back, one row per number.

Its working hours and days (which calls count as "after hours") are the declared settings
`WORKING_HOURS` and `WORKING_DAYS`, followed live; a stored value that does not parse falls
back to the default, and the status bar says so.
"""

from __future__ import annotations

from desktop_app.services.settings import WORKING_DAYS, WORKING_HOURS, Settings
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.worklist import WorkingHours, Worklist
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.callbacks.panel import WorklistPanel
from desktop_app.ui.callbacks.presenter import WorklistPresenter
from desktop_app.ui.common.feature import Feature, Shared, connect_all, own
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.sync.feature import SyncFeature


def working_hours(settings: Settings) -> tuple[WorkingHours, str | None]:
    """The callback list's working hours from the settings; a stored value that does not
    parse falls back to the default, with a sentence saying why."""
    problems = [p for p in (settings.problem(WORKING_HOURS), settings.problem(WORKING_DAYS)) if p]
    try:
        hours = WorkingHours.parse(settings.get(WORKING_HOURS), settings.get(WORKING_DAYS))
    except ValueError as exc:  # the declarations check each; kept for safety
        hours, problems = WorkingHours(), [str(exc)]
    if problems:
        why = "; ".join(p.rstrip(".") for p in problems)
        return hours, f"Settings: {why}; using the default working hours."
    return hours, None


class CallbacksFeature(Feature):
    def __init__(
        self,
        model: WorklistModel,
        panel: WorklistPanel,
        presenter: WorklistPresenter,
        *,
        settings_problem: str | None,
    ) -> None:
        super().__init__(presenter)
        self.model = model
        self.panel = panel
        self.presenter = presenter
        self._settings_problem = settings_problem
        self._window: MainWindow | None = None

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        self._window = window
        own(window, self.model)
        if self._settings_problem:
            window.show_message(self._settings_problem)

    def follow_settings(self, settings: Settings) -> None:
        """A change of the working hours or days (Preferences) applies at once."""

        def apply(_value: str) -> None:
            hours, problem = working_hours(settings)
            self.presenter.set_hours(hours)
            self._settings_problem = problem
            if problem and self._window is not None:
                self._window.show_message(problem)

        self.on_close(settings.subscribe(WORKING_HOURS, apply))
        self.on_close(settings.subscribe(WORKING_DAYS, apply))

    def apply_theme(self, colors: ThemeColors) -> None:
        self.model.set_colors(colors)

    def start(self) -> None:
        self.presenter.start()

    async def aclose(self) -> None:
        self.presenter.stop()
        await super().aclose()


def build(shared: Shared, sync: SyncFeature) -> CallbacksFeature:
    hours, problem = working_hours(shared.settings)
    model = WorklistModel()
    panel = WorklistPanel()
    panel.attach_model(model)
    # A connection of its own: the refresh after a sync reads on a worker thread, and
    # must not hold the window's connection meanwhile.
    store = shared.store.sibling()
    presenter = WorklistPresenter(Worklist(store, my_uuid=shared.me.uuid, hours=hours), model)
    connect_all([
        (sync.presenter.newCalls, presenter.on_new_calls),
        (presenter.undoChanged, panel.set_undo),
        (panel.markHandledRequested, presenter.mark_handled),
        (panel.undoRequested, presenter.undo),
    ])
    feature = CallbacksFeature(model, panel, presenter, settings_problem=problem)
    feature.close_after_tasks(store.close)
    feature.follow_settings(shared.settings)
    feature.on_close(shared.me.add_listener(lambda uuid: presenter.set_my_uuid(uuid or "")))
    return feature
