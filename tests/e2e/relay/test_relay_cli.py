"""``myoperator relay``: an admin issues, lists and revokes agents' credentials, checks a new
install, and every mistake ends in one sentence."""

from __future__ import annotations

import socket

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.relay.config import HOOK_SECRET_ENV, REDIS_ENV
from desktop_app.sandbox import SandboxServer
from tests.e2e.relay.conftest import HOOK_SECRET, run_cli
from tests.helpers.loopback import live_server as live_server
from tests.helpers.loopback import server as server
from tests.helpers.redis_server import RedisServer
from tests.helpers.tokens import FAKE_TOKEN


def test_an_admin_issues_lists_and_revokes_credentials(relay_environ: dict[str, str]) -> None:
    added = run_cli(relay_environ, "relay", "agent", "add", "Priya Sharma")
    admin = run_cli(relay_environ, "relay", "agent", "add", "Meera", "--admin")
    listed = run_cli(relay_environ, "relay", "agent", "list")
    revoked = run_cli(relay_environ, "relay", "agent", "revoke", "Priya Sharma")
    again = run_cli(relay_environ, "relay", "agent", "revoke", "Priya Sharma")
    after = run_cli(relay_environ, "relay", "agent", "list")

    assert added.returncode == 0, added.stderr
    credential = added.stdout.splitlines()[-1]
    assert credential.startswith("mor_") and len(credential) > 40
    assert "shown once" in added.stdout
    assert "(may add and change users)" in admin.stdout
    meera, priya = listed.stdout.splitlines()
    assert meera.startswith("Meera\tissued ") and meera.endswith(" UTC\tadmin")
    assert priya.startswith("Priya Sharma\tissued ") and priya.endswith(" UTC")
    assert credential not in listed.stdout
    assert revoked.returncode == 0 and "signed out" in revoked.stdout
    assert again.returncode == 5
    assert again.stderr.strip() == "myoperator: No agent named 'Priya Sharma' holds a credential."
    assert after.stdout.startswith("Meera\t")


def test_an_agent_is_linked_to_their_myoperator_user_and_a_bad_uuid_is_refused(
    relay_environ: dict[str, str],
) -> None:
    uuid = "3965edd0-a955-4199-80c0-754fc76cecb4"
    linked = run_cli(relay_environ, "relay", "agent", "add", "Priya", "--user", uuid)
    bad = run_cli(relay_environ, "relay", "agent", "add", "Arjun", "--user", "not a uuid")
    listed = run_cli(relay_environ, "relay", "agent", "list")

    assert linked.returncode == 0, linked.stderr
    assert listed.stdout.splitlines() == [
        line for line in listed.stdout.splitlines() if line.startswith("Priya\t")
    ]
    assert listed.stdout.rstrip().endswith(f" UTC\tuser {uuid}")
    assert bad.returncode == 2
    assert "not a valid user id" in bad.stderr and "myoperator users" in bad.stderr


def test_a_name_that_cannot_be_listed_plainly_is_refused(relay_environ: dict[str, str]) -> None:
    result = run_cli(relay_environ, "relay", "agent", "add", "Priya\tAdmin")

    assert result.returncode == 2
    assert result.stderr.startswith("myoperator: An agent's name is")


def test_check_passes_on_a_complete_install_and_says_where_webhooks_go(
    relay_environ: dict[str, str], server: SandboxServer
) -> None:
    environ = {**relay_environ, "MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url}
    run_cli(environ, "relay", "agent", "add", "Priya")
    searches = len(server.state.requests_to("/search"))

    result = run_cli(environ, "relay", "--check")

    assert result.returncode == 0, result.stdout
    assert "PROBLEM" not in result.stdout
    assert f"MyOperator accepted the API token ({server.base_url})" in result.stdout
    assert len(server.state.requests_to("/search")) == searches + 1
    assert "append-only file" in result.stdout
    assert f"/hooks/{HOOK_SECRET}/after-call" in result.stdout
    assert f"/hooks/{HOOK_SECRET}/in-call" in result.stdout
    assert "All checks passed." in result.stdout
    assert FAKE_TOKEN not in result.stdout + result.stderr


def test_check_says_when_myoperator_refuses_the_token(
    relay_environ: dict[str, str], server: SandboxServer
) -> None:
    refused = "0123456789abcdef0123456789abcdef"  # the right shape, not the account's
    environ = {**relay_environ, "MYOPERATOR_TOKEN": refused, BASE_URL_ENV: server.base_url}
    run_cli(environ, "relay", "agent", "add", "Priya")

    result = run_cli(environ, "relay", "--check")

    assert result.returncode == 5
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 1 and problems[0].startswith("PROBLEM MYOPERATOR_TOKEN: ")
    assert "1 problem(s) to fix." in result.stdout
    assert refused not in result.stdout + result.stderr


def test_check_names_each_problem_of_a_half_done_install(
    relay_environ: dict[str, str], redis_server: RedisServer
) -> None:
    environ = {key: value for key, value in relay_environ.items() if key != HOOK_SECRET_ENV}
    environ.pop("MYOPERATOR_TOKEN", None)
    redis_server.stop()

    result = run_cli(environ, "relay", "--check")

    assert result.returncode == 5
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 3, result.stdout
    assert HOOK_SECRET_ENV in problems[0]
    assert "Redis does not answer" in problems[1]
    assert "MYOPERATOR_TOKEN" in problems[2]
    assert "3 problem(s) to fix." in result.stdout


def test_serving_without_its_settings_or_its_port_says_so_in_one_sentence(
    relay_environ: dict[str, str],
) -> None:
    unset = {key: value for key, value in relay_environ.items() if key != HOOK_SECRET_ENV}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run_cli(relay_environ, "relay", "--port", port)

    no_secret = run_cli(unset, "relay", "--port", "0")
    bad_port = run_cli(relay_environ, "relay", "--port", "70000")

    assert no_secret.returncode == 2
    assert no_secret.stderr.startswith(f"myoperator: Set {HOOK_SECRET_ENV}")
    assert busy.returncode == 5
    assert busy.stderr.startswith(f"myoperator: Cannot listen on 127.0.0.1:{port}")
    assert bad_port.returncode == 2
    for result in (no_secret, busy, bad_port):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_agent_commands_with_redis_gone_say_where_they_looked(
    relay_environ: dict[str, str], redis_server: RedisServer
) -> None:
    redis_server.stop()

    result = run_cli(relay_environ, "relay", "agent", "list")

    assert result.returncode == 5
    assert result.stderr.strip() == (
        f"myoperator: Redis does not answer at {relay_environ[REDIS_ENV]}: "
        f"start it, or set {REDIS_ENV}."
    )
