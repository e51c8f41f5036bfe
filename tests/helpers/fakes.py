"""A scripted stand-in for the client's `search_logs`, for failures the sandbox cannot time.

It answers like the live service: newest first, `from`/`to` inclusive, `log_from` paging,
`total` for the whole query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from desktop_app.api.models import CallLog, LogPage


@dataclass(frozen=True, slots=True)
class Request:
    start: int | None
    end: int | None
    offset: int
    page_size: int
    search: str | None
    filters: str | None


class FakeLogSource:
    def __init__(self, logs: Iterable[CallLog] = ()) -> None:
        self.logs: dict[str, CallLog] = {c.id: c for c in logs}
        self.requests: list[Request] = []
        #: Raised instead of answering, one per request, in order.
        self.fail_next: list[BaseException] = []
        #: Raised at the n-th request (1-based), once.
        self.fail_at: dict[int, BaseException] = {}
        #: Runs after each answer is computed (e.g. calls arriving between pages).
        self.after_request: Callable[[Request], None] | None = None
        #: Awaited before answering (e.g. to hold a request open while a test cancels).
        self.before_answer: Callable[[Request], Awaitable[None]] | None = None
        #: Answer every request as if log_from were 0 (a broken server).
        self.ignore_offset = False

    def add(self, *logs: CallLog) -> None:
        for log in logs:
            self.logs[log.id] = log

    async def search_logs(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        offset: int = 0,
        page_size: int = 20,
        search: str | None = None,
        filters: str | None = None,
    ) -> LogPage:
        request = Request(start, end, offset, page_size, search, filters)
        self.requests.append(request)
        if self.before_answer is not None:
            await self.before_answer(request)
        if self.ignore_offset:
            offset = 0
        if self.fail_next:
            raise self.fail_next.pop(0)
        failure = self.fail_at.pop(len(self.requests), None)
        if failure is not None:
            raise failure
        matches = sorted(
            (
                c
                for c in self.logs.values()
                if (start is None or c.start_time >= start)
                and (end is None or c.start_time <= end)
                and (search is None or _matches(c, search))
            ),
            key=lambda c: (-c.start_time, c.id),
        )
        page = LogPage(
            total=len(matches),
            logs=tuple(matches[offset : offset + page_size]),
            offset=offset,
            page_size=page_size,
        )
        if self.after_request is not None:
            self.after_request(request)
        return page


def _matches(call: CallLog, search: str) -> bool:
    needle = search.lower()
    return needle in call.caller_number or any(needle in a.lower() for a in call.agents)
