"""Single instance with real processes: a second launch hands its tel: link to the running
one and exits 0; the running one receives it; a crashed primary's lock and socket are taken
over by the next launch. Each test has its own runtime directory (never the user's)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop_app.runtime.single_instance import (
    MAX_ARG_LENGTH,
    MAX_ARGS,
    SingleInstance,
    bring_to_front,
    decode_message,
    encode_message,
    sanitize_args,
)
from tests.helpers.processes import ROOT, child_environment, read_json_line

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes; POSIX sockets"),
]

LINK = "tel:+91-98123-45678"


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    return tmp_path / "run"


def environment(runtime: Path) -> dict[str, str]:
    return child_environment(runtime=runtime)


def launch(runtime: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop_app.runtime.single_instance", "--selftest", *args],
        cwd=ROOT, env=environment(runtime), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_launch_hands_over_its_link_and_exits(
    runtime: Path, processes: list[subprocess.Popen[str]]
) -> None:
    primary = launch(runtime, "--expect", "2", "--timeout", "40")
    processes.append(primary)
    hello = read_json_line(primary)
    assert hello == {"role": "primary", "listening": True, "server": hello["server"]}
    assert Path(hello["server"]).parent == runtime  # a per-user socket, not /tmp

    second = subprocess.run(
        [sys.executable, "-m", "desktop_app.runtime.single_instance", "--selftest", LINK],
        cwd=ROOT, env=environment(runtime), capture_output=True, text=True, timeout=30,
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"role": "secondary", "forwarded": True}
    assert read_json_line(primary) == {"role": "primary", "received": [LINK]}

    # Untrusted input arrives capped and on one line each.
    hostile = ["callto:" + "9" * 10_000, "tel:+91\n98123\x0745678", *(["x"] * 40)]
    third = launch(runtime, *hostile)
    processes.append(third)
    assert third.wait(timeout=30) == 0
    received = read_json_line(primary)["received"]
    assert len(received) == MAX_ARGS
    assert len(received[0]) == MAX_ARG_LENGTH
    assert received[1] == "tel:+91 98123 45678"
    assert primary.wait(timeout=30) == 0


def test_a_crashed_primary_is_replaced(
    runtime: Path, processes: list[subprocess.Popen[str]]
) -> None:
    crashed = launch(runtime, "--timeout", "60")
    processes.append(crashed)
    assert read_json_line(crashed)["listening"] is True
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=10)
    assert (runtime / "myoperator-desktop.lock").exists()  # left behind
    assert (runtime / "myoperator-desktop.sock").exists()

    primary = launch(runtime, "--timeout", "40")
    processes.append(primary)
    assert read_json_line(primary)["listening"] is True
    second = launch(runtime, "callto://+919812345678")
    processes.append(second)
    assert second.wait(timeout=30) == 0
    assert read_json_line(primary) == {"role": "primary", "received": ["callto://+919812345678"]}


def test_a_launch_while_the_primary_starts_waits_for_it(
    runtime: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """Started back to back: exactly one becomes primary, the other hands over."""
    first = launch(runtime, "--timeout", "40", LINK)
    second = launch(runtime, "--timeout", "40", LINK)
    processes.extend([first, second])
    deadline = time.monotonic() + 30
    roles: dict[str, subprocess.Popen[str]] = {}
    for proc in (first, second):
        roles[read_json_line(proc, max(1.0, deadline - time.monotonic()))["role"]] = proc
    assert set(roles) == {"primary", "secondary"}
    assert roles["secondary"].wait(timeout=30) == 0
    assert read_json_line(roles["primary"]) == {"role": "primary", "received": [LINK]}


def test_an_unanswered_lock_is_reported(
    runtime: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """A primary that holds the lock but does not answer (stopped): the second launch
    gives up with a message instead of hanging or stealing the lock."""
    primary = launch(runtime, "--timeout", "60")
    processes.append(primary)
    assert read_json_line(primary)["listening"] is True
    primary.send_signal(signal.SIGSTOP)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "desktop_app.runtime.single_instance", "--selftest", LINK],
            cwd=ROOT, env=environment(runtime), capture_output=True, text=True, timeout=30,
        )
    finally:
        primary.send_signal(signal.SIGCONT)
    assert second.returncode == 2
    answer = json.loads(second.stdout)
    assert answer["forwarded"] is False
    assert "already running but did not answer" in answer["error"]


# ------------------------------------------------------------------ the wire format


def test_messages_round_trip_and_are_framed_by_lines() -> None:
    message = encode_message(["tel:+919812345678", "", "a\nb", "--demo"])
    assert message == b"MYOPERATOR-DESKTOP 1\ntel:+919812345678\na b\n--demo\n\n"
    assert decode_message(message) == ["tel:+919812345678", "a b", "--demo"]
    assert decode_message(message[:-1]) is None  # not complete yet
    assert decode_message(b"MYOPER") is None
    assert decode_message(encode_message([])) == []


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.1\r\n\r\n", b"MYOPERATOR-DESKTOP 2\nx\n\n", b"x" * 70_000,
     b"MYOPERATOR-DESKTOP 1\n" + b"a\n" * 40 + b"\n"],
)
def test_foreign_or_oversized_messages_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_message(data)


def test_sanitize_caps_count_and_length() -> None:
    args = sanitize_args(["  tel:1 ", "\x07", "y" * 5000, *["z"] * 30])
    assert args[0] == "tel:1"
    assert len(args[1]) == MAX_ARG_LENGTH
    assert len(args) == MAX_ARGS


def test_the_lock_is_never_stale_by_age(tmp_path: Path) -> None:
    """Qt's default would let a launch steal the lock of a primary running over 30 s."""
    instance = SingleInstance("stale-check", directory=tmp_path)
    assert instance._lock.staleLockTime() == 0
    assert instance.start(listen=False) and instance.is_primary
    instance.close()


def test_bring_to_front_restores_a_minimized_window(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()
    bring_to_front(window)
    assert window.isVisible()
    assert not window.isMinimized()
