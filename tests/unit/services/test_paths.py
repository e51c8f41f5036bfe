"""The app's file layout: one override for tests, platform locations otherwise."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from desktop_app.services.paths import APP_NAME, HOME_ENV, app_paths


def test_home_override_puts_everything_under_one_directory(tmp_path: Path) -> None:
    paths = app_paths({HOME_ENV: str(tmp_path)})
    for directory in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert directory.parent == tmp_path
    assert paths.settings_file == tmp_path / "config" / "settings.ini"
    assert paths.settings_file.suffix == ".ini"


def test_nothing_is_created_until_ensure(tmp_path: Path) -> None:
    paths = app_paths({HOME_ENV: str(tmp_path / "home")})
    assert not (tmp_path / "home").exists()
    paths.ensure()
    for directory in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert directory.is_dir()


def test_demo_and_account_never_share_a_cache(tmp_path: Path) -> None:
    paths = app_paths({HOME_ENV: str(tmp_path)})
    assert paths.database_file(demo=True) != paths.database_file()
    assert paths.recordings_dir(demo=True) != paths.recordings_dir()
    assert paths.database_file().parent == paths.data_dir
    assert paths.recordings_dir().parent == paths.cache_dir


def test_blank_override_falls_back_to_platform_dirs() -> None:
    paths = app_paths({HOME_ENV: "  "})
    assert paths.config_dir == Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    assert paths.data_dir == Path(
        platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False)
    )
    assert paths.log_dir == Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    assert APP_NAME in str(paths.cache_dir)


def test_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert app_paths().config_dir == tmp_path / "config"
