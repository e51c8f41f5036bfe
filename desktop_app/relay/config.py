"""The relay's settings, read from the environment: systemd's ``EnvironmentFile=`` and
Compose's ``env_file`` both give it that way, and a secret on a command line would show in
every ``ps``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.api.redact import register_secret
from desktop_app.relay.engine import DEFAULT_NAMESPACE
from desktop_app.serving import header_setting

REDIS_ENV: Final = "MYOPERATOR_RELAY_REDIS"
HOOK_SECRET_ENV: Final = "MYOPERATOR_RELAY_HOOK_SECRET"
HOOK_AUTH_ENV: Final = "MYOPERATOR_RELAY_HOOK_AUTH"
NAMESPACE_ENV: Final = "MYOPERATOR_RELAY_NAMESPACE"
HEARTBEAT_ENV: Final = "MYOPERATOR_RELAY_HEARTBEAT"
POLL_ENV: Final = "MYOPERATOR_RELAY_POLL"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
#: The webhook path's secret: long enough not to be guessed, safe in a URL path.
MIN_SECRET_LENGTH: Final = 24
_SECRET = re.compile(r"^[A-Za-z0-9_-]+$")
_AUTH_SHAPE: Final = f"{HOOK_AUTH_ENV} must look like 'X-Relay-Auth: <value>'."


class RelayConfigError(ValueError):
    """A setting the relay cannot start with; the message names the variable."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    hook_secret: str
    redis_url: str = DEFAULT_REDIS_URL
    #: (header name, value) MyOperator must send with each webhook, when set.
    hook_auth: tuple[str, str] | None = None
    namespace: str = DEFAULT_NAMESPACE
    #: Seconds between a quiet stream's keep-alives and credential re-checks.
    heartbeat_s: float = 15.0
    #: How long the fan-out's read waits for new events before asking again.
    read_block_ms: int = 5000
    #: Seconds between the reconciling polls of ``/search`` (one poller for all replicas).
    poll_interval_s: float = 900.0
    #: MyOperator's API, for the poll (the token is read apart: it is no setting to print).
    api_base_url: str | None = None

    def __post_init__(self) -> None:
        if len(self.hook_secret) < MIN_SECRET_LENGTH or not _SECRET.match(self.hook_secret):
            raise RelayConfigError(
                f"{HOOK_SECRET_ENV} must be at least {MIN_SECRET_LENGTH} letters, digits, "
                "'-' or '_' (for example the output of: openssl rand -hex 16)."
            )
        if self.hook_auth is not None and header_setting(": ".join(self.hook_auth)) is None:
            raise RelayConfigError(_AUTH_SHAPE)
        if not (math.isfinite(self.heartbeat_s) and self.heartbeat_s > 0):
            raise RelayConfigError(f"{HEARTBEAT_ENV} must be a positive number of seconds.")
        if not (math.isfinite(self.poll_interval_s) and self.poll_interval_s > 0):
            raise RelayConfigError(f"{POLL_ENV} must be a positive number of seconds.")
        register_secret(self.hook_secret)
        if self.hook_auth is not None:
            register_secret(self.hook_auth[1])

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RelayConfig:
        secret = environ.get(HOOK_SECRET_ENV, "").strip()
        if not secret:
            raise RelayConfigError(
                f"Set {HOOK_SECRET_ENV}: the secret part of the webhook URLs MyOperator posts to."
            )
        auth: tuple[str, str] | None = None
        if raw_auth := environ.get(HOOK_AUTH_ENV, "").strip():
            auth = header_setting(raw_auth)
            if auth is None:
                raise RelayConfigError(_AUTH_SHAPE)
        return cls(
            hook_secret=secret,
            redis_url=environ.get(REDIS_ENV, "").strip() or DEFAULT_REDIS_URL,
            hook_auth=auth,
            namespace=environ.get(NAMESPACE_ENV, "").strip() or DEFAULT_NAMESPACE,
            heartbeat_s=_seconds(environ, HEARTBEAT_ENV, 15.0),
            poll_interval_s=_seconds(environ, POLL_ENV, 900.0),
            api_base_url=environ.get(BASE_URL_ENV, "").strip() or None,
        )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise RelayConfigError(f"{name} must be a positive number of seconds.") from None
