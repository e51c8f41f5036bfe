"""Where the API token is kept between runs: the OS keyring, or (an explicit, warned
choice) a plain-text file only its owner may read, or nowhere (memory, this run only).

Which of these holds the token is the settings' business (`TokenLocation`); the token itself
never goes into the settings, a log line or an exception's text.

Every keyring call runs on a daemon thread of its own with a timeout. A keyring can hang:
resolving the backend probes D-Bus, and a locked collection waits for a prompt nobody
answers. ``asyncio.to_thread`` is no way out of that on Python 3.11, since interpreter exit
joins the default executor's threads; a daemon thread is abandoned at exit instead. While an
abandoned call is still stuck, further calls fail at once rather than pile up threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, Any, Final, TypeVar

from desktop_app.api.redact import redact, register_secret
from desktop_app.api.waits import format_wait

# keyring is imported where it is used, on the keyring's thread: the demo never needs it,
# and its import (entry points, importlib_metadata, jaraco) delays the first paint.
if TYPE_CHECKING:
    import keyring.backend

log = logging.getLogger(__name__)

_Result = TypeVar("_Result")

KEYRING_SERVICE: Final = "MyOperator Desktop"
KEYRING_USERNAME: Final = "api-token"
#: The entry `TokenVault.keyring_problem` writes and deletes to see that the keyring works.
KEYRING_PROBE_USERNAME: Final = "api-token-probe"
TOKEN_FILE_NAME: Final = "api-token"
#: The agent's team-relay credential: kept the same ways, under names of its own.
RELAY_KEYRING_USERNAME: Final = "relay-credential"
RELAY_FILE_NAME: Final = "relay-credential"
KEYRING_TIMEOUT_S: Final = 5.0

_NO_KEYRING: Final = "No system keyring is available on this computer"
_DETAIL_LIMIT: Final = 160


class TokenLocation(StrEnum):
    """Where the token was kept: the settings remember this, never the token."""

    KEYRING = "keyring"
    #: A plain-text file (mode 0600) under the config dir: an explicit choice.
    FILE = "file"
    #: Memory only: gone when the app quits.
    SESSION = "session"
    #: ``MYOPERATOR_TOKEN``: the environment's, for this run only; never kept by the app.
    ENVIRONMENT = "environment"


class SecretStoreError(Exception):
    """The token could not be read, kept or removed; ``str(exc)`` is one plain sentence
    for the window, never containing the token."""


class KeyringUnavailable(SecretStoreError):
    """No usable keyring backend, or it failed, or it did not answer in time (`timed_out`)."""

    def __init__(self, sentence: str, *, timed_out: bool = False) -> None:
        super().__init__(sentence)
        self.timed_out = timed_out


class TokenLeftBehind(SecretStoreError):
    """The token was kept where asked, but an older copy elsewhere (the plain-text file)
    could not be removed: the sentence says where, so the person can delete it."""


@dataclass(frozen=True)
class StoredToken:
    token: str
    location: TokenLocation

    def __repr__(self) -> str:
        # A dataclass repr would print the token in any traceback or log line.
        return f"StoredToken(token=<hidden>, location={self.location.value!r})"


class TokenVault:
    """Reads, keeps and forgets the token; one per app, on the event loop's thread."""

    def __init__(
        self,
        config_dir: Path,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
        timeout_s: float = KEYRING_TIMEOUT_S,
        keyring_username: str = KEYRING_USERNAME,
        file_name: str = TOKEN_FILE_NAME,
        noun: str = "token",
        beside: TokenVault | None = None,
    ) -> None:
        """`keyring_username`, `file_name` and `noun` (as sentences name the secret) are
        the API token's unless this vault keeps another secret (`relay_vault`). `beside`:
        a vault whose keyring this one uses (its backend and timeout) and whose hung calls
        it waits for, not a second time."""
        if beside is not None:
            backend, timeout_s = beside._backend, beside._timeout_s
        self._config_dir = config_dir
        self._username = keyring_username
        self._file_name = file_name
        self.noun = noun
        self._backend: keyring.backend.KeyringBackend | None = backend
        self._timeout_s: float = timeout_s
        self._session_token: str | None = None
        #: Keyring calls abandoned after their timeout that have not returned yet; shared
        #: with the vault this one is `beside`, so a hung keyring costs one wait, not one
        #: per secret (signing in or out touches the token and the credential).
        self._stuck: set[threading.Thread] = beside._stuck if beside is not None else set()

    @property
    def file_path(self) -> Path:
        return self._config_dir / self._file_name

    # ----------------------------------------------------------------------- reading

    async def load(self, location: TokenLocation | None) -> StoredToken | None:
        """The token kept at `location` (what the settings say), or None when none is.

        SESSION is memory: None at the start of a run, the token once `keep` put it there.
        ENVIRONMENT and None are never kept here. Raises `KeyringUnavailable` when the
        keyring fails or hangs, `SecretStoreError` when the file cannot be read.
        """
        if location is TokenLocation.KEYRING:
            value = await self._keyring_call(
                f"read the {self.noun}",
                lambda backend: backend.get_password(KEYRING_SERVICE, self._username),
            )
            token = value.strip() if isinstance(value, str) else ""
        elif location is TokenLocation.FILE:
            token = await asyncio.to_thread(self._read_file)
        elif location is TokenLocation.SESSION:
            token = self._session_token or ""
        else:
            return None
        if not token:
            return None
        register_secret(token)
        return StoredToken(token, location)

    def _read_file(self) -> str:
        path = self.file_path
        try:
            with path.open("r", encoding="utf-8") as file:
                mode = os.fstat(file.fileno()).st_mode
                text = file.read()
        except FileNotFoundError:
            log.info("no token file at %s", path)
            return ""
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretStoreError(
                f"The {self.noun} file {path} could not be read ({_os_reason(exc)})."
            ) from None
        if stat.S_IMODE(mode) & 0o077:
            log.warning(
                "the token file %s can be read by other users (mode %03o): it should be 600",
                path, stat.S_IMODE(mode),
            )
        return text.strip()

    # ----------------------------------------------------------------------- keeping

    async def keep(self, token: str, location: TokenLocation) -> None:
        """Keep `token` at `location`, then remove it from the other persistent place.

        KEYRING raises `KeyringUnavailable` when the keyring fails or hangs; FILE raises
        `SecretStoreError` when the file cannot be written. A token kept in the keyring or
        in memory leaves no plain-text copy behind: when the old file cannot be deleted,
        `TokenLeftBehind` says so (the token is kept all the same). An old keyring entry
        that cannot be deleted is only logged: it is not in plain text, and signing out
        tries again.
        """
        token = token.strip()
        if not token:
            raise SecretStoreError(f"There is no {self.noun} to keep.")
        if location is TokenLocation.ENVIRONMENT:
            raise ValueError("a token from the environment is never kept by the app")
        register_secret(token)
        if location is TokenLocation.KEYRING:
            await self._keyring_call(
                f"save the {self.noun}",
                lambda backend: backend.set_password(KEYRING_SERVICE, self._username, token),
                token=token,
            )
            self._session_token = None
            await self._remove_file_after_move()
        elif location is TokenLocation.FILE:
            await asyncio.to_thread(self._write_file, token)
            self._session_token = None
            await self._remove_from_keyring_after_move()
        else:
            self._session_token = token
            await self._remove_file_after_move()
            await self._remove_from_keyring_after_move()

    def _write_file(self, token: str) -> None:
        """Write atomically at mode 0600: a temporary file created 0600 (never wider, even
        for an instant) in the same directory, flushed to disk, then renamed into place."""
        directory = self._config_dir
        path = self.file_path
        temporary = directory / f".{self._file_name}.{token_hex(6)}.tmp"
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                0o600,
            )
        except OSError as exc:
            raise SecretStoreError(
                f"The {self.noun} could not be saved in {path} ({_os_reason(exc)})."
            ) from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(token + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise SecretStoreError(
                f"The {self.noun} could not be saved in {path} ({_os_reason(exc)})."
            ) from None
        _sync_directory(directory)

    async def _remove_file_after_move(self) -> None:
        problem = await asyncio.to_thread(self._delete_file)
        if problem is not None:
            raise TokenLeftBehind(problem)

    def _delete_file(self) -> str | None:
        """Delete the plain-text copy; a sentence when it could not be, else None."""
        path = self.file_path
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            return (
                f"The plain-text {self.noun} file {path} could not be deleted "
                f"({_os_reason(exc)}): delete it by hand."
            )
        return None

    async def _remove_from_keyring_after_move(self) -> None:
        problem = await self._delete_from_keyring()
        if problem is not None:
            log.warning("an older copy of the token may remain in the keyring: %s", problem)

    # ---------------------------------------------------------------------- forgetting

    async def forget(self) -> list[str]:
        """Sign out: remove the token from memory, the file and the keyring.

        Returns a sentence for each place it could not be removed from ([] when it is gone
        everywhere). A keyring that is not available holds nothing to remove.
        """
        self._session_token = None
        problems: list[str] = []
        file_problem = await asyncio.to_thread(self._delete_file)
        if file_problem is not None:
            problems.append(file_problem)
        keyring_problem = await self._delete_from_keyring()
        if keyring_problem is not None:
            problems.append(keyring_problem)
        return problems

    async def _delete_from_keyring(self) -> str | None:
        """Delete the keyring entry; None when it is gone (or there is no keyring at all),
        else a sentence saying that it may still be there and why."""

        def delete(backend: keyring.backend.KeyringBackend) -> None:
            import keyring.errors

            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing there
                backend.delete_password(KEYRING_SERVICE, self._username)

        try:
            await self._keyring_call(f"delete the {self.noun}", delete)
        except _NoKeyring:
            return None
        except KeyringUnavailable as exc:
            return f"{exc} The {self.noun} may still be kept in the system keyring."
        return None

    # ---------------------------------------------------------------------- diagnostics

    async def keyring_problem(self) -> str | None:
        """None when the keyring works (a probe entry is written, read back and deleted),
        else one sentence saying why not."""
        probe = token_hex(8)

        def round_trip(backend: keyring.backend.KeyringBackend) -> str | None:
            import keyring.errors

            backend.set_password(KEYRING_SERVICE, KEYRING_PROBE_USERNAME, probe)
            try:
                read = backend.get_password(KEYRING_SERVICE, KEYRING_PROBE_USERNAME)
            finally:
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    backend.delete_password(KEYRING_SERVICE, KEYRING_PROBE_USERNAME)
            if read != probe:
                return "The system keyring did not give back what was stored in it."
            return None

        try:
            return await self._keyring_call("store a test entry", round_trip)
        except KeyringUnavailable as exc:
            return str(exc)

    # -------------------------------------------------------------------- keyring calls

    async def _keyring_call(
        self,
        action: str,
        call: Callable[[keyring.backend.KeyringBackend], _Result],
        *,
        token: str | None = None,
    ) -> _Result:
        """Run `call` on the backend (resolved first, and checked usable) on a daemon
        thread; every failure becomes `KeyringUnavailable` with a sentence naming `action`."""
        self._stuck.difference_update([t for t in self._stuck if not t.is_alive()])
        if self._stuck:
            raise KeyringUnavailable(
                "The system keyring has still not answered an earlier request.",
                timed_out=True,
            )

        def work() -> _Result:
            import keyring

            backend = self._backend if self._backend is not None else keyring.get_keyring()
            reason = _why_unusable(backend)
            if reason is not None:
                raise _NoKeyring(reason)
            return call(backend)

        try:
            return await _in_daemon_thread(
                work, self._timeout_s, f"keyring: {action}", abandoned=self._stuck
            )
        except _Abandoned as abandoned:
            self._stuck.add(abandoned.thread)
            raise KeyringUnavailable(
                f"The system keyring did not answer within {format_wait(self._timeout_s)}.",
                timed_out=True,
            ) from None
        except _NoKeyring:
            raise
        except Exception as exc:  # whatever the backend raised, as a sentence
            sentence = _sentence_for(exc, action, token)
            log.info("keyring call failed (%s): %s", type(exc).__name__, sentence)
            raise KeyringUnavailable(sentence) from None


def relay_vault(config_dir: Path, **options: Any) -> TokenVault:
    """Where the agent's team-relay credential is kept: the same places as a token, under
    names of its own, so the two never overwrite each other (``beside=`` the token's vault:
    in the same keyring)."""
    return TokenVault(
        config_dir, keyring_username=RELAY_KEYRING_USERNAME, file_name=RELAY_FILE_NAME,
        noun="relay credential", **options,
    )


class _NoKeyring(KeyringUnavailable):
    """No usable backend at all: nothing can be kept there, and nothing is there."""


class _Abandoned(Exception):
    def __init__(self, thread: threading.Thread) -> None:
        super().__init__(thread.name)
        self.thread = thread


async def _in_daemon_thread(
    work: Callable[[], _Result], timeout_s: float, name: str, *, abandoned: set[threading.Thread]
) -> _Result:
    """`work()` on a daemon thread of its own; `_Abandoned` when it takes over `timeout_s`.

    The thread hands its outcome back through ``call_soon_threadsafe``; once nobody waits
    (timed out, cancelled, loop closed) the outcome is dropped. A thread left running
    (timed out, or its caller cancelled) goes into `abandoned`, so no second call piles
    up behind a keyring that is not answering.
    """
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[_Result] = loop.create_future()

    def deliver(result: _Result | None, error: Exception | None) -> None:
        if outcome.done():
            return
        if error is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: _Result | None = None
        error: Exception | None = None
        try:
            result = work()
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, result, error)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        return await asyncio.wait_for(outcome, timeout_s)
    except TimeoutError:
        raise _Abandoned(thread) from None
    except asyncio.CancelledError:
        if thread.is_alive():
            abandoned.add(thread)
        raise


def _why_unusable(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why `backend` cannot keep a token (a sentence), or None when it can. Runs on the
    keyring's thread: a backend's priority may probe D-Bus."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring):
        return (
            f"{_NO_KEYRING} (no Secret Service, KWallet, macOS Keychain or Windows "
            "Credential Manager was found)."
        )
    if isinstance(backend, null.Keyring):
        return f"{_NO_KEYRING} (the keyring library is set up to store nothing)."
    if isinstance(backend, chainer.ChainerBackend):
        if not backend.backends:
            return f"{_NO_KEYRING} (the keyring library found no backend to use)."
        return None  # its own priority is low with one backend, yet it works
    try:
        priority = backend.priority
    except Exception as exc:
        return f"{_NO_KEYRING} ({_detail(exc, None)})."
    if priority <= 0:
        return f"{_NO_KEYRING} ({_backend_name(backend)} is not a usable keyring)."
    return None


def _sentence_for(exc: Exception, action: str, token: str | None) -> str:
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        return f"{_NO_KEYRING} ({_detail(exc, token)})."
    if isinstance(exc, keyring.errors.KeyringLocked) or _named(exc, "LockedException"):
        return f"The system keyring is locked: unlock it and try again (it could not {action})."
    if _named(exc, "PromptDismissedException"):
        return f"The system keyring asked to be unlocked and was refused, so it could not {action}."
    if isinstance(exc, keyring.errors.InitError):
        return f"The system keyring could not be opened to {action}: {_detail(exc, token)}."
    return f"The system keyring could not {action}: {_detail(exc, token)}."


def _named(exc: Exception, name: str) -> bool:
    """secretstorage's exceptions, without importing secretstorage (Linux only)."""
    return any(kind.__name__ == name for kind in type(exc).__mro__)


def _detail(exc: Exception, token: str | None) -> str:
    """What a backend's exception said: one line, bounded, with every known token removed."""
    text = " ".join(str(exc).split())
    if token:
        text = text.replace(token, "***")
    text = redact(text).rstrip(".")
    if not text:
        return type(exc).__name__
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, UnicodeDecodeError):
        return "it is not text"
    return type(exc).__name__


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory (Windows)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
