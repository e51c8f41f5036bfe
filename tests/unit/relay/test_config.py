"""The relay's settings from the environment: each mistake named in one sentence."""

from __future__ import annotations

import pytest

from desktop_app.api.redact import redact
from desktop_app.relay.config import (
    DEFAULT_REDIS_URL,
    HEARTBEAT_ENV,
    HOOK_AUTH_ENV,
    HOOK_SECRET_ENV,
    REDIS_ENV,
    RelayConfig,
    RelayConfigError,
)

SECRET = "fake-hook-secret-0123456789abcdef"


def test_the_secret_alone_is_enough_and_the_rest_has_defaults() -> None:
    config = RelayConfig.from_environ({HOOK_SECRET_ENV: SECRET})

    assert config.hook_secret == SECRET
    assert config.redis_url == DEFAULT_REDIS_URL
    assert config.hook_auth is None
    assert config.heartbeat_s == 15.0


def test_every_setting_is_read() -> None:
    config = RelayConfig.from_environ(
        {
            HOOK_SECRET_ENV: f"  {SECRET} ",
            HOOK_AUTH_ENV: "X-Relay-Auth:  fake-auth-value-42 ",
            REDIS_ENV: "unix:///run/redis/redis.sock",
            HEARTBEAT_ENV: "2.5",
        }
    )

    assert config.hook_secret == SECRET
    assert config.hook_auth == ("X-Relay-Auth", "fake-auth-value-42")
    assert config.redis_url == "unix:///run/redis/redis.sock"
    assert config.heartbeat_s == 2.5


def test_the_webhook_secrets_are_redacted_wherever_they_would_be_printed() -> None:
    RelayConfig.from_environ({HOOK_SECRET_ENV: SECRET, HOOK_AUTH_ENV: "X-A: fake-auth-value-42"})

    assert SECRET not in redact(f"POST /hooks/{SECRET}/after-call")
    assert "fake-auth-value-42" not in redact("header fake-auth-value-42")


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({}, HOOK_SECRET_ENV),
        ({HOOK_SECRET_ENV: "short"}, HOOK_SECRET_ENV),
        ({HOOK_SECRET_ENV: SECRET + "/../x"}, HOOK_SECRET_ENV),
        ({HOOK_SECRET_ENV: SECRET, HOOK_AUTH_ENV: "no colon"}, HOOK_AUTH_ENV),
        ({HOOK_SECRET_ENV: SECRET, HOOK_AUTH_ENV: "Bad Name: v"}, HOOK_AUTH_ENV),
        ({HOOK_SECRET_ENV: SECRET, HEARTBEAT_ENV: "soon"}, HEARTBEAT_ENV),
        ({HOOK_SECRET_ENV: SECRET, HEARTBEAT_ENV: "0"}, HEARTBEAT_ENV),
        ({HOOK_SECRET_ENV: SECRET, HEARTBEAT_ENV: "inf"}, HEARTBEAT_ENV),
    ],
)
def test_a_bad_setting_is_refused_naming_its_variable(environ: dict[str, str], names: str) -> None:
    with pytest.raises(RelayConfigError, match=names):
        RelayConfig.from_environ(environ)
