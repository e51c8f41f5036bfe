"""How `myoperator` ends when a change (call, user add/update) was sent but no clear answer
was read: Ctrl-C while it is in flight, or a bug reading the answer. Either way the exit
code is 6 ("outcome unknown", check before trying again), never 130 or a traceback; Ctrl-C
before anything was sent stays a plain interrupt (130).

`cli.main` runs in-process against the emulated service through an in-process transport
that can stop a request at a chosen point and interrupt there: by a real SIGINT (what
Ctrl-C delivers, which ``asyncio.run`` turns into cancelling the command) or by a
KeyboardInterrupt raised inside the command's code.
"""

from __future__ import annotations

import asyncio
import io
import signal
from collections.abc import Iterator
from typing import NoReturn

import httpx
import pytest

from desktop_app import cli
from desktop_app.api import parsing
from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTCOME_UNKNOWN
from desktop_app.sandbox import SandboxApp, SandboxState
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, SandboxTransport, make_sandbox
from tests.helpers.tokens import FAKE_TOKEN

HOW = ["sigint", "keyboard_interrupt"]


async def interrupt(how: str) -> NoReturn:
    """Ctrl-C, here and now."""
    if how == "sigint":
        signal.raise_signal(signal.SIGINT)
        await asyncio.Event().wait()  # the command is cancelled out of this wait
    raise KeyboardInterrupt


class Interrupting(SandboxTransport):
    """The sandbox in-process; the first request to `path` is interrupted `when` it has
    been "before" the service saw it or "after" the service acted on it (its answer never
    arrives)."""

    def __init__(self, app: SandboxApp, path: str, when: str, how: str) -> None:
        super().__init__(app)
        self.path, self.when, self.how = path, when, how

    async def before(self, request: httpx.Request) -> None:
        if request.url.path == self.path and self.when == "before":
            await interrupt(self.how)

    async def after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path == self.path and self.when == "after":
            await interrupt(self.how)
        return response


@pytest.fixture
def app() -> SandboxApp:
    return make_sandbox(ManualClock(NOW), n_logs=50)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(cli.TOKEN_ENV, FAKE_TOKEN)
    monkeypatch.setenv(cli.BASE_URL_ENV, "http://sandbox")
    # asyncio.run turns SIGINT into cancelling the command only under Python's own handler,
    # which a shell does not give a job it started in the background (SIG_IGN there).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def use_transport(
    monkeypatch: pytest.MonkeyPatch,
    transport: httpx.AsyncBaseTransport,
    budget: RequestBudget | None = None,
) -> None:
    """The command builds its client as usual, but on this transport (and budget)."""

    def client(token: str, *, base_url: str) -> MyOperatorClient:
        return MyOperatorClient(
            token, base_url=base_url, transport=transport,
            budget=budget or RequestBudget.unlimited(),
        )

    monkeypatch.setattr(cli, "MyOperatorClient", client)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out)
    err = capsys.readouterr().err
    assert FAKE_TOKEN not in out.getvalue() + err
    assert "Traceback" not in err
    return code, out.getvalue(), err.strip()


def change_args(command: str, state: SandboxState) -> tuple[str, ...]:
    agent = state.users[0].uuid
    return {
        "call": ("call", "9812345678", "--agent", agent),
        "user add": ("user", "add", "--name", "Ctrl C", "--contact-number", "9123456780"),
        "user update": ("user", "update", agent, "--name", "Ctrl C"),
    }[command]


def change_made(command: str, state: SandboxState) -> int:
    if command == "call":
        return len(state.placed_calls)
    return sum(u.name == "Ctrl C" for u in state.users)


CHANGES = {"call": "/clickOcall", "user add": "/user", "user update": "/user"}
ADVICE = {
    "call": "check the call log",
    "user add": "check the user list",
    "user update": "check the user",
}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("command", list(CHANGES))
def test_ctrl_c_while_a_change_is_in_flight_is_an_unknown_outcome(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str, how: str,
) -> None:
    use_transport(monkeypatch, Interrupting(app, CHANGES[command], "after", how))
    code, out, err = run(capsys, *change_args(command, state))
    assert code == EXIT_OUTCOME_UNKNOWN, err
    assert change_made(command, state) == 1  # the service acted: "unknown" was the truth
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("myoperator: ")
    assert "outcome is unknown" in err and f"{ADVICE[command]} before trying again" in err


@pytest.mark.parametrize("how", HOW)
def test_ctrl_c_during_a_read_is_a_plain_interrupt(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    use_transport(monkeypatch, Interrupting(app, "/search", "after", how))
    code, out, err = run(capsys, "logs", "--limit", "3")
    assert (code, out, err) == (EXIT_INTERRUPTED, "", "")


@pytest.mark.parametrize("how", HOW)
def test_ctrl_c_before_a_change_is_sent_is_a_plain_interrupt(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    """Waiting for the request budget, nothing has left: Ctrl-C there means "not done"."""

    async def interrupted_wait(seconds: float) -> None:
        await interrupt(how)

    clock = ManualClock(NOW)
    budget = RequestBudget(clock=clock, sleep=interrupted_wait)
    budget.penalize(30)
    use_transport(monkeypatch, httpx.ASGITransport(app=app), budget)
    code, out, err = run(capsys, *change_args("call", state))
    assert (code, out, err) == (EXIT_INTERRUPTED, "", "")
    assert state.requests_to("/clickOcall") == [] and state.placed_calls == []


@pytest.mark.parametrize("command", list(CHANGES))
def test_a_bug_reading_the_answer_to_a_change_is_an_unknown_outcome(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    from desktop_app.api import client as client_module

    def broken(body: object) -> NoReturn:
        raise TypeError("a parsing bug")

    if command == "call":
        monkeypatch.setattr(parsing, "parse_call_placed", broken)
    else:
        reader = "_new_user_uuid" if command == "user add" else "_answer_message"
        monkeypatch.setattr(client_module, reader, broken)
    use_transport(monkeypatch, httpx.ASGITransport(app=app))
    code, _out, err = run(capsys, *change_args(command, state))
    assert code == EXIT_OUTCOME_UNKNOWN, err
    assert change_made(command, state) == 1
    assert len(err.splitlines()) == 1 and "may or may not have taken effect" in err
    assert "parsing bug" not in err


class ClosedOutput(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_placed_call_whose_report_cannot_be_written_is_not_failed(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 5 ("failed") would invite a second attempt, and a second call."""
    use_transport(monkeypatch, httpx.ASGITransport(app=app))
    code = cli.main(list(change_args("call", state)), ClosedOutput())
    err = capsys.readouterr().err.strip()
    assert code == EXIT_OUTCOME_UNKNOWN, err
    assert len(state.placed_calls) == 1
    assert len(err.splitlines()) == 1 and "check the call log" in err


def test_without_interruption_a_change_still_succeeds(
    app: SandboxApp,
    state: SandboxState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The interrupting transport itself is transparent until it fires."""
    use_transport(monkeypatch, Interrupting(app, "/nowhere", "after", "sigint"))
    code, out, err = run(capsys, *change_args("call", state))
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith("Call placed") and len(state.placed_calls) == 1
