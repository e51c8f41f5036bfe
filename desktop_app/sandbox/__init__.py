"""An emulated MyOperator service: the demo backend and the tests' backend.

One ASGI app (`create_app`) serves the public API's paths with the live service's quirks,
from deterministic generated data, with a per-token rate limit and injectable faults. Use it
in-process through ``httpx.ASGITransport(app=create_app(config))``, over loopback HTTP
with `SandboxServer` (a thread) or `desktop_app.sandbox.process.SandboxProcess` (a child
process: the demo's); ``myoperator sandbox`` runs `serve_forever`. No Qt, and nothing from
`desktop_app.api` but its token redaction: the emulation must not share the client's
assumptions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_app.sandbox.app import SandboxApp, create_app
    from desktop_app.sandbox.config import BASIC_TOKEN, DEMO_TOKEN, SandboxConfig
    from desktop_app.sandbox.faults import (
        Fault,
        FaultInjector,
        parse_fault_spec,
        parse_fault_specs,
    )
    from desktop_app.sandbox.model import AgentRef, Leg, SandboxCall, SandboxUser
    from desktop_app.sandbox.server import SandboxServer, serve_forever
    from desktop_app.sandbox.state import PlacedCall, RecordedRequest, SandboxState

#: Where each name lives: imported on first use, so that the app can import the config
#: and `desktop_app.sandbox.process` before Qt without starlette and uvicorn.
_HOMES = {
    "SandboxApp": "app", "create_app": "app",
    "BASIC_TOKEN": "config", "DEMO_TOKEN": "config", "SandboxConfig": "config",
    "Fault": "faults", "FaultInjector": "faults", "parse_fault_spec": "faults",
    "parse_fault_specs": "faults",
    "AgentRef": "model", "Leg": "model", "SandboxCall": "model", "SandboxUser": "model",
    "SandboxServer": "server", "serve_forever": "server",
    "PlacedCall": "state", "RecordedRequest": "state", "SandboxState": "state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
