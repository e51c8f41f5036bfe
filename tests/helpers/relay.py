"""The team relay for tests: relay replicas as real processes (``myoperator relay --port 0
--json``) on a real Redis (`tests.helpers.redis_server`), so a test can kill one with
SIGKILL as a crash would, and the relay's command line run as a user would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from desktop_app.relay.config import (
    HEARTBEAT_ENV,
    HOOK_AUTH_ENV,
    HOOK_SECRET_ENV,
    NAMESPACE_ENV,
    REDIS_ENV,
)
from desktop_app.relay.engine import RelayEngine
from tests.helpers.processes import ROOT, child_environment, read_json_line
from tests.helpers.redis_server import RedisServer

HOOK_SECRET = "fake-hook-secret-0123456789abcdef"
#: The replicas' key prefix (`relay_environ`): a test's own engine reads the same keys.
NAMESPACE = "test:relay:"
HOOK_AUTH = ("X-Relay-Auth", "fake-hook-auth-value-9876")


@dataclass
class Replica:
    proc: subprocess.Popen[str]
    base_url: str

    def hook(self, kind: str, secret: str = HOOK_SECRET) -> str:
        return f"{self.base_url}/hooks/{secret}/{kind}"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def relay_environ(redis_server: RedisServer, tmp_path: Path) -> dict[str, str]:
    environ = child_environment(runtime=tmp_path / "runtime")
    environ.update(
        {
            REDIS_ENV: redis_server.url,
            HOOK_SECRET_ENV: HOOK_SECRET,
            HOOK_AUTH_ENV: f"{HOOK_AUTH[0]}: {HOOK_AUTH[1]}",
            NAMESPACE_ENV: NAMESPACE,
            HEARTBEAT_ENV: "0.3",
        }
    )
    return environ


@pytest.fixture
def start_relay(relay_environ: dict[str, str]) -> Iterator[Callable[[], Replica]]:
    started: list[subprocess.Popen[str]] = []

    def start() -> Replica:
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop_app.cli", "relay", "--port", "0", "--json"],
            cwd=ROOT,
            env=relay_environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return Replica(proc, read_json_line(proc)["relay"])

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def run_cli(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(name="engine")
async def relay_engine(redis_server: RedisServer) -> AsyncIterator[RelayEngine]:
    """``engine``: the replicas' Redis, as an admin's command sees it (credentials, the
    stream)."""
    engine = RelayEngine.from_url(redis_server.url, NAMESPACE)
    yield engine
    await engine.aclose()


async def post_webhooks(
    replica: Replica, kind: str, payloads: Sequence[dict[str, object]]
) -> None:
    """Post `payloads` to a replica's ``after-call`` or ``in-call`` hook, as MyOperator
    does (with the auth header); each must be taken."""
    async with httpx.AsyncClient(timeout=10, headers=dict([HOOK_AUTH])) as http:
        for payload in payloads:
            answer = await http.post(replica.hook(kind), json=payload)
            assert answer.status_code == 200, answer.text
