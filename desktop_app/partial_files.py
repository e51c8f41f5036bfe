"""Partial files: where a download or a copy is written before it is renamed into place.

Shared by the API client (a recording saved with ``myoperator recording -o``), the
recording cache and "Save as…", so that every writer follows one rule: its partial file is
its own. The name is random and the file is created with ``O_EXCL``, so two writers aiming
at one destination never truncate, replace or delete each other's half-written file.

Plain standard library and no Qt: the lowest layers (``api/``) use it too.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from pathlib import Path
from typing import Final

PART_SUFFIX: Final = ".part"
#: Partial files are hidden (a leading dot) so nothing lists them as recordings.
STAGING_PREFIX: Final = ".dl-"


def host_tag() -> str:
    """This machine, as a short hash of its host name: a partial file names its writer's
    machine so a cleaner on another machine sharing the folder knows it cannot ask."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def create_exclusive(directory: Path, prefix: str, suffix: str, *, mode: int = 0o666) -> Path:
    """A new empty file with a random name that no one else can have created."""
    while True:
        path = directory / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        os.close(fd)
        return path


def reserve_partial(directory: Path, *, suffix: str = "", mode: int = 0o666) -> Path:
    """This process's own partial file in `directory`: ``.dl-<host>-<pid>-<random>``.

    The writer's machine and process id are in the name, so whoever finds the file left
    over (the recording cache at start-up) can tell whether its writer is still alive.
    """
    return create_exclusive(
        directory, f"{STAGING_PREFIX}{host_tag()}-{os.getpid()}-", suffix, mode=mode
    )
