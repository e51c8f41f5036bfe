"""The relay's state, all of it in Redis: relay processes keep none, so any number of them
can run behind a load balancer and any one can be killed.

- ``events``: a stream of `RelayEvent`s. Its ids are what desktops resume from.
- ``seen:<key>``: one key per de-duplication key, set in the same script that appends, so
  two replicas given the same webhook at once store it once.
- ``agents`` / ``agent-digests``: the agents' relay credentials, kept only as SHA-256
  digests (a credential is 256 random bits: a plain digest is enough, no salt or stretch).
- ``leader``: who polls MyOperator, a lease its holder renews; ``reconciled-until``: up
  to when the last poll read the call log.
- ``dial:<cc><number>``: who is calling a customer back, for a minute (the dial guard).
- ``claim:<number>``: who is on a customer's callback (a row of the desktops' callback
  list), until it is released or lapses; each change is also an event of the stream.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio as aioredis
import redis.exceptions

from desktop_app.relay.events import CallbackClaim, RelayEvent

DEFAULT_NAMESPACE: Final = "myoperator:relay:"
#: How long a de-duplication key is remembered: far past MyOperator's last retry (90 s)
#: and any reconciling poll's overlap.
SEEN_TTL_S: Final = 8 * 24 * 3600
#: About how many events the stream keeps (Redis trims whole nodes, so a few more): weeks
#: of a busy team's calls, for a desktop that was off over a holiday.
STREAM_LENGTH: Final = 500_000
#: Credentials are shown once as ``mor_`` + 43 URL-safe characters.
CREDENTIAL_PREFIX: Final = "mor_"
#: What an unreachable (or restarting) Redis raises: callers answer 503 or retry.
REDIS_DOWN: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_AGENT_NAME = re.compile(r"^[\w .@'-]{1,64}$")

# Appends unless the key was seen: one round trip, atomic across replicas.
_APPEND = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
end
return false
"""
# Takes the lease if free, or renews it if this owner holds it.
_LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Deletes a key only while it holds what this caller put there.
_DELETE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Takes a number for dialling unless someone holds it; answers who does.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, ARGV[1]} end
return {0, redis.call('GET', KEYS[1])}
"""


# The relay's clock in milliseconds, inside a script (Redis's TIME: the stream's ids too).
_NOW_MS = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"""
# A claim or release appended to the stream (KEYS[2]) in the same script as the change
# of KEYS[1], so no crash or lost connection leaves one without the other. The event is
# `claim_event`'s shape; ARGV[3] is the number, the stream's length ARGV[4].
_TELL_CLAIM = """
local function tell(kind, agent, at, until_ms)
  local event = cjson.encode({kind = kind, call_id = '', body = {
    number = ARGV[3], agent = agent, at_ms = at, until_ms = until_ms}})
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'event', event)
end
"""
# Claims a callback for ARGV[1] for ARGV[2] ms unless another agent holds it (the holder
# renews, keeping since when). The value is "<at_ms>:<until_ms>:<agent>".
_CLAIM_CALLBACK = _NOW_MS + _TELL_CLAIM + """
local at = now
local held = redis.call('GET', KEYS[1])
if held then
  local held_at, _, agent = string.match(held, '^(%d+):(%d+):(.*)$')
  if agent ~= ARGV[1] then return {0, held, now} end
  at = tonumber(held_at)
end
local until_ms = now + tonumber(ARGV[2])
local mine = string.format('%.0f:%.0f:%s', at, until_ms, ARGV[1])
redis.call('SET', KEYS[1], mine, 'PX', ARGV[2])
tell('callback.claimed', ARGV[1], at, until_ms)
return {1, mine, now}
"""
# Lets a callback go only if ARGV[1] holds it; answers who held it ('' for nobody).
_RELEASE_CALLBACK = _NOW_MS + _TELL_CLAIM + """
local held = redis.call('GET', KEYS[1])
if not held then return {0, '', now} end
local held_at, _, agent = string.match(held, '^(%d+):(%d+):(.*)$')
if agent ~= ARGV[1] then return {0, held, now} end
redis.call('DEL', KEYS[1])
tell('callback.released', agent, tonumber(held_at), now)
return {1, held, now}
"""


def credential_digest(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AgentRecord:
    name: str
    issued_at: int
    #: May add and change the account's users through the relay (the token's powers).
    admin: bool = False
    #: The MyOperator user this agent is (a uuid; "" when not told): they may switch
    #: their own do-not-disturb, and their desktop knows who they are at sign-in.
    user: str = ""


@dataclass(frozen=True, slots=True)
class DialClaim:
    """Who holds a customer's number for calling back: `taken` when this request took it."""

    number: str
    agent: str
    at_ms: int
    taken: bool
    #: The stored value: releasing deletes the hold only while it is still this one.
    stored: str


@dataclass(frozen=True, slots=True)
class CallbackHold:
    """The answer to a claim or a release: whether it was done (`done`), who holds the
    number (or held it, for a release; None: nobody), and the relay's clock then."""

    number: str
    done: bool
    holder: CallbackClaim | None
    now_ms: int


class AgentNameInvalid(ValueError):
    pass


class RelayEngine:
    """The relay's Redis operations. Connection failures surface as one of `REDIS_DOWN`;
    callers turn them into a 503 or a retry."""

    def __init__(self, redis: aioredis.Redis, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.redis = redis
        self._ns = namespace
        self._events = namespace + "events"
        self._agents = namespace + "agents"
        self._digests = namespace + "agent-digests"
        self._leader = namespace + "leader"
        self._reconciled = namespace + "reconciled-until"
        self._append = redis.register_script(_APPEND)
        self._lead = redis.register_script(_LEAD)
        self._delete_if_mine = redis.register_script(_DELETE_IF_MINE)
        self._claim = redis.register_script(_CLAIM)
        self._claim_callback = redis.register_script(_CLAIM_CALLBACK)
        self._release_callback = redis.register_script(_RELEASE_CALLBACK)

    @classmethod
    def from_url(cls, url: str, namespace: str = DEFAULT_NAMESPACE) -> RelayEngine:
        # Short connect timeout: a relay whose Redis is gone answers 503 at once, and a
        # webhook is retried by MyOperator, instead of hanging past its 5 s limit.
        return cls(
            aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=15),
            namespace,
        )

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # -- events --------------------------------------------------------------------------

    async def append(self, event: RelayEvent) -> str | None:
        """Store `event`; its stream id, or None when its key was already seen."""
        if not event.dedup_key:  # one empty key would swallow every later such event
            raise ValueError(f"a {event.kind} event without a de-duplication key")
        result = await self._append(
            keys=[self._ns + "seen:" + event.dedup_key, self._events],
            args=[SEEN_TTL_S, STREAM_LENGTH, event.to_json()],
        )
        if result is None:
            return None
        return result.decode() if isinstance(result, bytes) else str(result)

    async def events_after(self, after: str, count: int = 500) -> list[RelayEvent]:
        """Up to `count` events stored after id `after` ("0-0": from the first kept)."""
        entries: Any = await self.redis.xrange(
            self._events, min=f"({after}", max="+", count=count
        )
        return [_event(entry) for entry in entries or ()]

    async def wait_events(self, after: str, block_ms: int, count: int = 500) -> list[RelayEvent]:
        """Events after `after`, waiting up to `block_ms` for the first one."""
        reply: Any = await self.redis.xread({self._events: after}, count=count, block=block_ms)
        if not reply:
            return []
        # RESP2 answers [[stream, entries]]; RESP3 {stream: [entries]}.
        entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        return [_event(entry) for entry in entries]

    async def id_before(self, seconds: int) -> str:
        """The stream position `seconds` ago by Redis's clock (which the ids are made from)."""
        now_s, now_us = await self.redis.time()
        milliseconds = int(now_s) * 1000 + int(now_us) // 1000 - seconds * 1000
        return f"{max(0, milliseconds)}-0"

    async def last_event_id(self) -> str:
        entries: Any = await self.redis.xrevrange(self._events, count=1)
        if not entries:
            return "0-0"
        raw = entries[0][0]
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    # -- agents --------------------------------------------------------------------------

    async def issue_credential(self, name: str, *, admin: bool = False, user: str = "") -> str:
        """A new credential for agent `name`, replacing any earlier one (shown once);
        `user`: the MyOperator user (uuid) they are, if known."""
        if not _AGENT_NAME.match(name):
            raise AgentNameInvalid(
                "An agent's name is 1 to 64 letters, digits, spaces or . @ ' - _"
            )
        credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        digest = credential_digest(credential)
        record = json.dumps(
            {"digest": digest, "issued_at": int(time.time()), "admin": admin, "user": user}
        )
        previous = await self.redis.hget(self._agents, name)
        async with self.redis.pipeline(transaction=True) as pipe:
            if previous is not None:
                pipe.hdel(self._digests, json.loads(previous)["digest"])
            pipe.hset(self._agents, name, record)
            pipe.hset(self._digests, digest, name)
            await pipe.execute()
        return credential

    async def revoke(self, name: str) -> bool:
        previous = await self.redis.hget(self._agents, name)
        if previous is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._digests, json.loads(previous)["digest"])
            pipe.hdel(self._agents, name)
            await pipe.execute()
        return True

    async def agents(self) -> list[AgentRecord]:
        raw = await self.redis.hgetall(self._agents)
        records = [_agent_record(_text(name), value) for name, value in raw.items()]
        return sorted(records, key=lambda record: record.name.casefold())

    async def agent_record(self, name: str) -> AgentRecord | None:
        value = await self.redis.hget(self._agents, name)
        return None if value is None else _agent_record(name, value)

    async def agent_for(self, credential: str) -> str | None:
        """The agent a credential belongs to, or None (unknown or revoked)."""
        if not credential.startswith(CREDENTIAL_PREFIX):
            return None
        name = await self.redis.hget(self._digests, credential_digest(credential))
        return None if name is None else _text(name)

    # -- the team-wide dial guard ------------------------------------------------------------

    async def claim_dial(self, number: str, agent: str, hold_ms: int) -> DialClaim:
        """Hold `number` for `agent` for `hold_ms`, unless someone (this agent included)
        holds it already: then the claim says who, and since when."""
        mine = json.dumps(
            {"agent": agent, "at_ms": int(time.time() * 1000), "nonce": secrets.token_hex(8)}
        )
        taken, held = await self._claim(keys=[self._dial_key(number)], args=[mine, hold_ms])
        text = _text(held)
        holder = json.loads(text)
        return DialClaim(number, str(holder["agent"]), int(holder["at_ms"]), bool(taken), text)

    async def release_dial(self, claim: DialClaim) -> None:
        """Let go of a number whose call was clearly not placed (a colleague may call now)."""
        if claim.taken:
            await self._delete_if_mine(keys=[self._dial_key(claim.number)], args=[claim.stored])

    def _dial_key(self, number: str) -> str:
        return self._ns + "dial:" + number

    # -- claims on callbacks ---------------------------------------------------------------

    async def claim_callback(self, number: str, agent: str, hold_ms: int) -> CallbackHold:
        """Put `agent` on `number`'s callback for `hold_ms` (renewed if theirs already),
        unless another agent holds it: one script, so it holds across replicas, and the
        same script tells the stream."""
        done, held, now = await self._claim_callback(
            keys=[self._callback_key(number), self._events],
            args=[agent, hold_ms, number, STREAM_LENGTH],
        )
        return CallbackHold(number, bool(done), _held(number, held), int(now))

    async def release_callback(self, number: str, agent: str) -> CallbackHold:
        """Let `number`'s callback go if `agent` holds it (the same script tells the
        stream)."""
        done, held, now = await self._release_callback(
            keys=[self._callback_key(number), self._events],
            args=[agent, "", number, STREAM_LENGTH],
        )
        return CallbackHold(number, bool(done), _held(number, held), int(now))

    def _callback_key(self, number: str) -> str:
        return self._ns + "claim:" + number

    # -- the poller's lease ----------------------------------------------------------------

    async def lead(self, owner: str, lease_ms: int) -> bool:
        """Take or renew the leader's lease; False while another owner holds it."""
        return bool(await self._lead(keys=[self._leader], args=[owner, lease_ms]))

    async def resign(self, owner: str) -> None:
        await self._delete_if_mine(keys=[self._leader], args=[owner])

    async def reconciled_until(self) -> int | None:
        """Up to when (unix seconds) the last completed poll read the call log."""
        value = await self.redis.get(self._reconciled)
        return None if value is None else int(value)

    async def set_reconciled_until(self, when: int) -> None:
        await self.redis.set(self._reconciled, when)

    async def leader(self) -> str | None:
        holder = await self.redis.get(self._leader)
        return None if holder is None else _text(holder)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _agent_record(name: str, value: Any) -> AgentRecord:
    stored = json.loads(value)
    return AgentRecord(
        name, int(stored["issued_at"]), bool(stored.get("admin", False)),
        str(stored.get("user") or ""),
    )


def _held(number: str, value: Any) -> CallbackClaim | None:
    """A claim as its key stores it ("<at_ms>:<until_ms>:<agent>"); None for nobody."""
    text = _text(value) if value is not None else ""
    at_ms, _, rest = text.partition(":")
    until_ms, _, agent = rest.partition(":")
    if not agent:
        return None
    return CallbackClaim(number, agent, int(at_ms), int(until_ms))


def _event(entry: tuple[Any, dict[Any, Any]]) -> RelayEvent:
    event_id, fields = entry
    raw = fields.get(b"event", fields.get("event", b"{}"))
    return RelayEvent.from_json(_text(event_id), raw)
