"""The dialling codes the app offers to choose from (dialer, preferences, user dialog)."""

from __future__ import annotations

from functools import cache

import phonenumbers
from PySide6.QtCore import QLocale


@cache
def country_choices() -> tuple[tuple[str, str, str], ...]:
    """(label, dialling code, region) for every region phonenumbers knows, by name, e.g.
    ("India (+91)", "91", "IN").

    Read from phonenumbers' code-to-region table: asking each region's code instead
    loads all 245 regions' metadata, 150-180 ms while the window is being built.
    """
    rows: list[tuple[str, str, str]] = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            if region not in phonenumbers.SUPPORTED_REGIONS:
                continue  # "001": numbers of no country (satellites, UIFN)
            territory = QLocale.codeToTerritory(region)
            name = QLocale.territoryToString(territory) if territory.value else ""
            rows.append((f"{name or region} (+{code})", str(code), region))
    return tuple(sorted(rows, key=lambda r: r[0].casefold()))
