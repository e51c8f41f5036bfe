"""The client against the emulated service in-process: every operation, quirk and fault.

Requests are counted at the server, so "sent at most once" is shown, not assumed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from desktop_app.api import client as client_module
from desktop_app.api import parsing
from desktop_app.api.budget import RequestBudget, Window
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import (
    MalformedResponse,
    NetworkError,
    NotReadyYet,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.filters import build_filter_expression, resolve_filter_names
from desktop_app.api.models import ContactType, Direction, NewUser, Role, UserUpdate
from desktop_app.sandbox import BASIC_TOKEN, SandboxApp, SandboxState
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW, SandboxTransport, make_sandbox
from tests.helpers.tokens import FAKE_TOKEN


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox's clock; the client's waits move it instead of waiting."""
    return ManualClock(NOW, sleep_advances=True)


@pytest.fixture
def app(clock: ManualClock) -> SandboxApp:
    return make_sandbox(clock, n_logs=600, tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8})


@pytest.fixture
def sleeps(clock: ManualClock) -> ManualClock:
    """The clock, as what records the client's waits (`slept`)."""
    return clock


def make_client(
    app: SandboxApp,
    sleeps: ManualClock,
    token: str = FAKE_TOKEN,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> MyOperatorClient:
    return MyOperatorClient(
        token,
        base_url="http://sandbox",
        transport=transport or httpx.ASGITransport(app=app),
        budget=RequestBudget.unlimited(clock=sleeps, sleep=sleeps.sleep),
        sleep=sleeps.sleep,
    )


@pytest.fixture
async def api(app: SandboxApp, sleeps: ManualClock) -> AsyncIterator[MyOperatorClient]:
    async with make_client(app, sleeps) as client:
        yield client


# ------------------------------------------------------------------ reads


async def test_search_pages_through_the_whole_window(api: MyOperatorClient) -> None:
    start, end = int(NOW) - 5 * 86400, int(NOW)
    seen: list[str] = []
    starts: list[int] = []
    totals = set()
    async for page in api.iter_logs(start=start, end=end, page_size=25):
        seen.extend(log.id for log in page.logs)
        starts.extend(log.start_time for log in page.logs)
        totals.add(page.total)
    assert len(totals) == 1
    assert len(seen) == totals.pop() > 25
    assert all(start <= t <= end for t in starts)
    assert len(set(seen)) == len(seen)


async def test_search_parses_calls_completely(api: MyOperatorClient) -> None:
    page = await api.search_logs(page_size=100)
    assert page.logs == tuple(sorted(page.logs, key=lambda c: -c.start_time))
    answered = [c for c in page.logs if c.answered]
    missed = [c for c in page.logs if c.missed_incoming]
    assert answered and missed
    assert all(c.caller_number.startswith("+") for c in page.logs)
    assert all(c.filename is None and not c.has_recording for c in missed)
    assert all(c.legs and c.agents for c in answered)
    assert {c.direction for c in page.logs} == {Direction.INCOMING, Direction.OUTGOING}


async def test_search_key_and_limit(api: MyOperatorClient) -> None:
    first = (await api.search_logs(page_size=1)).logs[0]
    fragment = first.caller_number_raw[-6:]
    calls = [c async for page in api.iter_logs(search=fragment, limit=5) for c in page.logs]
    assert 1 <= len(calls) <= 5
    assert all(fragment in c.caller_number for c in calls)


async def test_filters_build_a_working_expression(api: MyOperatorClient) -> None:
    groups = await api.filters()
    names = {f.name for g in groups for f in g.filters}
    assert {"Incoming", "Outgoing", "Missed", "Connected"} <= names
    expression = build_filter_expression(
        groups, resolve_filter_names(groups, ["incoming", "missed", "call"])
    )
    page = await api.search_logs(page_size=100, filters=expression)
    assert page.logs
    assert all(c.missed_incoming for c in page.logs)


async def test_users_paging_matches_all_users(api: MyOperatorClient) -> None:
    paged = [u async for page in api.iter_users(page_size=5) for u in page.users]
    everyone = await api.all_users()
    assert [u.uuid for u in paged] == [u.uuid for u in everyone]
    assert len(everyone) > 5
    assert all(u.number_e164 and u.number_e164.startswith("+") for u in everyone)
    assert {Role.ADMIN, Role.BASIC} <= {u.role for u in everyone}


async def test_a_bad_token_is_rejected_without_showing_it(
    app: SandboxApp, sleeps: ManualClock
) -> None:
    wrong = "0123456789abcdef0123456789abcdef"
    async with make_client(app, sleeps, token=wrong) as client:
        with pytest.raises(TokenRejected) as caught:
            await client.filters()
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert sleeps.slept == []  # a rejected token is not retried


async def test_a_bearer_secret_never_goes_in_the_url_not_even_through_a_twin(
    app: SandboxApp, sleeps: ManualClock
) -> None:
    """A team relay's agent credential: in the Authorization header, where reverse
    proxies do not log it (MyOperator itself takes only ?token=, so it refuses)."""
    seen: list[httpx.Request] = []
    service = httpx.ASGITransport(app=app)

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await service.handle_async_request(request)

    client = MyOperatorClient(
        FAKE_TOKEN, base_url="http://sandbox", transport=Recording(), as_bearer=True,
        budget=RequestBudget.unlimited(clock=sleeps, sleep=sleeps.sleep), sleep=sleeps.sleep,
    )
    for each in (client, client.twin()):
        with pytest.raises(TokenRejected):
            await each.filters()
        await each.aclose()

    assert len(seen) == 2
    for request in seen:
        assert FAKE_TOKEN not in str(request.url)
        assert request.headers["authorization"] == f"Bearer {FAKE_TOKEN}"


async def test_invalid_input_is_refused_before_any_request(
    api: MyOperatorClient, state: SandboxState
) -> None:
    before = len(state.requests)
    with pytest.raises(ValidationError) as caught:
        await api.search_logs(page_size=500)
    assert caught.value.field == "page_size" and not caught.value.sent
    with pytest.raises(ValidationError):
        await api.click_to_call("12", "91", "some-agent")
    with pytest.raises(ValidationError):
        await api.search_logs(filters="5; DROP TABLE")
    assert len(state.requests) == before


# -------------------------------------------------------------- recordings


async def test_recording_downloads_real_audio_from_a_link_without_the_token(
    api: MyOperatorClient, tmp_path: Path
) -> None:
    call = next(c for c in (await api.search_logs(page_size=50)).logs if c.has_recording)
    assert call.filename is not None
    link = await api.recording_link(call.filename)
    assert FAKE_TOKEN not in link.url
    assert "url" not in repr(link)
    saved = await api.download_recording(call.filename, tmp_path / "r.mp3")
    data = await asyncio.to_thread(saved.read_bytes)
    assert data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xe3")
    assert os.listdir(tmp_path) == ["r.mp3"]  # no partial file left beside it


async def test_a_fresh_recording_is_not_ready_yet(
    api: MyOperatorClient, state: SandboxState, tmp_path: Path
) -> None:
    call = state.add_call(answered=True)
    with pytest.raises(NotReadyYet):
        await api.download_recording(call.filename, tmp_path / "x.mp3")
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))


@pytest.mark.parametrize("kind", ["fifo", "symlink", "dev_null"])
async def test_a_download_never_replaces_anything_but_a_regular_file(
    api: MyOperatorClient, state: SandboxState, tmp_path: Path, kind: str
) -> None:
    """Run as root, ``os.replace`` over /dev/null swaps the device for a file."""
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "real.mp3").write_bytes(b"keep")
        target.symlink_to(tmp_path / "real.mp3")
    else:
        target = Path(os.devnull)
    before = target.lstat()
    names_before = sorted(os.listdir(target.parent))
    with pytest.raises(ValidationError) as caught:
        await api.download_recording("anything.mp3", target)
    assert "not a regular file" in caught.value.message
    after = target.lstat()
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert state.requests_to("/recordings/link") == []  # refused before asking
    assert sorted(os.listdir(target.parent)) == names_before  # no partial file either


@dataclass
class Gate:
    """Holds one download halfway through its body until the test releases it."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cut_short: bool = False  # after the release, end the body early (every attempt)


class HeldBodies(SandboxTransport):
    """The sandbox in-process, each recording body stopped halfway at its download's gate,
    so two downloads can be caught in the middle of writing at the same moment."""

    def __init__(self, app: SandboxApp) -> None:
        super().__init__(app)
        self._gates: dict[asyncio.Task[object], Gate] = {}

    def hold(self, download: asyncio.Task[object], gate: Gate | None = None) -> Gate:
        self._gates[download] = gate = gate or Gate()
        return gate

    async def after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        task = asyncio.current_task()
        if not request.url.path.startswith("/media/") or task not in self._gates:
            return response
        body = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers,
            stream=_HeldBody(body, self._gates[task]),
        )


class _HeldBody(httpx.AsyncByteStream):
    def __init__(self, body: bytes, gate: Gate) -> None:
        self._body, self._gate = body, gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        half = len(self._body) // 2
        yield self._body[:half]
        self._gate.reached.set()
        await self._gate.release.wait()
        if not self._gate.cut_short:
            yield self._body[half:]


def partial_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


@pytest.fixture
async def held(
    app: SandboxApp, sleeps: ManualClock
) -> AsyncIterator[tuple[MyOperatorClient, HeldBodies]]:
    transport = HeldBodies(app)
    async with make_client(app, sleeps, transport=transport) as client:
        yield client, transport


async def a_recording(api: MyOperatorClient, state: SandboxState) -> tuple[str, bytes]:
    call = next(c for c in (await api.search_logs(page_size=50)).logs if c.has_recording)
    assert call.filename is not None
    return call.filename, state.recordings.audio_for(call.filename)


async def test_two_downloads_to_one_target_both_succeed(
    held: tuple[MyOperatorClient, HeldBodies], state: SandboxState, tmp_path: Path
) -> None:
    """Two `myoperator recording -o X` runs at once: each writes its own partial file."""
    api, transport = held
    name, audio = await a_recording(api, state)
    target = tmp_path / "r.mp3"
    first = asyncio.create_task(api.download_recording(name, target))
    second = asyncio.create_task(api.download_recording(name, target))
    gates = transport.hold(first), transport.hold(second)  # type: ignore[arg-type]
    async with asyncio.timeout(10):
        for gate in gates:
            await gate.reached.wait()
        mid_way = partial_files(tmp_path)
        assert len(mid_way) == 2 and all(n.startswith(".") for n in mid_way), mid_way
        gates[0].release.set()
        assert await first == target
        assert target.read_bytes() == audio
        gates[1].release.set()
        assert await second == target
    assert target.read_bytes() == audio
    assert os.listdir(tmp_path) == ["r.mp3"]


@pytest.mark.parametrize("failure", ["cancelled", "cut short"])
async def test_a_failing_download_deletes_only_its_own_partial_file(
    held: tuple[MyOperatorClient, HeldBodies], state: SandboxState, tmp_path: Path,
    failure: str,
) -> None:
    api, transport = held
    name, audio = await a_recording(api, state)
    target = tmp_path / "r.mp3"
    target.write_bytes(b"the previous copy")
    survivor = asyncio.create_task(api.download_recording(name, target))
    failing = asyncio.create_task(api.download_recording(name, target))
    gate = transport.hold(survivor)  # type: ignore[arg-type]
    failing_gate = transport.hold(failing, Gate(cut_short=True))  # type: ignore[arg-type]
    async with asyncio.timeout(10):
        await gate.reached.wait()
        await failing_gate.reached.wait()
        survivors_partial = set(partial_files(tmp_path))
        if failure == "cancelled":
            failing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await failing
        else:
            failing_gate.release.set()
            with pytest.raises(NetworkError):
                await failing
        assert len(survivors_partial) == 2
        survivors_partial &= set(partial_files(tmp_path))
        assert len(survivors_partial) == 1  # the failed one removed its own, and only that
        assert target.read_bytes() == b"the previous copy"  # untouched by the failure
        gate.release.set()
        assert await survivor == target
    assert target.read_bytes() == audio
    assert os.listdir(tmp_path) == ["r.mp3"]


async def test_a_download_is_on_disk_before_it_replaces_the_target(
    api: MyOperatorClient, state: SandboxState, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash right after the rename must not leave a truncated recording: the file is
    flushed to disk (fsync) before it is renamed over the target."""
    name, audio = await a_recording(api, state)
    events: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source: str | Path, destination: str | Path) -> None:
        events.append(("replace", os.lstat(source).st_ino))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    saved = await api.download_recording(name, tmp_path / "r.mp3")
    monkeypatch.undo()
    assert saved.read_bytes() == audio
    assert events == [("fsync", saved.stat().st_ino), ("replace", saved.stat().st_ino)]


# --------------------------------------------------------------- mutations


async def test_add_then_update_user(api: MyOperatorClient) -> None:
    uuid = await api.add_user(
        NewUser(name="Kavya Menon", contact_number="098765 43219", country_code="91",
                extension=77, email="kavya@example.com", contact_type=ContactType.SIP)
    )
    assert uuid
    message = await api.update_user(UserUpdate(uuid=uuid, name="Kavya R. Menon"))
    assert message
    await api.set_receives_calls(uuid, False)
    user = next(u for u in await api.all_users() if u.uuid == uuid)
    assert (user.name, user.extension, user.receives_calls) == ("Kavya R. Menon", 77, False)
    assert user.number_e164 == "+919876543219"


async def test_server_rejections_name_the_field(api: MyOperatorClient) -> None:
    someone = (await api.all_users())[0]
    assert someone.contact_number and someone.country_code
    with pytest.raises(ValidationError) as caught:
        # The live service answers this one with HTTP 200 and "status": "error".
        await api.add_user(NewUser(name="Dup", contact_number=someone.contact_number,
                                   country_code=someone.country_code))
    assert caught.value.sent and caught.value.field == "contact_number"


async def test_a_basic_user_may_not_add_users(app: SandboxApp, sleeps: ManualClock) -> None:
    async with make_client(app, sleeps, token=BASIC_TOKEN) as client:
        with pytest.raises(PermissionDenied):
            await client.add_user(NewUser(name="X", contact_number="9123456780",
                                          country_code="91"))


async def test_click_to_call_places_one_call_that_shows_in_the_log(
    api: MyOperatorClient, state: SandboxState, clock: ManualClock
) -> None:
    agent = next(u for u in await api.all_users() if u.is_enabled is not False)
    placed = await api.click_to_call("+91 98123-45678", "91", agent.uuid)
    assert placed.unique_id
    assert [(p.customer_cc, p.customer_number) for p in state.placed_calls] == [
        ("91", "9812345678")
    ]
    clock.advance(60)
    page = await api.search_logs(page_size=5)
    logged = next(c for c in page.logs if c.id == placed.unique_id)
    assert logged.direction is Direction.OUTGOING
    assert logged.caller_number == "+919812345678"


# ------------------------------------------- retries for reads, never for calls


@pytest.mark.parametrize("fault", ["503:count=2", "html502:count=2", "drop:count=2",
                                   "truncate:count=2"])
async def test_reads_retry_through_transient_faults(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock, fault: str
) -> None:
    state.faults.add(fault)
    groups = await api.filters()
    assert groups
    assert len(state.requests_to("/filters")) == 3
    assert len(sleeps.slept) == 2


async def test_reads_honour_retry_after(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock
) -> None:
    state.faults.add("429:count=1,retry_after=7")
    await api.filters()
    assert sleeps.slept[0] >= 7
    assert len(state.requests_to("/filters")) == 2


async def test_a_long_retry_after_is_reported_not_waited(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock
) -> None:
    state.faults.add("429:retry_after=3600")
    with pytest.raises(RateLimited) as caught:
        await api.filters()
    assert caught.value.retry_after == pytest.approx(3600)
    assert len(state.requests_to("/filters")) == 1
    assert "3600" in caught.value.message or "60 min" in caught.value.message or "1 h" in (
        caught.value.message
    )


async def test_reads_give_up_after_the_policy_attempts(
    api: MyOperatorClient, state: SandboxState
) -> None:
    state.faults.add("503")
    with pytest.raises(ServerError):
        await api.filters()
    assert len(state.requests_to("/filters")) == RetryPolicy().attempts


async def test_malformed_json_is_not_retried(api: MyOperatorClient, state: SandboxState) -> None:
    state.faults.add("malformed:count=1")
    with pytest.raises(MalformedResponse):
        await api.filters()
    assert len(state.requests_to("/filters")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        "500:path=/clickOcall,after=1",
        "503:path=/clickOcall,after=1",
        "html502:path=/clickOcall,after=1",
        "drop:path=/clickOcall,after=1",
        "truncate:path=/clickOcall",
        "malformed:path=/clickOcall,after=1",
        "503:path=/clickOcall",
        "drop:path=/clickOcall",
    ],
)
async def test_click_to_call_is_sent_once_whatever_the_server_does(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock, fault: str
) -> None:
    agent = (await api.all_users())[0]
    state.faults.add(fault)
    with pytest.raises(OutcomeUnknown) as caught:
        await api.click_to_call("9812345678", "91", agent.uuid)
    assert caught.value.operation == "click-to-call"
    assert len(state.requests_to("/clickOcall", "POST")) == 1
    assert sleeps.slept == []


@pytest.mark.parametrize(("after", "placed"), [(",after=1", 1), ("", 0)])
async def test_a_429_to_a_click_to_call_is_an_unknown_outcome_never_a_retry(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock, after: str, placed: int
) -> None:
    """A 429 may come after the call was queued (a proxy, or `after=1` here): the client
    cannot tell the two apart, so neither may be reported as "not placed, retry"."""
    agent = (await api.all_users())[0]
    state.faults.add(f"429:path=/clickOcall,retry_after=5{after}")
    with pytest.raises(OutcomeUnknown) as caught:
        await api.click_to_call("9812345678", "91", agent.uuid)
    assert not isinstance(caught.value, RateLimited)
    assert "may or may not" in caught.value.message
    assert len(state.requests_to("/clickOcall")) == 1
    assert len(state.placed_calls) == placed
    assert sleeps.slept == []
    assert api.budget.wait_time() == pytest.approx(5, abs=1)  # everyone still pauses


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_429_to_a_user_change_is_an_unknown_outcome(
    api: MyOperatorClient, state: SandboxState, method: str
) -> None:
    someone = (await api.all_users())[0]
    state.faults.add(f"429:path=/user,method={method},after=1,retry_after=0")
    with pytest.raises(OutcomeUnknown) as caught:
        if method == "POST":
            await api.add_user(NewUser(name="Once Only", contact_number="9123456780",
                                       country_code="91"))
        else:
            await api.update_user(UserUpdate(uuid=someone.uuid, name="Once Only"))
    assert caught.value.operation == ("add user" if method == "POST" else "update user")
    assert len(state.requests_to("/user", method)) == 1
    # The change was made: that is why "retry" would have been the wrong advice.
    state.faults.clear()
    assert [u.name for u in await api.all_users()].count("Once Only") == 1


async def test_a_spent_budget_refuses_a_click_to_call_before_sending_it(
    api: MyOperatorClient, state: SandboxState
) -> None:
    """Only a refusal that provably sent nothing stays "rate-limited"."""
    agent = (await api.all_users())[0]
    api.budget.penalize(RetryPolicy().max_budget_wait_s + 60)
    with pytest.raises(RateLimited):
        await api.click_to_call("9812345678", "91", agent.uuid)
    assert state.requests_to("/clickOcall") == []


@pytest.mark.parametrize("path,method", [("/user", "POST"), ("/user", "PUT")])
async def test_user_changes_are_never_resent(
    api: MyOperatorClient, state: SandboxState, path: str, method: str
) -> None:
    someone = (await api.all_users())[0]
    state.faults.add(f"503:path={path},method={method},after=1")
    with pytest.raises(OutcomeUnknown):
        if method == "POST":
            await api.add_user(NewUser(name="Once", contact_number="9123456780",
                                       country_code="91"))
        else:
            await api.update_user(UserUpdate(uuid=someone.uuid, name="Once"))
    assert len(state.requests_to(path, method)) == 1


@pytest.mark.parametrize("operation", ["click-to-call", "add user", "update user"])
async def test_a_failure_reading_the_answer_is_an_unknown_outcome_whatever_raised_it(
    api: MyOperatorClient, state: SandboxState, monkeypatch: pytest.MonkeyPatch,
    operation: str,
) -> None:
    """A bug in reading the answer (not a MyOperatorError) after the request was sent must
    not escape as itself: the service may well have acted on the request."""
    someone = (await api.all_users())[0]

    def broken(body: object) -> None:
        raise KeyError("a parsing bug")

    reader = {"click-to-call": "parse_call_placed", "add user": "_new_user_uuid",
              "update user": "_answer_message"}[operation]
    monkeypatch.setattr(parsing if operation == "click-to-call" else client_module,
                        reader, broken)
    assert api.mutation_sent is None
    with pytest.raises(OutcomeUnknown) as caught:
        if operation == "click-to-call":
            await api.click_to_call("9812345678", "91", someone.uuid)
        elif operation == "add user":
            await api.add_user(NewUser(name="Read Fails", contact_number="9123456780",
                                       country_code="91"))
        else:
            await api.update_user(UserUpdate(uuid=someone.uuid, name="Read Fails"))
    assert caught.value.operation == operation
    assert "may or may not" in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert api.mutation_sent == operation
    changes = state.placed_calls if operation == "click-to-call" else [
        u for u in state.users if u.name == "Read Fails"
    ]
    assert len(changes) == 1  # it did happen: "unknown" was the honest answer


async def test_only_a_change_handed_to_the_network_counts_as_sent(
    api: MyOperatorClient, state: SandboxState
) -> None:
    agent = (await api.all_users())[0]
    with pytest.raises(ValidationError):
        await api.click_to_call("12", "91", agent.uuid)
    api.budget.penalize(RetryPolicy().max_budget_wait_s + 60)
    with pytest.raises(RateLimited):
        await api.click_to_call("9812345678", "91", agent.uuid)
    assert api.mutation_sent is None and state.requests_to("/clickOcall") == []


# ------------------------------------------------------ budget and secrecy


async def test_every_request_passes_through_the_budget(app: SandboxApp) -> None:
    clock = ManualClock(NOW, sleep_advances=True)
    budget = RequestBudget((Window("minute", 2, 60.0),), clock=clock, sleep=clock.sleep)
    async with MyOperatorClient(
        FAKE_TOKEN, base_url="http://sandbox", transport=httpx.ASGITransport(app=app),
        budget=budget, sleep=clock.sleep,
    ) as client:
        await client.filters()
        await client.all_users()
        assert budget.remaining() == {"minute": 0}
        await client.search_logs()
    assert clock.slept == [pytest.approx(60.0)]


async def test_a_429_pauses_the_whole_budget(
    api: MyOperatorClient, state: SandboxState, sleeps: ManualClock
) -> None:
    state.faults.add("429:count=1,retry_after=30")
    await api.filters()
    assert len(state.requests_to("/filters")) == 2
    # The retry waited out the pause, in the budget every request shares.
    assert sum(sleeps.slept) == pytest.approx(30, abs=1)
    agent = (await api.all_users())[0]
    state.faults.add("429:count=1,retry_after=30")
    with pytest.raises(OutcomeUnknown):
        await api.click_to_call("9812345678", "91", agent.uuid)
    assert api.budget.wait_time() == pytest.approx(30, abs=1)


async def test_request_logs_never_carry_the_token(
    api: MyOperatorClient, state: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state.faults.add("drop:count=4")
    with pytest.raises(NetworkError) as caught:
        await api.filters()
    await api.search_logs(page_size=1)
    assert "HTTP Request" in caplog.text  # httpx did log the URLs...
    assert FAKE_TOKEN not in caplog.text  # ...with the token redacted at the source
    assert FAKE_TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and FAKE_TOKEN not in repr(caught.value.__context__)
    assert FAKE_TOKEN not in repr(api)
