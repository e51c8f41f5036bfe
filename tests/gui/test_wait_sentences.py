"""The status bar's waits read in minutes: "Rate-limited: retrying in 44 min", not 2589 s."""

from __future__ import annotations

from desktop_app.services.sync import SyncStatus
from desktop_app.ui.sync.presenter import connection_text


def test_the_sync_status_says_minutes() -> None:
    now = 1_700_000_000.0
    limited = SyncStatus(state="backing_off", retry_at=now + 2589)
    assert connection_text(limited, now) == "Rate-limited: retrying in 44 min"
    failed = SyncStatus(state="failed", retry_at=now + 3900, message="Syncing failed.")
    assert connection_text(failed, now) == "Syncing failed. Retrying in about 1 h 5 min."
