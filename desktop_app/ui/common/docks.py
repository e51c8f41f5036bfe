"""The one way a feature's panel becomes a dock: movable, floatable, closable, named for the
saved layout.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtWidgets import (
    QDockWidget,
    QWidget,
)

DOCK_FEATURES: Final = (
    QDockWidget.DockWidgetFeature.DockWidgetClosable
    | QDockWidget.DockWidgetFeature.DockWidgetMovable
    | QDockWidget.DockWidgetFeature.DockWidgetFloatable
)


def make_dock(
    name: str, title: str, widget: QWidget, parent: QWidget | None = None
) -> QDockWidget:
    """A named dock (``saveState`` restores docks by object name) around `widget`."""
    dock = QDockWidget(title, parent)
    dock.setObjectName(name)
    dock.setAccessibleName(title)
    dock.setWidget(widget)
    dock.setFeatures(DOCK_FEATURES)
    return dock
