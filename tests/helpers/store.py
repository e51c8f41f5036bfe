"""A fresh call store on a real file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.store import CallStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "calls.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[CallStore]:
    with CallStore.open(db_path) as s:
        yield s
