"""The suite's canary token: every test that talks to the emulated service uses it, and the
run fails if it surfaces in any output (see tests/conftest.py)."""

from __future__ import annotations

# Obviously fake; 32 hex characters like a real token.
FAKE_TOKEN = "cafebabecafebabecafebabecafebabe"
