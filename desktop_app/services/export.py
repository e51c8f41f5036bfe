"""Exporting calls to CSV that Excel opens correctly with a double-click.

Excel guesses a CSV's encoding from a byte-order mark (without one, names in Devanagari or
accented letters turn into mojibake), so the file is UTF-8 *with* BOM. Times are written
twice: local time as ``YYYY-MM-DD HH:MM:SS`` (which Excel recognises as a date) and UTC in
ISO 8601 with ``Z`` (unambiguous for scripts). Free-text cells that a spreadsheet would
run as a formula are neutralised: department and agent names come from the server and
must not be able to execute ``=HYPERLINK(...)`` on the agent's machine.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from desktop_app.services.formatting import (
    DEFAULT_HOME_REGION,
    format_number,
    iso_utc,
    local_datetime,
)
from desktop_app.store import CallRow

HEADER: Final[Sequence[str]] = (
    "Start (local)",
    "Start (UTC)",
    "Direction",
    "Status",
    "Caller",
    "Caller (E.164)",
    "Department",
    "Agents",
    "Talk time (s)",
    "Duration (s)",
    "Recording",
    "Call ID",
)
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would evaluate as a formula (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(row: CallRow, home_region: str = DEFAULT_HOME_REGION) -> list[str]:
    """One call as the cells of `HEADER`."""
    return [
        local_datetime(row.start_time).strftime("%Y-%m-%d %H:%M:%S"),
        iso_utc(row.start_time),
        row.direction.value,
        "answered" if row.answered else "missed",
        # The human form starts with a trunk 0 or "+CC " plus spaces: Excel keeps it as text.
        safe_cell(format_number(row.caller_e164, home_region)),
        # E.164 is digits and a plus by construction: not a formula, left as it is.
        row.caller_e164,
        safe_cell(row.department),
        safe_cell(row.agents),
        str(row.talk_s),
        str(row.duration_s),
        "yes" if row.has_recording else "no",
        safe_cell(row.id),
    ]


def write_calls_csv(
    path: Path, rows: Iterable[CallRow], *, home_region: str = DEFAULT_HOME_REGION
) -> int:
    """Write `rows` to `path` atomically (a ``.part`` file, then rename); return the count.

    Blocking file I/O: the window calls it through ``asyncio.to_thread``.
    """
    partial = path.with_name(path.name + ".part")
    count = 0
    try:
        with partial.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, dialect="excel")
            writer.writerow(HEADER)
            for row in rows:
                writer.writerow(csv_row(row, home_region))
                count += 1
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
