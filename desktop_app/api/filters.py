"""Building the `filters` expression of `/search` from the account's `/filters` tree.

The rule: ids under one header are alternatives (OR), ids under different headers must all
hold (AND). Whether the live service accepts parentheses is unknown, so the expression is
written in disjunctive normal form, which needs none under the usual precedence (AND binds
tighter than OR): Incoming+Outgoing and Missed becomes ``5 AND 13 OR 6 AND 13``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from desktop_app.api.errors import ValidationError
from desktop_app.api.models import FilterGroup

# A selection whose expansion has more terms than this is refused rather than sent.
MAX_TERMS = 64


def build_filter_expression(groups: Sequence[FilterGroup], selected: Iterable[int]) -> str | None:
    """The expression for the selected filter ids, or None when nothing is selected."""
    parent_of = {f.id: g.id for g in groups for f in g.filters}
    header_names = {g.id: g.name for g in groups}
    chosen: dict[int, list[int]] = {}
    for filter_id in selected:
        if isinstance(filter_id, bool) or not isinstance(filter_id, int):
            raise ValidationError(f"{filter_id!r} is not a filter id.", field="filters")
        if filter_id in header_names:
            raise ValidationError(
                f"{header_names[filter_id]!r} is a category, not a filter.", field="filters"
            )
        if filter_id not in parent_of:
            raise ValidationError(f"There is no filter with id {filter_id}.", field="filters")
        ids = chosen.setdefault(parent_of[filter_id], [])
        if filter_id not in ids:
            ids.append(filter_id)
    if not chosen:
        return None
    # Keep the server's header order so the same selection always gives the same text.
    ordered = [sorted(chosen[g.id]) for g in groups if g.id in chosen]
    term_count = 1
    for ids in ordered:
        term_count *= len(ids)
    if term_count > MAX_TERMS:
        raise ValidationError(
            "That combination of filters is too broad to send; choose fewer.", field="filters"
        )
    terms = (" AND ".join(str(i) for i in combo) for combo in itertools.product(*ordered))
    return " OR ".join(terms)


def resolve_filter_names(groups: Sequence[FilterGroup], names: Iterable[str]) -> list[int]:
    """Filter ids for names as `/filters` spells them, ignoring case and outer spaces."""
    by_name: dict[str, list[int]] = {}
    for group in groups:
        for f in group.filters:
            by_name.setdefault(f.name.strip().casefold(), []).append(f.id)
    ids: list[int] = []
    for name in names:
        matches = by_name.get(name.strip().casefold())
        if not matches:
            known = ", ".join(sorted({f.name for g in groups for f in g.filters}))
            raise ValidationError(
                f"There is no filter named {name!r}. Known filters: {known}.", field="filters"
            )
        if len(matches) > 1:
            raise ValidationError(
                f"The filter name {name!r} is ambiguous on this account.", field="filters"
            )
        ids.append(matches[0])
    return ids
