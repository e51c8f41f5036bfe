"""The end-to-end tests' fixtures: one emulated service on a real loopback port per module
(tests.helpers.loopback), and the child processes a test starts (tests.helpers.processes)."""

from __future__ import annotations

from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.processes import processes as processes
