"""Fixtures every unit test directory shares: a store on a real file, a sandbox's state and
a real Secret Service (started on first use)."""

from __future__ import annotations

from tests.helpers.sandbox import state as state
from tests.helpers.secret_service import secret_keyring as secret_keyring
from tests.helpers.secret_service import secret_service as secret_service
from tests.helpers.store import db_path as db_path
from tests.helpers.store import store as store
