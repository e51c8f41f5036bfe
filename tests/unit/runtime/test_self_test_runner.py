"""The self-test's runner on fake checks (no Qt): one line per check in order, a failure
does not stop the rest, an unexpected exception is one `TypeName: text` line, a check
that never answers is cut off by the timeout, cleanups run; and how the single-instance
check starts this same program again, from a bundle and from source."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

import pytest

from desktop_app.runtime import self_test
from desktop_app.runtime.self_test import CheckFailed

LINE = re.compile(r"^(ok  |FAIL) (\S+(?: \S+)*?) *  (.*) \((\d+\.\d\d) s\)$")


async def passes(_ctx: self_test._Context) -> str:
    return "all good"


async def refuses(_ctx: self_test._Context) -> str:
    raise CheckFailed("the chime is\nmissing")


async def breaks(_ctx: self_test._Context) -> str:
    raise TypeError("expected str,\n  got None")


async def hangs(_ctx: self_test._Context) -> str:
    await asyncio.Event().wait()  # nothing ever sets it
    raise AssertionError("unreachable")


async def times_out_itself(_ctx: self_test._Context) -> str:
    raise TimeoutError("the socket timed out")


def parsed(text: str) -> list[tuple[str, str, str]]:
    lines = text.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(m.group(1).strip(), m.group(2), m.group(3)) for m in matches if m]


async def test_every_check_gets_one_line_and_failures_do_not_stop_the_rest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cleaned: list[Path] = []

    async def registers_cleanup(ctx: self_test._Context) -> str:
        async def cleanup() -> None:
            cleaned.append(ctx.folder)

        ctx.cleanups.append(cleanup)
        return "service started"

    monkeypatch.setattr(self_test, "CHECK_TIMEOUT_S", 0.2)  # the timeout under test
    monkeypatch.setattr(self_test, "CHECKS", (
        ("service", registers_cleanup),
        ("passes", passes),
        ("refuses", refuses),
        ("breaks", breaks),
        ("never answers", hangs),
        ("own timeout", times_out_itself),
        ("after all that", passes),
    ))
    out = io.StringIO()

    outcomes = await self_test.run_checks(out, tmp_path)

    assert parsed(out.getvalue()) == [
        ("ok", "service", "service started"),
        ("ok", "passes", "all good"),
        ("FAIL", "refuses", "the chime is missing"),
        ("FAIL", "breaks", "TypeError: expected str, got None"),
        ("FAIL", "never answers", "no answer within 0.2 s"),
        ("FAIL", "own timeout", "TimeoutError: the socket timed out"),
        ("ok", "after all that", "all good"),
    ]
    assert [(o.name, o.ok) for o in outcomes] == [
        ("service", True), ("passes", True), ("refuses", False), ("breaks", False),
        ("never answers", False), ("own timeout", False), ("after all that", True),
    ]
    assert cleaned == [tmp_path]
    # What was seen starts in one column, whatever the name's length.
    matches = [LINE.match(line) for line in out.getvalue().splitlines()]
    columns = {match.start(3) for match in matches if match}
    assert columns == {len("FAIL ") + len("after all that") + 2}


async def test_cleanups_run_last_first_even_when_one_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    order: list[str] = []

    async def starts_two(ctx: self_test._Context) -> str:
        async def first() -> None:
            order.append("first")

        async def second() -> None:
            order.append("second")
            raise OSError("port still busy")

        ctx.cleanups += [first, second]
        return "two things started"

    monkeypatch.setattr(self_test, "CHECKS", (("starts", starts_two), ("refuses", refuses)))
    out = io.StringIO()

    outcomes = await self_test.run_checks(out, tmp_path)

    assert order == ["second", "first"]
    assert out.getvalue().splitlines()[-1] == "FAIL cleanup  OSError: port still busy"
    # A service that would not stop fails the run, as a failed check does.
    assert [(o.name, o.ok) for o in outcomes][-1] == ("cleanup", False)


def test_a_bundle_launches_itself_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/myoperator-desktop/myoperator-desktop")
    assert self_test.second_launch_command("tel:+919812345678") == [
        "/opt/myoperator-desktop/myoperator-desktop", "tel:+919812345678"
    ]


def test_a_source_tree_launches_the_package_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert self_test.second_launch_command("tel:+919812345678") == [
        sys.executable, "-m", "desktop_app", "tel:+919812345678"
    ]
