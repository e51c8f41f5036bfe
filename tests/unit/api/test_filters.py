"""The filter expression: same header OR, different headers AND, never a header id."""

from __future__ import annotations

import pytest

from desktop_app.api.errors import ValidationError
from desktop_app.api.filters import build_filter_expression, resolve_filter_names
from desktop_app.api.models import Filter, FilterGroup


def group(header_id: int, name: str, *children: tuple[int, str]) -> FilterGroup:
    return FilterGroup(header_id, name, tuple(Filter(i, n, header_id) for i, n in children))


GROUPS = (
    group(1, "Source of logs", (2, "MyOperator IVR"), (3, "Mobile")),
    group(4, "Event of logs", (5, "Incoming"), (6, "Outgoing")),
    group(7, "Type of logs", (8, "Call"), (9, "SMS")),
    group(11, "Status of logs", (12, "Connected"), (13, "Missed"), (14, "Voicemail")),
)


def test_nothing_selected_is_no_expression() -> None:
    assert build_filter_expression(GROUPS, []) is None


def test_the_documented_incoming_missed_calls_example() -> None:
    assert build_filter_expression(GROUPS, [5, 13, 8]) == "5 AND 8 AND 13"


def test_ids_of_one_header_are_alternatives() -> None:
    assert build_filter_expression(GROUPS, [6, 5]) == "5 OR 6"


def test_alternatives_combined_with_another_header_expand_without_parentheses() -> None:
    assert build_filter_expression(GROUPS, [5, 6, 13]) == "5 AND 13 OR 6 AND 13"


def test_duplicates_are_ignored() -> None:
    assert build_filter_expression(GROUPS, [13, 13]) == "13"


@pytest.mark.parametrize("bad", [4, 0, 99])
def test_headers_and_unknown_ids_are_refused(bad: int) -> None:
    with pytest.raises(ValidationError) as caught:
        build_filter_expression(GROUPS, [5, bad])
    assert caught.value.field == "filters"
    assert not caught.value.sent


def test_non_ids_are_refused() -> None:
    with pytest.raises(ValidationError):
        build_filter_expression(GROUPS, ["5 OR 1=1"])  # type: ignore[list-item]


def test_too_broad_a_selection_is_refused() -> None:
    wide = tuple(group(100 * h, f"H{h}", *((100 * h + i, f"f{h}.{i}") for i in range(1, 4)))
                 for h in range(1, 6))
    every_id = [f.id for g in wide for f in g.filters]
    with pytest.raises(ValidationError, match="too broad"):
        build_filter_expression(wide, every_id)


def test_names_resolve_case_insensitively() -> None:
    assert resolve_filter_names(GROUPS, [" incoming", "MISSED"]) == [5, 13]


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"Known filters: .*Incoming"):
        resolve_filter_names(GROUPS, ["Inbound"])
