"""The generated account: deterministic, realistic, and big enough to matter."""

from __future__ import annotations

import re
from collections import Counter

from desktop_app.sandbox import SandboxConfig, SandboxState, create_app
from desktop_app.sandbox.generator import IST_OFFSET, ist_hour, ist_weekday
from desktop_app.services.clock import ManualClock
from tests.helpers.sandbox import NOW


def _state(seed: int = 7, n_logs: int = 5000) -> SandboxState:
    config = SandboxConfig(
        seed=seed, n_logs=n_logs, now=NOW, clock=ManualClock(NOW), rate_limit=None
    )
    return create_app(config).sandbox


def test_same_seed_same_data() -> None:
    first, second = _state(), _state()
    assert [u.to_api() for u in first.users] == [u.to_api() for u in second.users]
    assert [c.to_hit() for c in first.calls] == [c.to_hit() for c in second.calls]


def test_different_seed_different_data() -> None:
    first, other = _state(seed=7, n_logs=200), _state(seed=8, n_logs=200)
    assert [u.uuid for u in first.users] != [u.uuid for u in other.users]
    assert [c.id for c in first.calls] != [c.id for c in other.calls]


def test_the_team() -> None:
    users = _state(n_logs=0).users
    assert 12 <= len(users) <= 15
    roles = Counter(u.role for u in users)
    assert roles[1] == 1 and roles[2] == 2 and roles[4] == 1 and roles[8] == len(users) - 4
    mobiles = [u.contact_number for u in users if u.contact_type == "mobile"]
    assert all(re.fullmatch(r"[6-9]\d{9}", n) for n in mobiles)
    assert len({u.contact_number for u in users}) == len(users)
    extensions = [u.extension for u in users]
    assert len(set(extensions)) == len(users) and min(e or 0 for e in extensions) == 11
    assert len({u.email for u in users}) == len(users)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@[\w.-]+", u.email) for u in users)
    assert len({u.uuid for u in users}) == len(users)
    assert any(not u.is_enabled for u in users)
    assert any(u.receive_calls == 2 and u.is_enabled for u in users)


def test_calls_span_the_window_and_have_ended() -> None:
    state = _state()
    calls = state.calls
    assert len(calls) == 5000
    assert all(NOW - 30 * 86400 <= c.start_time <= c.end_time <= NOW for c in calls)
    assert [c.start_time for c in calls] == sorted((c.start_time for c in calls), reverse=True)
    assert len({c.id for c in calls}) == len(calls)


def test_mix_of_directions_and_outcomes() -> None:
    calls = _state().calls
    incoming = [c for c in calls if c.event == 1]
    assert 0.6 < len(incoming) / len(calls) < 0.7
    missed = [c for c in incoming if c.status == 2]
    assert 0.15 < len(missed) / len(incoming) < 0.25
    assert all(c.filename == "" for c in calls if c.status == 2)
    assert all(c.filename.endswith(".mp3") for c in calls if c.status == 1)
    assert any(c.voicemail for c in missed)
    assert any(not c.legs for c in missed)  # hung up in the IVR
    assert any(c.legs and c.legs[-1].ds == "CANCEL" for c in missed)
    assert any(len(c.legs[0].agents) > 1 for c in missed if c.legs)


def test_multi_leg_answered_calls() -> None:
    calls = _state().calls
    two_legs = [c for c in calls if [leg.ds for leg in c.legs] == ["NOANSWER", "ANSWER"]]
    assert len(two_legs) > 100
    for call in two_legs[:50]:
        first, second = call.legs
        assert first.agents != second.agents
        assert first.start_time + first.duration_s <= second.start_time
        assert call.start_time <= first.start_time and second.start_time <= call.end_time


def test_day_rhythm_and_sundays() -> None:
    calls = _state(n_logs=20_000).calls
    by_hour = Counter(ist_hour(c.start_time) for c in calls)
    busy = sum(by_hour[h] for h in (10, 11, 12, 15, 16, 17))
    night = sum(by_hour[h] for h in (0, 1, 2, 3, 4, 5))
    assert busy > 20 * night
    by_day = Counter(ist_weekday(c.start_time) for c in calls)
    weekday_average = sum(by_day[d] for d in range(5)) / 5
    assert by_day[6] < 0.4 * weekday_average


def test_repeat_callers_within_a_day() -> None:
    calls = _state().calls
    per_day = Counter(((c.start_time + IST_OFFSET) // 86400, c.caller_number) for c in calls)
    repeats = [count for count in per_day.values() if count >= 2]
    assert len(repeats) > 100
    assert max(repeats) >= 3


def test_every_call_carries_the_filter_dimensions() -> None:
    for call in _state(n_logs=500).calls:
        assert call.mask >> 8 & 1  # type: Call
        assert (call.mask >> 2 & 1) + (call.mask >> 3 & 1) == 1  # one source
        assert (call.mask >> 5 & 1) + (call.mask >> 6 & 1) == 1  # one event
        assert (call.mask >> 12 & 1) + (call.mask >> 13 & 1) == 1  # connected or missed


def test_a_hundred_thousand_logs() -> None:
    state = _state(n_logs=100_000)
    calls = state.calls
    assert len(calls) == 100_000
    assert len({c.id for c in calls}) == 100_000
    assert len(state.search(None, None, 99_990, 100)[1]) == 10
