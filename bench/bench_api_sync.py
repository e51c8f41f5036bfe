"""Full paged sync of 100,000 emulated logs through the client, over loopback HTTP.

Prints: the whole sync's wall time, the emulated service's median and p95 response time
(measured around each request, so it includes the client's own parsing), and the
process's peak memory. The request budget and the emulated rate limit are lifted for this
run only; both stay on by default everywhere else.

    .venv/bin/python bench/bench_api_sync.py [--logs 100000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient
from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer


async def sync_everything(base_url: str, page_size: int) -> tuple[int, int, list[float]]:
    timings: list[float] = []
    fetched = 0
    total = 0
    async with MyOperatorClient(
        DEMO_TOKEN, base_url=base_url, budget=RequestBudget.unlimited()
    ) as client:
        offset = 0
        while True:
            started = time.perf_counter()
            page = await client.search_logs(offset=offset, page_size=page_size)
            timings.append(time.perf_counter() - started)
            fetched += len(page.logs)
            total = page.total
            offset += page_size
            if page.is_last:
                break
    return fetched, total, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    generated = time.perf_counter()
    config = SandboxConfig(n_logs=args.logs, rate_limit=None)
    with SandboxServer(config) as server:
        generation_s = time.perf_counter() - generated
        started = time.perf_counter()
        fetched, total, timings = asyncio.run(sync_everything(server.base_url, args.page_size))
        sync_s = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings.sort()
    print(f"emulated logs generated:       {args.logs} in {generation_s:.2f} s")
    print(f"full paged sync:               {fetched} of {total} logs, {len(timings)} requests,"
          f" {sync_s:.2f} s ({fetched / sync_s:,.0f} logs/s)")
    print(f"response time median / p95:    {statistics.median(timings) * 1000:.1f} ms /"
          f" {timings[int(len(timings) * 0.95)] * 1000:.1f} ms (page of {args.page_size})")
    print(f"peak memory (RSS, whole process incl. the emulated service): {peak_mib:.0f} MiB")
    if fetched != total:
        raise SystemExit(f"sync incomplete: {fetched} of {total}")


if __name__ == "__main__":
    main()
