"""Serving the sandbox over real loopback HTTP with uvicorn.

`SandboxServer` runs it on a background thread for end-to-end tests and the demo, on a
socket bound before uvicorn starts (`desktop_app.serving`). `serve_forever` is the blocking
entry point of ``myoperator sandbox``.

Only the h11 protocol is used: the app's "drop" and "truncate" faults close the connection
through the request cycle's transport, which this implementation exposes.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType

import uvicorn

from desktop_app.api.redact import install_redacting_filter
from desktop_app.sandbox.app import SandboxApp, create_app
from desktop_app.sandbox.config import SandboxConfig
from desktop_app.sandbox.state import SandboxState
from desktop_app.serving import ReadyServer, bind_tcp, url_host

log = logging.getLogger(__name__)


def _uvicorn_config(app: SandboxApp, host: str, port: int) -> uvicorn.Config:
    # The access log is off, but whoever turns it back on must not log request tokens.
    install_redacting_filter(logging.getLogger("uvicorn.access"))
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        # The lifespan runs only the webhooks' emitter: off without one.
        lifespan="off" if app.sandbox.config.webhooks is None else "on",
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )


class SandboxServer:
    """The sandbox on ``http://127.0.0.1:<port>``, in a background thread.

    ::

        with SandboxServer(SandboxConfig(rate_limit=None)) as server:
            httpx.post(server.base_url + "/search", params={"token": DEMO_TOKEN})
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        app: SandboxApp | None = None,
    ) -> None:
        self.app = app if app is not None else create_app(config)
        self.config = self.app.sandbox.config
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: ReadyServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def state(self) -> SandboxState:
        return self.app.sandbox

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, start serving, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        sock = bind_tcp(self.host, self._requested_port)
        self._port = sock.getsockname()[1]
        server = ReadyServer(_uvicorn_config(self.app, self.host, self._port))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        if not server.ready.wait(timeout) or not server.started:
            server.should_exit = True
            thread.join(timeout)
            sock.close()
            self._server = self._thread = None
            self._port = None
            raise RuntimeError("the sandbox server did not start")
        self._socket = sock
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down and wait for the thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the sandbox until Ctrl+C (blocking). Port 0 picks a free port, which is logged."""
    app = create_app(config)
    sock = bind_tcp(host, port)
    actual = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, host, actual))
    log.info("MyOperator sandbox serving on http://%s:%d", url_host(host), actual)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        log.info("MyOperator sandbox stopped")
