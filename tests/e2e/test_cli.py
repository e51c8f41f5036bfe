"""The `myoperator` command as a real process against the emulated service on loopback."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.sandbox import BASIC_TOKEN, SandboxServer
from desktop_app.services.phone_input import parse_dialable
from tests.helpers.tokens import FAKE_TOKEN


def run(
    server: SandboxServer,
    *args: str,
    token: str = FAKE_TOKEN,
    cwd: Path | None = None,
    base_url_env: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it; $MYOPERATOR_BASE_URL is the server unless given."""
    base_url = server.base_url if base_url_env is None else base_url_env
    env = dict(os.environ, MYOPERATOR_TOKEN=token, MYOPERATOR_BASE_URL=base_url)
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app.cli", *args],
        env=env, capture_output=True, text=True, timeout=60, cwd=cwd,
    )
    if token:
        assert token not in result.stdout and token not in result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_logs_json_is_stable(server: SandboxServer) -> None:
    result = run(server, "logs", "--limit", "30", "--json")
    assert result.returncode == 0, result.stderr
    logs = json.loads(result.stdout)
    assert len(logs) == 30
    assert set(logs[0]) == {"id", "start", "end", "duration_s", "direction", "answered",
                            "caller", "department", "agents", "recording"}
    assert all(entry["start"].endswith("Z") and entry["caller"].startswith("+") for entry in logs)
    assert {entry["direction"] for entry in logs} <= {"incoming", "outgoing"}
    assert all(entry["recording"] is None for entry in logs if not entry["answered"])


def test_logs_with_filters_and_times(server: SandboxServer) -> None:
    result = run(server, "logs", "--filter", "Incoming", "--filter", "missed",
                 "--from", "2000-01-01T00:00:00Z", "--limit", "20", "--json")
    assert result.returncode == 0, result.stderr
    logs = json.loads(result.stdout)
    assert logs and all(e["direction"] == "incoming" and not e["answered"] for e in logs)


def test_logs_as_a_table(server: SandboxServer) -> None:
    result = run(server, "logs", "--limit", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["time", "dir", "status"]
    assert len(lines) == 1 + 5 + 1 and lines[-1].startswith("5 of ")


def test_filters_and_users_json(server: SandboxServer) -> None:
    filters = json.loads(run(server, "filters", "--json").stdout)
    assert any(g["name"] == "Event of logs" and {"id": 5, "name": "Incoming"} in g["filters"]
               for g in filters)
    users = json.loads(run(server, "users", "--all", "--json").stdout)
    assert users and set(users[0]) == {"uuid", "name", "extension", "number", "email", "role",
                                       "receives_calls", "panel_access", "contact_type"}
    assert {u["role"] for u in users} >= {"Admin", "Basic"}
    paged = json.loads(run(server, "users", "--json").stdout)
    assert [u["uuid"] for u in paged] == [u["uuid"] for u in users]


def test_user_add_update_and_call(server: SandboxServer) -> None:
    added = run(server, "user", "add", "--name", "Ishaan Verma", "--contact-number",
                "91234 56781", "--extension", "88", "--receive-calls", "no")
    assert added.returncode == 0, added.stderr
    users = json.loads(run(server, "users", "--all", "--json", "--search", "Ishaan").stdout)
    ishaan = next(u for u in users if u["name"] == "Ishaan Verma")
    assert (ishaan["extension"], ishaan["receives_calls"]) == (88, False)
    updated = run(server, "user", "update", ishaan["uuid"], "--receive-calls", "yes")
    assert updated.returncode == 0, updated.stderr
    before = len(server.state.placed_calls)
    called = run(server, "call", "098123 45678", "--agent", ishaan["uuid"], "--json")
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["placed"] is True
    assert len(server.state.placed_calls) == before + 1


def settled_recording(server: SandboxServer) -> str:
    """A recording of the generated history: the calls other tests place through the
    command are the newest in the log, and theirs are not ready for minutes."""
    placed = {p.unique_id for p in server.state.placed_calls}
    logs = json.loads(run(server, "logs", "--limit", "60", "--json").stdout)
    return str(next(e["recording"] for e in logs if e["recording"] and e["id"] not in placed))


def test_recording_download(server: SandboxServer, tmp_path: Path) -> None:
    name = settled_recording(server)
    result = run(server, "recording", name, "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "token", "fault", "code"),
    [
        (("logs", "--limit", "0"), FAKE_TOKEN, None, 2),
        (("call", "12", "--agent", "x"), FAKE_TOKEN, None, 2),
        (("logs", "--filter", "No such filter"), FAKE_TOKEN, None, 2),
        (("logs", "--from", "yesterday-ish"), FAKE_TOKEN, None, 2),
        (("filters",), "0123456789abcdef0123456789abcdef", None, 3),
        (("user", "add", "--name", "X", "--contact-number", "9123456789"), BASIC_TOKEN, None, 3),
        (("filters",), FAKE_TOKEN, "429:retry_after=3600", 4),
        (("filters",), FAKE_TOKEN, "500", 5),
        (("filters",), FAKE_TOKEN, "malformed", 5),
        (("call", "9812345678", "--agent", "AGENT"), FAKE_TOKEN,
         "502:path=/clickOcall,after=1", 6),
        (("call", "9812345678", "--agent", "AGENT"), FAKE_TOKEN,
         "429:path=/clickOcall,after=1", 6),
        (("call", "9812345678", "--agent", "AGENT"), FAKE_TOKEN,
         "malformed:path=/clickOcall,after=1", 6),
        (("user", "update", "AGENT", "--name", "Maybe"), FAKE_TOKEN,
         "429:path=/user,method=PUT,after=1", 6),
    ],
)
def test_failures_give_one_sentence_and_the_documented_code(
    server: SandboxServer, args: tuple[str, ...], token: str, fault: str | None, code: int
) -> None:
    if "AGENT" in args:
        agent = server.state.users[0].uuid
        args = tuple(agent if a == "AGENT" else a for a in args)
    if fault:
        server.state.faults.add(fault)
    result = run(server, *args, token=token)
    assert result.returncode == code, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message and len(message.splitlines()) <= 2, message


def test_a_missing_token_is_invalid_input(server: SandboxServer) -> None:
    result = run(server, "filters", token="")
    assert result.returncode == 2
    assert "MYOPERATOR_TOKEN" in result.stderr


# ------------------------------------------------- an unclear call is never "retry"


def test_a_call_placed_then_answered_429_is_unknown_never_retry(server: SandboxServer) -> None:
    agent = server.state.users[0].uuid
    server.state.faults.add("429:path=/clickOcall,after=1,retry_after=1")
    before = len(server.state.placed_calls)
    result = run(server, "call", "9812345678", "--agent", agent)
    assert len(server.state.placed_calls) == before + 1  # the service did place it
    assert result.returncode == 6, result.stderr
    message = result.stderr.strip()
    assert "may or may not" in message and "retry in" not in message
    assert len(message.splitlines()) == 1


# ------------------------------------------------------------ bad input: one sentence


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "localhost:8765"])
@pytest.mark.parametrize("where", ["flag", "env"])
def test_an_unusable_base_url_is_one_sentence(
    server: SandboxServer, url: str, where: str
) -> None:
    before = len(server.state.requests)
    if where == "flag":
        result = run(server, "--base-url", url, "filters")
    else:
        result = run(server, "filters", base_url_env=url)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("myoperator: ")
    assert "is not a usable address" in message
    assert ("--base-url" if where == "flag" else "MYOPERATOR_BASE_URL") in message
    assert len(server.state.requests) == before


def test_global_options_work_after_the_command(server: SandboxServer) -> None:
    # $MYOPERATOR_BASE_URL points nowhere: only the flag after the command can succeed.
    nowhere = "http://127.0.0.1:9"
    logs = run(server, "logs", "--base-url", server.base_url, "--limit", "2", "--json",
               base_url_env=nowhere)
    assert logs.returncode == 0, logs.stderr
    assert len(json.loads(logs.stdout)) == 2
    users = run(server, "users", "--all", "--json", "--base-url", server.base_url,
                base_url_env=nowhere)
    assert users.returncode == 0, users.stderr
    before = run(server, "--base-url", server.base_url, "filters", base_url_env=nowhere)
    assert before.returncode == 0, before.stderr


@pytest.mark.parametrize("kind", ["fifo", "symlink_to_fifo", "socket"])
def test_recording_output_must_be_a_file_or_a_folder(
    server: SandboxServer, tmp_path: Path, kind: str
) -> None:
    """Run as root, `-o /dev/full` used to replace the device with a regular file."""
    special = tmp_path / kind
    if kind == "socket":
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(special))
    else:
        os.mkfifo(special)
    kind_before = stat.S_IFMT(special.stat().st_mode)
    target = special
    if kind == "symlink_to_fifo":
        target = tmp_path / "link"
        target.symlink_to(special)
    before = sorted(p.name for p in tmp_path.iterdir())
    name = settled_recording(server)
    result = run(server, "recording", name, "-o", str(target))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    assert stat.S_IFMT(target.stat().st_mode) == kind_before  # never replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .part left either


def test_a_malformed_answer_is_described_not_echoed(server: SandboxServer) -> None:
    server.state.faults.add("malformed:path=/search")
    result = run(server, "logs", "--limit", "3")
    assert result.returncode == 5
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and len(message) < 120, message
    assert "{" not in message and "hits" not in message


@pytest.mark.parametrize("number", ["٩٨١٢٣٤٥٦٧٨", "９８１２３４５６７８", "098123‑45678"])
def test_call_reads_numbers_as_the_desktop_dialer_does(
    server: SandboxServer, number: str
) -> None:
    agent = server.state.users[0].uuid
    before = len(server.state.placed_calls)
    result = run(server, "call", number, "--agent", agent, "--json")
    assert result.returncode == 0, result.stderr
    placed = server.state.placed_calls[before:]
    expected = parse_dialable(number, "91")
    assert [(p.customer_cc, p.customer_number) for p in placed] == [
        (expected.country_code, expected.national)
    ]
