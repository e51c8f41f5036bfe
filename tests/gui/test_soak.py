"""The soak test's parts (bench/soak.py): its leak judgement on made-up samples, its fault
schedule, and its driver's steps on the real workspace against the emulated service."""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener

if TYPE_CHECKING:
    from desktop_app.sandbox import SandboxServer

BENCH = Path(__file__).resolve().parents[2] / "bench"
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def soak() -> Iterator[ModuleType]:
    """bench/soak.py as a module (bench/ is scripts, not a package)."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("soak", BENCH / "soak.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["soak"] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("soak", None)
        sys.path.remove(str(BENCH))


def samples(
    soak: ModuleType,
    *,
    minutes: float = 3.0,
    fd_leak_per_action: int = 0,
    thread_leak_per_action: int = 0,
    mib_per_action: float = 0.0,
) -> list[Any]:
    """A made-up run: a sample every 10 s, an action every 2.5 s, and the noise a healthy
    app shows (descriptors and threads that come and go with downloads and playback,
    RSS that jumps around by a few MiB)."""
    rng = random.Random(5)
    result = []
    for i in range(int(minutes * 6) + 1):
        t = i * 10.0
        actions = int(t / 2.5)
        result.append(soak.Sample(
            t=t,
            rss_mib=140.0 + min(t, 60.0) / 10 + rng.uniform(-1.5, 1.5) + mib_per_action * actions,
            fds=26 + rng.choice((0, 0, 1, 3)) + fd_leak_per_action * actions,
            threads_py=1,
            threads_os=13 + rng.choice((0, 0, 2, 4, 6)) + thread_leak_per_action * actions,
            qobjects=650 + rng.randrange(40),
            crashes=0,
            actions=actions,
        ))
    return result


def test_a_healthy_run_passes_the_leak_check(soak: ModuleType) -> None:
    verdict = soak.judge(samples(soak), soak.warmup_for(180))
    assert verdict.problems == []
    assert verdict.ok


@pytest.mark.parametrize(
    ("leak", "words"),
    [
        ({"fd_leak_per_action": 1}, "open file descriptors grew"),
        ({"thread_leak_per_action": 1}, "threads grew"),
        ({"mib_per_action": 0.25}, "memory grew"),
    ],
)
def test_a_leak_of_one_per_action_fails_the_check(
    soak: ModuleType, leak: dict[str, Any], words: str
) -> None:
    verdict = soak.judge(samples(soak, **leak), soak.warmup_for(180))
    assert not verdict.ok
    assert len(verdict.problems) == 1
    assert words in verdict.problems[0]


def test_too_short_a_run_is_not_judged_healthy(soak: ModuleType) -> None:
    verdict = soak.judge(samples(soak, minutes=0.1), soak.warmup_for(180))
    assert not verdict.ok


def test_the_three_minute_run_injects_each_fault_kind(soak: ModuleType) -> None:
    schedule = soak.fault_schedule(180.0)
    kinds = [kind for _at, kind, _spec in schedule]
    assert "429" in kinds and "5xx" in kinds
    assert all(at < 180.0 - 10 for at, _kind, _spec in schedule)

    long_run = soak.fault_schedule(1800.0)
    assert [at for at, _k, _s in long_run][:3] == [120.0, 240.0, 360.0]
    assert {kind for _at, kind, _spec in long_run} == {"429", "5xx"}


async def test_the_driver_searches_selects_plays_and_opens_the_dialer(
    soak: ModuleType, feed_sandbox: SandboxServer, open_workspace: WorkspaceOpener
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await wait_until(lambda: ws.feed.model.rowCount() > 0, TIMEOUT)
        driver = soak.Driver(ws, random.Random(3), pace=0.0)

        await driver.search()
        assert driver.counts.get("searches with results") == 1
        assert ws.feed.panel.search.text() == ""  # cleared again
        assert ws.feed.model.query.text == ""

        await driver.select()
        assert driver.counts.get("selected") == 1
        assert ws.call_detail.panel.call is not None

        await driver.play()
        assert driver.counts.get("play: started") == 1, driver.counts

        await driver.dialer()
        assert driver.counts.get("dialer opened") == 1, driver.counts
        assert ws.dialer.panel.number_text() != ""
        assert ws.window.detail_dock.isVisible()  # back to the call detail


async def test_the_crash_watch_reports_every_exception_nobody_handled(
    soak: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hooks it chains to: quiet ones, restored after the test.
    monkeypatch.setattr(sys, "excepthook", lambda *_args: None)
    monkeypatch.setattr(threading, "excepthook", lambda _args: None)
    loop = asyncio.get_running_loop()
    watch = soak.CrashWatch()
    watch.install(loop)
    try:

        def in_a_callback() -> None:
            raise RuntimeError("raised in a loop callback")

        def in_a_thread() -> None:
            raise ZeroDivisionError("raised in a thread")

        loop.call_soon(in_a_callback)
        thread = threading.Thread(target=in_a_thread)
        thread.start()
        thread.join()
        sys.excepthook(ValueError, ValueError("reached sys.excepthook"), None)
        await wait_until(lambda: watch.count == 3, TIMEOUT)
    finally:
        loop.set_exception_handler(None)
    out = capsys.readouterr().out
    assert out.count(soak.MARK) == 3
    for text in ("raised in a loop callback", "raised in a thread", "reached sys.excepthook"):
        assert text in out
