"""``python -m desktop_app``: the desktop app (same as ``myoperator-desktop``)."""

from __future__ import annotations

import sys

from desktop_app.app import main

if __name__ == "__main__":
    sys.exit(main())
