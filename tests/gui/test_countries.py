"""The dialling codes offered everywhere: read without loading every region's metadata."""

from __future__ import annotations

import phonenumbers

from desktop_app.ui.common.countries import country_choices


def test_every_supported_region_is_offered_once_with_its_own_code(qapp: object) -> None:
    choices = country_choices()
    regions = [region for _label, _code, region in choices]
    assert sorted(regions) == sorted(phonenumbers.SUPPORTED_REGIONS)
    by_region = {region: code for _label, code, region in choices}
    for region in ("IN", "US", "GB", "AE", "SG"):
        assert by_region[region] == str(phonenumbers.country_code_for_region(region))
    assert ("India (+91)", "91", "IN") in choices
    labels = [label.casefold() for label, _code, _region in choices]
    assert labels == sorted(labels)
