"""The `myoperator` command line, parsed in-process: where options may go, which numbers
are numbers, and which files a recording may be written to. Nothing here is sent."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.api.errors import OutcomeUnknown, RateLimited
from desktop_app.cli import (
    EXIT_OUTCOME_UNKNOWN,
    EXIT_RATE_LIMITED,
    UsageError,
    build_parser,
    exit_code_for,
    recording_target,
)

URL = "http://127.0.0.1:8765"
OTHER = "http://127.0.0.1:8766"


def parse(*argv: str) -> dict[str, object]:
    return vars(build_parser().parse_args(list(argv)))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one sentence a refused command line ends with (exit code 2)."""
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(list(argv))
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("myoperator: ") and len(err.splitlines()) == 1, err
    return err


# ------------------------------------------------------------- global options


@pytest.mark.parametrize(
    "argv",
    [
        ("--base-url", URL, "logs"),
        ("logs", "--base-url", URL),
        ("logs", "--limit", "3", "--base-url", URL, "--json"),
        ("filters", "--base-url", URL),
        ("users", "--base-url", URL, "--all"),
        ("user", "--base-url", URL, "update", "u-1", "--name", "A"),
        ("user", "update", "u-1", "--base-url", URL),
        ("user", "add", "--name", "A", "--contact-number", "9123456789", "--base-url", URL),
        ("call", "9812345678", "--agent", "u-1", "--base-url", URL),
        ("recording", "a.mp3", "--base-url", URL),
        ("sandbox", "--base-url", URL),
    ],
)
def test_global_options_go_before_or_after_the_command(argv: tuple[str, ...]) -> None:
    assert parse(*argv)["base_url"] == URL


def test_the_position_given_last_wins_and_absent_means_none() -> None:
    assert parse("--base-url", OTHER, "logs", "--base-url", URL)["base_url"] == URL
    assert parse("--base-url", OTHER, "user", "update", "u-1")["base_url"] == OTHER
    assert parse("logs")["base_url"] is None  # resolved later: flag, $ENV, live


# ------------------------------------------------------------------- numbers


@pytest.mark.parametrize("text", ["١٢", "1_0", " 5 ", "+5", "5 ", "0x10", "٥", "１２", "", "2.0"])
def test_limit_takes_plain_ascii_digits_only(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert "--limit" in refused(capsys, "logs", "--limit", text)


def test_limit_still_takes_a_plain_number() -> None:
    assert parse("logs", "--limit", "12")["limit"] == 12


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "-1"), ("--port", "0"), ("--port", "70000"), ("--port", "٨٠"),
        ("--live-calls", "0"), ("--live-calls", "-1"), ("--live-calls", "nan"),
        ("--live-calls", "inf"), ("--live-calls", "1_0"),
        ("--latency", "-5"), ("--logs", "0"),
    ],
)
def test_sandbox_numbers_out_of_range_are_one_sentence(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert option in refused(capsys, "sandbox", option, value)


def test_sandbox_numbers_in_range_are_taken() -> None:
    args = parse("sandbox", "--port", "65535", "--live-calls", "2.5", "--latency", "0")
    assert (args["port"], args["live_calls"], args["latency"]) == (65535, 2.5, 0)


@pytest.mark.parametrize("text", ["١٢", "+12"])
def test_extensions_are_ascii_too(capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert "--extension" in refused(capsys, "user", "update", "u-1", "--extension", text)


# ---------------------------------------------------------------- exit codes


def test_an_unknown_outcome_never_reads_as_retry() -> None:
    class Both(OutcomeUnknown, RateLimited):
        pass

    assert exit_code_for(Both("may have", operation="click-to-call")) == EXIT_OUTCOME_UNKNOWN
    assert exit_code_for(RateLimited("wait", retry_after=3)) == EXIT_RATE_LIMITED


# ----------------------------------------------------------- recording target


def test_a_recording_goes_into_a_folder_or_a_regular_file(tmp_path: Path) -> None:
    assert recording_target("dir/x.mp3", tmp_path) == tmp_path / "x.mp3"
    assert recording_target("x.mp3", tmp_path / "new.mp3") == tmp_path / "new.mp3"
    existing = tmp_path / "old.mp3"
    existing.write_bytes(b"old")
    assert recording_target("x.mp3", existing) == existing
    link = tmp_path / "link.mp3"
    link.symlink_to(existing)
    assert recording_target("x.mp3", link) == existing  # written through the link


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def _link_to_fifo(tmp_path: Path) -> Path:
    link = tmp_path / "link"
    link.symlink_to(_fifo(tmp_path))
    return link


@pytest.mark.parametrize("make", [_fifo, _socket, _link_to_fifo])
def test_anything_but_a_file_or_folder_is_refused(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    target = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UsageError) as caught:
        recording_target("x.mp3", target)
    assert "regular file or into a folder" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("device", [os.devnull, "/dev/full"])
def test_a_device_is_refused_and_stays_a_device(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(UsageError, match="character device"):
        recording_target("x.mp3", Path(device))
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_dangling_link_or_a_missing_folder_is_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="link to nothing"):
        recording_target("x.mp3", dangling)
    with pytest.raises(UsageError, match="does not exist"):
        recording_target("x.mp3", tmp_path / "no" / "such" / "x.mp3")


def test_a_fifo_named_like_the_recording_inside_the_folder_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.mp3")
    with pytest.raises(UsageError) as caught:
        recording_target("x.mp3", tmp_path)
    assert str(tmp_path / "x.mp3") in str(caught.value) and "FIFO" in str(caught.value)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "x.mp3").st_mode)
