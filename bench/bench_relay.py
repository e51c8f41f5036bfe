"""The team relay under a team's load: webhook-to-desktop latency with 200 desktops
connected and 20 call events a second, the API requests the whole team costs, and the
relay's memory and CPU.

A real ``redis-server`` (append-only file on) and two relay replicas as processes, as
behind a load balancer; the desktops are the project's own `EventStream` clients, split
over worker processes so that parsing 4,000 events a second does not queue in one
interpreter and pass for the relay's latency. Each webhook names its send time; each
desktop subtracts it on arrival (one machine, one wall clock). The emulated service is
polled by whichever replica holds the lease; its request log counts what the team costs.

    .venv/bin/python bench/bench_relay.py [--desktops 200] [--rate 20] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _support  # noqa: E402
import httpx  # noqa: E402

from desktop_app.relay.client import EventStream  # noqa: E402
from desktop_app.relay.config import (  # noqa: E402
    HOOK_AUTH_ENV,
    HOOK_SECRET_ENV,
    NAMESPACE_ENV,
    POLL_ENV,
    REDIS_ENV,
)
from desktop_app.relay.engine import RelayEngine  # noqa: E402
from desktop_app.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from tests.helpers.redis_server import RedisServer  # noqa: E402
from tests.helpers.tokens import FAKE_TOKEN  # noqa: E402
from tests.unit.relay.test_events import after_call_record  # noqa: E402

SECRET = "bench-hook-secret-0123456789abcdef"
AUTH = ("X-Relay-Auth", "bench-auth-value-42")
NAMESPACE = "bench:relay:"
WORKERS = 4
#: The bench's poll interval (the default is 900 s): long enough to count, short enough
#: to see several polls in one run.
POLL_S = 3.0
DEFAULT_POLL_S = 900.0


def start_replica(environ: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.cli", "relay", "--port", "0", "--json"],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())["relay"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def desktop_worker(
    urls: list[str],
    credentials: list[str],
    after: str,
    expected: int,
    ready: object,
    out: object,
) -> None:
    """Follows the stream with `len(credentials)` desktops; sends back every latency."""
    latencies: list[float] = []

    async def follow(
        http: httpx.AsyncClient, credential: str, index: int, connected: asyncio.Event
    ) -> None:
        stream = EventStream(
            urls[index % len(urls)], credential, client=http, last_event_id=after
        )
        seen = 0
        waiting = asyncio.ensure_future(stream.caught_up.wait())
        waiting.add_done_callback(lambda _f: connected.set())
        async for event in stream.events():
            if "sent_at" not in event.body:
                continue  # a call the poll found, not one of the bench's webhooks
            latencies.append(time.time() - float(event.body["sent_at"]))
            seen += 1
            if seen == expected:
                return

    async def main() -> None:
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(10, read=120),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        )
        flags = [asyncio.Event() for _ in credentials]
        tasks = [
            asyncio.ensure_future(follow(http, c, n, flags[n]))
            for n, c in enumerate(credentials)
        ]
        await asyncio.gather(*(flag.wait() for flag in flags))
        ready.set()  # type: ignore[attr-defined]
        await asyncio.gather(*tasks)
        await http.aclose()

    asyncio.run(main())
    out.send(latencies)  # type: ignore[attr-defined]


async def post_webhooks(urls: list[str], rate: float, count: int) -> None:
    """`count` After Call webhooks at `rate` a second, to the replicas in turn."""
    async with httpx.AsyncClient(timeout=10) as http:
        started = time.monotonic()
        for n in range(count):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            record = after_call_record(_id=f"bench-{n}", sent_at=f"{time.time():.6f}")
            answer = await http.post(
                f"{urls[n % len(urls)]}/hooks/{SECRET}/after-call",
                json=record, headers={AUTH[0]: AUTH[1]},
            )
            answer.raise_for_status()


async def polls_made(urls: list[str]) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        return sum([(await http.get(url + "/v1/health")).json()["polls"] for url in urls])


async def polls_after(urls: list[str], count: int) -> int:
    """Wait (at most 60 s) until the replicas made `count` polls in all; that number."""
    async with asyncio.timeout(60):
        while (made := await polls_made(urls)) < count:  # noqa: ASYNC110 (pacing)
            await asyncio.sleep(POLL_S / 4)
    return made


async def prepare(redis_url: str, urls: list[str], count: int) -> tuple[list[str], str]:
    """The desktops' credentials, and the stream's head once the first poll has stored the
    emulated history: desktops start there, as ones with a cache would."""
    engine = RelayEngine.from_url(redis_url, NAMESPACE)
    try:
        credentials = [await engine.issue_credential(f"Agent {n}") for n in range(count)]
        async with httpx.AsyncClient(timeout=10) as http, asyncio.timeout(120):
            while True:
                health = [(await http.get(url + "/v1/health")).json() for url in urls]
                if any(h["polls"] for h in health):
                    break
                await engine.ping()  # a round trip between asks
        return credentials, await engine.last_event_id()
    finally:
        await engine.aclose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--desktops", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)

    with tempfile.TemporaryDirectory(prefix="bench-relay-") as directory, SandboxServer(
        SandboxConfig(n_logs=2000, rate_limit=None, tokens={FAKE_TOKEN: 2})
    ) as sandbox:
        redis = RedisServer(Path(directory)).start()
        environ = dict(os.environ)
        environ.update({
            REDIS_ENV: redis.url, HOOK_SECRET_ENV: SECRET, HOOK_AUTH_ENV: f"{AUTH[0]}: {AUTH[1]}",
            NAMESPACE_ENV: NAMESPACE, POLL_ENV: str(POLL_S), "MYOPERATOR_TOKEN": FAKE_TOKEN,
            "MYOPERATOR_BASE_URL": sandbox.base_url,
        })
        replicas = [start_replica(environ) for _ in range(2)]
        urls = [url for _proc, url in replicas]
        workers: list[tuple[multiprocessing.Process, object]] = []
        try:
            credentials, head = asyncio.run(prepare(redis.url, urls, args.desktops))
            context = multiprocessing.get_context("spawn")
            for w in range(WORKERS):
                receiver, sender = context.Pipe(duplex=False)
                ready = context.Event()
                proc = context.Process(
                    target=desktop_worker,
                    args=(urls, credentials[w::WORKERS], head, count, ready, sender),
                )
                proc.start()
                workers.append((proc, (receiver, ready)))
            for _proc, (_receiver, ready) in workers:
                if not ready.wait(60):  # type: ignore[attr-defined]
                    raise SystemExit("bench_relay: the desktops did not connect")
            rss_before = [_support.proc_status_mib("VmRSS", p.pid) for p, _ in replicas]
            cpu_before = [cpu_seconds(p.pid) for p, _ in replicas]
            searches_before = len(sandbox.state.requests_to("/search"))
            polls_before = asyncio.run(polls_made(urls))
            started = time.monotonic()
            asyncio.run(post_webhooks(urls, args.rate, count))
            latencies: list[float] = []
            for _proc, (receiver, _ready) in workers:
                latencies += receiver.recv()  # type: ignore[attr-defined]
            elapsed = time.monotonic() - started
            cpu = [
                cpu_seconds(p.pid) - before
                for (p, _), before in zip(replicas, cpu_before, strict=True)
            ]
            rss = [_support.proc_status_mib("VmRSS", p.pid) for p, _ in replicas]
            # At least two steady polls (after the first, which read the day's history).
            polls = asyncio.run(polls_after(urls, polls_before + 2)) - polls_before
            searches = len(sandbox.state.requests_to("/search")) - searches_before
        finally:
            for proc, _ in workers:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
            for proc, _url in replicas:
                proc.terminate()
                proc.wait(10)
            redis.stop()

    latencies.sort()
    expected = count * args.desktops
    note = f"{args.desktops} desktops, {args.rate:g} events/s for {args.seconds:g} s, 2 replicas"
    _support.info("events delivered", f"{len(latencies):,} of {expected:,}")
    _support.report(
        "webhook → desktop latency (median)", _support.median(latencies) * 1000, 250, "ms", note
    )
    _support.report(
        "webhook → desktop latency (99th percentile)",
        _support.percentile(latencies, 99) * 1000, 250, "ms", note,
    )
    _support.info("slowest", f"{latencies[-1] * 1000:.0f} ms")
    _support.report(
        "API requests an hour for the whole team (one poll every 15 min)",
        searches / polls * 3600 / DEFAULT_POLL_S, 20, "req/h",
        f"{searches} /search requests in {polls} polls; the {args.desktops} desktops "
        "make none: the figure does not grow with the team",
    )
    for n, ((_proc, _url), mib, seconds) in enumerate(zip(replicas, rss, cpu, strict=True)):
        _support.info(
            f"replica {n + 1}",
            f"RSS {mib:.0f} MiB (before the events {rss_before[n]:.0f} MiB), "
            f"CPU {seconds:.1f} s in {elapsed:.0f} s ({100 * seconds / elapsed:.0f} % of a core)",
        )
    return 0 if len(latencies) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
