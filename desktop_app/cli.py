"""The `myoperator` command: the client's operations for scripts and power users.

Every failure ends in one plain sentence on stderr and a documented exit code; no
traceback and no token ever reach the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import stat
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from desktop_app.api.client import BASE_URL_ENV, LIVE_BASE_URL, MyOperatorClient, base_url_from
from desktop_app.api.errors import (
    MyOperatorError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.filters import build_filter_expression, resolve_filter_names
from desktop_app.api.models import CallLog, ContactType, FilterGroup, NewUser, User, UserUpdate
from desktop_app.api.redact import redact
from desktop_app.services.formatting import (
    format_duration,
    format_local_time,
    format_number,
    iso_utc,
)
from desktop_app.services.phone_input import PhoneInputError, parse_dialable

if TYPE_CHECKING:
    from desktop_app.sandbox.webhooks import WebhookSettings

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_AUTH = 3
EXIT_RATE_LIMITED = 4
EXIT_FAILED = 5
EXIT_OUTCOME_UNKNOWN = 6
EXIT_INTERRUPTED = 130

TOKEN_ENV = "MYOPERATOR_TOKEN"
# Numbers on the command line are plain ASCII: int() would also take "١٢", "1_0", " 5 "
# and "+5", which no one means to type as a count or a port.
_ASCII_INT = re.compile(r"[0-9]+")
_ASCII_SIGNED_INT = re.compile(r"-?[0-9]+")
_ASCII_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")


class UsageError(Exception):
    """Bad command-line input found before anything was sent."""


# ------------------------------------------------------------------ parsing


def parse_time(text: str) -> int:
    """Unix seconds, or ISO 8601 (a time without a zone is local time)."""
    text = text.strip()
    if _ASCII_SIGNED_INT.fullmatch(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time: use ISO 8601 (2026-11-27T09:30) or unix seconds."
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp())


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "y", "1", "on", "true"):
        return True
    if value in ("no", "n", "2", "off", "false"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, not {text!r}")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end like every other failure: one sentence, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, f"myoperator: {message} (see `{self.prog} --help`)\n")


def _add_global_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """The options every command takes. Declared once, added at the top and to every
    subcommand, so `myoperator logs --base-url URL` works as well as the other order."""
    parser.add_argument(
        "--base-url",
        default=default,
        metavar="URL",
        help=f"API base URL (default ${BASE_URL_ENV} or {LIVE_BASE_URL})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="myoperator",
        description="Command-line access to a MyOperator account. The API token is read "
        f"from ${TOKEN_ENV}.",
    )
    _add_global_options(parser, default=None)
    # The subcommands' copies default to SUPPRESS: given after the subcommand, the value
    # lands in the namespace; not given there, the top level's value is left alone.
    shared = _Parser(add_help=False)
    _add_global_options(shared, default=argparse.SUPPRESS)

    def add_parser(
        group: argparse._SubParsersAction[_Parser], name: str, help: str
    ) -> _Parser:
        return group.add_parser(name, help=help, parents=[shared])

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    logs = add_parser(commands, "logs", "list calls from the call log")
    logs.add_argument("--from", dest="start", type=parse_time_arg, help="ISO 8601 or unix seconds")
    logs.add_argument("--to", dest="end", type=parse_time_arg, help="ISO 8601 or unix seconds")
    logs.add_argument("--search", help="number, name, email, comment or unique id")
    logs.add_argument(
        "--filter", dest="filters", action="append", default=[], metavar="NAME",
        help="a filter name as `myoperator filters` lists it (repeatable)",
    )
    logs.add_argument("--limit", type=_positive_int, default=50, help="at most N calls (50)")
    logs.add_argument("--json", action="store_true", help="machine-readable output")

    filters = add_parser(commands, "filters", "list the account's log filters")
    filters.add_argument("--json", action="store_true")

    users = add_parser(commands, "users", "list the team's users")
    users.add_argument("--search", help="name, email or number")
    users.add_argument("--all", action="store_true", help="everyone in one request")
    users.add_argument("--json", action="store_true")

    user = add_parser(commands, "user", "add or update a user")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = add_parser(user_commands, "add", "add a user")
    add.add_argument("--name", required=True)
    add.add_argument("--contact-number", required=True, help="without the country code")
    add.add_argument("--country-code", default="91", help="dialling code (default 91)")
    _add_optional_user_fields(add)
    update = add_parser(user_commands, "update", "update a user's fields")
    update.add_argument("uuid")
    update.add_argument("--name")
    update.add_argument("--contact-number", help="without the country code")
    update.add_argument("--country-code", help="dialling code, needed with --contact-number")
    _add_optional_user_fields(update)

    call = add_parser(commands, "call", "click-to-call: ring the agent, then the customer")
    call.add_argument("number", help="the customer's number")
    call.add_argument("--cc", default="91", help="the customer's dialling code (default 91)")
    call.add_argument("--agent", required=True, metavar="UUID", help="the agent's user uuid")
    call.add_argument("--json", action="store_true")

    recording = add_parser(commands, "recording", "download a call recording")
    recording.add_argument("filename", help="the call's recording file name")
    recording.add_argument("-o", "--output", type=Path, help="where to save it")

    sandbox = add_parser(commands, "sandbox", "run the emulated MyOperator service")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=_port, default=8765, help="1-65535 (8765)")
    sandbox.add_argument("--logs", type=_positive_int, default=5000, help="calls to generate")
    sandbox.add_argument("--seed", type=_signed_int, default=7)
    sandbox.add_argument("--latency", type=_non_negative_int, default=0, metavar="MS")
    sandbox.add_argument("--fault", action="append", default=[], metavar="SPEC")
    sandbox.add_argument(
        "--live-calls", type=_positive_seconds, default=None, metavar="SECONDS",
        help="a new call every SECONDS (more than 0)",
    )
    sandbox.add_argument("--no-rate-limit", action="store_true", help="lift the emulated limit")
    sandbox.add_argument("--after-call-url", metavar="URL", help="post After Call webhooks here")
    sandbox.add_argument("--in-call-url", metavar="URL", help="post In-Call webhooks here")
    sandbox.add_argument(
        "--webhook-auth", metavar="'NAME: VALUE'", help="a header sent with every webhook"
    )
    sandbox.add_argument(
        "--webhook-fault", action="append", default=[], metavar="SPEC",
        help="drop, duplicate, late or reorder webhooks (e.g. drop:p=0.2)",
    )
    sandbox.add_argument("--tour", action="store_true", help="print a short tour of commands")

    relay = add_parser(commands, "relay", "run the team relay, check it, manage agents")
    add_relay_parser(relay)
    return parser


def add_relay_parser(relay: argparse.ArgumentParser) -> None:
    relay.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    relay.add_argument(
        "--port", type=_port_or_zero, default=8780, help="0-65535; 0 picks a free port (8780)"
    )
    relay.add_argument(
        "--check", action="store_true", help="check a new install's settings, Redis and token"
    )
    relay.add_argument("--json", action="store_true", help="say where it serves as JSON")
    actions = relay.add_subparsers(dest="relay_command", metavar="ACTION")
    agent = actions.add_parser("agent", help="issue, revoke and list agents' credentials")
    agent_actions = agent.add_subparsers(dest="agent_action", required=True, metavar="ACTION")
    add = agent_actions.add_parser("add", help="issue a credential (replaces an earlier one)")
    add.add_argument("name", help="the agent's name, as the team knows them")
    add.add_argument(
        "--admin", action="store_true", help="may add and change users through the relay"
    )
    add.add_argument(
        "--user", default="", metavar="UUID",
        help="the MyOperator user this agent is (see `myoperator users`): they may switch "
        "their own do-not-disturb, and their desktop knows who they are",
    )
    revoke = agent_actions.add_parser("revoke", help="revoke an agent's credential at once")
    revoke.add_argument("name")
    agent_actions.add_parser("list", help="list the agents who hold a credential")


def _port_or_zero(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, not {text!r}")
    return int(text)


def _add_optional_user_fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extension", type=_non_negative_int)
    parser.add_argument("--email")
    parser.add_argument("--alternate-contact-number")
    parser.add_argument("--alternate-cc", help="dialling code of the alternate number")
    parser.add_argument("--panel-access", type=_yes_no, metavar="yes|no")
    parser.add_argument("--receive-calls", type=_yes_no, metavar="yes|no")
    parser.add_argument("--contact-type", choices=[c.value for c in ContactType])


def parse_time_arg(text: str) -> int:
    try:
        return parse_time(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(text: str, pattern: re.Pattern[str] = _ASCII_INT) -> int:
    if not pattern.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected a whole number written with the digits 0-9, not {text!r}"
        )
    return int(text)


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    return _whole_number(text)


def _signed_int(text: str) -> int:
    return _whole_number(text, _ASCII_SIGNED_INT)


def _port(text: str) -> int:
    if _ASCII_SIGNED_INT.fullmatch(text) and not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {text}")
    return _whole_number(text)


def _positive_seconds(text: str) -> float:
    if not _ASCII_DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds greater than 0 (such as 20 or 2.5), not {text!r}"
        )
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


# ----------------------------------------------------------------- output


def log_json(call: CallLog) -> dict[str, Any]:
    return {
        "id": call.id,
        "start": iso_utc(call.start_time),
        "end": iso_utc(call.end_time) if call.end_time is not None else None,
        "duration_s": call.duration_s,
        "direction": call.direction.value,
        "answered": call.answered,
        "caller": call.caller_number,
        "department": call.department,
        "agents": list(call.agents),
        "recording": call.filename if call.has_recording else None,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "uuid": user.uuid,
        "name": user.name,
        "extension": user.extension,
        "number": user.number_e164,
        "email": user.email,
        "role": user.role.label if user.role is not None else None,
        "receives_calls": user.receives_calls,
        "panel_access": user.panel_access,
        "contact_type": user.contact_type.value if user.contact_type is not None else None,
    }


def filters_json(groups: Sequence[FilterGroup]) -> list[dict[str, Any]]:
    return [
        {"id": g.id, "name": g.name, "filters": [{"id": f.id, "name": f.name} for f in g.filters]}
        for g in groups
    ]


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str], out: TextIO) -> None:
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in (header, *rows):
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")


def _yes(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


# ----------------------------------------------------------------- commands


async def _cmd_logs(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    expression = None
    if args.filters:
        groups = await client.filters()
        expression = build_filter_expression(groups, resolve_filter_names(groups, args.filters))
    calls: list[CallLog] = []
    total = 0
    async for page in client.iter_logs(
        start=args.start, end=args.end, search=args.search, filters=expression, limit=args.limit
    ):
        calls.extend(page.logs)
        total = page.total
    calls = calls[: args.limit]
    if args.json:
        json.dump([log_json(c) for c in calls], out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    rows = [
        (
            format_local_time(c.start_time),
            "in" if c.direction.value == "incoming" else "out",
            "answered" if c.answered else "missed",
            format_number(c.caller_number),
            c.department,
            ", ".join(c.agents),
            format_duration(c.talk_s),
            "yes" if c.has_recording else "",
        )
        for c in calls
    ]
    print_table(
        rows, ("time", "dir", "status", "caller", "department", "agents", "talk", "rec"), out
    )
    out.write(f"{len(calls)} of {total} matching calls\n")
    return EXIT_OK


async def _cmd_filters(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    groups = await client.filters()
    if args.json:
        json.dump(filters_json(groups), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    for group in groups:
        out.write(f"{group.name}\n")
        for f in group.filters:
            out.write(f"  {f.name}  (id {f.id})\n")
    return EXIT_OK


async def _cmd_users(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.all:
        users = list(await client.all_users(keyword=args.search))
    else:
        users = []
        async for page in client.iter_users(keyword=args.search):
            users.extend(page.users)
    if args.json:
        json.dump([user_json(u) for u in users], out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    rows = [
        (
            u.name,
            str(u.extension) if u.extension is not None else "",
            format_number(u.number_e164 or ""),
            u.email or "",
            u.role.label if u.role is not None else "",
            _yes(u.receives_calls),
            u.uuid,
        )
        for u in users
    ]
    print_table(rows, ("name", "ext", "number", "email", "role", "receives calls", "uuid"), out)
    return EXIT_OK


def _user_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "extension": args.extension,
        "email": args.email,
        "alternate_contact_number": args.alternate_contact_number,
        "alternate_cc": args.alternate_cc,
        "panel_access": args.panel_access,
        "receive_calls": args.receive_calls,
        "contact_type": ContactType(args.contact_type) if args.contact_type else None,
    }


async def _cmd_user(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    if args.user_command == "add":
        new_user = NewUser(
            name=args.name,
            contact_number=args.contact_number,
            country_code=args.country_code,
            **_user_fields(args),
        )
        uuid = await client.add_user(new_user)
        out.write(f"Added {new_user.name}" + (f" ({uuid})" if uuid else "") + ".\n")
        return EXIT_OK
    update = UserUpdate(
        uuid=args.uuid,
        name=args.name,
        contact_number=args.contact_number,
        country_code=args.country_code,
        **_user_fields(args),
    )
    message = await client.update_user(update)
    out.write((message or "Updated.") + "\n")
    return EXIT_OK


async def _cmd_call(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    # The dialer's own parsing: a number the desktop accepts, the command accepts too.
    try:
        number = parse_dialable(args.number, args.cc)
    except PhoneInputError as exc:
        raise UsageError(exc.message) from None
    placed = await client.click_to_call(number.national, number.country_code, args.agent)
    if args.json:
        json.dump({"placed": True, "unique_id": placed.unique_id}, out)
        out.write("\n")
    else:
        out.write(
            "Call placed: MyOperator is ringing the agent, then the customer"
            + (f" (id {placed.unique_id})" if placed.unique_id else "")
            + ".\n"
        )
    return EXIT_OK


_FILE_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def recording_target(filename: str, output: Path | None) -> Path:
    """Where to save: the given file, or the recording's own name inside a given folder.

    Only a new file or an existing regular one is written (a symlink counts as what it
    points to). A device, FIFO or socket is refused with a `UsageError`: the download
    ends in a rename, and renaming over ``/dev/full`` as root replaces the device.
    """
    name = Path(filename).name
    if not name or name in (".", ".."):
        raise UsageError(f"{filename!r} is not a recording file name.")
    if output is None:
        target = Path(name)
    elif output.is_dir():
        target = output / name
    else:
        target = output
    shown = target  # the path as given, before following a link
    if target.is_symlink():
        resolved = target.resolve()
        if not resolved.exists():
            raise UsageError(f"{target} is a link to nothing: give a file or a folder.")
        target = resolved
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise UsageError(f"The folder {target.parent} does not exist.") from None
        return target
    if stat.S_ISREG(mode):
        return target
    kind = next((what for test, what in _FILE_KINDS if test(mode)), "not a regular file")
    raise UsageError(
        f"{shown} is {kind}: save the recording to a regular file or into a folder."
    )


async def _cmd_recording(client: MyOperatorClient, args: argparse.Namespace, out: TextIO) -> int:
    target = recording_target(args.filename, args.output)
    await client.download_recording(args.filename, target)
    out.write(f"Saved {target}\n")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[MyOperatorClient, argparse.Namespace, TextIO], Awaitable[int]]] = {
    "logs": _cmd_logs,
    "filters": _cmd_filters,
    "users": _cmd_users,
    "user": _cmd_user,
    "call": _cmd_call,
    "recording": _cmd_recording,
}


def exit_code_for(error: MyOperatorError) -> int:
    """The documented exit code. An unknown outcome is checked first: whatever else the
    error resembles, "it may have happened" must never read as "retry"."""
    if isinstance(error, OutcomeUnknown):
        return EXIT_OUTCOME_UNKNOWN
    if isinstance(error, ValidationError):
        return EXIT_INVALID
    if isinstance(error, TokenRejected | PermissionDenied):
        return EXIT_AUTH
    if isinstance(error, RateLimited):
        return EXIT_RATE_LIMITED
    return EXIT_FAILED


def _message_for(error: MyOperatorError) -> str:
    if isinstance(error, NotFound) and not error.message:
        return "Not found."
    return error.message


# What may have happened when a change was sent and no clear answer was read, per operation.
_MAY_HAVE_HAPPENED = {
    "click-to-call": "the call may have been placed, so check the call log",
    "add user": "the user may have been added, so check the user list",
    "update user": "the change may have been made, so check the user",
}


def outcome_unknown_message(operation: str) -> str:
    """The one sentence for a change whose outcome is unknown: it must never read as
    "nothing happened, run it again" (a second click-to-call rings the customer twice)."""
    may = _MAY_HAVE_HAPPENED.get(operation, "it may have taken effect, so check")
    return (
        f"The {operation} request was sent but its outcome is unknown: {may} "
        "before trying again."
    )


@dataclass
class _Session:
    """What `main` must know when the run ends abnormally: whether a change was sent."""

    client: MyOperatorClient | None = None

    @property
    def mutation_sent(self) -> str | None:
        return self.client.mutation_sent if self.client is not None else None


async def _run_api_command(
    args: argparse.Namespace, out: TextIO, session: _Session | None = None
) -> int:
    base_url = base_url_from(args.base_url, os.environ)
    token = os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        raise UsageError(f"Set {TOKEN_ENV} to the account's API token.")
    async with MyOperatorClient(token, base_url=base_url) as client:
        if session is not None:
            session.client = client
        return await _COMMANDS[args.command](client, args, out)


def _run_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, parse_fault_spec, serve_forever

    try:
        faults = [parse_fault_spec(spec) for spec in args.fault]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config = SandboxConfig(
        seed=args.seed,
        n_logs=args.logs,
        latency_ms=args.latency,
        faults=faults,
        live_calls_every=args.live_calls,
        rate_limit=None if args.no_rate_limit else SandboxConfig().rate_limit,
        webhooks=webhook_settings(args),
    )
    base_url = f"http://{args.host}:{args.port}"
    out.write(f"Emulated MyOperator service on {base_url} (demo token {DEMO_TOKEN}).\n")
    if args.tour:
        out.write(tour_text(base_url, DEMO_TOKEN))
    out.write("Press Ctrl+C to stop.\n")
    out.flush()
    serve_forever(config, args.host, args.port)
    return EXIT_OK


def webhook_settings(args: argparse.Namespace) -> WebhookSettings | None:
    from desktop_app.sandbox.webhooks import WebhookSettings, parse_webhook_faults
    from desktop_app.serving import header_setting

    if not (args.after_call_url or args.in_call_url):
        if args.webhook_auth or args.webhook_fault:
            raise UsageError("--webhook-auth and --webhook-fault need --after-call-url or "
                             "--in-call-url")
        return None
    for url in (args.after_call_url, args.in_call_url):
        if url and not url.startswith(("http://", "https://")):
            raise UsageError(f"{url!r} is not an http:// or https:// URL")
    auth: tuple[str, str] | None = None
    if args.webhook_auth:
        auth = header_setting(args.webhook_auth)
        if auth is None:
            raise UsageError("--webhook-auth must look like 'X-Relay-Auth: <value>'")
    try:
        faults = tuple(f for spec in args.webhook_fault for f in parse_webhook_faults(spec))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return WebhookSettings(args.after_call_url, args.in_call_url, auth, faults)


def _run_relay(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: Redis's client is for the relay, not for every `myoperator` command.
    from desktop_app.relay.commands import RelayCommandError, run_relay

    try:
        return run_relay(args, out, os.environ)
    except RelayCommandError as exc:
        print(f"myoperator: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code


def tour_text(base_url: str, demo_token: str) -> str:
    week_ago = (datetime.now() - timedelta(days=7)).strftime("%Y-%m-%d")
    return f"""
A short tour. In another terminal:

  export {BASE_URL_ENV}={base_url}
  export {TOKEN_ENV}={demo_token}
  .venv/bin/myoperator filters
  .venv/bin/myoperator logs --limit 10
  .venv/bin/myoperator logs --filter incoming --filter missed --from {week_ago}
  .venv/bin/myoperator logs --search 98 --json
  .venv/bin/myoperator users
  .venv/bin/myoperator call 9812345678 --agent <uuid from `users`>
  .venv/bin/myoperator recording <file name from `logs --json`> -o /tmp/

"""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    session = _Session()

    def unknown_outcome(operation: str) -> int:
        print(f"myoperator: {outcome_unknown_message(operation)}", file=sys.stderr)
        return EXIT_OUTCOME_UNKNOWN

    try:
        if args.command == "sandbox":
            return _run_sandbox(args, out)
        if args.command == "relay":
            return _run_relay(args, out)
        return asyncio.run(_run_api_command(args, out, session))
    except UsageError as exc:
        print(f"myoperator: {redact(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    except MyOperatorError as exc:
        print(f"myoperator: {_message_for(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Ctrl-C before a change was sent: nothing happened. After: no one knows.
        if session.mutation_sent is not None:
            return unknown_outcome(session.mutation_sent)
        return EXIT_INTERRUPTED
    except Exception as exc:
        # Once a change was sent, any failure (a bug, a closed stdout) leaves its outcome
        # unknown to the caller: exit 5 ("failed") would invite a second attempt.
        if session.mutation_sent is not None:
            return unknown_outcome(session.mutation_sent)
        if isinstance(exc, OSError):
            print(f"myoperator: {redact(exc.strerror or str(exc))}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
