"""POST /search: paging, time range, search key, filters, and the shape of a hit."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from desktop_app.sandbox import DEMO_TOKEN, SandboxCall, SandboxConfig, SandboxState, create_app
from desktop_app.sandbox.filters import FILTERS
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, client_for, search

HMS = re.compile(r"\d{2}:\d{2}:\d{2}")


async def _error(client: httpx.AsyncClient, **params: str) -> str:
    response = await client.post("/search", params={"token": DEMO_TOKEN}, data=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error" and body["code"] == 400
    message: str = body["message"]
    return message


def _ids(data: dict[str, Any]) -> list[str]:
    return [hit["_id"] for hit in data["hits"]]


async def test_default_page_is_20_newest_first(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    data = await search(client)
    assert data["total"] == 2000
    assert _ids(data) == [c.id for c in state.calls[:20]]
    starts = [int(hit["_source"]["start_time"]) for hit in data["hits"]]
    assert starts == sorted(starts, reverse=True)


async def test_paging_walks_every_call_once(clock: ManualClock) -> None:
    app = create_app(SandboxConfig(n_logs=45, now=NOW, clock=clock, rate_limit=None))
    async with client_for(app) as client:
        pages = [await search(client, log_from=str(offset)) for offset in (0, 20, 40, 60)]
    assert [len(p["hits"]) for p in pages] == [20, 20, 5, 0]
    assert all(p["total"] == 45 for p in pages)
    walked = [i for p in pages for i in _ids(p)]
    assert walked == [c.id for c in app.sandbox.calls]


async def test_from_to_is_inclusive(client: httpx.AsyncClient, state: SandboxState) -> None:
    calls = state.calls
    low, high = calls[300].start_time, calls[100].start_time
    expected = [c.id for c in calls if low <= c.start_time <= high]
    data = await search(client, **{"from": str(low), "to": str(high), "page_size": "100"})
    assert data["total"] == len(expected)
    assert _ids(data) == expected[:100]
    only = await search(client, **{"from": str(low), "to": str(low)})
    assert calls[300].id in _ids(only)


async def test_from_alone_and_to_alone(client: httpx.AsyncClient, state: SandboxState) -> None:
    cut = state.calls[50].start_time
    newer = await search(client, **{"from": str(cut)})
    older = await search(client, to=str(cut - 1))
    assert newer["total"] + older["total"] == 2000
    assert newer["total"] == sum(1 for c in state.calls if c.start_time >= cut)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "-5"}, "page_size"),
        ({"log_from": "-1"}, "log_from"),
        ({"log_from": "x"}, "log_from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "1700000000.5"}, "to"),
        ({"from": "1700000000", "to": "1690000000"}, "from"),
    ],
)
async def test_bad_paging_and_range_parameters(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    assert field in await _error(client, **params)


async def test_page_size_100_is_the_maximum(client: httpx.AsyncClient) -> None:
    assert len((await search(client, page_size="100"))["hits"]) == 100


def _brute(state: SandboxState, predicate: Any) -> list[SandboxCall]:
    return [c for c in state.calls if predicate(c)]


async def test_search_key_matches_numbers_names_department_id_and_comment(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    sample = next(c for c in state.calls if c.comment and c.legs and c.legs[-1].agents)
    agent_name = sample.legs[-1].agents[0].name
    keys = [
        sample.caller_number_raw[2:8],
        sample.caller_number,
        agent_name.upper(),
        sample.department.lower(),
        sample.id,
        sample.comment.split()[1],
    ]
    for key in keys:
        data = await search(client, search_key=key, page_size="100")
        assert sample.id in [h["_id"] for h in data["hits"]] or data["total"] > 100, key
        lowered = key.lower()
        expected = _brute(state, lambda c, k=lowered: k in c.search_text)
        assert data["total"] == len(expected) > 0, key


async def test_search_key_with_no_match(client: httpx.AsyncClient) -> None:
    data = await search(client, search_key="zzz-no-such-thing")
    assert data == {"total": 0, "hits": []}


async def test_incoming_missed_calls_as_in_the_docs(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    data = await search(client, filters="5 AND 13 AND 8", page_size="100")
    expected = _brute(state, lambda c: c.event == 1 and c.status == 2)
    assert data["total"] == len(expected) > 0
    for hit in data["hits"]:
        assert hit["_source"]["event"] == 1
        assert hit["_source"]["status"] == 2
        assert hit["_source"]["filename"] == ""


async def test_and_binds_tighter_than_or(client: httpx.AsyncClient, state: SandboxState) -> None:
    data = await search(client, filters="5 AND 12 OR 6")
    expected = _brute(state, lambda c: (c.event == 1 and c.status == 1) or c.event == 2)
    assert data["total"] == len(expected)
    other = _brute(state, lambda c: c.event == 1 and (c.status == 1 or c.event == 2))
    assert len(other) != len(expected)


async def test_parentheses_are_accepted(client: httpx.AsyncClient, state: SandboxState) -> None:
    data = await search(client, filters="5 AND (12 OR 13)")
    assert data["total"] == len(_brute(state, lambda c: c.event == 1))
    grouped = await search(client, filters="(2 OR 3) AND (5 OR 6) AND 8 AND 13")
    assert grouped["total"] == len(_brute(state, lambda c: c.status == 2))


async def test_every_child_filter_is_evaluable(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    for row in FILTERS:
        if row.parent_id == 0:
            continue
        data = await search(client, filters=str(row.id))
        expected = _brute(state, lambda c, i=row.id: c.mask >> i & 1)
        assert data["total"] == len(expected), row
        if row.name == "SMS":
            assert data["total"] == 0
        else:
            assert data["total"] > 0, f"no call carries filter {row.id} {row.name}"


async def test_filters_combine_with_search_key_and_range(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    cut = state.calls[1000].start_time
    data = await search(client, filters="6", search_key="sales", **{"from": str(cut)})
    expected = _brute(
        state, lambda c: c.event == 2 and "sales" in c.search_text and c.start_time >= cut
    )
    assert data["total"] == len(expected)
    assert _ids(data) == [c.id for c in expected[:20]]


async def test_blank_filters_mean_no_filter(client: httpx.AsyncClient) -> None:
    assert (await search(client, filters="  "))["total"] == 2000


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("1", "category"),
        ("5 AND 15", "category"),
        ("99", "unknown"),
        ("5 and 13", "character"),
        ("5 AND", "ends"),
        ("AND 5", "expected a filter id"),
        ("5 13", "unexpected"),
        ("5;13", "character"),
        ("5 AND NOT 13", "character"),
        ("5 AND DAN", "expected a filter id"),
        ("(5 AND 13", "missing"),
        ("5 AND 13)", "unexpected"),
        ("5AND13", "expected a filter id"),
        ("()", "expected a filter id"),
        ("5\tAND 13", "character"),
    ],
)
async def test_invalid_filter_expressions_are_400(
    client: httpx.AsyncClient, expression: str, hint: str
) -> None:
    message = await _error(client, filters=expression)
    assert message.startswith("Invalid filters")
    assert hint in message


async def test_hit_shape(client: httpx.AsyncClient, state: SandboxState) -> None:
    data = await search(client, page_size="100", log_from="200")
    for hit in data["hits"]:
        assert set(hit) >= {"_id", "user_id", "_source"}
        source = hit["_source"]
        assert set(source) >= {
            "company_id",
            "caller_number_raw",
            "caller_number",
            "start_time",
            "end_time",
            "duration",
            "event",
            "status",
            "filename",
            "fileurl",
            "department_name",
            "log_details",
            "comments",
            "tags",
            "additional_parameters",
        }
        assert source["caller_number"].startswith("+")
        assert source["caller_number"].endswith(source["caller_number_raw"])
        assert HMS.fullmatch(source["duration"])
        assert int(source["end_time"]) >= int(source["start_time"])
        assert source["event"] in (1, 2) and source["status"] in (1, 2)
        if source["status"] == 2:
            assert source["filename"] == ""
        else:
            assert re.fullmatch(r"[0-9a-f]{24}\.mp3", source["filename"])
        for leg in source["log_details"]:
            assert leg["_ds"] in ("ANSWER", "NOANSWER", "CANCEL")
            assert leg["action"] == ("received" if leg["_ds"] == "ANSWER" else "missed")
            assert isinstance(leg["start_time"], int)
            assert isinstance(leg["duration"], int) or HMS.fullmatch(leg["duration"])
            for agent in leg["received_by"]:
                assert set(agent) == {"name", "extension", "user_id"}


async def test_quirks_are_present_somewhere(client: httpx.AsyncClient) -> None:
    hits: list[dict[str, Any]] = []
    for offset in range(0, 1000, 100):
        hits += (await search(client, page_size="100", log_from=str(offset)))["hits"]
    sources = [h["_source"] for h in hits]
    string_times = sum(isinstance(s["start_time"], str) for s in sources)
    assert 0.05 * len(sources) < string_times < 0.15 * len(sources)
    leg_durations = [leg["duration"] for s in sources for leg in s["log_details"]]
    assert any(isinstance(d, int) for d in leg_durations)
    assert any(isinstance(d, str) for d in leg_durations)
    assert any([leg["_ds"] for leg in s["log_details"]] == ["NOANSWER", "ANSWER"] for s in sources)
    assert any(s["comments"] for s in sources)
    assert any(s["tags"] for s in sources)


async def test_search_works_on_a_hundred_thousand_logs(clock: ManualClock) -> None:
    app = create_app(SandboxConfig(n_logs=100_000, now=NOW, clock=clock, rate_limit=None))
    async with client_for(app) as client:
        everything = await search(client, page_size="100")
        missed = await search(client, filters="5 AND 13", search_key="98")
        deep = await search(client, filters="5 AND 13", search_key="98", log_from="500")
    assert everything["total"] == 100_000
    assert len(everything["hits"]) == 100
    assert 0 < missed["total"] < 100_000
    assert deep["total"] == missed["total"]
    assert len(app.sandbox.calls) == len({c.id for c in app.sandbox.calls})
