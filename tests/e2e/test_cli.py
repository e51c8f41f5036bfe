"""The `myoperator` command as a real process against the emulated service on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.sandbox import BASIC_TOKEN, SandboxServer
from tests.conftest import FAKE_TOKEN

pytestmark = pytest.mark.e2e


def run(
    server: SandboxServer, *args: str, token: str = FAKE_TOKEN, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MYOPERATOR_TOKEN=token, MYOPERATOR_BASE_URL=server.base_url)
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


def test_recording_download(server: SandboxServer, tmp_path: Path) -> None:
    logs = json.loads(run(server, "logs", "--limit", "40", "--json").stdout)
    name = next(e["recording"] for e in logs if e["recording"])
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
