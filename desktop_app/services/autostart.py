"""Start at login: the desktop's own autostart entry for the app, written or removed.

On Linux (and the other desktops that follow freedesktop.org) that is an XDG autostart
entry, ``$XDG_CONFIG_HOME/autostart/myoperator-desktop.desktop``, which every desktop
session reads at login. It starts the installed ``myoperator-desktop`` (found on PATH),
else the program this process was started as (the .deb links it into ``/usr/bin``).
Written atomically: a session that logs in meanwhile reads the old entry or the new one,
never half of one. On Windows the installer offers starting at login (a ``Run`` value,
``packaging/windows``); there, and on macOS (a login item), `apply` says in a sentence
that this setting is not available yet.

Qt-free: the Preferences window and the command line could both use it; tests point
``XDG_CONFIG_HOME`` at a temporary directory.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from desktop_app.partial_files import create_exclusive

log = logging.getLogger(__name__)

ENTRY_NAME: Final = "myoperator-desktop.desktop"
LAUNCHER: Final = "myoperator-desktop"
APP_NAME: Final = "MyOperator Desktop"
NOT_AVAILABLE: Final = (
    "Starting at login is not available here yet: open MyOperator Desktop yourself after "
    "you log in."
)


class AutostartError(Exception):
    """Starting at login could not be switched; the message is a sentence for a person."""


def supported(platform: str | None = None) -> bool:
    """Whether this platform's autostart is handled here (freedesktop.org desktops)."""
    name = sys.platform if platform is None else platform
    return name.startswith(("linux", "freebsd", "openbsd", "netbsd"))


def entry_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the autostart entry goes: ``$XDG_CONFIG_HOME/autostart`` (``~/.config`` when
    the variable is unset or not absolute, as the XDG specification says)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "").strip()
    config = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return config / "autostart" / ENTRY_NAME


def launch_command(
    *,
    which: str | None = None,
    argv0: str | None = None,
    python: str | None = None,
) -> list[str]:
    """The command that starts the app at login: the installed ``myoperator-desktop``,
    else the program this process was started as (resolved to an absolute path), else
    this Python with ``-m desktop_app`` (a source checkout started with ``python -m``)."""
    found = shutil.which(LAUNCHER) if which is None else which
    if found:
        return [str(Path(found).resolve())]
    program = Path(sys.argv[0] if argv0 is None else argv0)
    if program.name and program.suffix != ".py":
        resolved = program.resolve()
        if resolved.is_file() and os.access(resolved, os.X_OK):
            return [str(resolved)]
    return [python or sys.executable, "-m", "desktop_app"]


def _exec_argument(argument: str) -> str:
    """One argument of a desktop entry's Exec key: quoted when it needs to be, with the
    characters the specification reserves escaped for the quoting, then for the string
    value (a dollar sign is written as two backslashes and the sign), and ``%`` doubled
    (not a field code)."""
    if argument and all(c.isalnum() or c in "/-_.+,:@=" for c in argument):
        return argument
    quoted = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return '"' + quoted.replace("\\", "\\\\").replace("%", "%%") + '"'


def entry_text(command: Sequence[str]) -> str:
    """The autostart entry that runs `command` (see the Desktop Entry Specification)."""
    exec_line = " ".join(_exec_argument(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP_NAME}\n"
        "Comment=Missed calls, the call log and click-to-call for MyOperator\n"
        f"Exec={exec_line}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def is_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether an autostart entry of the app is in place."""
    return entry_path(environ).is_file()


def apply(
    enabled: bool,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    command: Sequence[str] | None = None,
) -> Path | None:
    """Start the app at login (`enabled`) or not; returns the entry's path on Linux.

    Raises AutostartError with a sentence when this platform has no autostart here yet or
    the entry cannot be written or removed.
    """
    if not supported(platform):
        raise AutostartError(NOT_AVAILABLE)
    path = entry_path(environ)
    if not enabled:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise AutostartError(
                f"The app could not stop starting at login: {path} could not be removed "
                f"({exc.strerror or exc})."
            ) from None
        log.info("start at login: off (%s removed)", path)
        return path
    program = list(launch_command() if command is None else command)
    text = entry_text(program)
    partial: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = create_exclusive(path.parent, f".{ENTRY_NAME}-", ".part", mode=0o644)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise AutostartError(
            f"The app could not be set to start at login: {path} could not be written "
            f"({exc.strerror or exc})."
        ) from None
    log.info("start at login: on (%s runs %s)", path, shlex.join(program))
    return path
