"""Serving an ASGI app with uvicorn on a socket bound here: shared by the emulated service
and the team relay.

The socket is bound before uvicorn starts (port 0 picks a free one), so the real port is
known before the first request; `ReadyServer` tells a waiting thread when uvicorn has
started, or given up, instead of leaving it to poll.
"""

from __future__ import annotations

import re
import socket
import threading

import uvicorn

#: A header name a setting may give (the auth header webhooks carry).
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def header_setting(text: str) -> tuple[str, str] | None:
    """A header given as ``Name: value`` (the one webhooks carry, set for the relay that
    expects it or the emulated service that sends it); None when `text` is not one."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not value or not _HEADER_NAME.match(name):
        return None
    return name, value


class ReadyServer(uvicorn.Server):
    """uvicorn's server, telling a waiting thread when it is ready (or has given up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


def bind_tcp(host: str, port: int) -> socket.socket:
    """The listening socket, made as TCP explicitly: asyncio turns Nagle off
    (``TCP_NODELAY``) only on connections whose socket says ``IPPROTO_TCP``, and accepted
    sockets inherit this one's protocol. With proto 0, uvicorn's two writes per answer
    (head, then body) met the client's delayed ACK: 40 ms on every request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    """`host` as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host
