"""The in-window notifications stay calm: a card never moves under the pointer when
another arrives, the strip never grows past one card, and all can be dismissed at once."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop_app.services.notifier import MissedCallNotice, MissedCallsSummary
from desktop_app.services.worklist import CallReach, Reach
from desktop_app.ui.notifications.banner import NotificationBanner

REACH = CallReach(Reach.MISSED_BY_ME, True, ("Asha Verma",), ())


def note(call_id: str, number: str = "") -> MissedCallNotice:
    number = number or f"+91980000{abs(hash(call_id)) % 10000:04d}"
    return MissedCallNotice(
        call_id=call_id, caller_e164=number, caller=number, department="Sales",
        start_time=1_710_146_000, attempts_today=1, reach=REACH,
        title=f"Missed call from {number}", message="Sales · 14:01",
    )


def host(qtbot: QtBot) -> tuple[QWidget, NotificationBanner, QWidget]:
    """A window like the main one: the banner on top of a content area (the feed)."""
    window = QWidget()
    banner = NotificationBanner(window)
    content = QLabel("feed")
    content.setObjectName("content")
    layout = QVBoxLayout(window)
    layout.addWidget(banner)
    layout.addWidget(content, 1)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    qtbot.waitExposed(window)
    return window, banner, content


def settle() -> None:
    """Let pending layout requests run (posted events, no waiting on time)."""
    for _ in range(3):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def button_at(window: QWidget, global_pos: QPoint) -> QPushButton:
    widget = window.childAt(window.mapFromGlobal(global_pos))
    assert isinstance(widget, QPushButton), widget
    return widget


def centre(button: QWidget) -> QPoint:
    return button.mapToGlobal(button.rect().center())


def test_a_new_card_never_moves_the_open_button_under_the_pointer(qtbot: QtBot) -> None:
    window, banner, _ = host(qtbot)
    banner.show_notification(note("A"))
    settle()
    (a,) = banner.cards
    aimed_at = centre(a.buttons["open"])

    banner.show_notification(note("B"))  # arrives while the agent aims at A's Open
    settle()
    assert centre(a.buttons["open"]) == aimed_at
    target = button_at(window, aimed_at)
    with qtbot.waitSignal(banner.openCallRequested) as opened:
        QTest.mouseClick(target, Qt.MouseButton.LeftButton)
    assert opened.args == ["A"]


def test_expanded_a_new_card_joins_at_the_bottom_and_the_others_stay(qtbot: QtBot) -> None:
    window, banner, content = host(qtbot)
    for call_id in ("A", "B"):
        banner.show_notification(note(call_id))
    settle()
    content_geometry = content.geometry()
    QTest.mouseClick(banner.more_button, Qt.MouseButton.LeftButton)
    settle()
    assert banner.expanded and banner.waiting.isVisible()
    assert content.geometry() == content_geometry  # the list drops over it, not into it
    a, b = banner.cards
    places = {c.note.call_id: centre(c.buttons["callBack"]) for c in (a, b)}  # type: ignore[union-attr]
    assert places["B"].y() > places["A"].y()

    banner.show_notification(note("C"))
    settle()
    c = banner.cards[2]
    assert {x.note.call_id: centre(x.buttons["callBack"]) for x in (a, b)} == places  # type: ignore[union-attr]
    assert centre(c.buttons["callBack"]).y() > places["B"].y()  # below the others
    assert content.geometry() == content_geometry
    with qtbot.waitSignal(banner.callBackRequested) as called:
        QTest.mouseClick(button_at(window, places["B"]), Qt.MouseButton.LeftButton)
    assert called.args == [b.number]


def test_the_dropped_down_list_follows_the_window_and_escape_folds_it(qtbot: QtBot) -> None:
    window, banner, _ = host(qtbot)
    for call_id in ("A", "B"):
        banner.show_notification(note(call_id))
    banner.set_expanded(True)
    settle()
    first, waiting = banner.cards
    assert waiting.width() == first.width()  # the buttons line up under the first card's
    window.resize(900, 700)
    settle()
    assert waiting.width() == first.width() < 900
    QTest.keyClick(banner.waiting, Qt.Key.Key_Escape)
    assert not banner.expanded and not banner.waiting.isVisible()


def test_the_strip_stays_one_card_high_however_many_wait(qtbot: QtBot) -> None:
    _window, banner, content = host(qtbot)
    banner.show_notification(note("first"))
    settle()
    one = (banner.height(), content.height())
    for i in range(8):
        banner.show_notification(note(f"c{i}"))
    settle()
    assert (banner.height(), content.height()) == one
    assert banner.more_button.text() == "+8 more ▾"
    banner.set_expanded(True)
    settle()
    assert (banner.height(), content.height()) == one
    # The dropped-down list scrolls rather than running off the window.
    assert banner.waiting.height() < 7 * banner.cards[0].height() + 40


def test_dismiss_all_clears_every_card_and_keeps_the_notice(qtbot: QtBot) -> None:
    _window, banner, _ = host(qtbot)  # held: the window must outlive the test body
    banner.set_notice("The system tray is unavailable; notifications appear here.")
    for call_id in ("A", "B", "C"):
        banner.show_notification(note(call_id))
    banner.set_expanded(True)
    settle()
    QTest.mouseClick(banner.dismiss_all_button, Qt.MouseButton.LeftButton)
    assert banner.cards == []
    assert not banner.waiting.isVisible() and not banner.expanded
    assert banner.notice_text and banner.isVisible()
    banner.notice_ok.click()
    assert not banner.isVisible()


def test_cards_queue_in_arrival_order_and_a_repeat_keeps_its_place(qtbot: QtBot) -> None:
    _window, banner, _ = host(qtbot)  # held: the window must outlive the test body
    for call_id in ("c0", "c1", "c2"):
        banner.show_notification(note(call_id, f"+9198000000{call_id[1]}0"))
    summary = MissedCallsSummary(
        count=6, since=1_710_128_000, newest_call_id="c9", call_ids=("c9",),
        title="6 missed calls since 09:10", message="6 missed calls from 4 numbers",
    )
    banner.show_notification(summary)
    banner.show_notification(note("c1", "+919800000010"))  # the same call again: in place
    banner.show_notification(summary)
    assert [getattr(c.note, "call_id", "summary") for c in banner.cards] == [
        "c0", "c1", "c2", "summary",
    ]
    shown = banner.cards[0]
    shown.buttons["callBack"].click()  # the next in line steps into the first place
    settle()
    assert [getattr(c.note, "call_id", "summary") for c in banner.cards] == [
        "c1", "c2", "summary",
    ]
    assert banner.cards[0].isVisible() and banner.cards[0].parentWidget() is banner.first_slot
    banner.keep_numbers({"+919800000020"})
    assert [getattr(c.note, "call_id", "summary") for c in banner.cards] == ["c2", "summary"]


def test_beyond_the_limit_the_oldest_waiting_card_goes_never_the_one_shown(
    qtbot: QtBot,
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    banner = NotificationBanner(window, max_cards=3)
    for i in range(5):
        banner.show_notification(note(f"c{i}"))
    assert [c.note.call_id for c in banner.cards] == ["c0", "c3", "c4"]  # type: ignore[union-attr]


def test_a_repeat_of_the_card_on_show_takes_its_place_in_the_strip(qtbot: QtBot) -> None:
    window, banner, _ = host(qtbot)
    banner.show_notification(note("c0", "+919800000000"))
    banner.show_notification(note("c1", "+919800000010"))
    again = banner.show_notification(note("c0", "+919800000000"))
    settle()
    assert banner.cards[0] is again
    assert not again.isWindow()  # not a window of its own beside the app's
    assert again.parentWidget() is banner.first_slot
    assert again.isVisible()
    assert window.isVisible()
