"""Fixtures every unit test directory shares: a store on a real file and a sandbox's state."""

from __future__ import annotations

from tests.helpers.sandbox import state as state
from tests.helpers.store import db_path as db_path
from tests.helpers.store import store as store
