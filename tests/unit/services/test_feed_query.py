"""The feed's view and server side without Qt: which view the inputs make, when MyOperator
is asked, which of its answers is stale, the totals, and what "load more" does next.

A real cache file and sync engine over a scripted log source; time is a `ManualClock`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import pytest

from desktop_app.api.errors import NetworkError, TokenRejected
from desktop_app.api.models import CallLog, Filter, FilterGroup
from desktop_app.api.parsing import interpret_response
from desktop_app.services.clock import ManualClock
from desktop_app.services.feed_query import (
    OLDER_DAYS,
    SERVER_PAGE_SIZE,
    FeedQuery,
    LoadMoreState,
    ViewChange,
    prepare_cached_number_formats,
    preset_range,
)
from desktop_app.services.formatting import DEFAULT_HOME_REGION, format_number
from desktop_app.services.sync import DAY_S, SyncEngine
from desktop_app.store import CallStore
from tests.helpers.builders import make_log
from tests.helpers.fakes import FakeLogSource, Request

T = 1_700_000_000  # "now"
HOUR = 3600
TODAY = date.fromtimestamp(T)

GROUPS = (
    FilterGroup(4, "Event of logs", (Filter(5, "Incoming", 4), Filter(6, "Outgoing", 4))),
    FilterGroup(11, "Status of logs", (Filter(13, "Missed", 11), Filter(14, "Voicemail", 11))),
)


class FakeFeedApi(FakeLogSource):
    """The log source plus the account's filter chips."""

    def __init__(self, logs: Iterable[CallLog]) -> None:
        super().__init__(logs)
        self.groups: tuple[FilterGroup, ...] = GROUPS
        self.filters_fail: list[BaseException] = []

    async def filters(self) -> tuple[FilterGroup, ...]:
        if self.filters_fail:
            raise self.filters_fail.pop(0)
        return self.groups


def history() -> list[CallLog]:
    """One call an hour over ten days; every third one answered by Ravi."""
    calls = []
    for i, t in enumerate(range(T - 10 * DAY_S, T + 1, HOUR)):
        agents = ("Ravi Kumar",) if i % 3 == 0 else ("Asha Verma",)
        calls.append(make_log(f"h{t}", t, agents=agents))
    return calls


def in_range(calls: Iterable[CallLog], start: int, end: int) -> int:
    return sum(1 for c in calls if start <= c.start_time <= end)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def api() -> FakeFeedApi:
    return FakeFeedApi(history())


@pytest.fixture
def engine(api: FakeFeedApi, store: CallStore, clock: ManualClock) -> SyncEngine:
    return SyncEngine(api, store, clock=clock, page_size=50, jitter=0.0, sleep=clock.sleep)


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def feed(
    store: CallStore, engine: SyncEngine, api: FakeFeedApi, clock: ManualClock, notices: list[str]
) -> FeedQuery:
    return FeedQuery(store, engine, api, clock=clock, today=lambda: TODAY, on_notice=notices.append)


def hold_answers(api: FakeFeedApi) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the next answers open: (set once a request arrived, set to answer)."""
    asked, release = asyncio.Event(), asyncio.Event()

    async def hold(_request: Request) -> None:
        asked.set()
        await release.wait()

    api.before_answer = hold
    return asked, release


async def synced(engine: SyncEngine) -> None:
    """The first sync: the cache covers the last seven days."""
    await engine.sync_once()


async def searching(feed: FeedQuery, engine: SyncEngine, text: str) -> ViewChange:
    """After the first sync, the view of a search for `text`."""
    await synced(engine)
    feed.set_text(text)
    change = feed.apply()
    assert change is not None
    return change


# ------------------------------------------------------------------------- the view


async def test_a_view_is_made_once_and_the_cache_alone_answers_what_it_covers(
    feed: FeedQuery, engine: SyncEngine, store: CallStore, api: FakeFeedApi
) -> None:
    await synced(engine)
    first = feed.apply()
    assert first is not None and first.ask_server  # the whole log: the cache holds a week
    assert feed.apply() is None  # the same inputs: nothing to do

    feed.set_dates("yesterday")
    change = feed.apply()
    start, end = preset_range("yesterday", TODAY)
    assert change is not None and not change.ask_server
    assert (change.query.start, change.query.end) == (start, end)
    assert start is not None and end is not None
    shown = store.count(change.query)
    assert shown == in_range(api.logs.values(), start, end) > 0
    assert feed.total(shown) == shown  # exact, without asking
    assert feed.load_more_state(loading=False) == LoadMoreState(
        False, "All calls of this range shown"
    )

    feed.set_text("  ravi ")
    change = feed.apply()
    assert change is not None and change.query.text == "ravi" and not change.ask_server


async def test_a_filter_only_the_server_knows_is_named_and_asked_for(
    feed: FeedQuery, engine: SyncEngine, notices: list[str]
) -> None:
    await synced(engine)
    assert feed.apply() is not None
    loaded = await feed.load_filters()
    assert loaded is not None and loaded.groups == GROUPS and not loaded.reapply
    feed.set_filter_ids([13])  # Missed: the cache can tell
    change = feed.apply()
    assert change is not None and change.view.local and change.query.answered is False
    assert feed.filter_expression == "13"

    feed.set_filter_ids([13, 14])  # Voicemail: only MyOperator can
    change = feed.apply()
    assert change is not None and not change.view.local and change.ask_server
    assert feed.filter_expression == "13 OR 14"
    assert notices[-1] == "Voicemail: only MyOperator can tell, so this view shows its answer."
    assert feed.load_more_state(loading=False) == LoadMoreState(False, "All matches shown")

    feed.set_filter_ids([])
    assert feed.apply() is not None
    assert feed.notice == "" and notices[-1] == ""


async def test_chips_selected_before_the_filters_arrive_make_the_view_again(
    feed: FeedQuery, api: FakeFeedApi
) -> None:
    api.filters_fail.append(NetworkError("offline"))
    feed.set_filter_ids([5])
    before = feed.apply()
    assert before is not None and before.query.directions is None  # unknown id: no restriction
    assert await feed.load_filters() is None  # offline: try again after the next sync
    assert feed.groups == ()
    loaded = await feed.load_filters()
    assert loaded is not None and loaded.reapply
    change = feed.apply()
    assert change is not None and change.query.directions is not None
    assert feed.filter_expression == "5"


# ---------------------------------------------------------------------- the server


async def test_the_servers_answer_gives_the_total_and_pages_for_load_more(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi
) -> None:
    change = await searching(feed, engine, "ravi")
    assert feed.load_more_state(loading=False) == LoadMoreState(True, "Load older calls")
    calls = await feed.search_server(change.view)
    ravi = [c for c in api.logs.values() if "Ravi Kumar" in c.agents]
    assert calls is not None and len(calls) == 50  # one page of the engine's
    assert feed.api_total == len(ravi)
    assert feed.call(calls[-1].id) == calls[-1]
    assert feed.load_more_state(loading=False) == LoadMoreState(True, "Load more from MyOperator")
    assert feed.load_more_state(loading=True) == LoadMoreState(False, "Loading…")

    more = await feed.load_more()
    assert api.requests[-1] == Request(None, None, 50, SERVER_PAGE_SIZE, "ravi", None)
    assert more.refresh and len(more.calls) == len(ravi) - 50
    assert {c.id for c in calls + more.calls} == {c.id for c in ravi}
    assert feed.load_more_state(loading=False) == LoadMoreState(False, "All matches shown")


async def test_a_slower_answer_to_an_older_view_is_dropped(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi, notices: list[str]
) -> None:
    old = await searching(feed, engine, "ravi")
    asked, release = hold_answers(api)
    pending = asyncio.ensure_future(feed.search_server(old.view))
    await asyncio.wait_for(asked.wait(), 5)
    feed.set_text("asha")
    new = feed.apply()
    assert new is not None and not feed.is_current(old.view) and feed.is_current(new.view)
    release.set()
    assert await asyncio.wait_for(pending, 5) is None
    assert feed.api_total is None  # the old view's total is not the new one's

    api.before_answer = None
    api.fail_next.append(NetworkError("offline"))
    stale = asyncio.ensure_future(feed.search_server(old.view))
    assert await asyncio.wait_for(stale, 5) is None
    assert notices == []  # a stale failure does not speak either
    api.fail_next.append(NetworkError("offline"))
    assert await feed.search_server(new.view) is None
    assert feed.notice == "Showing cached calls only. offline."


async def test_a_rejected_token_is_one_plain_sentence_under_the_feed(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi
) -> None:
    """Not "MyOperator could not be asked (MyOperator rejected the API token. (MyOperator
    said: "This not an authorized request")): showing cached calls."."""
    body = b'{"status": "error", "code": 400, "message": "This not an authorized request"}'
    with pytest.raises(TokenRejected) as rejected:
        interpret_response(400, {}, body)
    view = (await searching(feed, engine, "ravi")).view
    api.fail_next.append(rejected.value)

    assert await feed.search_server(view) is None

    assert feed.notice == (
        "Showing cached calls only. MyOperator rejected the API token, which may be "
        "incomplete or no longer valid."
    )
    assert "(" not in feed.notice


async def test_a_range_partly_in_the_cache_asks_only_the_rest_and_counts_both(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi, store: CallStore
) -> None:
    await synced(engine)
    first, last = TODAY - timedelta(days=8), TODAY - timedelta(days=6)
    feed.set_dates("custom", first, last)
    change = feed.apply()
    start, end = preset_range("custom", TODAY, (first, last))
    assert change is not None and change.ask_server
    assert start is not None and end is not None
    before = len(api.requests)
    assert await feed.search_server(change.view) is not None
    asked = api.requests[before:]
    assert asked and all(r.end is not None and r.end < T - 7 * DAY_S for r in asked)
    assert feed.api_total == in_range(api.logs.values(), start, end)


async def test_the_servers_total_of_the_whole_log_grows_with_calls_that_arrive(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi, clock: ManualClock
) -> None:
    await synced(engine)
    change = feed.apply()
    assert change is not None
    assert await feed.search_server(change.view) is not None
    everything = len(api.logs)
    assert feed.api_total == everything
    answered = list(api.logs.values())[-3:]  # already counted by the server
    clock.advance(60)
    new = [make_log("new-1", T + 30), make_log("new-2", T + 50)]
    feed.count_arrivals(answered + new)
    assert feed.api_total == everything + 2
    feed.count_arrivals(new)  # told twice: counted once
    assert feed.api_total == everything + 2

    feed.set_text("ravi")
    assert feed.apply() is not None
    feed.count_arrivals([make_log("new-3", T + 55)])  # not the whole log: not counted
    assert feed.api_total is None


# ----------------------------------------------------------------------- load more


async def test_load_more_in_the_whole_log_fetches_an_older_week_then_says_when_empty(
    feed: FeedQuery, engine: SyncEngine, store: CallStore, api: FakeFeedApi, notices: list[str]
) -> None:
    await synced(engine)
    assert feed.apply() is not None
    held = store.count()
    more = await feed.load_more()
    assert more.refresh and more.calls == ()
    assert store.count() > held  # the three days before the week
    assert min(r.start for r in api.requests[-1:] if r.start is not None) < T - 7 * DAY_S
    assert notices == []
    more = await feed.load_more()  # nothing older than ten days
    assert more.refresh
    assert feed.notice == "No calls in the week before; Load more goes further."
    assert OLDER_DAYS == 7


async def test_load_more_of_a_range_fills_the_cache_until_it_covers_it(
    feed: FeedQuery, engine: SyncEngine, store: CallStore, api: FakeFeedApi
) -> None:
    await synced(engine)
    first, last = TODAY - timedelta(days=9), TODAY - timedelta(days=8)
    feed.set_dates("custom", first, last)
    change = feed.apply()
    assert change is not None and change.ask_server
    assert feed.load_more_state(loading=False) == LoadMoreState(
        True, "Load the rest of this range"
    )
    more = await feed.load_more()
    assert more.refresh
    start, end = preset_range("custom", TODAY, (first, last))
    assert start is not None and end is not None
    assert store.covers(start, end)
    shown = store.count(change.query)
    assert shown == in_range(api.logs.values(), start, end)
    assert feed.api_total is None and feed.total(shown) == shown
    assert feed.load_more_state(loading=False) == LoadMoreState(
        False, "All calls of this range shown"
    )


async def test_a_failed_load_more_says_why_and_changes_nothing(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi
) -> None:
    await synced(engine)
    assert feed.apply() is not None
    api.fail_next.append(NetworkError("offline"))
    more = await feed.load_more()
    assert not more.refresh and more.calls == ()
    assert feed.notice.startswith("Older calls could not be loaded: ")


async def test_a_server_page_for_a_view_that_moved_on_is_dropped(
    feed: FeedQuery, engine: SyncEngine, api: FakeFeedApi
) -> None:
    change = await searching(feed, engine, "ravi")
    assert await feed.search_server(change.view) is not None
    asked, release = hold_answers(api)
    pending = asyncio.ensure_future(feed.load_more())
    await asyncio.wait_for(asked.wait(), 5)
    feed.set_text("asha")
    assert feed.apply() is not None
    release.set()
    more = await asyncio.wait_for(pending, 5)
    assert not more.refresh and more.calls == ()
    assert feed.api_total is None


async def test_no_view_yet_means_nothing_to_load(feed: FeedQuery, api: FakeFeedApi) -> None:
    assert feed.load_more_state(loading=False) == LoadMoreState(False, "Load older calls")
    more = await feed.load_more()
    assert not more.refresh and api.requests == []
    assert feed.call("") is None and feed.call("h-unknown") is None


def test_the_cached_countries_number_formats_are_readied_in_advance(tmp_path: Path) -> None:
    """A number of each country (and area) in the cache is formatted once, off the GUI
    thread: a view's later formatting of it is a cache hit."""
    numbers = ["+447700900461", "+14155550132", "+919900112233"]
    with CallStore.open(tmp_path / "calls.db") as store:
        store.upsert_calls(make_log(f"id-{i}", i, number=n) for i, n in enumerate(numbers))
        assert prepare_cached_number_formats(store) == 3
    hits = format_number.cache_info().hits
    assert format_number("+447700900461", DEFAULT_HOME_REGION) == "+44 7700 900461"  # as the feed
    assert format_number.cache_info().hits == hits + 1
