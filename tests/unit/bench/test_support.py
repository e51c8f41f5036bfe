"""bench/_support.py's pure parts: a figure's line with and without its floor (the README
and CI logs read the line without one), the nearest-rank percentile, and the bare window's
medians over made-up runs."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.helpers.scripts import ROOT


@pytest.fixture(scope="module")
def support() -> Iterator[ModuleType]:
    """bench/_support.py as a module (bench/ is scripts, not a package), registered while
    the tests run: its dataclasses look their module up by name."""
    spec = importlib.util.spec_from_file_location("_support", ROOT / "bench" / "_support.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get("_support")
    sys.modules["_support"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        if previous is None:
            sys.modules.pop("_support", None)
        else:
            sys.modules["_support"] = previous


def test_a_line_without_a_floor_keeps_its_format(support: ModuleType) -> None:
    figure = support.Figure("open the feed, 100,000 calls cached (median)", 0.214, 0.2, "s")

    assert figure.line() == (
        "open the feed, 100,000 calls cached (median): 0.21 s (target ≤ 0.2 s) OVER"
    )


def test_a_line_with_a_floor_shows_it_and_the_ratio(support: ModuleType) -> None:
    figure = support.Figure(
        "start → first page painted (demo, median)", 0.48, 0.5, "s", floor=0.15
    )

    assert figure.line() == (
        "start → first page painted (demo, median): 0.48 s "
        "(target ≤ 0.5 s; floor 0.15 s, ×3.2) OK"
    )


def test_the_note_follows_the_verdict(support: ModuleType) -> None:
    figure = support.Figure("stall", 20.04, 17.0, "ms", note="3 runs", floor=4.0)

    assert figure.line() == "stall: 20.0 ms (target ≤ 17 ms; floor 4.0 ms, ×5.0) OVER   [3 runs]"


def test_a_zero_floor_is_shown_without_a_ratio(support: ModuleType) -> None:
    figure = support.Figure("stall (timer probe)", 3.0, 17.0, "ms", floor=0.0)

    assert figure.line() == "stall (timer probe): 3.0 ms (target ≤ 17 ms; floor 0.0 ms) OK"


def test_report_prints_the_line(support: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    figure = support.report("rss", 126.4, 300.0, "MB", floor=50.2)

    assert capsys.readouterr().out == figure.line() + "\n"
    assert figure.line() == "rss: 126 MB (target ≤ 300 MB; floor 50 MB, ×2.5) OK"


def test_percentile_is_nearest_rank(support: ModuleType) -> None:
    values = [float(v) for v in range(1, 101)]

    assert support.percentile(values, 99) == 99.0
    assert support.percentile(values, 50) == 50.0
    assert support.percentile(values, 100) == 100.0
    assert support.percentile(values, 0) == 1.0
    assert support.percentile([7.0], 99) == 7.0
    assert math.isnan(support.percentile([], 99))


def test_the_bare_window_floor_takes_medians_of_runs(support: ModuleType) -> None:
    run = support.BareWindowRun
    floor = support.BareWindowFloor((
        run(start_s=0.30, window_s=0.05, resets_s=(0.010, 0.020, 0.090)),
        run(start_s=0.10, window_s=0.03, resets_s=(0.008, 0.009, 0.012)),
        run(start_s=0.20, window_s=0.04, resets_s=(0.007, 0.011, 0.030)),
    ))

    assert floor.start_s == 0.20
    assert floor.window_s == 0.04
    assert floor.reset_ms == pytest.approx(11.0)  # the median of all nine resets
    assert floor.slowest_reset_ms == pytest.approx(30.0)  # of 90, 12 and 30 ms
