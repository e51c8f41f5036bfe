"""An emulated MyOperator service: the demo backend and the tests' backend.

One ASGI app (`create_app`) serves the public API's paths with the live service's quirks,
from deterministic generated data, with a per-token rate limit and injectable faults. Use it
in-process through ``httpx.ASGITransport(app=create_app(config))`` or over loopback HTTP
with `SandboxServer`; ``myoperator sandbox`` runs `serve_forever`. No Qt, and nothing from
`desktop_app.api` but its token redaction: the emulation must not share the client's
assumptions.
"""

from __future__ import annotations

from desktop_app.sandbox.app import SandboxApp, create_app
from desktop_app.sandbox.config import BASIC_TOKEN, DEMO_TOKEN, SandboxConfig
from desktop_app.sandbox.faults import Fault, FaultInjector, parse_fault_spec, parse_fault_specs
from desktop_app.sandbox.model import AgentRef, Leg, SandboxCall, SandboxUser
from desktop_app.sandbox.server import SandboxServer, serve_forever
from desktop_app.sandbox.state import PlacedCall, RecordedRequest, SandboxState

__all__ = [
    "BASIC_TOKEN",
    "DEMO_TOKEN",
    "AgentRef",
    "Fault",
    "FaultInjector",
    "Leg",
    "PlacedCall",
    "RecordedRequest",
    "SandboxApp",
    "SandboxCall",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "SandboxUser",
    "create_app",
    "parse_fault_spec",
    "parse_fault_specs",
    "serve_forever",
]
