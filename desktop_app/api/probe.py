"""Whether anything answers at the service's address, and if not, why not.

A person told "could not connect" cannot act on it; one told "the name could not be found"
checks the address or the network, and one told "the secure connection failed" asks about
a proxy. httpx folds all of those into `httpx.ConnectError`: the cause is in the chain of
exceptions beneath it (`socket.gaierror`, `ConnectionRefusedError`, `ssl.SSLError`, …),
which `classify_failure` reads.
"""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum

import httpx

from desktop_app.api.redact import redact

#: How deep the chain of causes is followed: httpx wraps httpcore wraps anyio wraps OSError.
_CHAIN_LIMIT = 12
_NO_ROUTE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
)


class ConnectFailure(StrEnum):
    """Why no HTTP answer came back."""

    NAME_NOT_FOUND = "name_not_found"  # DNS
    REFUSED = "refused"
    NO_ROUTE = "no_route"  # no network, or no way to that host
    CERTIFICATE = "certificate"  # TLS: the certificate could not be verified
    TLS = "tls"  # TLS: any other handshake failure
    TIMEOUT = "timeout"
    DROPPED = "dropped"  # the connection closed before a whole answer
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reachability:
    """What one request to the base URL found: an HTTP status, or why there was none."""

    status: int | None
    failure: ConnectFailure | None = None
    #: The low-level reason (redacted), for a report; "" when an answer came.
    detail: str = ""

    @property
    def reached(self) -> bool:
        return self.status is not None


def classify_failure(exc: BaseException) -> ConnectFailure:
    """The cause of a failed request, read from `exc` and the exceptions beneath it."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return ConnectFailure.CERTIFICATE
        if isinstance(link, ssl.SSLError):
            return ConnectFailure.TLS
        if isinstance(link, socket.gaierror):
            return ConnectFailure.NAME_NOT_FOUND
        if isinstance(link, ConnectionRefusedError):
            return ConnectFailure.REFUSED
        if isinstance(link, OSError) and link.errno in _NO_ROUTE_ERRNOS:
            return ConnectFailure.NO_ROUTE
    for link in _chain(exc):
        if isinstance(link, httpx.TimeoutException | TimeoutError):
            return ConnectFailure.TIMEOUT
        if isinstance(link, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return ConnectFailure.DROPPED
        if isinstance(link, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return ConnectFailure.DROPPED
    return ConnectFailure.OTHER


def failure_detail(exc: BaseException) -> str:
    """The innermost reason in `exc`'s chain as one redacted line ("[Errno 111] …")."""
    links = list(_chain(exc))
    for link in reversed(links):
        text = " ".join(str(link).split())
        if text:
            return redact(text)
    return type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in links and len(links) < _CHAIN_LIMIT:
        links.append(current)
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__
    return links
