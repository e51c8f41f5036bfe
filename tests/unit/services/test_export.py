"""CSV export: what Excel needs (BOM, dates it recognises) and what it must not run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from desktop_app.api.models import Direction
from desktop_app.services.export import HEADER, csv_row, safe_cell, write_calls_csv
from desktop_app.services.formatting import local_datetime
from desktop_app.store import CallRow

START = 1_795_000_000  # 2026-11-18T11:06:40Z


def row(call_id: str = "c1", **changes: object) -> CallRow:
    base = CallRow(
        id=call_id,
        start_time=START,
        end_time=START + 90,
        duration_s=90,
        talk_s=75,
        direction=Direction.INCOMING,
        answered=True,
        caller_e164="+919837211131",
        caller_raw="9837211131",
        department="Sales",
        agents="Asha Verma, Ravi Kumar",
        has_recording=True,
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def read(path: Path) -> tuple[bytes, list[list[str]]]:
    raw = path.read_bytes()
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_file_starts_with_a_bom_and_the_header(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    assert write_calls_csv(target, [row()]) == 1
    raw, rows = read(target)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == list(HEADER)
    assert len(rows) == 2


def test_times_are_local_for_excel_and_iso_utc_for_scripts(tmp_path: Path) -> None:
    cells = csv_row(row())
    assert cells[0] == local_datetime(START).strftime("%Y-%m-%d %H:%M:%S")
    assert cells[1] == "2026-11-18T11:06:40Z"


def test_row_cells_describe_the_call() -> None:
    cells = dict(zip(HEADER, csv_row(row()), strict=True))
    assert cells["Direction"] == "incoming"
    assert cells["Status"] == "answered"
    assert cells["Caller (E.164)"] == "+919837211131"
    assert cells["Caller"].replace(" ", "") == "09837211131"
    assert cells["Agents"] == "Asha Verma, Ravi Kumar"
    assert cells["Talk time (s)"] == "75"
    assert cells["Duration (s)"] == "90"
    assert cells["Recording"] == "yes"
    missed = dict(zip(HEADER, csv_row(row(answered=False, has_recording=False)), strict=True))
    assert missed["Status"] == "missed"
    assert missed["Recording"] == "no"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tx"])
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert safe_cell(text) == "'" + text
    cells = dict(zip(HEADER, csv_row(row(department=text, agents=text)), strict=True))
    assert cells["Department"] == "'" + text
    assert cells["Agents"] == "'" + text


def test_plain_text_is_untouched() -> None:
    assert safe_cell("Sales") == "Sales"
    assert safe_cell("") == ""


def test_non_ascii_names_round_trip(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    write_calls_csv(target, [row(agents="आशा वर्मा", department="Ventas — Süd")])
    _raw, rows = read(target)
    assert rows[1][HEADER.index("Agents")] == "आशा वर्मा"
    assert rows[1][HEADER.index("Department")] == "Ventas — Süd"


def test_commas_quotes_and_newlines_are_quoted(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    write_calls_csv(target, [row(department='Sales, "North"\nfloor 2')])
    _raw, rows = read(target)
    assert rows[1][HEADER.index("Department")] == 'Sales, "North"\nfloor 2'


def test_write_is_atomic_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    target.write_text("old", encoding="utf-8")
    assert write_calls_csv(target, (row(f"c{i}") for i in range(3))) == 3
    _raw, rows = read(target)
    assert [r[-1] for r in rows[1:]] == ["c0", "c1", "c2"]
    assert not (tmp_path / "calls.csv.part").exists()


def test_a_failure_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    target.write_text("old", encoding="utf-8")

    def broken() -> object:
        yield row()
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_calls_csv(target, broken())  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "old"
    assert not (tmp_path / "calls.csv.part").exists()
