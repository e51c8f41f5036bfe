"""Running the relay: ``myoperator relay`` serves it until it is told to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import uvicorn

from desktop_app.api.redact import install_redacting_filter
from desktop_app.relay.app import RelayApp
from desktop_app.relay.config import RelayConfig
from desktop_app.serving import ReadyServer, bind_tcp, url_host

log = logging.getLogger(__name__)


def serve_relay(
    config: RelayConfig,
    host: str,
    port: int,
    *,
    on_ready: Callable[[str], None] | None = None,
    token: str | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM. `on_ready` gets the base URL once connections are
    accepted (port 0 picks a free port). With the account's `token`, it also takes its
    turn as the one poller that fills in what webhooks dropped."""
    # The access log is off: the webhook path carries the secret (redacted anyway).
    install_redacting_filter(logging.getLogger("uvicorn.access"))
    install_redacting_filter(logging.getLogger("uvicorn.error"))
    sock = bind_tcp(host, port)
    base_url = f"http://{url_host(host)}:{sock.getsockname()[1]}"
    server = ReadyServer(
        uvicorn.Config(
            RelayApp(config, token=token),
            http="h11",
            lifespan="on",
            log_config=None,
            access_log=False,
            # Behind a reverse proxy: it terminates TLS and names the client.
            proxy_headers=True,
            timeout_graceful_shutdown=2,
        )
    )

    def announce() -> None:
        if server.ready.wait() and server.started:
            log.info("MyOperator relay serving on %s", base_url)
            if on_ready is not None:
                on_ready(base_url)

    threading.Thread(target=announce, name="relay-ready", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
