"""The sandbox over real loopback HTTP: what only a socket can show."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer, serve_forever
from desktop_app.services.clock import ManualClock

NOW = 1_700_000_000.0
TOKEN = {"token": DEMO_TOKEN}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[SandboxServer]:
    config = SandboxConfig(n_logs=300, now=NOW, clock=clock, rate_limit=None)
    with SandboxServer(config) as running:
        yield running


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def test_serves_on_a_free_loopback_port(server: SandboxServer, http: httpx.Client) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
    assert server.port > 0
    response = http.get("/filters", params=TOKEN)
    assert response.status_code == 200
    assert response.json()["status"] == "success"
    with SandboxServer(SandboxConfig(n_logs=0, rate_limit=None)) as other:
        assert other.port != server.port
        assert httpx.get(other.base_url + "/filters", params=TOKEN).status_code == 200


def test_stop_releases_the_port(clock: ManualClock) -> None:
    server = SandboxServer(SandboxConfig(n_logs=0, now=NOW, clock=clock, rate_limit=None))
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.start()
    url = server.base_url
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/filters", params=TOKEN, timeout=5)


async def test_async_client_over_loopback(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.post("/search", json={"token": DEMO_TOKEN, "page_size": 7})
    assert response.status_code == 200
    assert len(response.json()["data"]["hits"]) == 7
    assert response.json()["data"]["total"] == 300


def test_dropped_connection_is_a_connection_error(
    server: SandboxServer, http: httpx.Client
) -> None:
    server.state.faults.add("drop:count=1")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.get("/filters", params=TOKEN)
    assert server.state.requests[-1].fault == "drop"
    assert http.get("/filters", params=TOKEN).status_code == 200


def test_truncated_body(server: SandboxServer, http: httpx.Client) -> None:
    full = http.post("/search", params=TOKEN)
    server.state.faults.add("truncate:count=1,path=/search")
    with pytest.raises(httpx.RemoteProtocolError) as raised:
        http.post("/search", params=TOKEN)
    assert f"expected {len(full.content)}" in str(raised.value)


def test_slow_body_arrives_in_pieces(server: SandboxServer, http: httpx.Client) -> None:
    normal = http.get("/filters", params=TOKEN).content
    server.state.faults.add("slow:ms=20,chunk=256,count=1")
    with http.stream("GET", "/filters", params=TOKEN) as response:
        pieces = list(response.iter_raw())
    assert b"".join(pieces) == normal
    assert len(pieces) >= 2


def test_html_error_page(server: SandboxServer, http: httpx.Client) -> None:
    server.state.faults.add("html502:count=1")
    response = http.get("/user", params=TOKEN)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "Bad Gateway" in response.text


def test_recording_download_with_ranges(server: SandboxServer, http: httpx.Client) -> None:
    filename = next(c.filename for c in server.state.calls if c.filename)
    link = http.get("/recordings/link", params={**TOKEN, "file": filename}).json()["url"]
    assert link.startswith(server.base_url + "/media/")
    assert DEMO_TOKEN not in link
    whole = httpx.get(link)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    head = httpx.get(link, headers={"Range": "bytes=0-1023"})
    tail = httpx.get(link, headers={"Range": "bytes=1024-"})
    assert (head.status_code, tail.status_code) == (206, 206)
    assert head.headers["content-range"] == f"bytes 0-1023/{size}"
    assert head.content + tail.content == whole.content
    refused = httpx.get(link, headers={"Range": f"bytes={size}-"})
    assert refused.status_code == 416


def test_click_to_call_dropped_after_it_was_placed(
    server: SandboxServer, http: httpx.Client, clock: ManualClock
) -> None:
    server.state.faults.add("drop:path=/clickOcall,after=1,count=1")
    agent = server.state.users[1]
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(
            "/clickOcall",
            params=TOKEN,
            data={
                "customer_number": "9837211131",
                "customer_cc": "91",
                "support_user_id": agent.uuid,
            },
        )
    assert len(server.state.requests_to("/clickOcall", "POST")) == 1
    (placed,) = server.state.placed_calls
    clock.now += 30
    hits = http.post("/search", params=TOKEN, data={"search_key": "9837211131"}).json()
    assert placed.unique_id in [h["_id"] for h in hits["data"]["hits"]]


def test_rate_limit_over_the_wire(clock: ManualClock) -> None:
    config = SandboxConfig(n_logs=0, now=NOW, clock=clock, rate_limit=((2, 60.0),))
    with SandboxServer(config) as server, httpx.Client(base_url=server.base_url) as http:
        codes = [http.get("/filters", params=TOKEN).status_code for _ in range(3)]
        refused = http.get("/filters", params=TOKEN)
    assert codes == [200, 200, 429]
    assert refused.headers["retry-after"] == "60"


def test_serve_forever_refuses_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            serve_forever(SandboxConfig(n_logs=0), "127.0.0.1", port)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads this process's fds")
def test_answers_go_out_without_nagles_delay(server: SandboxServer) -> None:
    """The server's side of a connection has TCP_NODELAY: uvicorn writes an answer's head
    and body separately, and with Nagle on the body waited for the client's delayed ACK
    (40 ms a request). In-process, the accepted socket is one of this process's fds."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(b"GET /filters HTTP/1.1\r\nhost: x\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 ")  # accepted and answered
        peer = client.getsockname()
        accepted = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                sock = socket.socket(fileno=os.dup(int(fd)))
                with sock:
                    if sock.type == socket.SOCK_STREAM and sock.getpeername() == peer:
                        accepted.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        assert accepted and all(accepted)
