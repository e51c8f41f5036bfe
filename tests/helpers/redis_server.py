"""A real Redis server for the relay's tests: Debian's ``redis-server`` on a private Unix
socket in a temporary directory, with an append-only file (as the relay's install asks), so
a test can stop it and start it again with what it stored.

Readiness is Redis's own "ready to accept connections" log line, read from its stdout: no
polling and no sleeps.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

#: "Ready to accept connections tcp" or "The server is now ready to accept connections at <socket>".
_READY = "ready to accept connections"


def _real_clock_environment() -> dict[str, str]:
    """This environment without libfaketime: the suite's day-boundary runs preload it, and
    Redis (jemalloc) cannot start under it ("Unexpected recursive calls to clock_gettime").
    Redis is a server of its own with its own clock, as it would be in production."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    preload = [lib for lib in environ.pop("LD_PRELOAD", "").split(":") if lib]
    kept = [lib for lib in preload if "faketime" not in lib]
    if kept:
        environ["LD_PRELOAD"] = ":".join(kept)
    return environ


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self._proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> RedisServer:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("redis-server is missing: run `make system-deps` (Debian's redis-server)")
        self._proc = subprocess.Popen(
            [
                executable,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", "",
                "--loglevel", "notice",
                "--daemonize", "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_real_clock_environment(),
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Wait for Redis's ready line; a thread reads its output to the end, so its log
        never fills the pipe and stalls it."""
        assert self._proc is not None and self._proc.stdout is not None
        ready = threading.Event()
        seen: list[str] = []
        stdout = self._proc.stdout

        def drain() -> None:
            for line in stdout:
                seen.append(line)
                if _READY in line.lower():
                    ready.set()
            ready.set()  # ended: the waiter looks at the process

        threading.Thread(target=drain, name="redis-output", daemon=True).start()
        if not ready.wait(timeout):
            self.kill()
            pytest.fail(f"redis-server not ready within {timeout} s: {''.join(seen)}")
        if self._proc.poll() is not None and not any(_READY in line.lower() for line in seen):
            pytest.fail(f"redis-server ended: {''.join(seen)}")
        self.log = seen

    def stop(self, timeout: float = 20.0) -> None:
        """A clean shutdown (SIGTERM): Redis flushes its append-only file first."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.communicate()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # A short directory: a Unix socket's path may not exceed 107 bytes.
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.kill()
