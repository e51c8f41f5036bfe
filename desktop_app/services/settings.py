"""Every setting a person can change, declared once: key, type, default, label, validation.

Picard's ``options.py`` is the model: a setting is a declaration (`Setting`), and every
reader, the Preferences dialog and the migration of older files go through it, so a key,
its default and its rule live in one line. Values sit in an INI file (QSettings, handed in
as a `SettingsBackend` so this module stays Qt-free); what the window remembers about
itself (geometry, dock layout, last folders, notices shown) is kept apart, in its own
file (`STATE_FILE_NAME`), and is not declared here. An unreadable or invalid stored value
falls back to its default with one line in the log, never a crash.

The API token is not a setting: it lives in the OS keyring (`desktop_app.services.secrets`);
only *where* it is kept is recorded here.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Generic, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from desktop_app.api.client import LIVE_BASE_URL, normalize_base_url
from desktop_app.api.errors import ValidationError
from desktop_app.api.validation import validate_uuid
from desktop_app.services.paths import STATE_FILE_NAME as STATE_FILE_NAME
from desktop_app.services.recordings import DEFAULT_MAX_BYTES
from desktop_app.services.worklist import WorkingHours

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Per-account values of the demo workspace live under this group: its users and recent
#: numbers are not the account's.
DEMO_SCOPE: Final = "demo"
_MB: Final = 1024 * 1024


class SettingsBackend(Protocol):
    """What `Settings` needs of its storage; QSettings has exactly these methods."""

    def value(self, key: str, defaultValue: Any = ..., /) -> Any: ...
    def setValue(self, key: str, value: Any, /) -> None: ...
    def remove(self, key: str, /) -> None: ...
    def contains(self, key: str, /) -> bool: ...
    def allKeys(self) -> list[str]: ...
    def sync(self) -> None: ...


class MemoryBackend:
    """Settings kept in a dict: the command line, tests, a workspace opened without a file."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def value(self, key: str, defaultValue: Any = None) -> Any:
        return self.values.get(key, defaultValue)

    def setValue(self, key: str, value: Any) -> None:
        self.values[key] = value

    def remove(self, key: str) -> None:
        prefix = key + "/"
        for each in [k for k in self.values if k == key or k.startswith(prefix)]:
            del self.values[each]

    def contains(self, key: str) -> bool:
        return key in self.values

    def allKeys(self) -> list[str]:
        return sorted(self.values)

    def sync(self) -> None:
        pass


class Kind(StrEnum):
    """How a value is stored and which editor Preferences gives it."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    CHOICE = "choice"
    TEXT_LIST = "text_list"


class Section(StrEnum):
    """The pages of Preferences, in order."""

    ACCOUNT = "Account"
    SYNC = "Calls and sync"
    NOTIFICATIONS = "Notifications"
    RECORDINGS = "Recordings"
    APPEARANCE = "Appearance"
    STARTUP = "Start-up"


@dataclass(frozen=True, eq=False)
class Setting(Generic[T]):
    """One setting. `check` adds a rule beyond the kind's (a sentence, or None when fine)."""

    key: str
    default: T
    label: str
    section: Section
    kind: Kind
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    #: (value, label) pairs of a CHOICE.
    choices: tuple[tuple[T, str], ...] = ()
    check: Callable[[T], str | None] | None = None
    #: Stored per account: the demo workspace keeps its own under `DEMO_SCOPE`.
    per_account: bool = False
    #: Shown by Preferences' generic editors (False: edited elsewhere, or not by hand).
    editable: bool = True
    #: Unit shown after a number ("days", "MB").
    suffix: str = ""

    def __repr__(self) -> str:
        return f"Setting({self.key!r})"

    def parse(self, raw: object) -> T:
        """`raw` (an INI string, or a value from an editor) as this setting's type.

        Raises ValueError with a sentence naming the setting by its label.
        """
        value = self._coerce(raw)
        if self.kind in (Kind.INT, Kind.FLOAT):
            number = cast(float, value)
            low, high = self.minimum, self.maximum
            if (low is not None and number < low) or (high is not None and number > high):
                unit = f" {self.suffix}" if self.suffix else ""
                raise ValueError(
                    f"{self.label} must be from {_number(low)} to {_number(high)}{unit}."
                )
        if self.kind is Kind.CHOICE and value not in [v for v, _label in self.choices]:
            offered = ", ".join(label for _v, label in self.choices)
            raise ValueError(f"{self.label} must be one of: {offered}.")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ValueError(problem)
        return value

    def _coerce(self, raw: object) -> T:
        kind = self.kind
        if kind is Kind.CHOICE:
            kind = _kind_of(self.default)
        if kind is Kind.BOOL:
            return cast(T, _as_bool(raw, self.label))
        if kind is Kind.INT:
            if isinstance(raw, bool):
                raise ValueError(f"{self.label} must be a whole number.")
            try:
                return cast(T, int(str(raw).strip()))
            except ValueError:
                raise ValueError(f"{self.label} must be a whole number.") from None
        if kind is Kind.FLOAT:
            try:
                number = float(str(raw).strip())
            except ValueError:
                raise ValueError(f"{self.label} must be a number.") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(f"{self.label} must be a number.")
            return cast(T, number)
        if kind is Kind.TEXT_LIST:
            if raw is None or raw == "":
                return cast(T, ())
            items = [raw] if isinstance(raw, str) else raw  # QSettings: one item reads back bare
            if not isinstance(items, list | tuple):
                raise ValueError(f"{self.label} must be a list.")
            return cast(T, tuple(str(item).strip() for item in items))
        if raw is None:
            raise ValueError(f"{self.label} is missing.")
        if not isinstance(raw, str | int | float):
            raise ValueError(f"{self.label} must be text.")
        return cast(T, str(raw).strip())


def _kind_of(value: object) -> Kind:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int):
        return Kind.INT
    if isinstance(value, float):
        return Kind.FLOAT
    return Kind.TEXT


def _as_bool(raw: object, label: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"{label} must be on or off.")


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


# ------------------------------------------------------------------------------ rules


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(text: str) -> str | None:
    """The service address: a usable URL, and https unless it is this computer (the token
    travels in every query string: plain http would show it to the network)."""
    return _check_secure_address(text, "The service address")


def check_relay_url(text: str) -> str | None:
    """The team relay's address ("" before one is given): https unless it is this
    computer, since the agent's credential travels in every request."""
    return _check_secure_address(text, "The relay's address") if text else None


def _check_secure_address(text: str, source: str) -> str | None:
    try:
        url = normalize_base_url(text, source=source)
    except ValidationError as exc:
        return exc.message
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" and not _is_loopback(parts.hostname or ""):
        return (
            f"{source} must start with https:// (plain http is allowed only for this "
            "computer: localhost or 127.0.0.1)."
        )
    return None


def _check_uuid(text: str) -> str | None:
    if not text:
        return None
    try:
        validate_uuid(text, field="support_user_id")
    except ValidationError as exc:
        return exc.message
    return None


def _check_country_code(text: str) -> str | None:
    if text.isdigit() and text.isascii() and 1 <= len(text) <= 3 and not text.startswith("0"):
        return None
    return f"{text!r} is not a country dialling code (1 to 3 digits, such as 91)."


def _check_recent(numbers: tuple[str, ...]) -> str | None:
    for number in numbers:
        digits = number[1:]
        if not (number.startswith("+") and digits.isdigit() and 5 <= len(digits) <= 16):
            return "Recent numbers must be in international form (+…)."
    return None


def _check_hours(text: str) -> str | None:
    try:
        WorkingHours.parse(text, "mon-sat")
    except ValueError as exc:
        return f"{exc}."
    return None


def _check_days(text: str) -> str | None:
    try:
        WorkingHours.parse("09:00-18:00", text)
    except ValueError as exc:
        return f"{exc}."
    return None


# ------------------------------------------------------------------------ declarations


class TokenStorage(StrEnum):
    """Where the secret this desktop signs in with was kept last time (never the secret
    itself): the account's API token, or the agent's relay credential (`CONNECTION`)."""

    NONE = ""
    KEYRING = "keyring"
    FILE = "file"


class Connection(StrEnum):
    """How this desktop reaches the account: with the API token itself, or through the
    team relay with the agent's own credential (the relay alone holds the token)."""

    DIRECT = "direct"
    RELAY = "relay"


class ThemeChoice(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


#: Playback speeds the player offers (value, label).
PLAYBACK_SPEEDS: Final[tuple[tuple[float, str], ...]] = (
    (0.75, "0.75×"),
    (1.0, "1×"),
    (1.25, "1.25×"),
    (1.5, "1.5×"),
    (2.0, "2×"),
)

BASE_URL: Final = Setting(
    "account/base_url", LIVE_BASE_URL, "Service address", Section.ACCOUNT, Kind.TEXT,
    help=(
        "Where the MyOperator API answers when this desktop connects directly (through "
        "the team relay, the relay decides). Change it only if MyOperator support asks."
    ),
    check=check_base_url,
)
TOKEN_STORAGE: Final = Setting(
    "account/token_storage", TokenStorage.NONE.value, "Where the token is kept",
    Section.ACCOUNT, Kind.CHOICE,
    choices=tuple((each.value, each.name.lower()) for each in TokenStorage),
    editable=False,
)
CONNECTION: Final = Setting(
    "account/connection", Connection.DIRECT.value, "How this desktop connects",
    Section.ACCOUNT, Kind.CHOICE,
    choices=(
        (Connection.DIRECT.value, "With the account's API token"),
        (Connection.RELAY.value, "Through the team relay"),
    ),
    editable=False,
)
RELAY_URL: Final = Setting(
    "account/relay_url", "", "Team relay address", Section.ACCOUNT, Kind.TEXT,
    help="Where your team's relay answers (your admin gives it).",
    check=check_relay_url, editable=False,
)
ME: Final = Setting(
    "dialer/me", "", "This is me", Section.ACCOUNT, Kind.TEXT,
    help="Your user in the account: click-to-call rings your phone first.",
    check=_check_uuid, per_account=True, editable=False,
)
COUNTRY_CODE: Final = Setting(
    "dialer/country_code", "91", "Default country", Section.ACCOUNT, Kind.TEXT,
    help="Numbers typed without a country code are read as this country's.",
    check=_check_country_code, per_account=True, editable=False,
)
RECENT_NUMBERS: Final = Setting(
    "dialer/recent", cast(tuple[str, ...], ()), "Recent numbers", Section.ACCOUNT,
    Kind.TEXT_LIST, check=_check_recent, per_account=True, editable=False,
)
KEEP_DAYS: Final = Setting(
    "sync/keep_days", 365, "Keep calls for", Section.SYNC, Kind.INT,
    help="Calls older than this are removed from this computer's cache (not from MyOperator).",
    minimum=7, maximum=3650, suffix="days",
)
DESKTOPS_SHARING: Final = Setting(
    "sync/desktops_sharing", 4, "Desktops sharing this account", Section.SYNC, Kind.INT,
    help=(
        "MyOperator allows about 100 requests an hour for the whole account. Each desktop "
        "syncs slowly enough for this many to share it; say 1 if this is the only one."
    ),
    minimum=1, maximum=50,
)
NOTIFY_MISSED: Final = Setting(
    "notifications/missed_calls", True, "Announce missed calls", Section.NOTIFICATIONS,
    Kind.BOOL, help="A notification the moment a call to the account is missed.",
)
SOUND: Final = Setting(
    "notifications/sound", True, "Sound for missed calls", Section.NOTIFICATIONS, Kind.BOOL,
)
DND_STOPS_CALLS: Final = Setting(
    "notifications/dnd_stops_calls", False, "Do not disturb also stops calls to my phone",
    Section.NOTIFICATIONS, Kind.BOOL,
    help="Turning on do not disturb also tells MyOperator not to route calls to you.",
)
WORKING_HOURS: Final = Setting(
    "worklist/working_hours", "09:00-18:00", "Working hours", Section.NOTIFICATIONS,
    Kind.TEXT, help="When the callback list counts waiting time, as 09:00-18:00.",
    check=_check_hours,
)
WORKING_DAYS: Final = Setting(
    "worklist/working_days", "mon-sat", "Working days", Section.NOTIFICATIONS, Kind.TEXT,
    help="As mon-sat, or mon,wed,fri.", check=_check_days,
)
RECORDINGS_CACHE_MB: Final = Setting(
    "recordings/cache_limit_mb", DEFAULT_MAX_BYTES // _MB, "Keep downloaded recordings up to",
    Section.RECORDINGS, Kind.INT,
    help="The oldest played recordings are removed beyond this size.",
    minimum=50, maximum=50_000, suffix="MB",
)
PLAYBACK_SPEED: Final = Setting(
    "recordings/default_speed", 1.0, "Playback speed", Section.RECORDINGS, Kind.CHOICE,
    choices=PLAYBACK_SPEEDS,
)
THEME: Final = Setting(
    "appearance/theme", ThemeChoice.SYSTEM.value, "Theme", Section.APPEARANCE, Kind.CHOICE,
    choices=(
        (ThemeChoice.SYSTEM.value, "Same as the system"),
        (ThemeChoice.LIGHT.value, "Light"),
        (ThemeChoice.DARK.value, "Dark"),
    ),
)
START_AT_LOGIN: Final = Setting(
    "startup/start_at_login", False, "Start MyOperator Desktop when I log in",
    Section.STARTUP, Kind.BOOL,
)

#: Every declared setting, in Preferences' order.
DECLARED: Final[tuple[Setting[Any], ...]] = (
    BASE_URL, TOKEN_STORAGE, CONNECTION, RELAY_URL, ME, COUNTRY_CODE, RECENT_NUMBERS,
    KEEP_DAYS, DESKTOPS_SHARING,
    NOTIFY_MISSED, SOUND, DND_STOPS_CALLS, WORKING_HOURS, WORKING_DAYS,
    RECORDINGS_CACHE_MB, PLAYBACK_SPEED,
    THEME,
    START_AT_LOGIN,
)


def declared(section: Section) -> tuple[Setting[Any], ...]:
    """The settings of one Preferences page, in order."""
    return tuple(each for each in DECLARED if each.section is section)


# ---------------------------------------------------------------------------- access


Listener = Callable[[Any], None]


class Settings:
    """Typed access to the declared settings over one backend, with change listeners.

    `account_scope` ("" for the account, `DEMO_SCOPE` for the demo) prefixes the keys of
    per-account settings. Writing is validated; reading never fails (an invalid stored
    value reads as the default, logged once per key).
    """

    def __init__(self, backend: SettingsBackend, *, account_scope: str = "") -> None:
        self.backend = backend
        self.account_scope = account_scope
        self._listeners: dict[str, list[Listener]] = {}
        self._reported: set[str] = set()

    def storage_key(self, setting: Setting[Any]) -> str:
        if setting.per_account and self.account_scope:
            return f"{self.account_scope}/{setting.key}"
        return setting.key

    def get(self, setting: Setting[T]) -> T:
        key = self.storage_key(setting)
        try:
            if not self.backend.contains(key):
                return setting.default
            return setting.parse(self.backend.value(key))
        except Exception as exc:  # a damaged file must not stop the app: use the default
            if key not in self._reported:
                self._reported.add(key)
                log.warning("setting %s: %s Using the default.", key, _why(exc))
            return setting.default

    def set(self, setting: Setting[T], value: object) -> T:
        """Store `value` (parsed and checked; ValueError with a sentence if refused) and
        tell the setting's listeners when it changed. Returns the value stored."""
        parsed = setting.parse(value)
        previous = self.get(setting)
        key = self.storage_key(setting)
        self.backend.setValue(key, _stored(parsed))
        self._reported.discard(key)
        if parsed != previous:
            self._notify(setting, parsed)
        return parsed

    def reset(self, setting: Setting[Any]) -> None:
        """Back to the default (the key is removed, so a later default change applies)."""
        previous = self.get(setting)
        self.backend.remove(self.storage_key(setting))
        if previous != setting.default:
            self._notify(setting, setting.default)

    def is_default(self, setting: Setting[Any]) -> bool:
        return not self.backend.contains(self.storage_key(setting))

    def problem(self, setting: Setting[Any]) -> str | None:
        """Why the stored value is not used (a sentence), or None when it is used or
        nothing is stored: for a window that says so beside the default it falls back to."""
        key = self.storage_key(setting)
        try:
            if not self.backend.contains(key):
                return None
            setting.parse(self.backend.value(key))
        except Exception as exc:
            return _why(exc)
        return None

    def subscribe(self, setting: Setting[T], listener: Callable[[T], None]) -> Callable[[], None]:
        """Call `listener(new_value)` after each change; returns the unsubscribe."""
        listeners = self._listeners.setdefault(self.storage_key(setting), [])
        listeners.append(listener)

        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    def listening(self) -> int:
        """How many listeners are subscribed, all settings together (a closed workspace
        must leave none behind on settings that outlive it)."""
        return sum(len(each) for each in self._listeners.values())

    def _notify(self, setting: Setting[Any], value: object) -> None:
        for listener in list(self._listeners.get(self.storage_key(setting), ())):
            try:
                listener(value)
            except Exception:  # one listener's bug must not stop the others
                log.exception("a listener of setting %s failed", setting.key)

    def snapshot(self) -> dict[str, str]:
        """Every declared setting as text (for a diagnostics report: none is a secret)."""
        return {self.storage_key(s): _shown(self.get(s)) for s in DECLARED}

    def sync(self) -> None:
        try:
            self.backend.sync()
        except Exception as exc:  # the values stay in memory; the next sync tries again
            log.warning("could not write the settings file: %s", _why(exc))

    def __iter__(self) -> Iterator[Setting[Any]]:
        return iter(DECLARED)


def _stored(value: object) -> object:
    """How a value goes into the INI file: lists as lists, everything else as text."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(each) for each in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else text + "."


# -------------------------------------------------------------------------- migration

#: Format of the settings file; `migrate` brings older files up to it.
SETTINGS_VERSION: Final = 2
VERSION_KEY: Final = "meta/settings_version"
#: Keys of version 1 renamed in version 2 (old -> new).
RENAMED_KEYS: Final[Mapping[str, str]] = {
    "tray/dndStopsCalls": DND_STOPS_CALLS.key,
}
#: Keys of version 1's settings.ini that are window state: moved to `STATE_FILE_NAME`.
STATE_KEYS: Final = (
    "window/geometry", "window/state", "feed/header",
    "tray/closeNoticeShown", "tray/unavailableNoticeShown",
)
#: The last folders chosen in save dialogs (``files/last_export_dir``, …).
STATE_GROUPS: Final = ("files/", "folders/")
#: The dialer's own file before version 2 (and the demo's), folded into the settings.
DIALER_FILES: Final[Mapping[str, str]] = {"dialer.json": "", "demo-dialer.json": DEMO_SCOPE}


def migrate(
    settings: SettingsBackend, state: SettingsBackend, config_dir: Path
) -> list[str]:
    """Bring an older settings file (and the dialer's JSON file) up to `SETTINGS_VERSION`.

    Idempotent; what it did is returned (and logged), one line per step. A file it cannot
    read is left where it is, with a log line; the app starts on the defaults.
    """
    done: list[str] = []
    try:
        version = int(str(settings.value(VERSION_KEY, 1) or 1))
    except ValueError:
        version = 1
    if version >= SETTINGS_VERSION:
        return done
    for old, new in RENAMED_KEYS.items():
        if settings.contains(old):
            if not settings.contains(new):
                settings.setValue(new, settings.value(old))
            settings.remove(old)
            done.append(f"renamed {old} to {new}")
    for key in _state_keys(settings.allKeys()):
        state.setValue(key, settings.value(key))
        settings.remove(key)
        done.append(f"moved {key} to the window state file")
    for name, scope in DIALER_FILES.items():
        done.extend(_fold_dialer_file(config_dir / name, Settings(settings, account_scope=scope)))
    settings.setValue(VERSION_KEY, SETTINGS_VERSION)
    for step in done:
        log.info("settings migration: %s", step)
    return done


def _state_keys(keys: Iterable[str]) -> list[str]:
    return [k for k in keys if k in STATE_KEYS or k.startswith(STATE_GROUPS)]


def _fold_dialer_file(path: Path, target: Settings) -> list[str]:
    """``dialer.json`` ({"me", "country_code", "recent"}) into the declared settings; the
    file is renamed ``.migrated`` so it is read once, and kept in case of a downgrade."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("not migrating the unreadable %s: %s", path.name, _why(exc))
        return []
    done: list[str] = []
    if isinstance(data, dict):
        fields: Sequence[tuple[str, Setting[Any]]] = (
            ("me", ME), ("country_code", COUNTRY_CODE), ("recent", RECENT_NUMBERS),
        )
        for name, setting in fields:
            value = data.get(name)
            if value is None or target.backend.contains(target.storage_key(setting)):
                continue
            if setting is RECENT_NUMBERS and isinstance(value, list):
                value = [n for n in value if isinstance(n, str) and not _check_recent((n,))]
            try:
                target.set(setting, value)
            except ValueError as exc:
                log.warning("not migrating %s from %s: %s", name, path.name, _why(exc))
                continue
            done.append(f"{setting.key} from {path.name}")
    try:
        os.replace(path, path.with_name(path.name + ".migrated"))
    except OSError as exc:
        log.warning("could not rename %s after migrating it: %s", path.name, _why(exc))
    return done
