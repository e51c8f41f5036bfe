"""Fault injection: the failures a client of a cloud API must survive, on demand.

A fault is written as a small spec, on the command line or in a test::

    spec    := kind [ ":" option { "," option } ]
    option  := key "=" value

Kinds (HTTP status in brackets):

=============  ==========================================================================
latency        delay the response by ``ms`` (adds to ``SandboxConfig.latency_ms``)
429            rate-limited [429] with ``Retry-After: retry_after`` (default 1) seconds
500 502 503    a JSON error envelope with that status
504
html           an HTML error page from a "proxy" [``status``, default 502];
               ``html502`` ``html503`` ``html504`` are shorthands
malformed      [200] ``application/json`` whose body is not valid JSON
novoice        [404] ``no voice file found`` (default ``path=/recordings/link``)
drop           close the connection without any response (over ASGITransport, where there
               is no connection, raise ``httpx.RemoteProtocolError`` instead)
truncate       the real response with a ``Content-Length`` larger than the bytes sent, then
               the connection closes (ASGITransport: ``httpx.RemoteProtocolError``)
slow           the real response, its body trickled in ``chunk`` bytes (default 64) with
               ``ms`` (default 50) between chunks
=============  ==========================================================================

Options common to every kind:

- ``path=/search`` only requests to that exact path; ``method=POST`` only that method;
- ``count=N`` fire on the next N matching requests, then retire (default: unlimited);
- ``p=0.2`` fire with that probability (a RNG seeded from the config's seed);
- ``skip=N`` let the first N matching requests through untouched;
- ``after=1`` (response-replacing kinds only: 429, 5xx, html, malformed, novoice, drop)
  process the request first, *then* fail: the click-to-call is queued and counted but the
  client never hears so. Without it the request is refused before it is processed.
  ``truncate`` and ``slow`` always process the request (they deliver its real response).

Examples: ``429:count=3,retry_after=2``, ``500:p=0.2``, ``html502:path=/search``,
``latency:ms=150``, ``slow:ms=50,chunk=16``, ``drop:count=1,path=/clickOcall,after=1``.
Several specs can be joined with ``;`` (`parse_fault_specs`). A faulty spec raises
`ValueError` saying what is wrong.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

REPLACING_KINDS = frozenset(
    {"429", "500", "502", "503", "504", "html", "malformed", "novoice", "drop"}
)
TRANSPORT_KINDS = frozenset({"truncate", "slow"})
KINDS = REPLACING_KINDS | TRANSPORT_KINDS | {"latency"}
_ALIASES = {"html502": ("html", 502), "html503": ("html", 503), "html504": ("html", 504)}
_COMMON_KEYS = ("path", "method", "count", "p", "skip")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "latency": ("ms",),
    "429": ("retry_after", "after"),
    "html": ("status", "after"),
    "slow": ("ms", "chunk"),
    "truncate": (),
}
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


@dataclass
class Fault:
    """One armed fault; `count` counts down as it fires (None: fires indefinitely)."""

    kind: str
    path: str | None = None
    method: str | None = None
    count: int | None = None
    p: float = 1.0
    skip: int = 0
    after: bool = False
    ms: int = 50
    retry_after: int = 1
    status: int = 502
    chunk: int = 64
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind in _ALIASES:
            self.kind, self.status = _ALIASES[self.kind]
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of "
                + ", ".join(sorted(KINDS | set(_ALIASES)))
            )
        if self.kind in ("500", "502", "503", "504"):
            self.status = int(self.kind)
        if self.kind == "novoice" and self.path is None:
            self.path = "/recordings/link"
        if self.kind == "html" and not 400 <= self.status <= 599:
            raise ValueError(f"html fault: status must be 400-599, got {self.status}")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"fault path must start with '/', got {self.path!r}")
        if self.method is not None:
            self.method = self.method.upper()
            if self.method not in _METHODS:
                raise ValueError(f"fault method must be one of {', '.join(_METHODS)}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"fault count must be at least 1, got {self.count}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"fault probability p must be within 0..1, got {self.p}")
        if self.skip < 0 or self.ms < 0 or self.retry_after < 0:
            raise ValueError("fault skip, ms and retry_after must not be negative")
        if self.chunk < 1:
            raise ValueError(f"fault chunk must be at least 1 byte, got {self.chunk}")
        if self.after and self.kind not in REPLACING_KINDS:
            raise ValueError(
                f"after= applies to {', '.join(sorted(REPLACING_KINDS))}; "
                f"{self.kind!r} always processes the request"
            )

    @property
    def replaces_response(self) -> bool:
        return self.kind in REPLACING_KINDS

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.count <= 0

    def applies_to(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method
        )

    def spec(self) -> str:
        """The spec string that would re-create this fault (as it stands now)."""
        options = [
            f"{key}={value}"
            for key, value in (
                ("path", self.path),
                ("method", self.method),
                ("count", self.count),
            )
            if value is not None
        ]
        if self.p != 1.0:
            options.append(f"p={self.p}")
        if self.skip:
            options.append(f"skip={self.skip}")
        if self.after:
            options.append("after=1")
        if self.kind in ("latency", "slow"):
            options.append(f"ms={self.ms}")
        if self.kind == "slow":
            options.append(f"chunk={self.chunk}")
        if self.kind == "429":
            options.append(f"retry_after={self.retry_after}")
        if self.kind == "html":
            options.append(f"status={self.status}")
        return self.kind + (":" + ",".join(options) if options else "")


def parse_fault_spec(spec: str) -> Fault:
    """Parse one ``KIND[:key=value,...]`` spec; a ValueError says what is wrong."""
    text = spec.strip()
    if not text:
        raise ValueError("empty fault spec")
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    canonical = _ALIASES[kind][0] if kind in _ALIASES else kind
    if canonical not in KINDS:
        raise ValueError(
            f"unknown fault kind {kind!r} in {spec!r}; expected one of "
            + ", ".join(sorted(KINDS | set(_ALIASES)))
        )
    allowed = _COMMON_KEYS + _KIND_KEYS.get(canonical, ("after",))
    values: dict[str, str] = {}
    if rest.strip():
        for option in rest.split(","):
            key, sep, value = option.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not key or not value:
                raise ValueError(f"fault option {option.strip()!r} in {spec!r} is not key=value")
            if key not in allowed:
                raise ValueError(
                    f"unknown option {key!r} for fault {kind!r} in {spec!r}; "
                    f"expected one of {', '.join(allowed)}"
                )
            if key in values:
                raise ValueError(f"option {key!r} given twice in {spec!r}")
            values[key] = value
    fault = Fault(kind)
    try:
        for key, value in values.items():
            if key in ("path", "method"):
                setattr(fault, key, value)
            elif key == "p":
                fault.p = float(value)
            elif key == "after":
                fault.after = _parse_bool(value)
            else:
                setattr(fault, key, int(value))
    except ValueError as exc:
        raise ValueError(f"bad value in fault spec {spec!r}: {exc}") from None
    try:
        fault.__post_init__()
    except ValueError as exc:
        raise ValueError(f"{exc} (in {spec!r})") from None
    return fault


def parse_fault_specs(text: str) -> list[Fault]:
    """Parse ``;``-separated specs (an environment variable, one CLI option)."""
    return [parse_fault_spec(part) for part in text.split(";") if part.strip()]


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 1/0/true/false, got {value!r}")


class FaultInjector:
    """The armed faults of one sandbox; thread-safe (tests arm faults on a live server)."""

    def __init__(self, seed: int, faults: Iterable[str | Fault] = ()) -> None:
        self._rng = random.Random(f"{seed}/faults")
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        for fault in faults:
            self.add(fault)

    def add(self, fault: str | Fault) -> Fault:
        """Arm a fault (a spec string or a `Fault`); returns it so a test can inspect it."""
        armed = parse_fault_spec(fault) if isinstance(fault, str) else fault
        with self._lock:
            self._faults.append(armed)
        return armed

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def extra_latency_ms(self, method: str, path: str) -> int:
        """Total delay of the latency faults that fire for this request."""
        with self._lock:
            return sum(f.ms for f in self._fire_all(method, path, latency=True))

    def pick(self, method: str, path: str) -> Fault | None:
        """The first response fault that fires for this request, if any."""
        with self._lock:
            fired = self._fire_all(method, path, latency=False, first_only=True)
            return fired[0] if fired else None

    def _fire_all(
        self, method: str, path: str, *, latency: bool, first_only: bool = False
    ) -> list[Fault]:
        fired: list[Fault] = []
        for fault in self._faults:
            if (fault.kind == "latency") != latency or not fault.applies_to(method, path):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            if fault.p < 1.0 and self._rng.random() >= fault.p:
                continue
            fault.fired += 1
            if fault.count is not None:
                fault.count -= 1
            fired.append(fault)
            if first_only:
                break
        self._faults = [f for f in self._faults if not f.exhausted]
        return fired
