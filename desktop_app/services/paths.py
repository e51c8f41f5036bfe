"""Where the app keeps its files (settings, cache database, recordings, logs), and where
and under which names it offers to save the person's own (exports, recordings).

Qt-free so the command line, the window and the tests agree on one layout. Setting
``MYOPERATOR_DESKTOP_HOME`` puts everything under one directory instead of the per-user
platform locations: tests and screenshots use it so they never touch a real home.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Final, Protocol

import platformdirs

APP_NAME: Final = "MyOperatorDesktop"
HOME_ENV: Final = "MYOPERATOR_DESKTOP_HOME"
SETTINGS_FILE_NAME: Final = "settings.ini"
#: Window state (geometry, dock layout, last folders, notices shown): kept apart from the
#: settings a person chooses (`desktop_app.services.settings`), so resetting one never
#: touches the other.
STATE_FILE_NAME: Final = "window-state.ini"
DATABASE_FILE_NAME: Final = "calls.sqlite3"
DEMO_DATABASE_FILE_NAME: Final = "demo-calls.sqlite3"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The app's four directories; nothing is created until `ensure` is called."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        """The INI file QSettings uses (never the platform's native registry/plist)."""
        return self.config_dir / SETTINGS_FILE_NAME

    @property
    def state_file(self) -> Path:
        """The INI file of the window's own state (layout, last folders, notices shown)."""
        return self.config_dir / STATE_FILE_NAME

    def database_file(self, *, demo: bool = False) -> Path:
        """The call cache. The demo workspace gets its own, so it never mixes with an account."""
        return self.data_dir / (DEMO_DATABASE_FILE_NAME if demo else DATABASE_FILE_NAME)

    def recordings_dir(self, *, demo: bool = False) -> Path:
        """Downloaded recordings: a cache, safe to delete."""
        return self.cache_dir / ("demo-recordings" if demo else "recordings")

    def ensure(self) -> AppPaths:
        for directory in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(environ: Mapping[str, str] | None = None) -> AppPaths:
    """The layout for this user, or under ``$MYOPERATOR_DESKTOP_HOME`` when that is set."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV, "").strip()
    if home:
        base = Path(home).expanduser()
        return AppPaths(
            config_dir=base / "config",
            data_dir=base / "data",
            cache_dir=base / "cache",
            log_dir=base / "logs",
        )
    # appauthor=False keeps Windows from nesting the name twice; the data dir is local
    # (not roaming): a SQLite cache must not sit on a synced profile share.
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


# ------------------------------------------------------------------ files the person saves


class SaveKind(StrEnum):
    """What the person saves; each kind has its own default folder and remembered folder."""

    EXPORT = "export"
    RECORDING = "recording"


#: The window-state key of the last folder chosen for each kind.
LAST_FOLDER_KEYS: Final[Mapping[SaveKind, str]] = {
    SaveKind.EXPORT: "files/last_export_dir",
    SaveKind.RECORDING: "files/last_recording_dir",
}
#: Characters Windows refuses in a file name (macOS and Linux refuse a subset of them).
_UNSAFE_CHARACTERS: Final = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
#: Names Windows reserves for devices, whatever their extension.
_RESERVED_NAMES: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
_MAX_NAME_LENGTH: Final = 200


def default_save_folder(kind: SaveKind, environ: Mapping[str, str] | None = None) -> Path:
    """Documents for exports, Downloads for recordings; home where that folder is missing.

    Never the process's working folder: started from a menu, that is ``/``. Under
    ``$MYOPERATOR_DESKTOP_HOME`` its ``Documents``/``Downloads``, else the directory itself.
    """
    env = os.environ if environ is None else environ
    override = env.get(HOME_ENV, "").strip()
    if override:
        home = Path(override).expanduser()
        folder = home / ("Documents" if kind is SaveKind.EXPORT else "Downloads")
    else:
        home = Path.home()
        folder = Path(
            platformdirs.user_documents_dir()
            if kind is SaveKind.EXPORT
            else platformdirs.user_downloads_dir()
        )
    return folder if folder.is_dir() else home


def save_folder(
    kind: SaveKind, remembered: object = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where a save dialog opens: the folder last chosen for `kind` while it still exists,
    else `default_save_folder` (`remembered` is the state file's value, of any type)."""
    if isinstance(remembered, str | Path) and str(remembered).strip():
        folder = Path(remembered).expanduser()
        if folder.is_absolute() and folder.is_dir():
            return folder
    return default_save_folder(kind, environ)


class FolderSettings(Protocol):
    """The part of the window-state file (QSettings) that remembers folders."""

    def value(self, key: str, /) -> object: ...

    def setValue(self, key: str, value: object, /) -> None: ...


class SaveFolders:
    """The folder each kind of save dialog opens in: the last one the person chose for that
    kind (kept in the window-state file; in memory without it), else `default_save_folder`."""

    def __init__(self, settings: FolderSettings | None = None) -> None:
        self._settings = settings
        self._memory: dict[SaveKind, str] = {}

    def start(self, kind: SaveKind) -> Path:
        remembered = (
            self._memory.get(kind)
            if self._settings is None
            else self._settings.value(LAST_FOLDER_KEYS[kind])
        )
        return save_folder(kind, remembered)

    def remember(self, kind: SaveKind, chosen: str | Path) -> None:
        """The person chose `chosen` (a file, or a folder): its folder is next time's start."""
        path = Path(chosen)
        folder = str(path if path.is_dir() else path.parent)
        if self._settings is None:
            self._memory[kind] = folder
        else:
            self._settings.setValue(LAST_FOLDER_KEYS[kind], folder)


def safe_file_name(name: str, *, fallback: str = "file") -> str:
    """`name` usable as a file name on Windows, macOS and Linux: forbidden characters become
    ``-``, no trailing dots or spaces, no device name, at most 200 characters."""
    text = _UNSAFE_CHARACTERS.sub("-", name).strip().rstrip(". ")
    if text.split(".")[0].strip().upper() in _RESERVED_NAMES:
        text = f"_{text}"
    if len(text) > _MAX_NAME_LENGTH:
        suffix = PurePath(text).suffix[:16]
        text = text[: _MAX_NAME_LENGTH - len(suffix)].rstrip(". ") + suffix
    return text or fallback


def export_file_name(today: date) -> str:
    """``calls-2026-11-30.csv``: the day of the export, in the person's calendar."""
    return f"calls-{today.isoformat()}.csv"


def recording_file_name(started: datetime, caller: str, source_name: str | None) -> str:
    """``2026-11-30 10-57 +91 98123 00001.mp3``: when the call started (local time), who
    called, and the extension of the service's file (``.mp3`` when it has none)."""
    suffix = PurePath(source_name).suffix.lower() if source_name else ""
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ".mp3"
    who = f" {caller.strip()}" if caller.strip() else ""
    name = f"{started.strftime('%Y-%m-%d %H-%M')}{who}{suffix}"
    return safe_file_name(name, fallback="recording.mp3")
