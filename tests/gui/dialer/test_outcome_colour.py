"""A placed call's outcome is coloured by how it went: "Not answered" is not green."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from desktop_app.services.dial_flow import outcome_kind
from desktop_app.services.dialer import outcome_text
from desktop_app.ui.common.theme import DARK_COLORS, LIGHT_COLORS
from desktop_app.ui.dialer.panel import DialerPanel
from tests.helpers.builders import make_log


def test_not_answered_uses_the_missed_colour_and_answered_the_success_one(qtbot: QtBot) -> None:
    panel = DialerPanel()
    qtbot.addWidget(panel)
    answered = make_log("c-1", 1_700_000_000, answered=True)
    unanswered = make_log("c-2", 1_700_000_000, answered=False)
    for colors in (LIGHT_COLORS, DARK_COLORS):
        panel.apply_theme(colors)

        panel.show_status(f"Call to 098123 45678: {outcome_text(unanswered)}.",
                          outcome_kind(unanswered))
        style = panel.status_label.styleSheet()
        assert colors.missed_fg.name() in style
        assert colors.answered_fg.name() not in style

        panel.show_status(f"Call to 098123 45678: {outcome_text(answered)}.",
                          outcome_kind(answered))
        assert colors.answered_fg.name() in panel.status_label.styleSheet()
