"""The bundle's ``myoperator-desktop``: the desktop app (PyInstaller starts a script), and,
with a hidden first argument, the demo's service process (`desktop_app.__main__.run`)."""

import sys

from desktop_app.__main__ import run

sys.exit(run())
