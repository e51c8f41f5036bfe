"""``python -m desktop_app``: the desktop app (same as ``myoperator-desktop``).

`run` is also the bundle's entry (``packaging/entry/myoperator_desktop.py``). Before any
Qt import it serves the demo's service when started as its child, and launches that
service when the demo is asked for, so that the child boots on another core while the
GUI's imports and window are built.
"""

from __future__ import annotations

import sys

from desktop_app.sandbox.process import SERVE_ARG, launch_demo_early, serve_child


def run(argv: list[str] | None = None) -> int:
    """The app (or the demo's service, for the hidden first argument `SERVE_ARG`)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [SERVE_ARG]:
        return serve_child()
    early = launch_demo_early(args)
    from desktop_app.app import main  # after the launch: it imports Qt

    return main(args, demo_service=early)


if __name__ == "__main__":
    sys.exit(run())
