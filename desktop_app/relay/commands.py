"""``myoperator relay``: serve the relay, check a new install, and manage agents' credentials.

Each failure ends in one sentence and an exit code, as in the rest of the command; the
credential `agent add` prints is shown once and never stored in the clear.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TextIO

import redis.exceptions

from desktop_app.api.client import base_url_from
from desktop_app.api.errors import InvalidBaseUrl, ValidationError
from desktop_app.api.validation import validate_uuid
from desktop_app.cli import EXIT_FAILED, EXIT_INVALID, EXIT_OK, TOKEN_ENV
from desktop_app.relay.config import (
    DEFAULT_REDIS_URL,
    HOOK_AUTH_ENV,
    NAMESPACE_ENV,
    REDIS_ENV,
    RelayConfig,
    RelayConfigError,
)
from desktop_app.relay.engine import (
    DEFAULT_NAMESPACE,
    REDIS_DOWN,
    AgentNameInvalid,
    RelayEngine,
)
from desktop_app.services.account import check_token

_TOKEN_SHAPE = re.compile(r"^[0-9a-fA-F]{32}$")


class RelayCommandError(Exception):
    """A relay command that cannot go on; the message is the sentence to print."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_relay(args: argparse.Namespace, out: TextIO, environ: Mapping[str, str]) -> int:
    if args.relay_command == "agent":
        return asyncio.run(_agent_command(args, out, environ))
    if args.check:
        return asyncio.run(_check(out, environ))
    return _serve(args, out, environ)


def _engine(environ: Mapping[str, str]) -> RelayEngine:
    return RelayEngine.from_url(
        environ.get(REDIS_ENV, "").strip() or DEFAULT_REDIS_URL,
        environ.get(NAMESPACE_ENV, "").strip() or DEFAULT_NAMESPACE,
    )


def _redis_unreachable(environ: Mapping[str, str]) -> RelayCommandError:
    return RelayCommandError(
        f"Redis does not answer at {_where(environ)}: start it, or set {REDIS_ENV}."
    )


def _where(environ: Mapping[str, str]) -> str:
    url = environ.get(REDIS_ENV, "").strip() or DEFAULT_REDIS_URL
    # A URL may carry Redis's password: name only where it points.
    return re.sub(r"//[^@/]*@", "//", url)


async def _agent_command(args: argparse.Namespace, out: TextIO, environ: Mapping[str, str]) -> int:
    engine = _engine(environ)
    try:
        if args.agent_action == "add":
            user = args.user.strip()
            if user:
                try:
                    user = validate_uuid(user, field="user")
                except ValidationError as exc:
                    raise RelayCommandError(
                        f"{exc.message} `myoperator users` lists each user's uuid.",
                        EXIT_INVALID,
                    ) from None
            try:
                credential = await engine.issue_credential(
                    args.name, admin=args.admin, user=user
                )
            except AgentNameInvalid as exc:
                raise RelayCommandError(str(exc), EXIT_INVALID) from None
            role = " (may add and change users)" if args.admin else ""
            out.write(
                f"Relay credential for {args.name}{role} (shown once; it replaces any "
                f"earlier one):\n{credential}\n"
            )
        elif args.agent_action == "revoke":
            if not await engine.revoke(args.name):
                raise RelayCommandError(f"No agent named {args.name!r} holds a credential.")
            out.write(f"Revoked {args.name}'s credential: their desktop is signed out.\n")
        else:
            for record in await engine.agents():
                issued = datetime.fromtimestamp(record.issued_at, UTC).strftime("%Y-%m-%d %H:%M")
                role = "\tadmin" if record.admin else ""
                user = f"\tuser {record.user}" if record.user else ""
                out.write(f"{record.name}\tissued {issued} UTC{role}{user}\n")
        return EXIT_OK
    except REDIS_DOWN:
        raise _redis_unreachable(environ) from None
    finally:
        await engine.aclose()


async def _check(out: TextIO, environ: Mapping[str, str]) -> int:
    """Each line says what was checked and, when it failed, what to do."""
    problems = 0

    def say(ok: bool, text: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        out.write(f"{'ok     ' if ok else 'PROBLEM'} {text}\n")

    config: RelayConfig | None = None
    try:
        config = RelayConfig.from_environ(environ)
        say(True, "the webhook secret and auth header are set")
    except RelayConfigError as exc:
        say(False, str(exc))

    engine = _engine(environ)
    try:
        info = await engine.redis.info("server")
        say(True, f"Redis {info.get('redis_version', '?')} answers at {_where(environ)}")
        try:
            appendonly = (await engine.redis.config_get("appendonly")).get("appendonly")
            say(
                appendonly == "yes",
                "Redis keeps an append-only file (events survive its restart)"
                if appendonly == "yes"
                else "Redis has no append-only file: a restart loses events. "
                "Set `appendonly yes` in redis.conf.",
            )
        except redis.exceptions.ResponseError:
            out.write("?       Redis refuses CONFIG: check that appendonly is on yourself\n")
        agents = await engine.agents()
        say(
            bool(agents),
            f"{len(agents)} agent(s) hold a credential"
            if agents
            else "no agent holds a credential yet: myoperator relay agent add NAME",
        )
    except REDIS_DOWN:
        say(False, str(_redis_unreachable(environ)))
    finally:
        await engine.aclose()

    token = environ.get(TOKEN_ENV, "").strip()
    if not _TOKEN_SHAPE.match(token):
        say(False, f"Set {TOKEN_ENV} to the account's API token (32 hexadecimal "
                   "characters); only the relay holds it.")
    else:
        await _check_token(token, environ, say)

    if config is not None:
        auth = f" with the header {config.hook_auth[0]}" if config.hook_auth else ""
        out.write(
            "\nIn MyOperator (API & Webhooks → Webhooks), point the webhooks at your relay's "
            f"public HTTPS address{auth}:\n"
            f"  After Call: https://<relay address>/hooks/{config.hook_secret}/after-call\n"
            f"  In-Call:    https://<relay address>/hooks/{config.hook_secret}/in-call\n"
        )
        if not config.hook_auth:
            out.write(f"  (Set {HOOK_AUTH_ENV} to also require an auth header.)\n")
    out.write(
        "\nAll checks passed.\n" if problems == 0 else f"\n{problems} problem(s) to fix.\n"
    )
    return EXIT_OK if problems == 0 else EXIT_FAILED


async def _check_token(
    token: str, environ: Mapping[str, str], say: Callable[[bool, str], None]
) -> None:
    """One request to MyOperator with the token (the call log's first entry)."""
    try:
        base_url = base_url_from(None, environ)
    except InvalidBaseUrl as exc:
        say(False, exc.message)
        return
    checked = await check_token(token, base_url)
    say(
        checked.ok,
        f"MyOperator accepted the API token ({base_url})" if checked.ok
        else f"{TOKEN_ENV}: {checked.sentence}",
    )


def _serve(args: argparse.Namespace, out: TextIO, environ: Mapping[str, str]) -> int:
    from desktop_app.relay.server import serve_relay

    try:
        config = RelayConfig.from_environ(environ)
    except RelayConfigError as exc:
        raise RelayCommandError(str(exc), EXIT_INVALID) from None

    def ready(base_url: str) -> None:
        if args.json:
            out.write(json.dumps({"relay": base_url, "pid": os.getpid()}) + "\n")
        else:
            out.write(f"MyOperator relay serving on {base_url}. Press Ctrl+C to stop.\n")
        out.flush()

    try:
        serve_relay(
            config,
            args.host,
            args.port,
            on_ready=ready,
            token=environ.get(TOKEN_ENV, "").strip() or None,
        )
    except OSError as exc:
        raise RelayCommandError(
            f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}."
        ) from None
    return EXIT_OK
