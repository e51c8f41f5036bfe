"""Phone metadata is read lazily: the calling codes of every region without loading each
region's metadata."""

from __future__ import annotations

import subprocess
import sys

import phonenumbers

from desktop_app.services.formatting import calling_codes
from tests.helpers.processes import ROOT


def test_calling_codes_are_phonenumbers_own() -> None:
    codes = calling_codes()
    assert codes["IN"] == 91 and codes["US"] == 1 and codes["GB"] == 44
    for region in phonenumbers.SUPPORTED_REGIONS:
        assert codes[region] == phonenumbers.country_code_for_region(region), region


def test_calling_codes_load_no_regions_metadata() -> None:
    # A process of its own: this one may have loaded some regions already.
    script = (
        "import sys\n"
        "from desktop_app.services.formatting import calling_codes\n"
        "assert len(calling_codes()) > 200\n"
        "print(sorted(m for m in sys.modules if m.startswith('phonenumbers.data.region_')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True,
    )
    assert result.stdout.strip() == "[]"
