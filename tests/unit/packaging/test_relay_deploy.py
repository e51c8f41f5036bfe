"""The relay's deployment files say what the code does: the systemd unit is one systemd
accepts without a warning and runs a command line the CLI takes; the example settings
name exactly the variables the relay reads and start it once filled in; the Compose file
and image run the same command on a Redis that keeps its append-only file."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.cli import build_parser
from desktop_app.relay.config import RelayConfig

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "relay"
UNIT = DEPLOY / "myoperator-relay.service"


def exec_start() -> list[str]:
    [line] = [line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def example_settings() -> dict[str, str]:
    """The example file's variables, commented-out ones included (value after '=')."""
    settings = {}
    for line in (DEPLOY / "relay.env.example").read_text().splitlines():
        match = re.match(r"^#?([A-Z_]+)=(.*)$", line)
        if match:
            settings[match[1]] = match[2]
    return settings


def test_the_unit_runs_a_command_line_the_cli_takes() -> None:
    command = exec_start()

    assert command[0].endswith("/bin/myoperator")
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.host, args.port, args.check) == ("relay", "127.0.0.1", 8780, False)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    # The same unit, its program where this checkout has it (verify checks it exists).
    installed = str(Path(sys.executable).with_name("myoperator"))
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(exec_start()[0], installed))

    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_example_settings_are_the_ones_the_relay_reads_and_start_it_when_filled() -> None:
    settings = example_settings()
    source = "\n".join(
        path.read_text() for path in Path(DEPLOY.parents[1], "desktop_app", "relay").glob("*.py")
    )
    read = set(re.findall(r'"(MYOPERATOR_[A-Z_]+)"', source)) | {"MYOPERATOR_TOKEN"}

    assert set(settings) <= read | {"MYOPERATOR_BASE_URL"}
    assert {"MYOPERATOR_RELAY_HOOK_SECRET", "MYOPERATOR_TOKEN"} <= set(settings)
    filled = {**settings, "MYOPERATOR_RELAY_HOOK_SECRET": "0123456789abcdef0123456789abcdef"}
    config = RelayConfig.from_environ(filled)
    assert config.hook_auth == ("X-Relay-Auth", "change-me")
    assert (config.heartbeat_s, config.poll_interval_s) == (15.0, 900.0)


def test_compose_runs_the_image_on_redis_with_its_append_only_file() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert '"--appendonly", "yes"' in compose
    assert "env_file: relay.env" in compose
    assert "dockerfile: deploy/relay/Dockerfile" in compose
    root = DEPLOY.parents[1]
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for name in source.split():
            assert (root / name).exists(), name
    assert "--require-hashes -r requirements.lock" in dockerfile
    entry = re.search(r'^ENTRYPOINT \["myoperator", "relay"\]\nCMD \[(.+)\]$', dockerfile, re.M)
    assert entry is not None
    args = build_parser().parse_args(["relay", *re.findall(r'"([^"]+)"', entry[1])])
    assert (args.host, args.port) == ("0.0.0.0", 8780)
