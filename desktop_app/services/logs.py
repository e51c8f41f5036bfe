"""Logging set-up: every handler the project installs redacts tokens.

httpx logs each request's full URL (token included) at INFO, so a handler without the
redacting filter would write the secret to disk on the first request.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from desktop_app.api.redact import install_redacting_filter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The log file in the log dir; rotated copies add ``.1`` (the newest) to ``.3``.
LOG_FILE_NAME = "myoperator-desktop.log"
LOG_BACKUPS = 3


def configure_logging(
    *, log_dir: Path | None = None, level: int = logging.INFO, console: bool = False
) -> list[logging.Handler]:
    """Install the project's handlers on the root logger and return them."""
    root = logging.getLogger()
    handlers: list[logging.Handler] = []
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / LOG_FILE_NAME, maxBytes=2_000_000, backupCount=LOG_BACKUPS,
            encoding="utf-8",
        )
        handlers.append(file_handler)
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        install_redacting_filter(handler)
        root.addHandler(handler)
    root.setLevel(level)
    # httpx's per-request INFO lines are noise in a file kept all day.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    return handlers
