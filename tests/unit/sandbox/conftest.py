"""The sandbox's unit tests: an injected clock and an in-process client (tests.helpers.sandbox)."""

from __future__ import annotations

from tests.helpers.sandbox import app as app
from tests.helpers.sandbox import client as client
from tests.helpers.sandbox import clock as clock
from tests.helpers.sandbox import config as config
