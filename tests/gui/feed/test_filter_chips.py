"""The filter chip bar shows a new set of chips a group per turn of the event loop (each
group's polish costs milliseconds), keeping what was checked."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from desktop_app.api.models import Filter, FilterGroup
from desktop_app.ui.feed.chips import FilterChipBar
from tests.helpers.qt import wait_until

GROUPS = tuple(
    FilterGroup(g, f"Group {g}", tuple(Filter(g * 10 + i, f"F{g}.{i}", g) for i in range(3)))
    for g in range(1, 5)
)


def shown_groups(host: QWidget) -> int:
    return sum(
        1 for box in host.findChildren(QWidget)
        if box.objectName().startswith("filterGroup_") and box.isVisible()
    )


async def test_groups_are_shown_one_per_turn_and_all_in_the_end(qapp: object) -> None:
    host = QWidget()
    bar = FilterChipBar(host)
    host.resize(900, 200)
    host.show()
    try:
        bar.set_groups(GROUPS)
        assert bar.revealing and shown_groups(host) == 0  # nothing polished in this turn
        seen: set[int] = set()

        def all_shown() -> bool:
            seen.add(shown_groups(host))
            return not bar.revealing

        await wait_until(all_shown)
        assert shown_groups(host) == len(GROUPS)
        assert len(seen) > 1  # more than one turn
        chip = bar.chip(11)
        assert chip is not None and chip.isVisible()
    finally:
        host.close()
        host.deleteLater()


async def test_new_groups_keep_the_checked_filters_and_drop_unshown_old_ones(
    qapp: object,
) -> None:
    host = QWidget()
    bar = FilterChipBar(host)
    host.show()
    try:
        bar.set_groups(GROUPS)
        chip = bar.chip(21)
        assert chip is not None
        chip.setChecked(True)
        bar.set_groups(GROUPS[1:])  # before the first set was all shown
        await wait_until(lambda: not bar.revealing)
        assert bar.selected_ids() == [21]
        assert shown_groups(host) == len(GROUPS) - 1
        assert bar.chip(11) is None
    finally:
        host.close()
        host.deleteLater()
