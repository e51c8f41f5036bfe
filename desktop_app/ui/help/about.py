"""Help → About: the versions that matter in a bug report, and where the app keeps things.

Each folder has an Open button: "where is my log?" is answered with the folder in front
of the person, not with a path to type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.paths import AppPaths

TITLE: Final = "About MyOperator Desktop"
BLURB: Final = (
    "A desktop companion for the MyOperator cloud phone system: the call log as it "
    "happens, recordings, one-click calling and the team's users."
)

#: (key, label, what it holds) of each folder, in the order shown.
FOLDERS: Final = (
    ("config", "Settings", "settings.ini and the window's layout"),
    ("data", "Data", "the call cache"),
    ("cache", "Cache", "downloaded recordings (safe to delete)"),
    ("logs", "Logs", "the app's log, for a bug report"),
)

UrlOpener = Callable[[QUrl], bool]


def folders_of(paths: AppPaths) -> dict[str, Path]:
    return {
        "config": paths.config_dir,
        "data": paths.data_dir,
        "cache": paths.cache_dir,
        "logs": paths.log_dir,
    }


class AboutDialog(QDialog):
    """Versions and folders; non-modal (``show()``)."""

    def __init__(
        self,
        versions: Mapping[str, str],
        paths: AppPaths,
        *,
        open_url: UrlOpener = QDesktopServices.openUrl,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setAccessibleName(TITLE)
        self.setWindowTitle(TITLE)
        self.setModal(False)
        self._open_url = open_url

        blurb = QLabel(BLURB, self)
        blurb.setObjectName("aboutBlurb")
        blurb.setAccessibleName("About the app")
        blurb.setWordWrap(True)

        version_box = QGroupBox("Versions", self)
        version_box.setObjectName("aboutVersions")
        form = QFormLayout(version_box)
        #: Label of each version by name ("Python", "Qt", …), for tests and screen readers.
        self.version_labels: dict[str, QLabel] = {}
        for name, value in versions.items():
            label = QLabel(value, version_box)
            label.setObjectName(f"aboutVersion{_camel(name)}")
            label.setAccessibleName(f"{name} version")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)
            self.version_labels[name] = label

        folder_box = QGroupBox("Where your data lives", self)
        folder_box.setObjectName("aboutFolders")
        grid = QGridLayout(folder_box)
        #: Open button of each folder by key ("config", "data", "cache", "logs").
        self.open_buttons: dict[str, QPushButton] = {}
        self.folders = folders_of(paths)
        for row, (key, title, holds) in enumerate(FOLDERS):
            folder = self.folders[key]
            caption = QLabel(f"{title}:", folder_box)
            where = QLabel(str(folder), folder_box)
            where.setObjectName(f"aboutPath_{key}")
            where.setAccessibleName(f"{title} folder")
            where.setToolTip(holds[:1].upper() + holds[1:])
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            where.setWordWrap(True)
            button = QPushButton("Open", folder_box)
            button.setObjectName(f"aboutOpen_{key}")
            button.setAccessibleName(f"Open the {title.lower()} folder")
            button.setToolTip(f"Show {holds} in the file manager")
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, k=key: self.open_folder(k))
            grid.addWidget(caption, row, 0)
            grid.addWidget(where, row, 1)
            grid.addWidget(button, row, 2)
            self.open_buttons[key] = button
        grid.setColumnStretch(1, 1)

        self.status_label = QLabel("", self)
        self.status_label.setObjectName("aboutStatus")
        self.status_label.setAccessibleName("About status")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("aboutButtons")
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(blurb)
        layout.addWidget(version_box)
        layout.addWidget(folder_box)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    @Slot(str)
    def open_folder(self, key: str) -> None:
        """Show the folder in the file manager; say so when none could open it."""
        folder = self.folders[key]
        if self._open_url(QUrl.fromLocalFile(str(folder))):
            self.status_label.hide()
            return
        self.status_label.setText(
            f"The folder {folder} could not be opened here (it may not exist yet, or no "
            "file manager is set up): the path above can be copied."
        )
        self.status_label.show()


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", " ").split())
