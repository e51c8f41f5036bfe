"""Start-up imports only what the first paint needs: the demo's service runs in a child
process, QtMultimedia waits for the first play (or ring), phone metadata for a number,
the keyring for a token, Preferences for their first opening, the first-run window for
an account that does not open, Help's checks for their first run, the users, the dialer
and Preferences' feature until the feed has painted its first page."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.processes import ROOT

#: Modules the app's start-up must not import (prefixes).
LATER = (
    "PySide6.QtMultimedia",  # the first play, the first missed-call chime
    "desktop_app.sandbox.server", "desktop_app.sandbox.app", "uvicorn", "starlette",
    "phonenumbers.data.region_",  # a region's metadata: the first number of that region
    "keyring",  # the first token kept or read (never, in the demo)
    # The first-run window and Replace token: an account that opens never shows them.
    "desktop_app.ui.onboarding.window", "desktop_app.ui.onboarding.replace_dialog",
    "desktop_app.ui.preferences.dialog",  # the first Ctrl+,
    # Help's checks and dialogs (the checks read package metadata): their first opening.
    "desktop_app.services.diagnostics", "importlib.metadata", "desktop_app.ui.help.about",
    "desktop_app.ui.help.diagnostics_", "desktop_app.ui.help.shortcuts",
    "desktop_app.runtime.file_open",  # macOS's link events: never elsewhere
    "desktop_app.ui.onboarding.presenter",  # signing in, or where a kept token is
    # Built once the feed has painted its first page (`Workspace.build_later`).
    "desktop_app.ui.users", "desktop_app.ui.dialer", "desktop_app.ui.preferences.feature",
    "desktop_app.services.users", "desktop_app.services.user_edit",
    "desktop_app.services.dial_flow",
)

SCRIPT = """
import json, sys
import desktop_app.__main__, desktop_app.app, desktop_app.workspace
print(json.dumps(sorted(sys.modules)))
"""


def test_the_app_and_its_workspace_import_nothing_of_later() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )
    imported = json.loads(result.stdout.splitlines()[-1])
    assert [name for name in imported if name.startswith(LATER)] == []
