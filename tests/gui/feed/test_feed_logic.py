"""The presenters' plain rules: date presets, which filters the cache can evaluate, and
the sentences of the status bar and the feed's footer."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from desktop_app.api.budget import MemoryLedger, RequestBudget, Window
from desktop_app.api.models import Direction, Filter, FilterGroup
from desktop_app.services.sync import SyncStatus
from desktop_app.ui.common.theme import THEME_ENV, ThemeMode, mode_from_env
from desktop_app.ui.feed.chips import short_header
from desktop_app.ui.feed.presenter import count_text, local_filter_fields, preset_range
from desktop_app.ui.sync.presenter import budget_text, connection_text, last_sync_text

TODAY = date(2026, 11, 27)


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp())


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("all", None, None),
        ("today", midnight(TODAY), None),
        ("yesterday", midnight(TODAY - timedelta(days=1)), midnight(TODAY) - 1),
        ("last7", midnight(TODAY - timedelta(days=6)), None),
        ("month", midnight(date(2026, 11, 1)), None),
    ],
)
def test_presets(key: str, start: int | None, end: int | None) -> None:
    assert preset_range(key, TODAY) == (start, end)


def test_custom_range_is_inclusive_of_both_days_and_order_free() -> None:
    first, last = date(2026, 11, 2), date(2026, 11, 4)
    expected = (midnight(first), midnight(date(2026, 11, 5)) - 1)
    assert preset_range("custom", TODAY, (first, last)) == expected
    assert preset_range("custom", TODAY, (last, first)) == expected
    # A range reaching today stays open so new calls join it.
    assert preset_range("custom", TODAY, (first, TODAY)) == (midnight(first), None)


GROUPS = (
    FilterGroup(4, "Event of logs", (Filter(5, "Incoming", 4), Filter(6, "Outgoing", 4))),
    FilterGroup(7, "Type of logs", (Filter(8, "Call", 7), Filter(9, "SMS", 7))),
    FilterGroup(
        11,
        "Status of logs",
        (Filter(12, "Connected", 11), Filter(13, "Missed", 11), Filter(14, "Voicemail", 11)),
    ),
    FilterGroup(15, "Tags", (Filter(16, "VIP", 15),)),
)


def test_well_known_filters_map_onto_the_cache_query() -> None:
    assert local_filter_fields(GROUPS, [5, 13]) == (
        {"directions": frozenset({Direction.INCOMING}), "answered": False},
        [],
    )
    assert local_filter_fields(GROUPS, [12]) == ({"answered": True}, [])
    assert local_filter_fields(GROUPS, [8]) == ({}, [])  # every cached record is a call


def test_alternatives_under_one_header_do_not_restrict() -> None:
    assert local_filter_fields(GROUPS, [5, 6]) == ({}, [])
    assert local_filter_fields(GROUPS, [12, 13]) == ({}, [])


def test_filters_the_cache_lacks_are_named() -> None:
    fields, server_only = local_filter_fields(GROUPS, [13, 14, 16, 9])
    assert server_only == ["Voicemail", "VIP", "SMS"]
    assert fields == {"answered": False}


def status(**fields: object) -> SyncStatus:
    return SyncStatus(**fields)  # type: ignore[arg-type]


def test_connection_sentences() -> None:
    now = datetime(2026, 11, 27, 14, 30).timestamp()
    since = datetime(2026, 11, 27, 14, 2).timestamp()
    assert connection_text(status(state="idle"), now) == "Connecting…"
    assert connection_text(status(state="idle", last_success=now - 5), now) == "Online"
    assert connection_text(status(state="syncing"), now) == "Syncing…"
    assert connection_text(status(state="backing_off", retry_at=now + 39.2), now) == (
        "Rate-limited: retrying in 40 s"
    )
    assert connection_text(status(state="offline", offline_since=since), now) == (
        "Offline since 14:02"
    )
    assert connection_text(
        status(state="offline", offline_since=since, retry_at=now + 10), now
    ) == "Offline since 14:02 (retrying in 10 s)"
    assert connection_text(status(state="auth_failed"), now).startswith("Token rejected")


def test_last_sync_sentence() -> None:
    assert last_sync_text(status()) == "Not synced yet"
    moment = datetime.now().replace(hour=9, minute=5, second=7)
    assert last_sync_text(status(last_success=moment.timestamp())) == "Last sync 09:05:07"


def test_budget_sentence() -> None:
    assert budget_text(RequestBudget.unlimited(), 30.0) == "Requests: unlimited"
    windows = (
        Window("minute", 20, 60.0, reserve=5),
        Window("hour", 100, 3600.0, reserve=25),
        Window("day", 500, 86400.0, reserve=125),
    )
    budget = RequestBudget(windows, clock=lambda: 100_000.0)
    # The quiet account paces syncing by the day, leaving room for three more desktops:
    # 3 × 86400 s / 375 requests.
    assert budget_text(budget, 30.0) == "100 requests left this hour; syncing every 12 min"
    ledger = MemoryLedger([100_000.0 - 4000.0 - i for i in range(300)])
    budget = RequestBudget(windows, ledger=ledger, clock=lambda: 100_000.0)
    # The day is the tight one now: 75 left for background work, spaced to the cap.
    assert budget_text(budget, 30.0) == "200 requests left today; syncing every 30 min"
    spent = MemoryLedger([100_000.0 - i for i in range(80)])
    budget = RequestBudget(windows, ledger=spent, clock=lambda: 100_000.0)
    assert budget_text(budget, 30.0).startswith(
        "20 requests left this hour, kept for calls: next sync in "
    )


def test_count_sentence() -> None:
    assert count_text(200, 6740) == "200 of 6,740 calls"
    assert count_text(1234, 1234) == "1,234 calls"
    assert count_text(1, 1) == "1 call"
    assert count_text(37, None) == "37 calls in the cache"
    assert count_text(None, 6740) == "Counting calls…"  # the cache is still counting


def test_header_names_are_shortened_for_chips() -> None:
    assert short_header("Event of logs") == "Event"
    assert short_header("Tags") == "Tags"


def test_theme_can_be_forced_from_the_environment() -> None:
    assert mode_from_env({THEME_ENV: "dark"}) is ThemeMode.DARK
    assert mode_from_env({THEME_ENV: " Light "}) is ThemeMode.LIGHT
    assert mode_from_env({THEME_ENV: "purple"}) is ThemeMode.SYSTEM
    assert mode_from_env({}) is ThemeMode.SYSTEM
