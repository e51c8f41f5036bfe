"""Click-to-call, live arrivals, and recordings (links, readiness, signed media, Range)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxState, create_app
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, client_for, search

RECORDINGS = Path(__file__).resolve().parents[3] / "resources" / "recordings"


async def _click(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await client.post("/clickOcall", params={"token": DEMO_TOKEN}, data=fields)


def _agent(state: SandboxState) -> str:
    return state.users[2].uuid


async def test_click_to_call_is_queued(client: httpx.AsyncClient, state: SandboxState) -> None:
    response = await _click(
        client, customer_number="9837211131", customer_cc="91", support_user_id=_agent(state)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success" and body["code"] == 200
    unique_id = body["data"]["unique_id"]
    assert [p.unique_id for p in state.placed_calls] == [unique_id]
    assert len(state.requests_to("/clickOcall", "POST")) == 1


async def test_click_to_call_produces_an_outgoing_log_later(
    client: httpx.AsyncClient, state: SandboxState, clock: ManualClock
) -> None:
    agent = state.users[2]
    placed_at = clock.now
    unique_id = (
        await _click(
            client, customer_number="9837211131", customer_cc="91", support_user_id=agent.uuid
        )
    ).json()["data"]["unique_id"]
    clock.advance(4)
    assert unique_id not in [h["_id"] for h in (await search(client))["hits"]]
    clock.advance(17)
    hits = (await search(client, search_key="9837211131"))["hits"]
    hit = next(h for h in hits if h["_id"] == unique_id)
    source = hit["_source"]
    assert source["event"] == 2
    assert (source["caller_number_raw"], source["caller_number"]) == ("9837211131", "+919837211131")
    assert placed_at < int(source["start_time"]) <= int(source["end_time"]) <= placed_at + 20
    assert source["log_details"][0]["received_by"][0]["user_id"] == agent.uuid
    assert hit["user_id"] == agent.uuid
    assert (source["filename"] != "") == (source["status"] == 1)


_OK = {"customer_number": "9837211131", "customer_cc": "91", "support_user_id": "AGENT"}


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"customer_number": None}, "customer_number is required"),
        ({"customer_cc": None}, "customer_cc is required"),
        ({"support_user_id": None}, "support_user_id is required"),
        ({"customer_number": "+919837211131"}, "customer_number"),
        ({"customer_number": "919837211131"}, "customer_number"),
        ({"customer_number": "98372"}, "customer_number"),
        ({"customer_cc": "+91"}, "customer_cc"),
        ({"customer_cc": "999"}, "customer_cc"),
        ({"support_user_id": "nobody"}, "support_user_id"),
    ],
)
async def test_click_to_call_validation(
    client: httpx.AsyncClient, state: SandboxState, changes: dict[str, str | None], hint: str
) -> None:
    fields = {**_OK, **changes}
    sent = {
        key: (_agent(state) if value == "AGENT" else value)
        for key, value in fields.items()
        if value is not None
    }
    response = await _click(client, **sent)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert hint in response.json()["message"]
    assert state.placed_calls == []


async def test_click_to_call_refuses_a_disabled_agent(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    disabled = next(u for u in state.users if not u.is_enabled)
    response = await _click(
        client, customer_number="9837211131", customer_cc="91", support_user_id=disabled.uuid
    )
    assert response.status_code == 400
    assert "disabled" in response.json()["message"]


# ---- live mode ---------------------------------------------------------------------------


def _live(clock: ManualClock, every: float = 30.0) -> SandboxState:
    return create_app(
        SandboxConfig(n_logs=100, now=NOW, clock=clock, rate_limit=None, live_calls_every=every)
    ).sandbox


def test_live_calls_materialise_as_the_clock_moves(clock: ManualClock) -> None:
    state = _live(clock)
    assert len(state.calls) == 100
    clock.advance(29)
    assert len(state.calls) == 100
    clock.advance(1)
    assert len(state.calls) == 101
    clock.advance(95)
    assert state.advance() == 3
    assert state.advance() == 0
    assert len(state.calls) == 104
    newest = state.calls[0]
    assert newest.end_time <= clock.now


async def test_live_calls_show_up_in_search(clock: ManualClock) -> None:
    app = create_app(
        SandboxConfig(n_logs=50, now=NOW, clock=clock, rate_limit=None, live_calls_every=10.0)
    )
    async with client_for(app) as client:
        before = (await search(client))["total"]
        clock.advance(60)
        after = await search(client, **{"from": str(int(NOW) - 3600)})
    assert before == 50
    assert after["total"] >= 6
    assert len(app.sandbox.calls) == 56


def test_live_calls_are_deterministic() -> None:
    ids = []
    for _ in range(2):
        clock = ManualClock(NOW)
        state = _live(clock, every=5.0)
        clock.advance(50)
        ids.append([c.id for c in state.calls[:10]])
    assert ids[0] == ids[1]


def test_live_mode_rejects_a_non_positive_period(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="live_calls_every"):
        _live(clock, every=0)


# ---- recordings --------------------------------------------------------------------------


async def _link(client: httpx.AsyncClient, filename: str) -> httpx.Response:
    return await client.get("/recordings/link", params={"token": DEMO_TOKEN, "file": filename})


def _answered(state: SandboxState) -> str:
    return next(c.filename for c in state.calls if c.filename)


async def test_recording_link_is_signed_and_carries_no_token(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    filename = _answered(state)
    response = await _link(client, filename)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "code", "url"} and body["status"] == "success"
    url = body["url"]
    assert url.startswith(f"http://sandbox/media/{filename}?")
    assert DEMO_TOKEN not in url and "token" not in url
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"expires", "sig"}
    audio = await client.get(url)
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["accept-ranges"] == "bytes"
    clips = {p.read_bytes() for p in RECORDINGS.glob("*.mp3")}
    assert len(clips) >= 3
    assert audio.content in clips
    assert audio.content == state.recordings.audio_for(filename)


async def test_recording_not_ready_until_the_delay_has_passed(
    client: httpx.AsyncClient, state: SandboxState, clock: ManualClock
) -> None:
    call = state.add_call(talk_s=30)
    assert call.end_time == int(clock.now)
    early = await _link(client, call.filename)
    assert early.status_code == 404
    assert early.json() == {"status": "error", "code": 404, "message": "no voice file found"}
    clock.advance(119)
    assert (await _link(client, call.filename)).status_code == 404
    clock.advance(1)
    assert (await _link(client, call.filename)).status_code == 200


async def test_unknown_and_missing_files(client: httpx.AsyncClient) -> None:
    unknown = await _link(client, "0123456789abcdef01234567.mp3")
    assert unknown.status_code == 404
    assert unknown.json()["status"] == "error"
    assert unknown.json()["message"] != "no voice file found"
    missing = await client.get("/recordings/link", params={"token": DEMO_TOKEN})
    assert missing.status_code == 400
    assert "file" in missing.json()["message"]


async def test_missed_calls_have_no_recording(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    missed = state.add_call(answered=False, start_time=NOW - 3600)
    assert missed.filename == ""
    assert (await _link(client, "")).status_code == 400


async def test_signed_link_expires(
    client: httpx.AsyncClient, state: SandboxState, clock: ManualClock
) -> None:
    url = (await _link(client, _answered(state))).json()["url"]
    clock.advance(state.config.link_ttl_s)
    assert (await client.get(url)).status_code == 200
    clock.advance(1)
    expired = await client.get(url)
    assert expired.status_code == 403


async def test_tampered_links_are_refused(client: httpx.AsyncClient, state: SandboxState) -> None:
    files = [c.filename for c in state.calls if c.filename][:2]
    url = (await _link(client, files[0])).json()["url"]
    assert (await client.get(url.replace("sig=", "sig=0"))).status_code == 403
    assert (await client.get(url.replace(files[0], files[1]))).status_code == 403
    parts = urlsplit(url)
    expires = parse_qs(parts.query)["expires"][0]
    later = url.replace(f"expires={expires}", f"expires={int(expires) + 1000}")
    assert (await client.get(later)).status_code == 403
    assert (await client.get(url.split("?")[0])).status_code == 403


async def test_range_requests(client: httpx.AsyncClient, state: SandboxState) -> None:
    filename = _answered(state)
    url = (await _link(client, filename)).json()["url"]
    audio = state.recordings.audio_for(filename)
    size = len(audio)

    first = await client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.headers["content-length"] == "100"
    assert first.content == audio[:100]

    rest = await client.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206
    assert first.content + rest.content == audio

    tail = await client.get(url, headers={"Range": "bytes=-50"})
    assert tail.content == audio[-50:]
    assert tail.headers["content-range"] == f"bytes {size - 50}-{size - 1}/{size}"

    past_end = await client.get(url, headers={"Range": f"bytes=0-{size * 2}"})
    assert past_end.status_code == 206 and past_end.content == audio

    for bad in (f"bytes={size}-", "bytes=50-10", "items=0-1", "bytes=0-1,5-9", "bytes=-0"):
        refused = await client.get(url, headers={"Range": bad})
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{size}"


def test_each_file_maps_onto_a_stable_clip(state: SandboxState) -> None:
    files = [c.filename for c in state.calls if c.filename][:200]
    names = {state.recordings.clip_name_for(f) for f in files}
    assert len(names) == len(state.recordings.clips) >= 3
    again = create_app(state.config).sandbox
    assert [again.recordings.clip_name_for(f) for f in files] == [
        state.recordings.clip_name_for(f) for f in files
    ]
    for _, audio in state.recordings.clips:
        assert 1000 < len(audio) < 20_000
        assert audio[:3] == b"ID3" or audio[0] == 0xFF
