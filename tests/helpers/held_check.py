"""A missed-call check held on its worker thread once it has read calls to announce, so a
test can act while the check is in flight (close, ask again, check again)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from desktop_app.api.models import CallLog
from desktop_app.store.notified import MissedCallRecords


class HeldRead:
    """Holds a check's worker thread after it read its candidates, until `release`."""

    def __init__(self) -> None:
        self.read = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    async def wait_read(self, within_s: float = 10.0) -> None:
        assert await asyncio.to_thread(self.read.wait, within_s)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRead]:
    """Every check's read off the loop's thread that finds calls waits for `release`."""
    hold = HeldRead()
    original = MissedCallRecords.unnotified_missed

    def read_then_wait(records: MissedCallRecords, since: int) -> list[CallLog]:
        rows = original(records, since)
        if threading.current_thread() is not threading.main_thread() and rows:
            hold.read.set()
            hold.released.wait(10)
        return rows

    monkeypatch.setattr(MissedCallRecords, "unnotified_missed", read_then_wait)
    yield hold
    hold.release()  # never leave a worker thread waiting
