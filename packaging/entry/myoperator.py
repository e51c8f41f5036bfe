"""The bundle's ``myoperator``: the command-line client (PyInstaller starts a script)."""

import sys

from desktop_app.cli import main

sys.exit(main())
