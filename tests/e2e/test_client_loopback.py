"""The client over real sockets: faults that only a real connection can produce."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import NetworkError, OutcomeUnknown
from desktop_app.sandbox import SandboxServer
from tests.helpers.tokens import FAKE_TOKEN


async def _no_wait(_seconds: float) -> None:
    return None


def client_for(server: SandboxServer, *, timeout: float = 10.0) -> MyOperatorClient:
    return MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, budget=RequestBudget.unlimited(),
        timeout=timeout, sleep=_no_wait,
    )


async def test_every_operation_end_to_end(server: SandboxServer, tmp_path: Path) -> None:
    async with client_for(server) as api:
        groups = await api.filters()
        assert groups
        page = await api.search_logs(page_size=50)
        assert page.total >= len(page.logs) == 50
        users = await api.all_users()
        call = next(c for c in page.logs if c.has_recording)
        assert call.filename
        saved = await api.download_recording(call.filename, tmp_path / "a.mp3")
        assert saved.stat().st_size > 1000
        placed = await api.click_to_call("9812345678", "91", users[0].uuid)
        assert placed.unique_id
    assert len(server.state.requests_to("/clickOcall")) >= 1


@pytest.mark.parametrize("fault", ["drop:count=1", "truncate:count=1", "html:status=503,count=1"])
async def test_reads_survive_real_connection_faults(server: SandboxServer, fault: str) -> None:
    before = len(server.state.requests_to("/filters"))
    server.state.faults.add(fault)
    async with client_for(server) as api:
        assert await api.filters()
    assert len(server.state.requests_to("/filters")) - before == 2


@pytest.mark.parametrize(
    "fault",
    ["drop:path=/clickOcall,after=1,count=1", "truncate:path=/clickOcall,count=1",
     "502:path=/clickOcall,after=1,count=1"],
)
async def test_click_to_call_over_a_failing_connection_is_sent_once(
    server: SandboxServer, fault: str
) -> None:
    async with client_for(server) as api:
        agent = (await api.all_users())[0]
        before = len(server.state.requests_to("/clickOcall"))
        server.state.faults.add(fault)
        with pytest.raises(OutcomeUnknown):
            await api.click_to_call("9812345670", "91", agent.uuid)
    assert len(server.state.requests_to("/clickOcall")) - before == 1


async def test_a_click_to_call_that_times_out_is_unknown_and_not_resent(
    server: SandboxServer,
) -> None:
    async with client_for(server, timeout=0.5) as api:
        agent = (await api.all_users())[0]
        before = len(server.state.requests_to("/clickOcall"))
        server.state.faults.add("slow:path=/clickOcall,ms=400,chunk=4,count=1")
        with pytest.raises(OutcomeUnknown) as caught:
            await api.click_to_call("9812345671", "91", agent.uuid)
    assert "may or may not" in caught.value.message
    assert len(server.state.requests_to("/clickOcall")) - before == 1


async def test_nothing_listening_is_a_network_error_not_an_unknown_outcome() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(attempts=2)
    async with MyOperatorClient(
        FAKE_TOKEN, base_url=f"http://127.0.0.1:{port}", budget=RequestBudget.unlimited(),
        retry=retry, sleep=_no_wait,
    ) as api:
        with pytest.raises(NetworkError, match="could not connect"):
            await api.filters()
        with pytest.raises(NetworkError):
            await api.click_to_call("9812345678", "91", "agent-uuid")
