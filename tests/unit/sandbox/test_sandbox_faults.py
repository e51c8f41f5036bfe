"""Fault specs, and every fault kind as seen through httpx.ASGITransport."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from desktop_app.sandbox import (
    DEMO_TOKEN,
    Fault,
    FaultInjector,
    SandboxConfig,
    SandboxState,
    create_app,
    parse_fault_spec,
)
from desktop_app.sandbox.faults import parse_fault_specs
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, client_for

TOKEN = {"token": DEMO_TOKEN}


# ---- the spec language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("429:count=3,retry_after=2", Fault("429", count=3, retry_after=2)),
        ("500:p=0.2", Fault("500", p=0.2, status=500)),
        ("html502:path=/search", Fault("html", path="/search", status=502)),
        ("html:status=503", Fault("html", status=503)),
        ("latency:ms=150", Fault("latency", ms=150)),
        ("slow:ms=50,chunk=16", Fault("slow", ms=50, chunk=16)),
        (
            "drop:count=1,path=/clickOcall,after=1",
            Fault("drop", count=1, path="/clickOcall", after=True),
        ),
        ("truncate", Fault("truncate")),
        ("malformed:method=get,skip=2", Fault("malformed", method="GET", skip=2)),
        ("novoice", Fault("novoice", path="/recordings/link")),
        (" 503 : count = 2 ", Fault("503", count=2, status=503)),
    ],
)
def test_valid_specs(spec: str, expected: Fault) -> None:
    assert parse_fault_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("", "empty"),
        ("boom", "unknown fault kind"),
        ("500:count=0", "count"),
        ("500:count=many", "bad value"),
        ("500:p=1.5", "probability"),
        ("500:colour=red", "unknown option 'colour'"),
        ("500:count", "key=value"),
        ("500:count=1,count=2", "twice"),
        ("latency:after=1", "unknown option 'after'"),
        ("truncate:after=1", "unknown option 'after'"),
        ("500:after=maybe", "bad value"),
        ("html:status=200", "400-599"),
        ("500:path=search", "path must start with '/'"),
        ("500:method=FETCH", "method"),
        ("slow:chunk=0", "chunk"),
        ("429:retry_after=-1", "negative"),
    ],
)
def test_invalid_specs_raise_value_error(spec: str, hint: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_fault_spec(spec)
    assert hint in str(raised.value)


@pytest.mark.parametrize(
    "spec",
    [
        "429:count=3,retry_after=2",
        "html503:path=/user,method=PUT",
        "slow:ms=5,chunk=3,p=0.5",
        "drop:after=1,skip=1",
        "latency:ms=10",
    ],
)
def test_spec_round_trips(spec: str) -> None:
    fault = parse_fault_spec(spec)
    assert parse_fault_spec(fault.spec()) == fault


def test_several_specs_in_one_string() -> None:
    faults = parse_fault_specs("latency:ms=5; 500:count=1 ;")
    assert [f.kind for f in faults] == ["latency", "500"]


def test_probability_is_seeded_and_reproducible() -> None:
    runs = []
    for _ in range(2):
        injector = FaultInjector(seed=3, faults=["500:p=0.5"])
        runs.append([injector.pick("GET", "/filters") is not None for _ in range(40)])
    assert runs[0] == runs[1]
    assert 5 < sum(runs[0]) < 35


# ---- each kind through the app ------------------------------------------------------------


async def test_429_burst_then_recovery(client: httpx.AsyncClient, state: SandboxState) -> None:
    fault = state.faults.add("429:count=2,retry_after=7")
    for _ in range(2):
        response = await client.get("/filters", params=TOKEN)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.json()["code"] == 429
    assert (await client.get("/filters", params=TOKEN)).status_code == 200
    assert fault.fired == 2 and state.faults.active == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx(client: httpx.AsyncClient, state: SandboxState, status: int) -> None:
    state.faults.add(f"{status}:count=1")
    response = await client.get("/filters", params=TOKEN)
    assert response.status_code == status
    assert response.json()["status"] == "error" and response.json()["code"] == status
    assert state.requests[-1].fault == str(status) and not state.requests[-1].processed


async def test_html_error_page_from_a_proxy(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults.add("html502:count=1")
    state.faults.add("html:status=504,count=1")
    first = await client.post("/search", params=TOKEN)
    assert first.status_code == 502
    assert first.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in first.text
    second = await client.post("/search", params=TOKEN)
    assert second.status_code == 504 and "<html>" in second.text


async def test_malformed_json(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults.add("malformed:count=1")
    response = await client.post("/search", params=TOKEN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_truncated_body_raises_like_a_socket_would(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add("truncate:count=1")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/search", params=TOKEN)
    assert state.requests[-1].fault == "truncate" and state.requests[-1].processed
    assert (await client.post("/search", params=TOKEN)).status_code == 200


async def test_dropped_connection_raises(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.faults.add("drop:count=1")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/filters", params=TOKEN)
    record = state.requests[-1]
    assert (record.fault, record.status, record.processed) == ("drop", None, False)


async def test_slow_body_is_trickled_in_chunks(
    client: httpx.AsyncClient, state: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    normal = await client.get("/filters", params=TOKEN)
    pauses: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr("desktop_app.sandbox.app.asyncio.sleep", fake_sleep)
    state.faults.add("slow:ms=40,chunk=100,count=1")
    slow = await client.get("/filters", params=TOKEN)
    assert slow.status_code == 200
    assert slow.content == normal.content
    assert pauses == [0.04] * math.ceil(len(normal.content) / 100)


async def test_latency_fault_adds_to_the_configured_latency(
    client: httpx.AsyncClient, state: SandboxState, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr("desktop_app.sandbox.app.asyncio.sleep", fake_sleep)
    state.faults.add("latency:ms=150,path=/search")
    await client.get("/filters", params=TOKEN)
    await client.post("/search", params=TOKEN)
    assert pauses == [0.15]


async def test_novoice_makes_a_ready_recording_look_unready(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    filename = next(c.filename for c in state.calls if c.filename)
    state.faults.add("novoice:count=1")
    params = {**TOKEN, "file": filename}
    first = await client.get("/recordings/link", params=params)
    assert first.status_code == 404 and first.json()["message"] == "no voice file found"
    assert (await client.get("/recordings/link", params=params)).status_code == 200


async def test_faults_target_path_and_method(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add("500:path=/search")
    state.faults.add("503:path=/user,method=PUT")
    assert (await client.get("/filters", params=TOKEN)).status_code == 200
    assert (await client.get("/user", params=TOKEN)).status_code == 200
    assert (await client.post("/search", params=TOKEN)).status_code == 500
    assert (await client.put("/user", params=TOKEN)).status_code == 503
    assert (await client.post("/search", params=TOKEN)).status_code == 500  # unlimited
    state.faults.clear()
    assert (await client.post("/search", params=TOKEN)).status_code == 200


async def test_skip_lets_the_first_requests_through(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add("502:skip=2,count=1")
    codes = [(await client.get("/filters", params=TOKEN)).status_code for _ in range(4)]
    assert codes == [200, 200, 502, 200]


async def test_click_to_call_refused_before_processing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.faults.add("500:path=/clickOcall,count=1")
    response = await client.post("/clickOcall", params=TOKEN, data=_click_fields(state))
    assert response.status_code == 500
    assert state.placed_calls == []


@pytest.mark.parametrize("spec", ["500:after=1", "drop:after=1", "html502:after=1"])
async def test_click_to_call_processed_then_failed(
    client: httpx.AsyncClient, state: SandboxState, clock: ManualClock, spec: str
) -> None:
    """The crucial case: the call is placed although the client hears only a failure."""
    state.faults.add(f"{spec},path=/clickOcall,count=1")
    try:
        response = await client.post("/clickOcall", params=TOKEN, data=_click_fields(state))
    except httpx.RemoteProtocolError:
        assert spec.startswith("drop")
    else:
        assert response.status_code >= 500
    assert len(state.placed_calls) == 1
    assert len(state.requests_to("/clickOcall", "POST")) == 1
    assert state.requests[-1].processed
    clock.advance(30)
    assert state.calls[0].id == state.placed_calls[0].unique_id


def _click_fields(state: SandboxState) -> dict[str, str]:
    return {
        "customer_number": "9837211131",
        "customer_cc": "91",
        "support_user_id": state.users[1].uuid,
    }


async def test_faults_from_the_config(clock: ManualClock) -> None:
    config = SandboxConfig(
        n_logs=10,
        now=NOW,
        clock=clock,
        rate_limit=None,
        faults=["503:count=1", Fault("429", count=1, retry_after=3)],
    )
    async with client_for(create_app(config)) as client:
        codes = [(await client.get("/filters", params=TOKEN)).status_code for _ in range(3)]
    assert codes == [503, 429, 200]
