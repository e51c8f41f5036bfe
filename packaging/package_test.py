"""``make package-test``: the .deb installed with apt-get, used as a person would, purged.

1. ``apt-get install ./dist/myoperator-desktop_<version>_<arch>.deb``; the commands, the
   desktop entry, the icons and the metadata are where the package says.
2. The ``tel:`` and ``callto:`` registration: the desktop database names the app for both
   schemes, and ``xdg-mime`` makes it the default as the README tells a person to.
3. Under Xvfb, with an emulated MyOperator service in this process standing in for the
   account (``MYOPERATOR_TOKEN`` and ``MYOPERATOR_BASE_URL``, as a person's environment
   would carry them): ``xdg-open tel:+919812345678`` starts the installed app, which
   opens the account and puts the number in the dialer; a second ``xdg-open`` with
   another number starts a second launch that hands its link to the running app and
   exits 0; the service saw no click-to-call; SIGTERM closes the app with exit code 0.
4. ``apt-get purge`` leaves none of the package's files behind and the desktop database
   no longer names it.

Runs as root (CI) or with passwordless sudo. Prints one line per check; exits non-zero
on the first failure, after purging.

    .venv/bin/python packaging/package_test.py dist/myoperator-desktop_0.1.0_amd64.deb
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE = "myoperator-desktop"
DESKTOP_ID = "myoperator-desktop.desktop"
SCHEMES = ("tel", "callto")
MIMEINFO = Path("/usr/share/applications/mimeinfo.cache")
INSTALLED_PROGRAM = Path("/opt/myoperator-desktop/myoperator-desktop")
INSTALLED = (
    Path("/usr/bin/myoperator-desktop"),
    Path("/usr/bin/myoperator"),
    INSTALLED_PROGRAM,
    Path("/usr/share/applications") / DESKTOP_ID,
    Path("/usr/share/metainfo/com.myoperator.Desktop.metainfo.xml"),
    Path("/usr/share/icons/hicolor/256x256/apps/myoperator-desktop.png"),
    Path("/usr/share/icons/hicolor/scalable/apps/myoperator-desktop.svg"),
)
FIRST_LINK = "tel:+919812345678"
SECOND_LINK = "callto:+919800000001"
WAIT_S = 60.0
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CheckFailed(Exception):
    pass


def ok(text: str) -> None:
    print(f"ok   {text}", flush=True)


def as_root(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return command
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0:
        return ["sudo", "-n", *command]
    raise SystemExit(
        "package-test: installing a package needs root: run it as root or with "
        "passwordless sudo"
    )


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def wait_for(condition: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
    """Poll `condition` (another process's file or state: no signal reaches this one)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {within:.0f} s waiting for {what}")
        time.sleep(0.05)


def installed_version() -> str | None:
    """The package's version as dpkg knows it (installed, or half-installed), or None."""
    result = run(["dpkg-query", "-W", "-f=${Status} ${Version}", PACKAGE])
    words = result.stdout.split()
    if result.returncode != 0 or len(words) < 4 or words[2] == "not-installed":
        return None
    return words[3]


def apt(*args: str) -> None:
    # Through `env`: sudo's env_reset would drop DEBIAN_FRONTEND and apt could ask.
    result = run(as_root(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q", *args]))
    if result.returncode != 0:
        raise CheckFailed(f"apt-get {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


# --------------------------------------------------------------------------- the checks


def check_installed() -> None:
    missing = [str(path) for path in INSTALLED if not path.exists()]
    if missing:
        raise CheckFailed(f"not installed: {', '.join(missing)}")
    version = run(["myoperator-desktop", "--help"])
    if version.returncode != 0 or "tel:" not in version.stdout:
        raise CheckFailed(f"myoperator-desktop --help failed: {version.stderr.strip()}")
    ok(f"installed: {len(INSTALLED)} paths, myoperator-desktop on PATH")


def check_registration(env: dict[str, str]) -> None:
    cache = MIMEINFO.read_text() if MIMEINFO.exists() else ""
    for scheme in SCHEMES:
        line = f"x-scheme-handler/{scheme}="
        entries = [entry for entry in cache.splitlines() if entry.startswith(line)]
        if not entries or DESKTOP_ID not in entries[0]:
            raise CheckFailed(f"the desktop database does not name the app for {scheme}:")
    ok("the desktop database names the app for tel: and callto:")
    for scheme in SCHEMES:
        made = run(["xdg-mime", "default", DESKTOP_ID, f"x-scheme-handler/{scheme}"], env=env)
        query = run(["xdg-mime", "query", "default", f"x-scheme-handler/{scheme}"], env=env)
        if made.returncode != 0 or query.stdout.strip() != DESKTOP_ID:
            raise CheckFailed(
                f"xdg-mime did not make the app the {scheme}: handler "
                f"({query.stdout.strip() or query.stderr.strip()})"
            )
    ok("xdg-mime: the app is the default tel: and callto: handler")


@contextmanager
def xvfb() -> Iterator[str]:
    """A private X display for the installed app (its number chosen by Xvfb)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as handle:
            number = handle.readline().strip()
        if not number:
            raise CheckFailed("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def lock_pid(runtime: Path) -> int | None:
    """The running app's process id, from its single-instance lock (QLockFile's first line)."""
    from desktop_app.runtime.single_instance import APP_ID

    try:
        first = (runtime / f"{APP_ID}.lock").read_text().splitlines()[0]
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def check_links(env: dict[str, str], home: Path) -> None:
    from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer

    server = SandboxServer(SandboxConfig(n_logs=200, days=7))
    server.start()
    log = home / "app" / "logs" / "myoperator-desktop.log"
    runtime = home / "run"
    app_env = dict(
        env,
        MYOPERATOR_TOKEN=DEMO_TOKEN,
        MYOPERATOR_BASE_URL=server.base_url,
        MYOPERATOR_DESKTOP_HOME=str(home / "app"),
        MYOPERATOR_DESKTOP_RUNTIME_DIR=str(runtime),
        QT_QPA_PLATFORM="xcb",
    )

    def logged(text: str) -> Callable[[], bool]:
        return lambda: log.exists() and text in log.read_text(errors="replace")

    # The app's output to a file (a pipe nobody reads would block it); its own session,
    # so a failure below can end xdg-open and the app together.
    output = (home / "app-output.txt").open("w")
    first = subprocess.Popen(
        ["xdg-open", FIRST_LINK], env=app_env,
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(logged("workspace open (account)"), "the installed app to open the account")
        wait_for(logged("(number ending 5678)"), "the first link in the dialer")
        ok(f"xdg-open {FIRST_LINK} started the installed app: the number is in the dialer")
        pid = lock_pid(runtime)
        if pid is None:
            raise CheckFailed("the running app holds no single-instance lock")
        program = Path(os.readlink(f"/proc/{pid}/exe"))
        if program != INSTALLED_PROGRAM:
            raise CheckFailed(f"the app that opened is {program}, not {INSTALLED_PROGRAM}")

        second = run(["xdg-open", SECOND_LINK], env=app_env, timeout=WAIT_S)
        if second.returncode != 0:
            raise CheckFailed(f"the second xdg-open exited {second.returncode}: {second.stderr}")
        wait_for(logged("another launch handed over"), "the hand-over to the running app")
        wait_for(logged("(number ending 0001)"), "the second link in the dialer")
        if lock_pid(runtime) != pid:
            raise CheckFailed("a second app took over instead of handing the link over")
        ok(f"xdg-open {SECOND_LINK}: a second launch handed it to the running app and exited 0")

        dials = [r for r in server.state.requests if r.path.startswith("/clickOcall")]
        if dials or server.state.placed_calls:
            raise CheckFailed(f"something was dialled: {len(server.state.placed_calls)} calls")
        ok("nothing was dialled")

        os.kill(pid, signal.SIGTERM)
        code = first.wait(timeout=WAIT_S)
        if code != 0:
            said = (home / "app-output.txt").read_text(errors="replace")[-2000:]
            raise CheckFailed(f"the app exited {code} after SIGTERM: {said}")
        ok("SIGTERM closed the app (exit code 0)")
    finally:
        if first.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        output.close()
        server.stop()
    text = log.read_text(errors="replace")
    for link in (FIRST_LINK, SECOND_LINK):
        digits = "".join(ch for ch in link if ch.isdigit())
        if digits[-10:] in text or digits[-10:-4] in text:
            raise CheckFailed(f"the log holds more of {link} than its last four digits")
    ok("the log names the links by their last four digits only")


def check_purged() -> None:
    left = [str(path) for path in INSTALLED if path.exists() or path.is_symlink()]
    left += [str(p) for p in [Path("/opt/myoperator-desktop")] if p.exists()]
    if left:
        raise CheckFailed(f"left behind after purge: {', '.join(left)}")
    cache = MIMEINFO.read_text() if MIMEINFO.exists() else ""
    if DESKTOP_ID in cache:
        raise CheckFailed("the desktop database still names the app after purge")
    ok("purged: no file left, the desktop database no longer names the app")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deb", type=Path)
    args = parser.parse_args(argv)
    deb = args.deb.resolve()
    if not deb.is_file():
        parser.error(f"no such package: {deb} (run `make package` first)")
    started = time.monotonic()
    already = installed_version()
    if already is not None:
        print(
            f"package-test: {PACKAGE} {already} is installed on this machine; "
            "this test installs and purges its own: remove it first "
            f"(apt-get purge {PACKAGE})", file=sys.stderr,
        )
        return 1
    failure: CheckFailed | None = None
    try:
        apt("install", "--no-install-recommends", str(deb))
        ok(f"apt-get install {deb.name}")
        with tempfile.TemporaryDirectory(prefix="package-test-") as folder:
            home = Path(folder)
            env = {
                # The system's PATH only: an activated venv's myoperator-desktop must not
                # stand in for the installed one.
                "PATH": SYSTEM_PATH,
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / "config"),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_RUNTIME_DIR": str(home / "xdg-run"),
                "LANG": "C.UTF-8",
            }
            (home / "xdg-run").mkdir(mode=0o700)
            check_installed()
            check_registration(env)
            with xvfb() as display:
                check_links(dict(env, DISPLAY=display), home)
    except CheckFailed as exc:
        failure = exc
    finally:
        # Also after a half-done install: never leave the machine's packages in between.
        if installed_version() is not None:
            try:
                apt("purge", PACKAGE)
            except CheckFailed as exc:
                print(f"FAIL {exc}", flush=True)
                failure = failure or exc
    if failure is not None:
        print(f"FAIL {failure}", flush=True)
        return 1
    check_purged()
    print(f"package-test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
