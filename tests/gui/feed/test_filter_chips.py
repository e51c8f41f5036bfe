"""The filter chip bar builds and shows a new set of chips a group per turn of the event
loop (each group's widgets, polish and relayout cost milliseconds), keeping what was
checked."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget

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
        assert host.findChildren(QToolButton) == [] and bar.chip(11) is None  # nor built
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
        await wait_until(lambda: not bar.revealing)
        chip = bar.chip(21)
        assert chip is not None
        chip.setChecked(True)
        changes: list[list[int]] = []
        bar.selectionChanged.connect(lambda: changes.append(bar.selected_ids()))
        bar.set_groups(GROUPS[1:])
        assert bar.chip(21) is None  # built in a later turn, checked meanwhile
        assert bar.selected_ids() == [21]
        await wait_until(lambda: not bar.revealing)
        chip = bar.chip(21)
        assert chip is not None and chip.isChecked()
        assert bar.selected_ids() == [21] and changes == []  # the selection never changed
        assert shown_groups(host) == len(GROUPS) - 1
        assert bar.chip(11) is None
    finally:
        host.close()
        host.deleteLater()


async def test_clearing_before_a_group_is_built_unchecks_its_filters(qapp: object) -> None:
    host = QWidget()
    bar = FilterChipBar(host)
    host.show()
    try:
        bar.set_groups(GROUPS)
        await wait_until(lambda: not bar.revealing)
        chip = bar.chip(41)
        assert chip is not None
        chip.setChecked(True)
        bar.set_groups(GROUPS)
        changes: list[list[int]] = []
        bar.selectionChanged.connect(lambda: changes.append(bar.selected_ids()))
        bar.clear_selection()
        assert changes == [[]]
        await wait_until(lambda: not bar.revealing)
        chip = bar.chip(41)
        assert chip is not None and not chip.isChecked()
    finally:
        host.close()
        host.deleteLater()


async def test_the_chips_take_the_bars_place_in_the_tab_chain(qapp: object) -> None:
    host = QWidget()
    before, bar, after = QToolButton(host), FilterChipBar(host), QToolButton(host)
    for button in (before, after):
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    QWidget.setTabOrder(before, after)
    host.show()
    try:
        bar.set_groups(GROUPS)
        await wait_until(lambda: not bar.revealing)
        chain: list[QWidget] = []
        widget = before.nextInFocusChain()
        while widget is not after and len(chain) < 50:
            if isinstance(widget, QToolButton):
                chain.append(widget)
            widget = widget.nextInFocusChain()
        ids = [f.id for g in GROUPS for f in g.filters]
        assert chain == [bar.chip(fid) for fid in ids]
    finally:
        host.close()
        host.deleteLater()
