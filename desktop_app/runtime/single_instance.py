"""One running app per user: a second launch hands its arguments over and exits.

A `QLockFile` in the user's runtime directory decides who is primary. The primary listens
on a `QLocalServer` whose name is also per user (a socket in that directory, or a
user-specific pipe name on Windows); a second launch connects, sends its arguments
(newline-framed UTF-8, capped), waits for "OK" and exits, and the primary emits
`messageReceived` so the window can come to the front and open the ``tel:`` link.

Pitfalls handled here:

- QLockFile's default stale time (30 s) would let a second launch steal the lock of a
  primary that has simply been running longer than that; `setStaleLockTime(0)` leaves
  only the dead-process check (a crashed primary's lock is still taken over).
- `QLocalServer.removeServer` is called only by a process that holds the lock, when the
  socket is left over from a crashed primary: never on a live server.
- Everything that arrives is untrusted: sizes are capped, control characters dropped,
  and a sender that dawdles is cut off.

``python -m desktop_app.runtime.single_instance --selftest [ARGS…]`` runs the hand-over alone
(the end-to-end test starts two of them).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import platformdirs
from PySide6.QtCore import (
    QCoreApplication,
    QLockFile,
    QObject,
    QStandardPaths,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.runtime.binding import GuiThreadGarbageCollector

log = logging.getLogger(__name__)

APP_ID: Final = "myoperator-desktop"
#: Overrides the runtime directory (tests, or a system without one).
RUNTIME_DIR_ENV: Final = "MYOPERATOR_DESKTOP_RUNTIME_DIR"
MAX_ARGS: Final = 16
MAX_ARG_LENGTH: Final = 2048
MAX_MESSAGE_BYTES: Final = 64 * 1024
#: A connected sender must finish its message within this.
RECEIVE_TIMEOUT_MS: Final = 3000
_MAGIC: Final = b"MYOPERATOR-DESKTOP 1"
_ACK: Final = b"OK\n"
_MAX_UNIX_SOCKET_PATH: Final = 100  # sun_path is 104-108 bytes depending on the system


class InstanceUnreachable(RuntimeError):
    """Another instance holds the lock but did not take the arguments."""


def runtime_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user directory for the lock and the socket (created, mode 0700)."""
    env = os.environ if environ is None else environ
    override = env.get(RUNTIME_DIR_ENV, "").strip()
    if override:
        base = Path(override).expanduser()
    else:
        location = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.RuntimeLocation
        )
        base = Path(location) if location else Path(platformdirs.user_runtime_dir(APP_ID))
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def _user_tag() -> str:
    """A short per-user tag for names outside the per-user directory."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name available (containers): the uid still separates
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return hashlib.sha256(user.encode("utf-8", "replace")).hexdigest()[:12]


def sanitize_args(args: Sequence[str]) -> list[str]:
    """At most `MAX_ARGS` non-empty arguments of at most `MAX_ARG_LENGTH` characters,
    without control characters (so a newline can frame them)."""
    clean: list[str] = []
    for arg in args:
        text = "".join(
            " " if unicodedata.category(c).startswith("C") else c for c in arg
        ).strip()
        if text:
            clean.append(text[:MAX_ARG_LENGTH])
        if len(clean) == MAX_ARGS:
            break
    return clean


def encode_message(args: Sequence[str]) -> bytes:
    """Header line, one line per argument, then an empty line."""
    lines = [_MAGIC, *(a.encode("utf-8", "replace") for a in sanitize_args(args))]
    return b"\n".join(lines) + b"\n\n"


def decode_message(data: bytes) -> list[str] | None:
    """The arguments of one complete message, or None while it is incomplete.

    Raises ValueError for something that is not a message of ours (or too big).
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    if not data.startswith(_MAGIC + b"\n"):
        if len(data) >= len(_MAGIC) + 1 or not _MAGIC.startswith(data[: len(_MAGIC)]):
            raise ValueError("not a MyOperator Desktop message")
        return None
    body = data[len(_MAGIC) + 1 :]
    if body.startswith(b"\n"):
        return []
    end = body.find(b"\n\n")
    if end < 0:
        return None
    raw = body[:end].split(b"\n")
    if len(raw) > MAX_ARGS or any(len(r) > MAX_ARG_LENGTH * 4 for r in raw):
        raise ValueError("too many or too long arguments")
    return sanitize_args([r.decode("utf-8", "replace") for r in raw])


class _Receiver(QObject):
    """One incoming connection: reads one message, answers OK, reports it."""

    def __init__(self, socket: QLocalSocket, owner: SingleInstance) -> None:
        super().__init__(owner)
        self._socket = socket
        self._owner = owner
        self._buffer = b""
        self._done = False
        socket.setParent(self)
        socket.readyRead.connect(self._on_ready)
        socket.disconnected.connect(self._finish)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start(RECEIVE_TIMEOUT_MS)

    @Slot()
    def _on_ready(self) -> None:
        if self._done:
            return
        self._buffer += bytes(self._socket.readAll().data())
        try:
            args = decode_message(self._buffer)
        except ValueError as exc:
            log.warning("refused a message from another launch: %s", exc)
            self._socket.abort()
            self._finish()
            return
        if args is None:
            return
        self._done = True
        self._socket.write(_ACK)
        self._socket.flush()
        self._socket.disconnectFromServer()
        self._owner._deliver(args)
        self._finish()

    @Slot()
    def _on_timeout(self) -> None:
        if not self._done:
            log.warning("another launch connected but sent no complete message")
            self._socket.abort()
        self._finish()

    @Slot()
    def _finish(self) -> None:
        self._timer.stop()
        self.deleteLater()


class SingleInstance(QObject):
    """Decides whether this process is the primary; see the module docstring.

    ``SingleInstance(app_id)``; `start` returns True for the primary (which then emits
    `messageReceived(list[str])` for every later launch), False when another instance
    runs, whereupon `send` hands the arguments over.
    """

    messageReceived = Signal(list)

    def __init__(
        self,
        app_id: str = APP_ID,
        *,
        directory: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("singleInstance")
        if not app_id or any(not (c.isalnum() or c in "-_.") for c in app_id):
            raise ValueError(f"app_id must be letters, digits, - _ . only: {app_id!r}")
        self.app_id = app_id
        self.directory = directory if directory is not None else runtime_dir()
        self.lock_path = self.directory / f"{app_id}.lock"
        self.server_name = self._server_name()
        self._lock = QLockFile(str(self.lock_path))
        # Only a dead holder makes a lock stale, never its age (see the module docstring).
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None
        self._primary = False

    def _server_name(self) -> str:
        if sys.platform == "win32":
            return f"{self.app_id}-{_user_tag()}"  # pipe names are global: tag the user
        path = str(self.directory / f"{self.app_id}.sock")
        if len(path.encode()) <= _MAX_UNIX_SOCKET_PATH:
            return path
        return str(Path(tempfile.gettempdir()) / f"{self.app_id}-{_user_tag()}.sock")

    @property
    def is_primary(self) -> bool:
        return self._primary

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def start(self, *, listen: bool = True) -> bool:
        """Take the lock (True: this is the primary) or find another instance holding it
        (False). With `listen` the primary starts listening at once, which needs the
        QApplication; pass False to decide before creating it, then call `listen`.

        A lock that cannot be created at all (a read-only directory) makes this process
        run on its own: better two windows than none.
        """
        if self._primary:
            return True
        if not self._lock.tryLock(0):
            error = self._lock.error()
            if error == QLockFile.LockError.LockFailedError:
                return False
            log.warning("cannot create the single-instance lock %s (%s); running alone",
                        self.lock_path, error.name)
            self._primary = True
            return True
        self._primary = True
        if listen:
            self.listen()
        return True

    def listen(self) -> None:
        """The primary listens for later launches (idempotent). Launches made before this
        wait for it: `send` retries its connection."""
        if not self._primary or self._server is not None or not self._lock.isLocked():
            return
        if QCoreApplication.instance() is None:
            raise RuntimeError("create the QApplication before SingleInstance.listen()")
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if (
            not server.listen(self.server_name)
            and server.serverError() == QAbstractSocket.SocketError.AddressInUseError
        ):
            # We hold the lock, so no live primary owns this name: a crashed one left
            # its socket file behind.
            QLocalServer.removeServer(self.server_name)
            server.listen(self.server_name)
        if not server.isListening():
            log.warning("cannot listen for other launches on %s: %s",
                        self.server_name, server.errorString())
            server.deleteLater()
            return
        server.newConnection.connect(self._on_new_connection)
        self._server = server

    @Slot()
    def _on_new_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            if socket is not None:
                _Receiver(socket, self)

    def _deliver(self, args: list[str]) -> None:
        self.messageReceived.emit(args)

    def send(self, args: Sequence[str], *, timeout_ms: int = 5000) -> bool:
        """Hand `args` to the primary and wait for its "OK" (blocking; a secondary has
        nothing else to do). Retries the connection briefly: the primary may hold the
        lock a moment before it listens."""
        payload = encode_message(args)
        deadline = time.monotonic() + timeout_ms / 1000

        def remaining() -> int:
            return max(1, int((deadline - time.monotonic()) * 1000))

        socket = QLocalSocket()
        while True:
            socket.connectToServer(self.server_name)
            if socket.waitForConnected(min(remaining(), 1000)):
                break
            socket.abort()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        try:
            socket.write(payload)
            if not socket.waitForBytesWritten(remaining()):
                return False
            answer = b""
            while not answer.endswith(b"\n") and time.monotonic() < deadline:
                if not socket.waitForReadyRead(remaining()):
                    break
                answer += bytes(socket.readAll().data())
            return answer == _ACK
        finally:
            socket.abort()

    def close(self) -> None:
        """Stop listening and release the lock (the primary, on exit)."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()
        self._primary = False


def claim_or_forward(
    args: Sequence[str], *, app_id: str = APP_ID, timeout_ms: int = 5000, listen: bool = True
) -> SingleInstance | None:
    """For ``main``: the primary's `SingleInstance` (keep it alive), or None after the
    arguments went to the running instance (exit 0 then). Raises `InstanceUnreachable`
    when another instance holds the lock but does not answer.

    With ``listen=False`` it may run before the QApplication exists (a second launch then
    never opens a display connection); the primary calls `SingleInstance.listen` once
    the application is created.
    """
    instance = SingleInstance(app_id)
    if instance.start(listen=listen):
        return instance
    if instance.send(args, timeout_ms=timeout_ms):
        instance.deleteLater()
        return None
    raise InstanceUnreachable(
        "MyOperator Desktop is already running but did not answer: close it, or end its "
        f"process, and try again (lock: {instance.lock_path})."
    )


def bring_to_front(window: QWidget) -> None:
    """Show, raise and activate `window`; where the window manager refuses activation
    (focus-stealing prevention), at least flash it in the task bar."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    if not window.isActiveWindow():
        QApplication.alert(window)


# ---------------------------------------------------------------------------------------
# Self-test entry (the end-to-end test runs two of these as real processes)


def _selftest(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="single_instance --selftest")
    parser.add_argument("--app-id", default=APP_ID)
    parser.add_argument("--expect", type=int, default=1, help="messages before exiting")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("args", nargs="*")
    options = parser.parse_args(argv)
    # As ``desktop_app.app.main`` does: decide before the application exists, so a second
    # launch never creates one.
    try:
        instance = claim_or_forward(options.args, app_id=options.app_id, listen=False)
    except InstanceUnreachable as exc:
        print(json.dumps({"role": "secondary", "forwarded": False, "error": str(exc)}),
              flush=True)
        return 2
    if instance is None:
        print(json.dumps({"role": "secondary", "forwarded": True}), flush=True)
        return 0
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    instance.listen()
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    received: list[list[str]] = []

    def on_message(args: list[str]) -> None:
        received.append(args)
        print(json.dumps({"role": "primary", "received": args}), flush=True)
        if len(received) >= options.expect:
            QTimer.singleShot(0, app.quit)

    instance.messageReceived.connect(on_message)
    print(json.dumps({"role": "primary", "listening": instance.listening,
                      "server": instance.server_name}), flush=True)
    QTimer.singleShot(int(options.timeout * 1000), lambda: app.exit(3))
    try:
        code = app.exec()
    finally:
        collector.stop()
        instance.close()
    return code


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        sys.exit(_selftest(sys.argv[2:]))
    print("usage: python -m desktop_app.runtime.single_instance --selftest [ARGS...]",
          file=sys.stderr)
    sys.exit(64)
