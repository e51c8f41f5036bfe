"""The dialling codes the app offers to choose from (dialer, preferences, user dialog)."""

from __future__ import annotations

from functools import cache

import phonenumbers
from PySide6.QtCore import QLocale

from desktop_app.services.formatting import calling_codes


@cache
def country_choices() -> tuple[tuple[str, str, str], ...]:
    """(label, dialling code, region) for every region phonenumbers knows, by name, e.g.
    ("India (+91)", "91", "IN").

    Cached, and the codes read through `calling_codes` (no region's metadata loaded):
    the dialer, the preferences and the user dialog each offer the list.
    """
    rows: list[tuple[str, str, str]] = []
    codes = calling_codes()
    for region in phonenumbers.SUPPORTED_REGIONS:
        territory = QLocale.codeToTerritory(region)
        name = QLocale.territoryToString(territory) if territory.value else ""
        rows.append((f"{name or region} (+{codes[region]})", str(codes[region]), region))
    return tuple(sorted(rows, key=lambda r: r[0].casefold()))
