"""How the log names a link put in the dialer: never a customer's whole number."""

from __future__ import annotations

import pytest

from desktop_app.workspace import _number_hint


@pytest.mark.parametrize(
    ("link", "hint"),
    [
        ("tel:+919812345678", "number ending 5678"),
        ("callto:+91%2098123%2045678", "number ending 5678"),  # escapes are not digits
        ("tel:+919812345678;ext=123", "number ending 5678"),  # nor is an extension
        ("tel:+91-98123-45678?call", "number ending 5678"),
        ("tel:100", "a number of 3 digits"),  # short: only its length
        ("tel:123456", "a number of 6 digits"),
    ],
)
def test_a_link_is_named_by_its_last_four_digits(link: str, hint: str) -> None:
    assert _number_hint(link) == hint
