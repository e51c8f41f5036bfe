"""Where the app keeps its files: settings, cache database, recordings, logs.

Qt-free so the command line, the window and the tests agree on one layout. Setting
``MYOPERATOR_DESKTOP_HOME`` puts everything under one directory instead of the per-user
platform locations: tests and screenshots use it so they never touch a real home.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs

APP_NAME: Final = "MyOperatorDesktop"
HOME_ENV: Final = "MYOPERATOR_DESKTOP_HOME"
SETTINGS_FILE_NAME: Final = "settings.ini"
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
