"""The bundle's ``myoperator-desktop``: the desktop app (PyInstaller starts a script)."""

import sys

from desktop_app.app import main

sys.exit(main())
