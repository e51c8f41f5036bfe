"""The callback list as a feature: missed calls not yet called back, one row per number."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.worklist import WorkingHours, Worklist
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.callbacks.panel import WorklistPanel
from desktop_app.ui.callbacks.presenter import WorklistPresenter
from desktop_app.ui.common.feature import Feature, Shared, connect_all, own
from desktop_app.ui.common.theme import ThemeColors
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.ui.sync.feature import SyncFeature

WORKING_HOURS_KEY = "worklist/working_hours"
WORKING_DAYS_KEY = "worklist/working_days"


def working_hours(settings: QSettings) -> tuple[WorkingHours, str | None]:
    """The callback list's working hours from the settings file, written back so the keys
    are there to edit; a value that does not parse falls back to the default, with why."""
    default = WorkingHours()
    hours_text = str(settings.value(WORKING_HOURS_KEY, "09:00-18:00"))
    days_text = str(settings.value(WORKING_DAYS_KEY, "mon-sat"))
    settings.setValue(WORKING_HOURS_KEY, hours_text)
    settings.setValue(WORKING_DAYS_KEY, days_text)
    try:
        return WorkingHours.parse(hours_text, days_text), None
    except ValueError as exc:
        return default, f"Settings: {exc}; using the default working hours."


class CallbacksFeature(Feature):
    def __init__(
        self,
        model: WorklistModel,
        panel: WorklistPanel,
        presenter: WorklistPresenter,
        *,
        settings_problem: str | None,
    ) -> None:
        super().__init__()
        self.model = model
        self.panel = panel
        self.presenter = presenter
        self._settings_problem = settings_problem

    def install(self, window: MainWindow, tasks: TaskSupervisor) -> None:
        super().install(window, tasks)
        own(window, self.presenter, self.model)
        if self._settings_problem:
            window.show_message(self._settings_problem)

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
    presenter = WorklistPresenter(
        Worklist(shared.store, my_uuid=shared.me.uuid, hours=hours), model
    )
    connect_all([
        (sync.presenter.newCalls, presenter.on_new_calls),
        (presenter.undoChanged, panel.set_undo),
        (panel.markHandledRequested, presenter.mark_handled),
        (panel.undoRequested, presenter.undo),
    ])
    feature = CallbacksFeature(model, panel, presenter, settings_problem=problem)
    feature.on_close(shared.me.add_listener(lambda uuid: presenter.set_my_uuid(uuid or "")))
    return feature
