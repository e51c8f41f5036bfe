"""One TLS context per process (`SharedTls`): built once, off the window's thread."""

from __future__ import annotations

import ssl
import threading
from typing import Any

import pytest

from desktop_app.api.client import MyOperatorClient, SharedTls
from tests.helpers.tokens import FAKE_TOKEN

TIMEOUT_S = 10.0


async def test_clients_and_their_twins_share_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx would read the CA bundle for each client: the account's, its sync twin's."""
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    first = MyOperatorClient(FAKE_TOKEN, base_url="https://api.example.test")
    twin = first.twin()
    other = MyOperatorClient(FAKE_TOKEN, base_url="http://127.0.0.1:9")
    try:
        assert len(made) <= 1  # none when an earlier test built the process's context
    finally:
        for each in (first, twin, other):
            await each.aclose()


def test_prepare_builds_the_context_on_a_worker_thread() -> None:
    built_on: list[str] = []

    def make() -> ssl.SSLContext:
        built_on.append(threading.current_thread().name)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    tls = SharedTls(make)
    thread = tls.prepare()
    thread.join(TIMEOUT_S)

    assert not thread.is_alive()
    assert built_on == ["tls-context"]
    assert tls.get() is tls.get()
    assert built_on == ["tls-context"]  # built once: later callers take it as it is


def test_a_client_made_during_the_build_waits_for_it_instead_of_building_another() -> None:
    started, release = threading.Event(), threading.Event()
    made: list[ssl.SSLContext] = []

    def slow_make() -> ssl.SSLContext:
        started.set()
        assert release.wait(TIMEOUT_S)
        made.append(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        return made[-1]

    tls = SharedTls(slow_make)
    preparing = tls.prepare()
    assert started.wait(TIMEOUT_S)
    taken: list[ssl.SSLContext] = []
    caller = threading.Thread(target=lambda: taken.append(tls.get()))
    caller.start()
    release.set()
    for thread in (preparing, caller):
        thread.join(TIMEOUT_S)

    assert len(made) == 1
    assert taken == made


def test_prepare_also_imports_the_transport_a_client_would_import_on_the_window_thread() -> None:
    """httpx imports httpcore when a client is made: a fresh process shows it done early."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from desktop_app.api.client import TLS\n"
        "assert 'httpcore' not in sys.modules, 'imported with the client module'\n"
        "TLS.prepare().join(10)\n"
        "print('httpcore' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
