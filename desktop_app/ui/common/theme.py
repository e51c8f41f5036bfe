"""Light and dark themes: Fusion with an explicit palette, following the system scheme.

Fusion draws the same on every platform, so one pair of palettes (and the feed's missed-call
colours chosen against them) stays readable everywhere. The system's scheme is followed
live through ``QStyleHints.colorSchemeChanged``. The person chooses system, light or dark
in Preferences (the ``appearance/theme`` setting, applied live through `set_mode`);
``MYOPERATOR_DESKTOP_THEME=system|light|dark`` overrides that choice for one run
(screenshots, tests).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

log = logging.getLogger(__name__)

THEME_ENV: Final = "MYOPERATOR_DESKTOP_THEME"


class ThemeMode(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True, slots=True)
class ThemeColors:
    """Colours the palette has no role for. Missed calls also get bold text and an icon,
    so colour is never the only signal."""

    dark: bool
    missed_fg: QColor
    missed_bg: QColor
    answered_fg: QColor
    banner_fg: QColor
    banner_bg: QColor
    chip_checked_bg: QColor
    chip_checked_fg: QColor
    chip_border: QColor
    muted_fg: QColor


LIGHT_COLORS: Final = ThemeColors(
    dark=False,
    missed_fg=QColor("#9b1c1c"),
    missed_bg=QColor("#fde8e8"),
    answered_fg=QColor("#1e6b34"),
    banner_fg=QColor("#4a3500"),
    banner_bg=QColor("#fff3c4"),
    chip_checked_bg=QColor("#1d5fbf"),
    chip_checked_fg=QColor("#ffffff"),
    chip_border=QColor("#9aa5b1"),
    muted_fg=QColor("#5f6b7a"),
)
DARK_COLORS: Final = ThemeColors(
    dark=True,
    missed_fg=QColor("#ffb4ab"),
    missed_bg=QColor("#4a2024"),
    answered_fg=QColor("#8fd6a0"),
    banner_fg=QColor("#ffe08a"),
    banner_bg=QColor("#3d3210"),
    chip_checked_bg=QColor("#5b9cf5"),
    chip_checked_fg=QColor("#0b1420"),
    chip_border=QColor("#5d6673"),
    muted_fg=QColor("#a7b0bc"),
)


def mode_from_env(environ: Mapping[str, str] | None = None) -> ThemeMode:
    """The forced mode from ``$MYOPERATOR_DESKTOP_THEME``; anything unknown means system."""
    return override_from_env(environ) or ThemeMode.SYSTEM


def override_from_env(environ: Mapping[str, str] | None = None) -> ThemeMode | None:
    """The mode ``$MYOPERATOR_DESKTOP_THEME`` forces for this run; None when it is unset
    or names no mode (the setting then decides)."""
    value = (os.environ if environ is None else environ).get(THEME_ENV, "").strip().lower()
    try:
        return ThemeMode(value) if value else None
    except ValueError:
        log.warning("ignoring %s=%r: use system, light or dark", THEME_ENV, value)
        return None


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#2f6fd0"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f3f5f8"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6b7480"))
    return palette


def dark_palette() -> QPalette:
    p = QPalette()
    window = QColor("#25282d")
    base = QColor("#1b1d21")
    text = QColor("#e6e8eb")
    disabled = QColor("#7c838c")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#22252a"),
        QPalette.ColorRole.ToolTipBase: QColor("#30343a"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8d949e"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#30343a"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Light: QColor("#3a3f46"),
        QPalette.ColorRole.Midlight: QColor("#33373d"),
        QPalette.ColorRole.Mid: QColor("#2a2d32"),
        QPalette.ColorRole.Dark: QColor("#15171a"),
        QPalette.ColorRole.Shadow: QColor("#000000"),
        QPalette.ColorRole.Highlight: QColor("#3d7bd9"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#7fb0ff"),
        QPalette.ColorRole.LinkVisited: QColor("#c49bff"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


class ThemeManager(QObject):
    """Applies Fusion + the palette for the effective scheme, and re-applies on change.

    `mode` is the person's choice (the setting); `override` (the environment variable)
    wins over it for this run: a choice made meanwhile is kept and applies next run.
    """

    #: Emitted after the palette changed; the argument says whether it is now dark.
    themeChanged = Signal(bool)

    def __init__(
        self,
        app: QApplication,
        mode: ThemeMode = ThemeMode.SYSTEM,
        parent: QObject | None = None,
        *,
        override: ThemeMode | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("themeManager")
        self._app = app
        self._mode = mode
        self._override = override
        self._dark: bool | None = None
        self._system_scheme = app.styleHints().colorScheme()
        app.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        if override is not None:
            log.info("theme: %s for this run (%s overrides the setting)", override, THEME_ENV)

    @property
    def mode(self) -> ThemeMode:
        """The mode in effect: the override for this run, else the person's choice."""
        return self._override if self._override is not None else self._mode

    @property
    def chosen_mode(self) -> ThemeMode:
        """The person's choice (the setting), whether or not an override hides it."""
        return self._mode

    @property
    def overridden(self) -> bool:
        return self._override is not None

    @property
    def is_dark(self) -> bool:
        mode = self.mode
        if mode is ThemeMode.DARK:
            return True
        if mode is ThemeMode.LIGHT:
            return False
        return self._system_scheme == Qt.ColorScheme.Dark

    @property
    def colors(self) -> ThemeColors:
        return DARK_COLORS if self.is_dark else LIGHT_COLORS

    def set_mode(self, mode: ThemeMode) -> None:
        """The person chose `mode`: applied now, unless an override holds for this run."""
        self._mode = ThemeMode(mode)
        if self._override is not None:
            log.info("theme: %s kept for the next run; %s=%s holds for this one",
                     self._mode, THEME_ENV, self._override)
            return
        self.apply()

    def apply(self) -> None:
        """Install Fusion and the palette; emit `themeChanged` when darkness changed."""
        dark = self.is_dark
        if self._app.style().name().lower() != "fusion":
            self._app.setStyle("Fusion")
        self._app.setPalette(dark_palette() if dark else light_palette())
        if dark != self._dark:
            self._dark = dark
            self.themeChanged.emit(dark)

    def _on_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system_scheme = scheme
        if self.mode is ThemeMode.SYSTEM:
            self.apply()


def chip_stylesheet(colors: ThemeColors) -> str:
    """Rounded, checkable filter chips; checked chips are filled, not just recoloured."""
    return f"""
QToolButton[chip="true"] {{
    border: 1px solid {colors.chip_border.name()};
    border-radius: 10px;
    padding: 1px 8px;
    min-height: 16px;
}}
QToolButton[chip="true"]:checked {{
    background: {colors.chip_checked_bg.name()};
    color: {colors.chip_checked_fg.name()};
    border-color: {colors.chip_checked_bg.name()};
    font-weight: bold;
}}
QToolButton[chip="true"]:focus {{
    border: 2px solid {colors.chip_checked_bg.name()};
}}
"""


def banner_stylesheet(colors: ThemeColors) -> str:
    return (
        f"QLabel#demoBanner {{ background: {colors.banner_bg.name()}; "
        f"color: {colors.banner_fg.name()}; padding: 6px 10px; font-weight: bold; "
        f"border-bottom: 1px solid {colors.chip_border.name()}; }}"
    )


def message_colour(kind: str, palette: QPalette) -> QColor:
    """Error red / warning amber readable on the palette's background (light or dark);
    any other kind: the palette's text colour. One rule for every form's messages."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    if kind == "error":
        return QColor("#ff8a80" if dark else "#b3261e")
    if kind == "warning":
        return QColor("#ffcc80" if dark else "#8a5300")
    return palette.color(QPalette.ColorRole.WindowText)
