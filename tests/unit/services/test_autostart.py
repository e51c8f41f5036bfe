"""Start at login on Linux: the XDG autostart entry written (atomically) and removed, in a
temporary ``$XDG_CONFIG_HOME``; elsewhere a sentence, not an error the person cannot read."""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

import pytest

from desktop_app.services import autostart
from desktop_app.services.autostart import AutostartError

COMMAND = ["/opt/MyOperator Desktop/bin/myoperator-desktop"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_on_writes_the_entry_where_the_session_looks(tmp_path: Path, env: dict[str, str]) -> None:
    path = autostart.apply(True, environ=env, platform="linux", command=COMMAND)
    assert path == tmp_path / "config" / "autostart" / "myoperator-desktop.desktop"
    entry = read_entry(path)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "MyOperator Desktop"
    # A path with a space is quoted, as the Desktop Entry Specification asks.
    assert entry["Exec"] == '"/opt/MyOperator Desktop/bin/myoperator-desktop"'
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert autostart.is_enabled(env)
    assert stat.S_IMODE(path.stat().st_mode) & 0o022 == 0  # not writable by others
    # Atomic: nothing half-written is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["myoperator-desktop.desktop"]


def test_on_again_replaces_and_off_removes(tmp_path: Path, env: dict[str, str]) -> None:
    autostart.apply(True, environ=env, platform="linux", command=["/usr/bin/old"])
    path = autostart.apply(True, environ=env, platform="linux", command=["/usr/bin/new"])
    assert path is not None and read_entry(path)["Exec"] == "/usr/bin/new"
    autostart.apply(False, environ=env, platform="linux")
    assert not path.exists() and not autostart.is_enabled(env)
    autostart.apply(False, environ=env, platform="linux")  # already off: nothing to do


def test_without_xdg_config_home_it_goes_under_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for value in ({}, {"XDG_CONFIG_HOME": "relative/dir"}):
        assert autostart.entry_path(value) == tmp_path / ".config" / "autostart" / (
            "myoperator-desktop.desktop"
        )


def test_the_command_is_the_installed_launcher_else_this_program(tmp_path: Path) -> None:
    installed = tmp_path / "bin" / "myoperator-desktop"
    installed.parent.mkdir()
    installed.write_text("#!/bin/sh\n")
    installed.chmod(0o755)
    assert autostart.launch_command(which=str(installed)) == [str(installed)]
    # Not on PATH: the program this process was started as, resolved.
    link = tmp_path / "md"
    link.symlink_to(installed)
    assert autostart.launch_command(which="", argv0=str(link)) == [str(installed)]
    # Started as ``python -m desktop_app`` (argv[0] is the module's file).
    assert autostart.launch_command(
        which="", argv0=str(tmp_path / "__main__.py"), python="/usr/bin/python3"
    ) == ["/usr/bin/python3", "-m", "desktop_app"]


def test_special_characters_in_exec_are_escaped() -> None:
    """The specification's own example: a literal ``$`` in a quoted argument is ``\\$``
    in the file (escaped for the quoting, then for the string value)."""
    text = autostart.entry_text(["/home/a$b/run", "--name=50%", "C:\\x"])
    assert r'Exec="/home/a\\$b/run" "--name=50%%" "C:\\\\x"' in text


def test_other_platforms_say_it_is_not_available_yet(env: dict[str, str]) -> None:
    for platform in ("win32", "darwin"):
        with pytest.raises(AutostartError, match="not available here yet"):
            autostart.apply(True, environ=env, platform=platform, command=COMMAND)
    assert not autostart.is_enabled(env)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only directories")
def test_a_directory_that_cannot_be_written_is_one_sentence(
    tmp_path: Path, env: dict[str, str]
) -> None:
    folder = tmp_path / "config" / "autostart"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        with pytest.raises(AutostartError, match="could not be set to start at login") as err:
            autostart.apply(True, environ=env, platform="linux", command=COMMAND)
        assert str(folder) in str(err.value) and "\n" not in str(err.value)
    finally:
        folder.chmod(0o755)


def test_a_file_in_the_way_is_one_sentence(tmp_path: Path, env: dict[str, str]) -> None:
    """The autostart directory's place is taken by a file (works as root too)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "autostart").write_text("not a directory")
    with pytest.raises(AutostartError, match="could not be set to start at login"):
        autostart.apply(True, environ=env, platform="linux", command=COMMAND)
