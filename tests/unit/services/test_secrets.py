"""Where the token is kept: a real Secret Service (gnome-keyring on a private bus), no keyring
at all, a keyring that fails, one that hangs, and the plain-text file at mode 0600."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import InitError, KeyringError, KeyringLocked

from desktop_app.services import secrets as secrets_module
from desktop_app.services.account import clean_token
from desktop_app.services.secrets import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    RELAY_FILE_NAME,
    RELAY_KEYRING_USERNAME,
    TOKEN_FILE_NAME,
    KeyringUnavailable,
    SecretStoreError,
    StoredToken,
    TokenLeftBehind,
    TokenLocation,
    TokenVault,
    relay_vault,
)
from tests.helpers.secret_service import (
    MISSING_PACKAGES,
    PrivateBusKeyring,
    PrivateSecretService,
    running_secret_service,
    unregistered,
)
from tests.helpers.tokens import FAKE_TOKEN

OTHER_TOKEN = "0123456789abcdef0123456789abcdef"
#: Long enough for a loaded machine to start a thread; short enough to keep tests quick.
SHORT_TIMEOUT_S = 0.3
#: A hung call that returned later than this did not honour its timeout at all.
NEVER_THIS_LONG_S = 10.0


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


# Files a test prepares or looks at: small, local, synchronous on purpose.
def _exists(path: Path) -> bool:
    return path.exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(path: Path, text: str, *, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)


# ---------------------------------------------------------------------------------------
# A real Secret Service


async def test_keep_load_forget_round_trip(
    secret_keyring: PrivateBusKeyring, config_dir: Path
) -> None:
    vault = TokenVault(config_dir, backend=secret_keyring)
    await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)

    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == FAKE_TOKEN
    assert await vault.load(TokenLocation.KEYRING) == StoredToken(
        FAKE_TOKEN, TokenLocation.KEYRING
    )
    assert not vault.file_path.exists()

    assert await vault.forget() == []
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) is None
    assert await vault.load(TokenLocation.KEYRING) is None
    assert await vault.forget() == []  # nothing left to delete is not a problem


async def test_the_stored_value_is_exactly_the_cleaned_token(
    secret_keyring: PrivateBusKeyring, config_dir: Path
) -> None:
    pasted = f'  "https://developers.myoperator.co/search?token={FAKE_TOKEN}&page=1"\n'
    await TokenVault(config_dir, backend=secret_keyring).keep(
        clean_token(pasted), TokenLocation.KEYRING
    )
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == FAKE_TOKEN


async def test_a_token_moved_to_the_keyring_leaves_no_plain_text_copy(
    secret_keyring: PrivateBusKeyring, config_dir: Path
) -> None:
    vault = TokenVault(config_dir, backend=secret_keyring)
    await vault.keep(OTHER_TOKEN, TokenLocation.FILE)
    assert vault.file_path.read_text().strip() == OTHER_TOKEN

    await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)

    assert not vault.file_path.exists()
    assert os.listdir(config_dir) == []
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == FAKE_TOKEN


async def test_a_token_moved_to_the_file_or_memory_leaves_the_keyring(
    secret_keyring: PrivateBusKeyring, config_dir: Path
) -> None:
    vault = TokenVault(config_dir, backend=secret_keyring)
    await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) is None
    assert await vault.load(TokenLocation.FILE) == StoredToken(FAKE_TOKEN, TokenLocation.FILE)

    await vault.keep(OTHER_TOKEN, TokenLocation.KEYRING)
    await vault.keep(FAKE_TOKEN, TokenLocation.SESSION)
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) is None
    assert not vault.file_path.exists()
    assert await vault.load(TokenLocation.SESSION) == StoredToken(
        FAKE_TOKEN, TokenLocation.SESSION
    )


async def test_the_relay_credential_is_kept_beside_the_token_never_over_it(
    secret_keyring: PrivateBusKeyring, secret_service: PrivateSecretService, config_dir: Path
) -> None:
    credential = "mor_" + "fake-relay-credential-" * 2
    token_vault = TokenVault(config_dir, backend=secret_keyring)
    credentials = relay_vault(config_dir, backend=secret_keyring)
    await token_vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    await credentials.keep(credential, TokenLocation.KEYRING)

    names = sorted(item["username"] for item in secret_service.items())
    assert names == sorted([KEYRING_USERNAME, RELAY_KEYRING_USERNAME])
    assert await token_vault.load(TokenLocation.KEYRING) == StoredToken(
        FAKE_TOKEN, TokenLocation.KEYRING
    )
    assert await credentials.load(TokenLocation.KEYRING) == StoredToken(
        credential, TokenLocation.KEYRING
    )
    # Its own file, and its own words when something fails.
    await credentials.keep(credential, TokenLocation.FILE)
    assert credentials.file_path.name == RELAY_FILE_NAME != token_vault.file_path.name
    assert await token_vault.load(TokenLocation.KEYRING) is not None
    assert await credentials.forget() == []
    assert [item["username"] for item in secret_service.items()] == [KEYRING_USERNAME]


async def test_the_probe_finds_a_working_keyring_and_leaves_nothing_behind(
    secret_keyring: PrivateBusKeyring, secret_service: PrivateSecretService, config_dir: Path
) -> None:
    vault = TokenVault(config_dir, backend=secret_keyring)
    assert await vault.keyring_problem() is None
    assert secret_service.items() == []


async def test_the_keyring_items_are_the_apps_own(
    secret_keyring: PrivateBusKeyring, secret_service: PrivateSecretService, config_dir: Path
) -> None:
    await TokenVault(config_dir, backend=secret_keyring).keep(FAKE_TOKEN, TokenLocation.KEYRING)
    [attributes] = secret_service.items()
    assert attributes["service"] == KEYRING_SERVICE
    assert attributes["username"] == KEYRING_USERNAME


# ---------------------------------------------------------------------------------------
# No usable keyring


@unregistered
class _ZeroPriorityKeyring(KeyringBackend):
    priority = 0  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("an unusable backend is never asked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("an unusable backend is never asked")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("an unusable backend is never asked")


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), _ZeroPriorityKeyring()],
    ids=["fail", "null", "priority-0"],
)
async def test_no_usable_keyring_is_said_and_the_session_still_works(
    backend: KeyringBackend, config_dir: Path
) -> None:
    vault = TokenVault(config_dir, backend=backend)

    problem = await vault.keyring_problem()
    assert problem is not None
    assert problem.startswith("No system keyring is available on this computer (")
    assert problem.endswith(").")

    with pytest.raises(KeyringUnavailable) as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    assert str(raised.value) == problem
    assert not raised.value.timed_out
    with pytest.raises(KeyringUnavailable):
        await vault.load(TokenLocation.KEYRING)

    await vault.keep(FAKE_TOKEN, TokenLocation.SESSION)
    assert await vault.load(TokenLocation.SESSION) == StoredToken(
        FAKE_TOKEN, TokenLocation.SESSION
    )
    assert await vault.forget() == []  # no keyring holds nothing
    assert await vault.load(TokenLocation.SESSION) is None


async def test_the_default_backend_is_resolved_through_keyring(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def get_keyring() -> KeyringBackend:
        threads.append(threading.current_thread().name)
        return fail.Keyring()

    monkeypatch.setattr(keyring, "get_keyring", get_keyring)
    problem = await TokenVault(config_dir).keyring_problem()
    assert problem is not None and problem.startswith("No system keyring")
    assert threads and threads[0] != threading.main_thread().name


async def test_a_session_token_is_memory_only(config_dir: Path) -> None:
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(FAKE_TOKEN, TokenLocation.SESSION)
    assert not _exists(config_dir)
    assert await TokenVault(config_dir, backend=fail.Keyring()).load(
        TokenLocation.SESSION
    ) is None  # a new run remembers nothing


@pytest.mark.parametrize("location", [None, TokenLocation.ENVIRONMENT])
async def test_nothing_is_loaded_from_where_nothing_is_kept(
    location: TokenLocation | None, config_dir: Path
) -> None:
    assert await TokenVault(config_dir, backend=fail.Keyring()).load(location) is None


async def test_the_environments_token_is_never_kept(config_dir: Path) -> None:
    with pytest.raises(ValueError):
        await TokenVault(config_dir).keep(FAKE_TOKEN, TokenLocation.ENVIRONMENT)


async def test_an_empty_token_is_not_kept(config_dir: Path) -> None:
    with pytest.raises(SecretStoreError, match="no token"):
        await TokenVault(config_dir, backend=fail.Keyring()).keep(" \n", TokenLocation.FILE)


# ---------------------------------------------------------------------------------------
# A keyring that fails


@unregistered
class _FailingKeyring(KeyringBackend):
    """Raises `error(text)` on every call; its text repeats the password, as a careless
    backend's might."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, error: Callable[[str], Exception]) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error(f"could not read {service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error(f"could not store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        raise self.error(f"could not delete {username}")


@pytest.mark.parametrize(
    ("error", "says", "probe_says"),
    [
        (KeyringError, "The system keyring could not save the token: could not store",
         "The system keyring could not store a test entry: could not store"),
        (KeyringLocked, "The system keyring is locked: unlock it and try again",
         "The system keyring is locked: unlock it and try again"),
        (InitError, "The system keyring could not be opened to save the token",
         "The system keyring could not be opened to store a test entry"),
        (RuntimeError, "The system keyring could not save the token",
         "The system keyring could not store a test entry"),
    ],
    ids=["KeyringError", "KeyringLocked", "InitError", "RuntimeError"],
)
async def test_a_failing_keyring_is_one_clear_sentence_without_the_token(
    error: Callable[[str], Exception], says: str, probe_says: str, config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    vault = TokenVault(config_dir, backend=_FailingKeyring(error))

    with pytest.raises(KeyringUnavailable) as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)

    sentence = str(raised.value)
    assert sentence.startswith(says)
    assert sentence.endswith(".") and "\n" not in sentence
    assert FAKE_TOKEN not in sentence
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert not raised.value.timed_out
    assert FAKE_TOKEN not in caplog.text

    problem = await vault.keyring_problem()
    assert problem is not None and problem.startswith(probe_says)
    assert FAKE_TOKEN not in problem


async def test_a_failing_keyring_is_reported_when_signing_out(config_dir: Path) -> None:
    vault = TokenVault(config_dir, backend=_FailingKeyring(KeyringLocked))
    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)  # the keyring's cleanup only logs

    problems = await vault.forget()

    assert not vault.file_path.exists()
    [problem] = problems
    assert "locked" in problem
    assert problem.endswith("The token may still be kept in the system keyring.")


# ---------------------------------------------------------------------------------------
# A keyring that hangs


@unregistered
class _HangingKeyring(KeyringBackend):
    """Blocks every call until `release` is set; tells the loop when a call has begun."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release
        self.entered: asyncio.Future[None] | None = None
        self.calls = 0

    def _hang(self) -> None:
        self.calls += 1
        entered = self.entered
        if entered is not None:
            entered.get_loop().call_soon_threadsafe(
                lambda: entered.done() or entered.set_result(None)
            )
        self.release.wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown: no thread stays blocked past its test."""
    event = threading.Event()
    yield event
    event.set()


async def _while_it_hangs(
    backend: _HangingKeyring, call: Callable[[], Any]
) -> tuple[BaseException, float, int]:
    """Run `call`; once the backend is blocked, prove the loop still runs other work.
    Returns what `call` raised, how long it took, and how often a ticker ran meanwhile."""
    loop = asyncio.get_running_loop()
    backend.entered = loop.create_future()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    started = loop.time()
    task = asyncio.ensure_future(call())
    ticking = asyncio.create_task(ticker())
    try:
        await asyncio.wait_for(asyncio.shield(backend.entered), NEVER_THIS_LONG_S)
        ticks_when_blocked = ticks
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not task.done()
        assert ticks > ticks_when_blocked  # the loop turns while the keyring is blocked
        with pytest.raises(Exception) as raised:
            await asyncio.wait_for(task, NEVER_THIS_LONG_S)
    finally:
        ticking.cancel()
    return raised.value, loop.time() - started, ticks


@pytest.mark.parametrize("operation", ["load", "keep", "keyring_problem", "forget"])
async def test_a_hanging_keyring_times_out_and_the_loop_stays_responsive(
    operation: str, release: threading.Event, config_dir: Path
) -> None:
    backend = _HangingKeyring(release)
    vault = TokenVault(config_dir, backend=backend, timeout_s=SHORT_TIMEOUT_S)
    calls: dict[str, Callable[[], Any]] = {
        "load": lambda: vault.load(TokenLocation.KEYRING),
        "keep": lambda: vault.keep(FAKE_TOKEN, TokenLocation.KEYRING),
        "keyring_problem": _raising(vault.keyring_problem),
        "forget": _raising(vault.forget),
    }

    error, elapsed, _ticks = await _while_it_hangs(backend, calls[operation])

    assert isinstance(error, KeyringUnavailable)
    assert error.timed_out
    assert SHORT_TIMEOUT_S <= elapsed < NEVER_THIS_LONG_S
    assert "did not answer within 1 s" in str(error)


def _raising(call: Callable[[], Any]) -> Callable[[], Any]:
    """A probe or sign-out returns its sentences: raise them, to share one harness."""

    async def run() -> None:
        result = await call()
        if isinstance(result, str):
            raise KeyringUnavailable(result, timed_out="did not answer" in result)
        if isinstance(result, list) and result:
            raise KeyringUnavailable(" ".join(result), timed_out="did not answer" in result[0])

    return run


async def test_after_a_hang_calls_fail_at_once_until_the_keyring_answers(
    release: threading.Event, config_dir: Path
) -> None:
    backend = _HangingKeyring(release)
    vault = TokenVault(config_dir, backend=backend, timeout_s=SHORT_TIMEOUT_S)
    loop = asyncio.get_running_loop()
    backend.entered = loop.create_future()
    before = set(threading.enumerate())  # not another test's threads
    with pytest.raises(KeyringUnavailable):
        await vault.load(TokenLocation.KEYRING)
    stuck = [
        t for t in threading.enumerate() if t.name.startswith("keyring:") and t not in before
    ]
    assert stuck
    assert all(t.daemon for t in stuck)  # abandoned at exit, never joined

    # No second thread joins the first: the session-only fallback is offered at once.
    assert len(vault._stuck) == 1
    with pytest.raises(KeyringUnavailable, match="still not answered") as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    assert raised.value.timed_out
    assert len(vault._stuck) == 1 and backend.calls == 1
    await vault.keep(FAKE_TOKEN, TokenLocation.SESSION)
    assert await vault.load(TokenLocation.SESSION) == StoredToken(
        FAKE_TOKEN, TokenLocation.SESSION
    )

    release.set()
    for thread in stuck:
        await asyncio.to_thread(thread.join, NEVER_THIS_LONG_S)
    assert await vault.load(TokenLocation.KEYRING) is None  # it answers again


async def test_the_token_and_the_relay_credential_wait_for_a_hung_keyring_once(
    release: threading.Event, config_dir: Path
) -> None:
    backend = _HangingKeyring(release)
    vault = TokenVault(config_dir, backend=backend, timeout_s=SHORT_TIMEOUT_S)
    credentials = relay_vault(config_dir, beside=vault)
    backend.entered = asyncio.get_running_loop().create_future()
    with pytest.raises(KeyringUnavailable, match="did not answer within"):
        await vault.load(TokenLocation.KEYRING)

    # Signing out goes on to the credential: told at once, no second wait, no second call.
    [problem] = await credentials.forget()
    assert "still not answered" in problem
    assert backend.calls == 1


async def test_resolving_a_hanging_default_backend_times_out(
    release: threading.Event, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def get_keyring() -> KeyringBackend:
        release.wait()  # D-Bus probing that never ends
        return fail.Keyring()

    monkeypatch.setattr(keyring, "get_keyring", get_keyring)
    vault = TokenVault(config_dir, timeout_s=SHORT_TIMEOUT_S)
    problem = await vault.keyring_problem()
    assert problem == "The system keyring did not answer within 1 s."


_EXIT_SCRIPT = """
import asyncio, sys, threading
from pathlib import Path
from keyring.backend import KeyringBackend
from desktop_app.services.secrets import KeyringUnavailable, TokenLocation, TokenVault

forever = threading.Event()

class Hanging(KeyringBackend):
    priority = 1
    def get_password(self, service, username):
        forever.wait()
    set_password = delete_password = get_password

async def main():
    vault = TokenVault(Path(sys.argv[1]), backend=Hanging(), timeout_s=0.2)
    try:
        await vault.load(TokenLocation.KEYRING)
    except KeyringUnavailable as exc:
        print("timed out" if exc.timed_out else "failed")

asyncio.run(main())
"""


def test_a_hung_keyring_call_does_not_hold_up_the_exit(tmp_path: Path) -> None:
    """asyncio.run joins its default executor at the end: a keyring call stuck in
    ``to_thread`` would keep the process alive forever. A daemon thread does not."""
    result = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "timed out\n", "")


# ---------------------------------------------------------------------------------------
# The Secret Service fixture itself


def test_missing_daemons_are_named_by_their_debian_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception) as raised, running_secret_service(tmp_path):
        pass
    assert str(raised.value) == MISSING_PACKAGES
    assert "gnome-keyring and dbus-daemon" in MISSING_PACKAGES


# ---------------------------------------------------------------------------------------
# The plain-text file


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0: any file created wider than 0600 would show it."""
    previous = os.umask(0)
    yield
    os.umask(previous)


async def test_the_file_is_0600_in_a_0700_directory(open_umask: None, config_dir: Path) -> None:
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)

    assert _mode(config_dir) == 0o700
    assert _mode(vault.file_path) == 0o600
    assert vault.file_path.name == TOKEN_FILE_NAME
    assert vault.file_path.read_text() == FAKE_TOKEN + "\n"
    assert await vault.load(TokenLocation.FILE) == StoredToken(FAKE_TOKEN, TokenLocation.FILE)


async def test_the_file_is_never_wider_than_0600(
    open_umask: None, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file created in the directory is 0600 from its first instant (looked at
    through its descriptor, before a byte is written), and so is whatever is renamed into
    place."""
    created: list[int] = []
    renamed: list[int] = []
    real_open, real_replace = os.open, os.replace

    def spy_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        descriptor = real_open(path, flags, mode, **kwargs)
        if flags & os.O_CREAT and Path(path).parent == config_dir:
            assert flags & os.O_EXCL  # a fresh file, not one someone else prepared
            created.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return descriptor

    def spy_replace(source: Any, target: Any) -> None:
        renamed.append(stat.S_IMODE(os.stat(source).st_mode))
        real_replace(source, target)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(OTHER_TOKEN, TokenLocation.FILE)
    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)

    assert created == [0o600, 0o600]
    assert renamed == [0o600, 0o600]


async def test_the_file_is_replaced_atomically(config_dir: Path) -> None:
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(OTHER_TOKEN, TokenLocation.FILE)
    first = vault.file_path.stat().st_ino

    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)

    assert vault.file_path.stat().st_ino != first  # a new file renamed in, not rewritten
    assert vault.file_path.read_text().strip() == FAKE_TOKEN
    assert os.listdir(config_dir) == [TOKEN_FILE_NAME]


async def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(OTHER_TOKEN, TokenLocation.FILE)

    def full_disk(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SecretStoreError) as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.FILE)

    assert str(raised.value) == (
        f"The token could not be saved in {vault.file_path} (no space left on device)."
    )
    assert vault.file_path.read_text().strip() == OTHER_TOKEN
    assert os.listdir(config_dir) == [TOKEN_FILE_NAME]


async def test_signing_out_deletes_the_file(config_dir: Path) -> None:
    vault = TokenVault(config_dir, backend=fail.Keyring())
    await vault.keep(FAKE_TOKEN, TokenLocation.FILE)
    assert await vault.forget() == []
    assert not vault.file_path.exists()
    assert await vault.load(TokenLocation.FILE) is None


@pytest.fixture
def read_only_dir(config_dir: Path) -> Iterator[Path]:
    """`config_dir`, existing and read-only. Root ignores mode bits, so as root the
    directory is made immutable (ext4 and most local file systems)."""
    config_dir.mkdir(mode=0o700)
    config_dir.chmod(0o500)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(
            ["chattr", "+i", str(config_dir)], capture_output=True, check=False
        ).returncode == 0
    probe = config_dir / "probe"
    try:
        probe.touch()
    except OSError:
        pass
    else:
        probe.unlink()
        pytest.skip("this file system lets root write into any directory")
    yield config_dir
    if immutable:
        subprocess.run(["chattr", "-i", str(config_dir)], check=True)
    config_dir.chmod(0o700)


async def test_a_read_only_config_dir_is_a_sentence(read_only_dir: Path) -> None:
    vault = TokenVault(read_only_dir, backend=fail.Keyring())
    with pytest.raises(SecretStoreError) as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.FILE)
    sentence = str(raised.value)
    assert sentence.startswith(f"The token could not be saved in {vault.file_path} (")
    assert sentence.endswith(").")
    assert FAKE_TOKEN not in sentence
    assert os.listdir(read_only_dir) == []


async def test_a_file_where_the_config_dir_should_be_is_a_sentence(config_dir: Path) -> None:
    _write(config_dir, "not a directory")
    with pytest.raises(SecretStoreError, match="could not be saved"):
        await TokenVault(config_dir, backend=fail.Keyring()).keep(
            FAKE_TOKEN, TokenLocation.FILE
        )


async def test_a_plain_text_copy_that_cannot_be_deleted_is_said(
    secret_keyring: PrivateBusKeyring, config_dir: Path
) -> None:
    """A directory where the file should be cannot be unlinked, even by root."""
    (config_dir / TOKEN_FILE_NAME).mkdir(parents=True)
    (config_dir / TOKEN_FILE_NAME / "inside").write_text("x")
    vault = TokenVault(config_dir, backend=secret_keyring)

    with pytest.raises(TokenLeftBehind) as raised:
        await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)

    assert str(raised.value).startswith(f"The plain-text token file {vault.file_path} could")
    assert str(raised.value).endswith("delete it by hand.")
    assert secret_keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == FAKE_TOKEN
    [problem] = await vault.forget()
    assert problem == str(raised.value)


async def test_a_file_readable_by_others_is_read_with_a_warning(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(config_dir / TOKEN_FILE_NAME, f"  {FAKE_TOKEN}\r\n", mode=0o644)
    caplog.set_level(logging.WARNING, logger=secrets_module.__name__)

    loaded = await TokenVault(config_dir, backend=fail.Keyring()).load(TokenLocation.FILE)

    assert loaded == StoredToken(FAKE_TOKEN, TokenLocation.FILE)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "mode 644" in record.getMessage()
    assert FAKE_TOKEN not in caplog.text


@pytest.mark.parametrize("content", ["", "  \n\t\n"], ids=["empty", "whitespace"])
async def test_an_empty_file_is_no_token(content: str, config_dir: Path) -> None:
    _write(config_dir / TOKEN_FILE_NAME, content)
    assert await TokenVault(config_dir).load(TokenLocation.FILE) is None


async def test_a_missing_file_is_no_token(config_dir: Path) -> None:
    assert await TokenVault(config_dir).load(TokenLocation.FILE) is None


async def test_an_unreadable_file_is_a_sentence(config_dir: Path) -> None:
    (config_dir / TOKEN_FILE_NAME).mkdir(parents=True)  # reading a directory fails
    with pytest.raises(SecretStoreError) as raised:
        await TokenVault(config_dir).load(TokenLocation.FILE)
    assert str(raised.value).startswith(f"The token file {config_dir / TOKEN_FILE_NAME} could")


def test_a_stored_token_never_shows_itself() -> None:
    shown = repr(StoredToken(FAKE_TOKEN, TokenLocation.KEYRING))
    assert FAKE_TOKEN not in shown and "keyring" in shown


async def test_a_cancelled_keyring_call_still_counts_as_unanswered(
    release: threading.Event, config_dir: Path
) -> None:
    """A caller that gave up (a dialog closed, the app quitting) leaves the thread
    running: the next call must not start a second one behind it."""
    backend = _HangingKeyring(release)
    vault = TokenVault(config_dir, backend=backend, timeout_s=30.0)
    backend.entered = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(vault.load(TokenLocation.KEYRING))
    await backend.entered
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(KeyringUnavailable, match="still not answered"):
        await vault.keep(FAKE_TOKEN, TokenLocation.KEYRING)
    assert backend.calls == 1
