"""The account's request budget: sliding windows per token (20/min, 100/h, 500/day).

Sliding rather than fixed windows so ``Retry-After`` is exact: it is the time until the
oldest request that keeps a window full leaves it. Refused requests are not counted, so a
client that honours ``Retry-After`` always gets through when told to come back.
"""

from __future__ import annotations

import bisect
import math
import threading


class RateLimiter:
    """Counts accepted requests per token against every ``(limit, seconds)`` window."""

    def __init__(self, limits: tuple[tuple[int, float], ...] | None) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, list[float]] = {}
        self.limits = limits

    @property
    def limits(self) -> tuple[tuple[int, float], ...] | None:
        return self._limits

    @limits.setter
    def limits(self, limits: tuple[tuple[int, float], ...] | None) -> None:
        for limit, seconds in limits or ():
            if limit < 1 or seconds <= 0:
                raise ValueError(f"rate limit {limit}/{seconds}s: both must be positive")
        self._limits = tuple(limits) if limits is not None else None

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def hit(self, token: str, now: float) -> float | None:
        """Count a request at `now`; None if allowed, else seconds until it would be."""
        limits = self._limits
        if not limits:
            return None
        longest = max(seconds for _, seconds in limits)
        with self._lock:
            seen = self._seen.setdefault(token, [])
            expired = bisect.bisect_right(seen, now - longest)
            if expired:
                del seen[:expired]
            wait = 0.0
            for limit, seconds in limits:
                inside = len(seen) - bisect.bisect_right(seen, now - seconds)
                if inside >= limit:
                    # The request that must leave the window for one more to fit.
                    blocker = seen[len(seen) - limit]
                    wait = max(wait, blocker + seconds - now)
            if wait > 0:
                return wait
            bisect.insort(seen, now)
            return None

    def used(self, token: str, seconds: float, now: float) -> int:
        """Requests counted for `token` in the last `seconds` (for tests and the demo)."""
        with self._lock:
            seen = self._seen.get(token, [])
            return len(seen) - bisect.bisect_right(seen, now - seconds)


def retry_after_header(wait: float) -> str:
    """Whole seconds, rounded up, at least 1: what ``Retry-After`` carries."""
    return str(max(1, math.ceil(wait)))
