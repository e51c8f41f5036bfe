"""``myoperator-desktop --self-test``: proves an installed copy or a bundle works, headless.

A bundle can look fine and still be broken where nobody clicks during a build: the FFmpeg
libraries corrupted by stripping (recordings never play), a data file left out (phone
numbers not parsed, no chime), certificates missing (no HTTPS), a second launch that
cannot reach the first. Each check here exercises the app's own code on the real parts,
in a private temporary folder (the person's settings, cache and log are never touched):

- **qt**: the binding is one the app accepts, and the platform plugin loads;
- **resources**: the icon, the chime, the sample recordings and phone-number metadata;
- **tls**: the certificate bundle HTTPS needs is there and loads;
- **keyring**: the Secret Service backend can be imported (whether one runs is the
  desktop's business: the app falls back to the session);
- **service**: the demo's emulated MyOperator service starts in its own process (this
  very program, started as that child) and answers on a loopback port;
- **sync**: the call log is synced into a fresh SQLite cache through the real client;
- **recording**: a recording's link is fetched, the file downloaded, and played to its end
  through QtMultimedia by the app's own player widget;
- **single instance**: a second launch of this very program hands a ``tel:`` link to this
  one over the per-user socket, then exits 0.

One line per check (``ok`` or ``FAIL``, its name, what was seen), then a summary line;
the exit code is 0 only when every check passed. Qt runs offscreen unless
``QT_QPA_PLATFORM`` says otherwise.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:  # imported when a check runs: a failing import is that check's line
    from desktop_app.api.client import MyOperatorClient

#: Every check must finish within this (a hung backend fails the run, never hangs it).
CHECK_TIMEOUT_S: Final = 60.0
#: The link a second launch hands over in the single-instance check.
SAMPLE_LINK: Final = "tel:+919812345678"
#: What the second launch must not inherit: the person's account.
_ACCOUNT_ENV: Final = frozenset({"MYOPERATOR_TOKEN", "MYOPERATOR_BASE_URL"})


class CheckFailed(Exception):
    """A check saw something wrong; the message says what, in one line."""


@dataclass(slots=True)
class Outcome:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(slots=True)
class _Context:
    """What the checks share: the temporary folder, then the service and the cache."""

    folder: Path
    #: The client of the emulated service, once it runs (the sync and the recording's).
    client: MyOperatorClient | None = None
    recording_files: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def second_launch_command(link: str) -> list[str]:
    """How to start this same program again: the bundle's executable itself, or this
    Python with ``-m desktop_app`` from a source tree or a venv."""
    if getattr(sys, "frozen", False):
        return [sys.executable, link]
    return [sys.executable, "-m", "desktop_app", link]


# ------------------------------------------------------------------------------ checks


async def check_qt(_ctx: _Context) -> str:
    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    from desktop_app.runtime.binding import binding_defect

    defect = binding_defect()
    if defect is not None:
        raise CheckFailed(defect)
    app = QApplication.instance()
    platform = app.platformName() if isinstance(app, QApplication) else "none"
    return f"PySide6 {PySide6.__version__}, Qt {qVersion()}, platform {platform}"


async def check_resources(_ctx: _Context) -> str:
    import phonenumbers
    from PySide6.QtWidgets import QApplication

    from desktop_app.sandbox.media import RECORDINGS_DIR
    from desktop_app.ui.notifications.sound import SOUND_FILE

    if QApplication.windowIcon().isNull():
        raise CheckFailed("the application icon is missing")
    if not SOUND_FILE.is_file():
        raise CheckFailed(f"the missed-call chime is missing ({SOUND_FILE.name})")
    samples = sorted(RECORDINGS_DIR.glob("*.mp3"))
    if not samples:
        raise CheckFailed(f"no sample recordings in {RECORDINGS_DIR}")
    number = phonenumbers.parse("+919812345678")
    formatted = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    if formatted != "+91 98123 45678":
        raise CheckFailed(f"phone-number metadata is wrong: formatted as {formatted!r}")
    return f"icon, chime, {len(samples)} sample recordings, phone numbers ({formatted})"


async def check_tls(_ctx: _Context) -> str:
    return await asyncio.to_thread(_tls_detail)


def _tls_detail() -> str:
    import certifi
    import httpx

    bundle = Path(certifi.where())
    if not bundle.is_file():
        raise CheckFailed(f"the certificate bundle is missing ({bundle.name})")
    context = httpx.create_ssl_context()
    authorities = context.cert_store_stats().get("x509_ca", 0)
    if authorities == 0:
        raise CheckFailed("no certificate authorities loaded: HTTPS would fail")
    return f"{authorities} certificate authorities, {ssl.OPENSSL_VERSION}"


async def check_keyring(_ctx: _Context) -> str:
    """The backends keyring finds through its entry points (a bundle that lost the
    package metadata finds none and keeps every token for the session only)."""
    from importlib.metadata import entry_points

    import keyring  # noqa: F401  (importable at all)

    from desktop_app.services.diagnostics import distribution_version

    names = sorted(point.name for point in entry_points(group="keyring.backends"))
    if sys.platform.startswith("linux"):
        if "SecretService" not in names:
            raise CheckFailed(f"the Secret Service backend is not registered ({names})")
        import secretstorage  # noqa: F401  (what that backend needs)
        from keyring.backends import SecretService  # noqa: F401
    version = distribution_version("keyring") or "(version unknown)"
    return f"keyring {version}, backends: {', '.join(names) or 'none'}"


async def check_service(ctx: _Context) -> str:
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient
    from desktop_app.sandbox.config import DEMO_TOKEN, SandboxConfig
    from desktop_app.sandbox.process import SandboxProcess

    server = SandboxProcess(SandboxConfig(n_logs=300, days=7, rate_limit=None))
    await asyncio.to_thread(server.start)
    client = MyOperatorClient(DEMO_TOKEN, base_url=server.base_url, budget=RequestBudget())

    async def stop() -> None:
        await client.aclose()
        await asyncio.to_thread(server.stop)

    ctx.cleanups.append(stop)
    ctx.client = client
    return f"the demo's service process on {server.base_url}"


async def check_sync(ctx: _Context) -> str:
    from desktop_app.services.sync import SyncEngine
    from desktop_app.store import CallStore

    if ctx.client is None:
        raise CheckFailed("skipped: the emulated service did not start")
    store = await asyncio.to_thread(CallStore.open, ctx.folder / "calls.sqlite3")
    try:
        result = await SyncEngine(ctx.client, store).sync_once()
        cached = store.count()
        if cached == 0 or len(result.new_calls) != cached:
            raise CheckFailed(
                f"{len(result.new_calls)} calls synced but {cached} in the cache"
            )
        ready_before = time.time() - 600  # a recording is ready minutes after its call
        ctx.recording_files = [
            call.filename
            for call in result.new_calls
            if call.has_recording and call.filename and (call.end_time or 0) < ready_before
        ]
    finally:
        store.close()
    return f"{cached} calls in {result.pages} pages into a fresh SQLite cache"


async def check_recording(ctx: _Context) -> str:
    from PySide6.QtMultimedia import QMediaDevices

    from desktop_app.services.recordings import RecordingState
    from desktop_app.ui.call_detail.player import PlayerWidget

    if ctx.client is None or not ctx.recording_files:
        raise CheckFailed("skipped: the sync found no call with a recording")
    path = await ctx.client.download_recording(
        ctx.recording_files[0], ctx.folder / "recording.mp3"
    )
    size = path.stat().st_size
    player = PlayerWidget()
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[str] = loop.create_future()

    def settle(outcome: str) -> None:
        if not ended.done():
            ended.set_result(outcome)

    player.playbackFinished.connect(lambda: settle(""))
    player.mediaFailed.connect(settle)
    try:
        player.show_status(RecordingState.READY.value, "")
        player.load_file(str(path), True)
        failure = await ended
        duration_ms = player.player.duration()
    finally:
        player.shutdown()
        player.deleteLater()
    if failure:
        raise CheckFailed(failure)
    if duration_ms <= 0:
        raise CheckFailed("the recording played but reported no length")
    outputs = QMediaDevices.audioOutputs()
    sink = outputs[0].description() if outputs else "no audio device (played silently)"
    return f"{size:,} bytes downloaded, played to the end ({duration_ms / 1000:.1f} s; {sink})"


async def check_single_instance(ctx: _Context) -> str:
    from desktop_app.runtime.single_instance import RUNTIME_DIR_ENV, SingleInstance
    from desktop_app.services.paths import HOME_ENV

    runtime = ctx.folder / "runtime"
    runtime.mkdir(mode=0o700)
    instance = SingleInstance(directory=runtime)
    if not instance.start():
        raise CheckFailed("the single-instance lock in a fresh folder was refused")
    received: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()

    def on_message(args: list[str]) -> None:
        if not received.done():
            received.set_result(args)

    instance.messageReceived.connect(on_message)
    # Should it ever open a window after all, the second launch has a home of its own
    # and no account: never the person's settings, log or token.
    env = {key: value for key, value in os.environ.items() if key not in _ACCOUNT_ENV}
    env.update({RUNTIME_DIR_ENV: str(runtime), HOME_ENV: str(ctx.folder / "second-home")})
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        launch = await asyncio.to_thread(
            subprocess.run, second_launch_command(SAMPLE_LINK), env=env,
            capture_output=True, text=True, timeout=CHECK_TIMEOUT_S / 2, check=False,
        )
        if launch.returncode != 0:
            said = (launch.stderr.strip().splitlines() or ["nothing"])[-1]
            raise CheckFailed(f"the second launch exited {launch.returncode}: {said}")
        args = await received
    finally:
        instance.close()
        instance.deleteLater()
    if SAMPLE_LINK not in args:
        raise CheckFailed(f"the running instance received {args!r}, not the link")
    return f"a second launch handed {SAMPLE_LINK} over and exited 0"


CHECKS: Final[Sequence[tuple[str, Callable[[_Context], Awaitable[str]]]]] = (
    ("qt", check_qt),
    ("resources", check_resources),
    ("tls", check_tls),
    ("keyring", check_keyring),
    ("service", check_service),
    ("sync", check_sync),
    ("recording", check_recording),
    ("single instance", check_single_instance),
)


# ------------------------------------------------------------------------------ running


async def run_checks(out: TextIO, folder: Path) -> list[Outcome]:
    """Every check in order, one printed line each; a failure does not stop the rest."""
    ctx = _Context(folder=folder)
    outcomes: list[Outcome] = []
    width = max(len(name) for name, _check in CHECKS)
    try:
        for name, check in CHECKS:
            started = time.perf_counter()
            deadline = asyncio.timeout(CHECK_TIMEOUT_S)
            try:
                async with deadline:
                    detail = await check(ctx)
                ok = True
            except TimeoutError as exc:  # ours, or one the check itself ran into
                ok = False
                detail = (
                    f"no answer within {CHECK_TIMEOUT_S:g} s" if deadline.expired()
                    else _one_line(exc)
                )
            except Exception as exc:  # every failure is a line, never a traceback
                ok, detail = False, _one_line(exc)
            outcome = Outcome(name, ok, detail, time.perf_counter() - started)
            outcomes.append(outcome)
            mark = "ok  " if ok else "FAIL"
            out.write(f"{mark} {name:<{width}}  {detail} ({outcome.seconds:.2f} s)\n")
            out.flush()
    finally:
        for cleanup in reversed(ctx.cleanups):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_S):
                    await cleanup()
            except Exception as exc:  # a service that does not stop fails the run too
                detail = _one_line(exc) if str(exc) else f"no end within {CHECK_TIMEOUT_S:g} s"
                outcomes.append(Outcome("cleanup", False, detail, time.perf_counter() - started))
                out.write(f"FAIL cleanup  {detail}\n")
    return outcomes


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {text}"


def _console() -> TextIO:
    """Where the lines go. A windowed Windows executable has no standard output: it
    writes to the console it was started from, else to a file in the temporary folder."""
    if sys.stdout is not None:
        return sys.stdout
    if sys.platform == "win32":
        import ctypes

        if ctypes.windll.kernel32.AttachConsole(-1):  # the console of the parent
            return open("CONOUT$", "w", encoding="utf-8")
    return open(
        Path(tempfile.gettempdir()) / "myoperator-self-test.txt", "w", encoding="utf-8"
    )


def main(out: TextIO | None = None) -> int:
    """Run the checks in a QApplication of their own; 0 when all passed, else 1."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_app.app import name_application
    from desktop_app.runtime.binding import GuiThreadGarbageCollector

    stream = out or _console()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    name_application(app)  # its names and icon, as the app has them
    collector = GuiThreadGarbageCollector(parent=app)
    collector.start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="myoperator-self-test-") as folder,
            asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner,
        ):
            outcomes = runner.run(run_checks(stream, Path(folder)))
    finally:
        collector.stop()
    failed = [outcome.name for outcome in outcomes if not outcome.ok]
    elapsed = time.perf_counter() - started
    if failed:
        stream.write(
            f"self-test FAILED: {len(failed)} of {len(outcomes)} checks ({', '.join(failed)})"
            f" in {elapsed:.1f} s\n"
        )
        return 1
    stream.write(f"self-test passed: {len(outcomes)} checks in {elapsed:.1f} s\n")
    return 0
