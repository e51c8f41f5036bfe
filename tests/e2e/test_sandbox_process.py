"""The demo's emulated service in a child process (`SandboxProcess`): it serves what its
config says, fails in one sentence, and never outlives its parent."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig
from desktop_app.sandbox.process import (
    SandboxProcess,
    SandboxProcessError,
    config_from_plain,
    config_to_plain,
    launch_demo_early,
)
from tests.helpers.processes import ROOT, read_json_line
from tests.helpers.tokens import FAKE_TOKEN

pytestmark = pytest.mark.skipif(
    not hasattr(os, "pidfd_open"), reason="waits on a process's end through a pidfd (Linux)"
)

NOW = 1_700_000_000.0
TIMEOUT = 20.0


def small_config(**options: object) -> SandboxConfig:
    fields: dict[str, object] = {"n_logs": 120, "days": 7, "now": NOW, "rate_limit": None}
    fields.update(options)
    return SandboxConfig(**fields)  # type: ignore[arg-type]


def wait_gone(pid: int, timeout: float = TIMEOUT) -> bool:
    """Whether process `pid` (not necessarily ours) ended within `timeout`: a pidfd turns
    readable when it exits, so this waits on the event itself."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


@pytest.fixture
def service() -> Iterator[SandboxProcess]:
    with SandboxProcess(small_config(tokens={FAKE_TOKEN: 2})) as running:
        yield running


def test_serves_search_with_the_token_it_was_given(service: SandboxProcess) -> None:
    assert service.base_url.startswith("http://127.0.0.1:")
    response = httpx.post(service.base_url + "/search", params={"token": FAKE_TOKEN}, timeout=10)
    assert response.status_code == 200
    assert response.json()["data"]["hits"]
    refused = httpx.post(service.base_url + "/search", params={"token": DEMO_TOKEN}, timeout=10)
    assert refused.status_code != 200  # only the config's tokens cross


def test_the_config_crosses_as_given() -> None:
    config = small_config(rate_limit=((2, 60.0),), faults=["500:path=/filters,count=1"])
    assert config_from_plain(json.loads(json.dumps(config_to_plain(config)))) == config
    with SandboxProcess(config) as running, httpx.Client(
        base_url=running.base_url, params={"token": DEMO_TOKEN}, timeout=10
    ) as http:
        statuses = [http.get("/filters").status_code for _ in range(4)]
    assert statuses == [500, 200, 200, 429]  # the fault once (refused, not counted), 2/min


def test_stop_ends_the_child_and_is_idempotent() -> None:
    service = SandboxProcess(small_config()).start()
    pid = service.pid
    assert pid is not None
    service.stop()
    assert wait_gone(pid)
    assert service.pid is None
    service.stop()
    with pytest.raises(RuntimeError):
        _ = service.base_url


def test_a_child_that_cannot_start_says_why_and_is_gone() -> None:
    service = SandboxProcess(small_config(faults=["bogus"])).launch()
    pid = service.pid
    assert pid is not None
    with pytest.raises(SandboxProcessError, match=r"^The demo's service could not start: "
                       r"unknown fault kind 'bogus'.*\.$"):
        service.start()
    assert wait_gone(pid)


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="under libfaketime a timed wait on a lock never times out",
)
def test_a_child_too_slow_to_start_is_ended_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A child that reads its config and never answers: slow whatever the machine's speed.
    silent = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    monkeypatch.setattr(
        "desktop_app.sandbox.process.child_command", lambda: (silent, dict(os.environ))
    )
    service = SandboxProcess(small_config()).launch()
    pid = service.pid
    assert pid is not None
    with pytest.raises(SandboxProcessError, match=r"did not start within 0\.2 s\.$"):
        service.start(timeout=0.2)
    assert wait_gone(pid)


PARENT = """
import json, sys
from desktop_app.sandbox.config import SandboxConfig
from desktop_app.sandbox.process import SandboxProcess
service = SandboxProcess(SandboxConfig(n_logs=50, days=3, rate_limit=None)).start()
print(json.dumps({"pid": service.pid, "url": service.base_url}), flush=True)
sys.stdin.read()
"""


def test_the_child_goes_when_its_parent_is_killed(
    processes: list[subprocess.Popen[str]],
) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )
    processes.append(parent)
    started = read_json_line(parent, TIMEOUT)
    child = int(started["pid"])
    try:
        assert httpx.get(started["url"] + "/filters", params={"token": DEMO_TOKEN}).is_success
        parent.send_signal(signal.SIGKILL)
        parent.wait(TIMEOUT)
        assert wait_gone(child), "the service outlived its killed parent"
    finally:
        if not wait_gone(child, 0):
            os.kill(child, signal.SIGKILL)


def test_the_demo_is_launched_early_only_for_the_demo() -> None:
    assert launch_demo_early([]) is None
    assert launch_demo_early(["--self-test", "--demo"]) is None
    early = launch_demo_early(["--demo", "tel:+911234567890"])
    assert early is not None
    try:
        began = time.monotonic()
        assert early.start().base_url.startswith("http://127.0.0.1:")
        assert time.monotonic() - began < TIMEOUT
    finally:
        early.stop()
