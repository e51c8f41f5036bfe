"""The relay's one poller: what MyOperator's webhooks dropped, found with ``/search``.

MyOperator retries a failed delivery three times, then drops it. Whichever relay replica
holds the lease (`RelayEngine.lead`) reads the call log since the last poll, less an
overlap, and stores each call as the After Call event it would have been: its key is the
call's id, so a call the webhook already delivered is not stored twice. However many
replicas run, one polls; however many desktops follow, the team costs the account the
requests of this one poll (every 15 minutes by default: about 4 an hour while quiet).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import MyOperatorError
from desktop_app.api.models import CallLog, Direction
from desktop_app.api.redact import redact
from desktop_app.relay.engine import REDIS_DOWN, RelayEngine
from desktop_app.relay.events import after_call_event

log = logging.getLogger(__name__)

#: How far before the last poll each poll reads again: MyOperator's last retry comes about
#: 90 s after a call ends, and a long call is logged only when it ends.
OVERLAP_S = 1800
#: How far back the very first poll reads.
FIRST_LOOKBACK_S = 24 * 3600


def call_record(call: CallLog) -> dict[str, Any]:
    """A call found by a poll, as After Call would have sent it (``parse_call_log`` reads
    it back to the same `CallLog`)."""
    hours, rest = divmod(call.duration_s, 3600)
    minutes, seconds = divmod(rest, 60)
    return {
        "_id": call.id,
        "company_id": call.company_id,
        "user_id": call.user_id,
        "caller_number": call.caller_number,
        "caller_number_raw": call.caller_number_raw,
        "start_time": call.start_time,
        "end_time": call.end_time,
        "duration": f"{hours:02d}:{minutes:02d}:{seconds:02d}",
        "event": 1 if call.direction is Direction.INCOMING else 2,
        "status": 1 if call.answered else 2,
        "filename": call.filename or "",
        "department_name": call.department,
        "log_details": [
            {
                "_ds": leg.status.value,
                "action": leg.action,
                "start_time": leg.start_time,
                "duration": leg.duration_s,
                "received_by": [
                    {"name": agent.name, "extension": agent.extension, "user_id": agent.user_id}
                    for agent in leg.received_by
                ],
            }
            for leg in call.legs
        ],
    }


def poller_name() -> str:
    """This process, as the lease names its holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Reconciler:
    def __init__(
        self,
        engine: RelayEngine,
        client: MyOperatorClient,
        *,
        owner: str | None = None,
        interval_s: float = 900.0,
        first_lookback_s: int = FIRST_LOOKBACK_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._engine = engine
        self._client = client
        self.owner = owner or poller_name()
        self._interval_s = interval_s
        self._first_lookback_s = first_lookback_s
        # The lease outlives a slow poll; a crashed leader's passes on within three rounds.
        self._lease_ms = max(1, int(interval_s * 3000))
        self._clock = clock
        self._sleep = sleep
        #: Polls this process made, for its health answer and the tests.
        self.polls = 0

    async def run(self) -> None:
        """Poll whenever this process holds the lease, until cancelled; a failure is
        logged and the next round tries again."""
        try:
            while True:
                await self.round()
                await self._sleep(self._interval_s)
        finally:
            try:
                await self._engine.resign(self.owner)
            except (*REDIS_DOWN, RuntimeError):
                pass

    async def round(self) -> int | None:
        """One round: None when another process holds the lease or the poll failed, else
        how many calls the webhooks had missed."""
        try:
            if not await self._engine.lead(self.owner, self._lease_ms):
                return None
            return await self.poll()
        except REDIS_DOWN:
            log.warning("The relay's poller cannot reach Redis; it tries again next round")
        except MyOperatorError as exc:
            log.warning("The relay's poll of MyOperator failed: %s", redact(str(exc)))
        return None

    async def poll(self) -> int:
        now = int(self._clock())
        since = await self._engine.reconciled_until()
        start = (now - self._first_lookback_s) if since is None else max(0, since - OVERLAP_S)
        missed = 0
        async for page in self._client.iter_logs(start=start, end=now):
            for call in page.logs:
                if await self._engine.append(after_call_event(call_record(call))) is not None:
                    missed += 1
        await self._engine.set_reconciled_until(now)
        self.polls += 1
        if missed:
            log.info("The relay's poll found %d call(s) the webhooks had not delivered", missed)
        return missed
