"""Error messages describe an answer; they never quote its body (an HTML page, a call
log, whatever a proxy echoes back): one short sentence for a person to read."""

from __future__ import annotations

import json

import httpx
import pytest

from desktop_app.api.client import MyOperatorClient
from desktop_app.api.errors import MalformedResponse, MyOperatorError
from desktop_app.api.parsing import interpret_response
from desktop_app.sandbox import SandboxConfig, create_app
from tests.helpers.tokens import FAKE_TOKEN

BODY_MARK = "customer 9837211131 said something private"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, f'{{"status": "success", "data": "{BODY_MARK}"'.encode()),  # cut short
        (200, json.dumps([BODY_MARK]).encode()),  # JSON, not an object
        (200, json.dumps({"note": BODY_MARK}).encode()),  # no status, no data
        (500, f"Internal error: {BODY_MARK}".encode()),  # plain text 5xx
        (404, f"Not found: {BODY_MARK}".encode()),  # plain text 404
        (200, f"<p>{BODY_MARK}</p>".encode()),
    ],
)
def test_answers_are_described_not_quoted(status: int, body: bytes) -> None:
    with pytest.raises(MyOperatorError) as caught:
        interpret_response(status, {"content-type": "text/plain"}, body)
    message = caught.value.message
    assert BODY_MARK not in message and "9837211131" not in message
    assert message.endswith(".") and len(message) < 160


async def test_a_malformed_answer_from_the_service_is_one_short_sentence() -> None:
    app = create_app(SandboxConfig(n_logs=20, rate_limit=None, tokens={FAKE_TOKEN: 2}))
    app.sandbox.faults.add("malformed")
    async with MyOperatorClient(
        FAKE_TOKEN, base_url="http://sandbox", transport=httpx.ASGITransport(app=app)
    ) as client:
        with pytest.raises(MalformedResponse) as caught:
            await client.search_logs()
    message = caught.value.message
    assert "{" not in message and "hits" not in message and "status" not in message
    assert message == "MyOperator sent an answer that is not JSON (HTTP 200)."
