"""Suite-wide settings: no screen, and a fake token that must never surface in output."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Obviously fake; the redaction canary checks it never appears in captured output.
FAKE_TOKEN = "cafebabecafebabecafebabecafebabe"
