"""Transport-level behaviour: where the token may travel, envelopes, paths, rate limits."""

from __future__ import annotations

import httpx
import pytest

from desktop_app.sandbox import BASIC_TOKEN, DEMO_TOKEN, SandboxConfig, SandboxState, create_app
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, client_for

UNAUTHORIZED = "This not an authorized request"


async def test_token_in_query_string(client: httpx.AsyncClient) -> None:
    response = await client.get("/filters", params={"token": DEMO_TOKEN})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["code"] == 200
    assert isinstance(body["data"], list)


async def test_token_and_params_in_urlencoded_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", data={"token": DEMO_TOKEN, "page_size": "3"})
    assert response.status_code == 200
    assert len(response.json()["data"]["hits"]) == 3


async def test_token_and_params_in_multipart_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search",
        data={"token": DEMO_TOKEN, "page_size": "4"},
        files={"unused": ("note.txt", b"ignored")},
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200
    assert len(response.json()["data"]["hits"]) == 4


async def test_token_and_params_in_json_body_with_numbers(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", json={"token": DEMO_TOKEN, "page_size": 5})
    assert response.status_code == 200
    assert len(response.json()["data"]["hits"]) == 5


async def test_body_parameters_override_the_query_string(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search", params={"token": DEMO_TOKEN, "page_size": "3"}, data={"page_size": "6"}
    )
    assert len(response.json()["data"]["hits"]) == 6


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"token": ""},
        {"token": DEMO_TOKEN[:-1]},  # truncated
        {"token": DEMO_TOKEN.upper()},
        {"token": "0" * 32},
    ],
    ids=["missing", "empty", "truncated", "upper-case", "unknown"],
)
async def test_bad_token_is_a_400_with_the_live_message(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    for response in (
        await client.post("/search", params=params),
        await client.get("/filters", params=params),
        await client.get("/user", params=params),
    ):
        assert response.status_code == 400
        assert response.json() == {"status": "error", "code": 400, "message": UNAUTHORIZED}


async def test_invalid_json_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search",
        params={"token": DEMO_TOKEN},
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert "JSON" in response.json()["message"]


@pytest.mark.parametrize("path", ["/search/search", "/search/", "/api/search", "/users"])
async def test_only_bare_paths_exist(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, params={"token": DEMO_TOKEN})
    assert response.status_code == 404
    assert response.json()["status"] == "error"
    assert response.json()["code"] == 404


async def test_wrong_method_is_405_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"token": DEMO_TOKEN})
    assert response.status_code == 405
    assert response.json()["code"] == 405


async def test_requests_are_recorded_without_the_token(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await client.post("/search", params={"token": DEMO_TOKEN}, data={"page_size": "2"})
    await client.get("/filters", params={"token": "nope"})
    first, second = state.requests
    assert (first.method, first.path, first.status) == ("POST", "/search", 200)
    assert first.params == {"page_size": "2"}
    assert first.has_token and first.processed
    assert second.status == 400
    assert "token" not in second.params
    assert DEMO_TOKEN not in repr(state.requests)
    assert len(state.requests_to("/search", "POST")) == 1


async def test_latency_is_applied_to_every_response(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("desktop_app.sandbox.app.asyncio.sleep", fake_sleep)
    app = create_app(SandboxConfig(n_logs=10, now=NOW, clock=clock, latency_ms=250))
    async with client_for(app) as client:
        await client.get("/filters", params={"token": DEMO_TOKEN})
        await client.get("/nowhere")
    assert delays == [0.25, 0.25]


# ---- rate limit ---------------------------------------------------------------------------


def _limited_app(
    clock: ManualClock, limits: tuple[tuple[int, float], ...] | None
) -> httpx.AsyncClient:
    config = SandboxConfig(n_logs=10, now=NOW, clock=clock, rate_limit=limits)
    return client_for(create_app(config))


async def test_rate_limit_429_with_retry_after_then_recovers(clock: ManualClock) -> None:
    async with _limited_app(clock, ((3, 60.0),)) as client:
        for _ in range(3):
            assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 200
            clock.advance(5)
        # Requests at t=0, 5, 10; now t=15: the first leaves the window at t=60.
        refused = await client.get("/filters", params={"token": DEMO_TOKEN})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "45"
        assert refused.json() == {"status": "error", "code": 429, "message": "Too many requests"}
        clock.advance(44)
        assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 429
        clock.advance(1)
        assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 200


async def test_default_limits_are_20_a_minute_and_100_an_hour(clock: ManualClock) -> None:
    async with _limited_app(clock, SandboxConfig().rate_limit) as client:
        for _ in range(20):
            assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 200
        assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 429
        for _ in range(4):  # 100 in 4 more minutes
            clock.advance(60)
            for _ in range(20):
                response = await client.get("/filters", params={"token": DEMO_TOKEN})
                assert response.status_code == 200
        clock.advance(60)
        refused = await client.get("/filters", params={"token": DEMO_TOKEN})
        assert refused.status_code == 429
        # The hour window frees up when the first request (t=0) is an hour old; now t=300.
        assert refused.headers["Retry-After"] == "3300"


async def test_rate_limit_is_per_token_and_ignores_rejected_tokens(clock: ManualClock) -> None:
    async with _limited_app(clock, ((2, 60.0),)) as client:
        for _ in range(5):
            await client.get("/filters", params={"token": "bad"})
        for _ in range(2):
            assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 200
        assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 429
        assert (await client.get("/filters", params={"token": BASIC_TOKEN})).status_code == 200


async def test_rate_limit_can_be_lifted(clock: ManualClock) -> None:
    app = create_app(SandboxConfig(n_logs=10, now=NOW, clock=clock, rate_limit=((1, 60.0),)))
    async with client_for(app) as client:
        await client.get("/filters", params={"token": DEMO_TOKEN})
        assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 429
        app.sandbox.set_rate_limit(None)
        for _ in range(30):
            assert (await client.get("/filters", params={"token": DEMO_TOKEN})).status_code == 200


def test_invalid_rate_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        create_app(SandboxConfig(n_logs=0, rate_limit=((0, 60.0),)))
