"""What the emulated service's webhooks carry and how their faults are written: the
relay's own parsers read every payload back (one contract, both ends), and a faulty spec
or command line is one sentence."""

from __future__ import annotations

import pytest

from desktop_app.cli import UsageError, build_parser, webhook_settings
from desktop_app.relay.events import EventKind, after_call_event, in_call_event
from desktop_app.sandbox import SandboxConfig
from desktop_app.sandbox.state import SandboxState
from desktop_app.sandbox.webhooks import (
    WebhookFault,
    after_call_payload,
    in_call_payloads,
    parse_webhook_faults,
)


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(SandboxConfig(n_logs=20, rate_limit=None))


def test_an_answered_calls_webhooks_read_back_as_ringing_answered_and_ended(
    state: SandboxState,
) -> None:
    call = state.add_call(answered=True, caller_number="9811100033")

    events = [in_call_event(p) for p in in_call_payloads(call)]
    ended = after_call_event(after_call_payload(call))

    assert [e.kind for e in events] == [EventKind.CALL_RINGING, EventKind.CALL_ANSWERED]
    assert {e.call_id for e in events} == {call.id}
    assert events[0].body["caller"] == "+919811100033"
    assert events[1].live_call().agents[0].user_id == state.users[0].uuid
    log = ended.call_log()
    assert (log.id, log.answered, log.caller_number) == (call.id, True, call.caller_number)


def test_a_missed_call_rings_and_ends_without_being_answered(state: SandboxState) -> None:
    call = state.add_call(answered=False)

    assert [p["call_state"] for p in in_call_payloads(call)] == [0]
    assert not after_call_event(after_call_payload(call)).call_log().answered


def test_logged_calls_are_heard_until_unsubscribed(state: SandboxState) -> None:
    heard: list[str] = []
    unsubscribe = state.on_logged(lambda call: heard.append(call.id))
    first = state.add_call()
    unsubscribe()
    state.add_call()

    assert heard == [first.id]


def test_fault_specs_are_read_and_a_bad_one_is_one_sentence() -> None:
    assert parse_webhook_faults("drop:p=0.2; duplicate:count=1,hook=after-call;") == (
        WebhookFault("drop", p=0.2),
        WebhookFault("duplicate", count=1, hook="after-call"),
    )
    for spec, says in [
        ("vanish", "unknown webhook fault"),
        ("drop:p=2", "between 0 and 1"),
        ("late:ms=x", "webhook fault 'late:ms=x'"),
        ("drop:hook=both", "hook must be"),
        ("drop:when=now", "unknown webhook fault option"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_webhook_faults(spec)


def test_the_sandbox_command_takes_webhook_urls_auth_and_faults() -> None:
    args = build_parser().parse_args([
        "sandbox", "--after-call-url", "http://127.0.0.1:8780/hooks/s/after-call",
        "--webhook-auth", "X-Relay-Auth: abc", "--webhook-fault", "drop:p=0.5",
    ])
    settings = webhook_settings(args)

    assert settings is not None
    assert settings.auth_header == ("X-Relay-Auth", "abc")
    assert settings.in_call_url is None
    assert settings.faults == (WebhookFault("drop", p=0.5),)
    assert webhook_settings(build_parser().parse_args(["sandbox"])) is None


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--webhook-fault", "drop"], "need --after-call-url"),
        (["--after-call-url", "ftp://x/y"], "not an http"),
        (["--in-call-url", "http://x/y", "--webhook-auth", "no colon"], "must look like"),
        (["--in-call-url", "http://x/y", "--webhook-fault", "drop:p=9"], "between 0 and 1"),
    ],
)
def test_a_faulty_webhook_command_line_is_refused(argv: list[str], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        webhook_settings(build_parser().parse_args(["sandbox", *argv]))
