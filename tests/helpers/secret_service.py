"""A real Secret Service for the keyring tests: a private D-Bus session bus and a headless
gnome-keyring-daemon on it, unlocked with a throwaway password, in a temporary home.

Nothing touches the person's own session: the bus has a configuration of its own (no
service activation, so nothing else is started on it), both daemons get their own HOME and
XDG directories, and the keyring backend handed to the tests talks to this bus by address
instead of reading ``DBUS_SESSION_BUS_ADDRESS`` (the test process's environment is left
alone). Tests pass `PrivateSecretService.keyring` to ``TokenVault(backend=...)``.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import secretstorage
from jeepney.io.blocking import open_dbus_connection
from keyring.backend import KeyringBackend
from keyring.backends.SecretService import Keyring as SecretServiceKeyring
from keyring.errors import KeyringLocked
from secretstorage.util import add_match_rules

#: How long the daemons get to start (a loaded CI machine is slow, never this slow).
START_DEADLINE_S = 30.0
STOP_TIMEOUT_S = 5.0
#: A Unix socket path longer than this does not fit in sockaddr_un.
_MAX_SOCKET_PATH = 100
MISSING_PACKAGES = (
    "The keyring tests need a real Secret Service: install the Debian packages "
    "gnome-keyring and dbus-daemon (scripts/system-deps.sh installs them)."
)

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBusKeyring(SecretServiceKeyring):  # type: ignore[misc]
    """keyring's Secret Service backend, bound to one bus address rather than the
    environment's session bus."""

    # The stock priority probes the environment's bus; this bus was checked at start.
    priority = 5.0

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def get_preferred_collection(self) -> Any:
        connection = open_dbus_connection(self.address)
        add_match_rules(connection)
        try:
            collection = secretstorage.get_default_collection(connection)
            if collection.is_locked():
                collection.unlock()
                if collection.is_locked():
                    raise KeyringLocked("Failed to unlock the collection!")
        except Exception:
            connection.close()
            raise
        return collection


_Backend = TypeVar("_Backend", bound=type[KeyringBackend])


def unregistered(cls: _Backend) -> _Backend:
    """Keep a test backend out of keyring's registry: keyring registers every backend
    class it sees and may instantiate it when it resolves its default backend, so a
    failing, hanging or in-memory one would be chosen for any vault left on the default."""
    KeyringBackend._classes.discard(cls)
    return cls


unregistered(PrivateBusKeyring)


@dataclass
class PrivateSecretService:
    address: str
    keyring: PrivateBusKeyring
    home: Path

    def clear(self) -> None:
        """Delete every item of the default collection: each test starts empty."""
        with closing(open_dbus_connection(self.address)) as connection:
            collection = secretstorage.get_default_collection(connection)
            for item in list(collection.get_all_items()):
                item.delete()

    def items(self) -> list[dict[str, str]]:
        """The attributes of every item stored (to see what a test left behind)."""
        with closing(open_dbus_connection(self.address)) as connection:
            collection = secretstorage.get_default_collection(connection)
            return [dict(item.get_attributes()) for item in collection.get_all_items()]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _read_address(bus: subprocess.Popen[bytes], deadline: float, log: Path) -> str:
    """The first line dbus-daemon prints (``--print-address``): it is listening then."""
    assert bus.stdout is not None
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(bus.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or bus.poll() is not None:
                pytest.fail(
                    f"dbus-daemon did not start: {log.read_text(errors='replace').strip()}",
                    pytrace=False,
                )
            if selector.select(timeout=left):
                chunk = os.read(bus.stdout.fileno(), 4096)
                if not chunk:
                    continue
                line += chunk
    return line.decode().strip()


def _wait_until_serving(
    keyring: PrivateBusKeyring,
    daemon: subprocess.Popen[bytes],
    deadline: float,
    log: Path,
) -> None:
    """Poll until an entry can be written and read back, or fail at the deadline."""
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            break
        try:
            keyring.set_password("secret-service-fixture", "ready", "yes")
            if keyring.get_password("secret-service-fixture", "ready") == "yes":
                keyring.delete_password("secret-service-fixture", "ready")
                return
        except Exception as exc:  # not on the bus yet, collection not created yet
            last_error = exc
        time.sleep(0.05)  # the poll's pace; the deadline bounds the wait
    pytest.fail(
        "gnome-keyring-daemon did not start serving the Secret Service "
        f"(last error: {last_error!r}; its output: {log.read_text(errors='replace').strip()})",
        pytrace=False,
    )


@contextlib.contextmanager
def running_secret_service(root: Path) -> Iterator[PrivateSecretService]:
    """Start a private bus and gnome-keyring-daemon under `root`; stop both on exit."""
    dbus_daemon = shutil.which("dbus-daemon")
    keyring_daemon = shutil.which("gnome-keyring-daemon")
    if dbus_daemon is None or keyring_daemon is None:
        pytest.fail(MISSING_PACKAGES, pytrace=False)
    home = root / "home"
    runtime = root / "run"
    if len(str(runtime / "bus")) > _MAX_SOCKET_PATH:
        runtime = Path(tempfile.mkdtemp(prefix="secret-service-"))
    for directory in (home, runtime):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = root / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=runtime / "bus"))
    environ = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DBUS_", "GNOME_KEYRING", "DISPLAY", "WAYLAND", "SSH_AUTH"))
    }
    environ.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    deadline = time.monotonic() + START_DEADLINE_S
    bus_log = root / "dbus-daemon.log"
    keyring_log = root / "gnome-keyring-daemon.log"
    with bus_log.open("wb") as bus_err, keyring_log.open("wb") as keyring_out:
        bus = subprocess.Popen(
            [dbus_daemon, f"--config-file={config}", "--nofork", "--nopidfile",
             "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=bus_err, env=environ,
        )
        daemon: subprocess.Popen[bytes] | None = None
        try:
            address = _read_address(bus, deadline, bus_log)
            environ["DBUS_SESSION_BUS_ADDRESS"] = address
            daemon = subprocess.Popen(
                [keyring_daemon, "--unlock", "--components=secrets", "--foreground"],
                stdin=subprocess.PIPE, stdout=keyring_out, stderr=subprocess.STDOUT,
                env=environ,
            )
            assert daemon.stdin is not None
            daemon.stdin.write(b"throwaway-test-password")
            daemon.stdin.close()
            keyring = PrivateBusKeyring(address)
            _wait_until_serving(keyring, daemon, deadline, keyring_log)
            yield PrivateSecretService(address=address, keyring=keyring, home=home)
        finally:
            if daemon is not None:
                _stop(daemon)
            _stop(bus)
            if bus.stdout is not None:
                bus.stdout.close()


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSecretService]:
    """One Secret Service for the whole run (starting one takes a moment)."""
    with running_secret_service(tmp_path_factory.mktemp("secret-service")) as service:
        yield service


@pytest.fixture
def secret_keyring(secret_service: PrivateSecretService) -> Iterator[PrivateBusKeyring]:
    """The session's Secret Service backend, emptied before and after the test."""
    secret_service.clear()
    yield secret_service.keyring
    secret_service.clear()
