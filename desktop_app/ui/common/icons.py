"""The app's icon, from the PNGs rendered from packaging/icons/myoperator-desktop.svg.

The PNGs are package data (`desktop_app/resources/icons/`), found relative to this module
so they are found the same way in a source tree, an installed wheel and a PyInstaller
bundle (where the package lives under ``_internal/desktop_app/``). Qt picks the size
nearest to what it draws (title bar, taskbar, Alt+Tab, tray).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage

log = logging.getLogger(__name__)

ICON_NAME = "myoperator-desktop"
ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"
ICON_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)


def icon_file(size: int) -> Path:
    """The rendered PNG of `size` x `size` pixels (one of `ICON_SIZES`)."""
    return ICON_DIR / f"{ICON_NAME}-{size}.png"


@cache
def app_icon() -> QIcon:
    """Every rendered size in one icon. Null if the files are missing (a broken install
    shows Qt's default icon rather than failing to start; the log says why)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = icon_file(size)
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    if icon.isNull():
        log.warning("App icon files not found in %s", ICON_DIR)
    return icon


def app_icon_image(size: int) -> QImage:
    """The icon as a `size` x `size` ARGB image to paint on (the tray's badge): the
    rendered PNG of that size, or the next larger one scaled down smoothly. Blank
    (transparent) if the files are missing."""
    for candidate in sorted(s for s in ICON_SIZES if s >= size) or [max(ICON_SIZES)]:
        image = QImage(str(icon_file(candidate)))
        if not image.isNull():
            if candidate != size:
                image = image.scaled(
                    size, size, Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    blank = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    blank.fill(Qt.GlobalColor.transparent)
    return blank
