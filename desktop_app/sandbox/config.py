"""Settings of one emulated MyOperator account.

A plain dataclass so tests, the demo and the ``myoperator sandbox`` command build it the same
way; everything that would make a run non-reproducible (the clock, the seed) is a field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_app.sandbox.faults import Fault
    from desktop_app.sandbox.webhooks import WebhookSettings

# Obviously fake tokens (32 hex digits, the live format) so nothing real is ever needed.
DEMO_TOKEN = "dec0de00dec0de00dec0de00dec0de00"
BASIC_TOKEN = "0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e"

ROLE_SUPER_ADMIN = 1
ROLE_ADMIN = 2
ROLE_MANAGER = 4
ROLE_BASIC = 8
ROLES = (ROLE_SUPER_ADMIN, ROLE_ADMIN, ROLE_MANAGER, ROLE_BASIC)

#: The vendor help article's account-wide limit: 20 a minute, 100 an hour, 500 a day.
DEFAULT_RATE_LIMIT: tuple[tuple[int, float], ...] = ((20, 60.0), (100, 3600.0), (500, 86400.0))


def _default_tokens() -> dict[str, int]:
    return {DEMO_TOKEN: ROLE_ADMIN, BASIC_TOKEN: ROLE_BASIC}


@dataclass
class SandboxConfig:
    """One account: its generated history, its tokens, its limits and its faults.

    `now` anchors the generated history (None: the clock at creation). `tokens` maps each
    accepted token to the role id of the user who owns it (1 SuperAdmin, 2 Admin,
    4 Manager, 8 Basic). `rate_limit` is ``(requests, window_seconds)`` pairs applied per
    token as sliding windows; None lifts it. `faults` are spec strings (see
    `desktop_app.sandbox.faults`) or `Fault` objects. `live_calls_every` makes a new call
    arrive every that many seconds of the clock. A recording is "not ready yet" until
    `recording_delay_s` after its call ended; a signed media link lives `link_ttl_s`.
    `webhooks` posts After Call and In-Call webhooks while the app is served.
    """

    seed: int = 7
    n_logs: int = 5000
    days: int = 30
    now: float | None = None
    clock: Callable[[], float] = time.time
    tokens: dict[str, int] = field(default_factory=_default_tokens)
    rate_limit: tuple[tuple[int, float], ...] | None = DEFAULT_RATE_LIMIT
    latency_ms: int = 0
    faults: Sequence[str | Fault] = field(default_factory=list)
    live_calls_every: float | None = None
    recording_delay_s: float = 120.0
    link_ttl_s: float = 86400.0
    webhooks: WebhookSettings | None = None
