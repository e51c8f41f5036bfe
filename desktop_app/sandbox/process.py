"""The demo's emulated service in a process of its own.

Serving HTTP in the GUI's process costs the GUI thread its GIL slices (the demo's hitches)
and its imports cost the start-up; a child process on the other core costs neither. The
child is the app's own executable: ``python -m desktop_app.sandbox.process`` from source,
the bundle's ``myoperator-desktop`` with the hidden first argument `SERVE_ARG` (handled by
`desktop_app.__main__.run` before anything else is imported).

The parent writes the config's plain fields as one JSON line on the child's stdin and keeps
stdin open; the child answers one line on stdout (``ready <base_url>`` or ``error
<sentence>``) and serves until its stdin reaches EOF. Whatever way the parent ends (quit,
crash, kill -9), the OS closes that pipe and the child stops: no service outlives the app.

No Qt, and nothing heavy at import: the app imports this module before Qt to launch the
demo's service early (`launch_demo_early`); uvicorn and the service are imported only in
the child.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol

from desktop_app.api.redact import redact
from desktop_app.sandbox.config import SandboxConfig

#: The hidden first argument that makes the app's (frozen) executable serve the demo.
SERVE_ARG: Final = "--serve-demo-service"

#: The config's fields that cannot cross a pipe: the child keeps its own clock.
_LOCAL_FIELDS: Final = frozenset({"clock"})


class DemoService(Protocol):
    """What the app needs of the demo's service: `SandboxProcess`, or (tests that look
    inside it) the in-process `desktop_app.sandbox.server.SandboxServer`."""

    @property
    def base_url(self) -> str: ...

    def start(self, timeout: float = ...) -> DemoService: ...

    def stop(self, timeout: float = ...) -> None: ...


class SandboxProcessError(RuntimeError):
    """The demo's service process did not start (the message is one plain sentence)."""


def demo_config() -> SandboxConfig:
    """The demo account: a month of history, a new call every 20 s, the real rate limit."""
    return SandboxConfig(n_logs=3000, live_calls_every=20.0)


def config_to_plain(config: SandboxConfig) -> dict[str, Any]:
    """The config's plain fields as JSON-able values (fault specs only as strings)."""
    plain: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        if item.name in _LOCAL_FIELDS:
            continue
        value = getattr(config, item.name)
        if item.name == "faults":
            if not all(isinstance(fault, str) for fault in value):
                raise ValueError("only fault spec strings reach the demo's service process")
            value = list(value)
        plain[item.name] = value
    return plain


def config_from_plain(plain: dict[str, Any]) -> SandboxConfig:
    """`config_to_plain` undone (JSON turned the limit's pairs into lists)."""
    fields = dict(plain)
    if fields.get("rate_limit") is not None:
        fields["rate_limit"] = tuple((int(n), float(w)) for n, w in fields["rate_limit"])
    return SandboxConfig(**fields)


def child_command() -> tuple[list[str], dict[str, str]]:
    """How this installation starts the child, and its environment: the bundle has no
    ``python -m``; from source the child imports the very copy of the app this is."""
    if getattr(sys, "frozen", False):
        return [sys.executable, SERVE_ARG], dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "desktop_app.sandbox.process"], {**os.environ, "PYTHONPATH": path}


class SandboxProcess:
    """The emulated service on ``http://127.0.0.1:<port>``, in a child process.

    ::

        with SandboxProcess(demo_config()) as service:
            httpx.post(service.base_url + "/search", params={"token": DEMO_TOKEN})

    `launch` only spawns it (the app does so before importing Qt, so it boots meanwhile);
    `start` launches if needed and waits until it serves.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._line = json.dumps(config_to_plain(config)) + "\n"
        self._proc: subprocess.Popen[str] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the demo's service process is not started")
        return self._base_url

    @property
    def pid(self) -> int | None:
        """The child's process id (None before `launch` and after `stop`)."""
        return self._proc.pid if self._proc is not None else None

    def launch(self) -> SandboxProcess:
        """Spawn the child and hand it the config, without waiting for it."""
        if self._proc is not None:
            return self
        try:
            command, env = child_command()
            proc = subprocess.Popen(
                command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, encoding="utf-8",
            )
        except OSError as exc:
            raise SandboxProcessError(
                f"The demo's service could not be started ({exc.strerror or exc})."
            ) from None
        self._proc = proc
        assert proc.stdin is not None
        with contextlib.suppress(OSError):  # a child already gone says so on stdout
            proc.stdin.write(self._line)
            proc.stdin.flush()
        return self

    def start(self, timeout: float = 10.0) -> SandboxProcess:
        """Launch (if not yet) and return once the child serves; on a failure or after
        `timeout` seconds the child is ended and `SandboxProcessError` says why."""
        if self._base_url is not None:
            return self
        proc = self.launch()._proc
        assert proc is not None and proc.stdout is not None
        answer: list[str] = []
        reader = threading.Thread(
            target=lambda: answer.append(proc.stdout.readline() if proc.stdout else ""),
            name="sandbox-process-ready", daemon=True,
        )
        reader.start()
        reader.join(timeout)
        line = answer[0].strip() if answer else None
        if line is not None and line.startswith("ready "):
            self._base_url = line.removeprefix("ready ")
            return self
        self._end(kill=True)
        if line is None:
            raise SandboxProcessError(f"The demo's service did not start within {timeout:g} s.")
        if line.startswith("error "):
            raise SandboxProcessError(line.removeprefix("error "))
        raise SandboxProcessError(
            f"The demo's service ended before it started (exit code {proc.returncode})."
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Close the child's stdin (it stops serving) and wait for it; safe to call twice."""
        self._end(timeout)

    def _end(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        proc, self._proc, self._base_url = self._proc, None, None
        if proc is None:
            return
        if kill:  # it failed to start: nothing of it is worth waiting for
            proc.kill()
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def launch_demo_early(argv: list[str]) -> SandboxProcess | None:
    """The demo's service launched now when the command line opens the demo (before the
    GUI's imports, so both boot at once); None otherwise. A launch that fails is left to
    the app to try again and report."""
    if "--demo" not in argv or "--self-test" in argv:
        return None
    try:
        return SandboxProcess(demo_config()).launch()
    except SandboxProcessError:
        return None


# ------------------------------------------------------------------------------ child


def serve_child() -> int:
    """The child's side: read the config, serve, say where; stop when stdin closes."""
    # The parent decides when this ends (Ctrl+C in a terminal reaches the whole group).
    with contextlib.suppress(ValueError, OSError, AttributeError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    first = sys.stdin.readline()
    if not first:
        return 0  # the parent went away before saying anything
    parent_gone = threading.Event()
    threading.Thread(
        target=_wait_for_eof, args=(parent_gone,), name="parent-watch", daemon=True
    ).start()
    try:
        config = config_from_plain(json.loads(first))
        from desktop_app.sandbox.server import SandboxServer

        server = SandboxServer(config).start()
    except Exception as exc:  # one sentence for the parent, never a traceback
        said = redact(str(exc)).rstrip(".") or type(exc).__name__
        print(f"error The demo's service could not start: {said}.", flush=True)
        return 1
    try:
        print(f"ready {server.base_url}", flush=True)
        parent_gone.wait()
    finally:
        server.stop()
    return 0


def _wait_for_eof(parent_gone: threading.Event) -> None:
    """Read stdin until the parent closes it or is gone (EOF either way)."""
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.read(4096):
            pass
    parent_gone.set()


if __name__ == "__main__":
    sys.exit(serve_child())
