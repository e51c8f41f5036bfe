"""A fresh store on a real file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.store import CallStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    s = CallStore.open(tmp_path / "calls.db")
    yield s
    s.close()
