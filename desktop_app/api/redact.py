"""Token redaction for anything that may print a URL, a request or a response.

The token travels in every query string, so it surfaces wherever a URL is formatted:
httpx's own log lines, exception texts, reprs. Two nets catch it: a pattern for any
``token=`` parameter, and the exact values of every token the process has been given.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "***"

_TOKEN_PARAM = re.compile(r"(?i)(\btoken[\"']?\s*[=:]\s*[\"']?)([^&\s\"',;}]+)")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MIN_SECRET_LENGTH = 8


def register_secret(value: str) -> None:
    """Remember a secret so `redact` removes it wherever it appears, not only after token=."""
    if len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with every token value replaced by ``***``."""
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    with _secrets_lock:
        secrets = tuple(_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's formatted message so no handler ever sees a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Formatting the traceback later would print the raw exception text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


def install_redacting_filter(target: logging.Handler | logging.Logger) -> None:
    """Attach the filter once. On a handler it sees every record that reaches it; on a
    logger it rewrites that logger's own records at the source, before any handler,
    including ones the project does not own (a test runner's capture, say)."""
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
