"""``tel:``/``callto:`` links that macOS hands to the running app.

On Linux and Windows a clicked link starts ``myoperator-desktop tel:…``: the link is an
argument, and a second launch forwards it (`desktop_app.runtime.single_instance`). macOS
starts the app (or finds the running one) and delivers the link as a `QFileOpenEvent` sent
to the QApplication; nothing appears in ``sys.argv``. `LinkOpenFilter`, installed on the
QApplication, turns such an event into `linkOpened`, which the app feeds into the same path
as another launch's arguments (`AppController.handle_message`).

The filter is application-wide, so it sees every event of every object on the GUI thread,
each wrapped for Python (the first of each kind creates PySide's enum classes): the app
installs it on macOS only (`desktop_app.app.forward_link_opens`).
"""

from __future__ import annotations

import logging
from typing import Final

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtGui import QFileOpenEvent

from desktop_app.runtime.single_instance import sanitize_args

log = logging.getLogger(__name__)

#: The URL schemes the app registers for (Info.plist, the .desktop entry, the installer).
LINK_SCHEMES: Final = frozenset({"tel", "callto"})


def link_of(event: QFileOpenEvent) -> str | None:
    """The ``tel:``/``callto:`` link a FileOpen event carries, or None (a file, another
    scheme). Percent-encoded as it came (``callto:+91%2098765…``): the dialer's parser
    decodes it, as it does a link given on the command line."""
    # An event made from a string keeps it in `file()` and turns `url()` into file:…
    for url in (event.url(), QUrl(event.file())):
        if url.scheme().lower() in LINK_SCHEMES:
            text = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
            # Untrusted text from outside: capped and cleaned as forwarded arguments are.
            clean = sanitize_args([text])
            return clean[0] if clean else None
    return None


class LinkOpenFilter(QObject):
    """Install on the QApplication: a FileOpen event with a ``tel:``/``callto:`` link
    becomes `linkOpened` and is consumed; every other event passes through untouched."""

    linkOpened = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkOpenFilter")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        link = link_of(event)
        if link is None:
            return False  # a file dropped on the Dock icon: not ours, left to Qt
        log.info("the system handed over a %s: link", link.split(":", 1)[0].lower())
        self.linkOpened.emit(link)
        return True
