"""One check for the base URL, shared by the command and the desktop app: a bad value is
one sentence before anything is sent, never a traceback from deep inside httpx."""

from __future__ import annotations

import httpx
import pytest

from desktop_app.api.client import (
    BASE_URL_ENV,
    LIVE_BASE_URL,
    MyOperatorClient,
    base_url_from,
    normalize_base_url,
)
from desktop_app.api.errors import InvalidBaseUrl, ValidationError
from tests.helpers.tokens import FAKE_TOKEN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://developers.myoperator.co", "https://developers.myoperator.co"),
        ("  http://127.0.0.1:8765/  ", "http://127.0.0.1:8765"),
        ("http://[::1]:8765", "http://[::1]:8765"),
        ("http://relay.example.com:8443/myoperator/", "http://relay.example.com:8443/myoperator"),
        ("http://sandbox", "http://sandbox"),
    ],
)
def test_usable_urls_are_normalised(text: str, expected: str) -> None:
    assert normalize_base_url(text) == expected
    httpx.URL(expected)  # and httpx takes it


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://[::1", "well-formed"),
        ("http://127.0.0.1:99999", "port"),
        ("http://127.0.0.1:0", "port"),
        ("http://127.0.0.1:-1", "port"),
        ("http://127.0.0.1:http", "port"),
        ("127.0.0.1:8765", "http://"),
        ("ftp://example.com", "http://"),
        ("http://", "host"),
        ("http://:8765", "host"),
        ("http://exa mple.com", "spaces"),
        ("http://example.com/\x00", "control"),
        ("http://%zz", "host"),
        ("http://example.com/?x=1", "query"),
        ("", "empty"),
    ],
)
def test_unusable_urls_get_one_sentence(text: str, reason: str) -> None:
    with pytest.raises(InvalidBaseUrl) as caught:
        normalize_base_url(text, source="--base-url")
    message = caught.value.message
    assert reason in message
    assert message.startswith("--base-url") and message.endswith(".")
    assert "\n" not in message and len(message) < 200
    # A ValueError for start-up code, a ValidationError for the command's exit code.
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ValidationError)


def test_a_secret_in_the_url_is_refused_without_being_repeated() -> None:
    for text in (f"http://user:{FAKE_TOKEN}@example.com", f"http://example.com/?token={FAKE_TOKEN}"):
        with pytest.raises(InvalidBaseUrl) as caught:
            normalize_base_url(text)
        assert FAKE_TOKEN not in caught.value.message
        assert "example.com" in caught.value.message


def test_a_secret_pasted_as_the_address_is_refused_without_being_repeated() -> None:
    credential = "mor_FAKE0credential0for0tests0only"
    for text in (FAKE_TOKEN, f"  {credential}\n"):
        with pytest.raises(InvalidBaseUrl) as caught:
            normalize_base_url(text, source="The relay's address")
        message = caught.value.message
        assert message.startswith("The relay's address looks like a token or credential")
        assert FAKE_TOKEN not in message and credential not in message
    # Beside other text, or as a path, it is refused all the same and not repeated.
    for text in (f"Bearer {credential}", f"https://relay.example.com/{credential}"):
        with pytest.raises(InvalidBaseUrl) as caught:
            normalize_base_url(text, source="The relay's address")
        assert credential not in caught.value.message
    # A long host name without http:// is quoted as usual.
    with pytest.raises(InvalidBaseUrl, match=r"'relay-of-the-whole-company\.example\.com'"):
        normalize_base_url("relay-of-the-whole-company.example.com")


def test_the_source_decides_and_names_itself() -> None:
    env = {BASE_URL_ENV: "http://127.0.0.1:99999"}
    assert base_url_from("http://127.0.0.1:8765/", env) == "http://127.0.0.1:8765"
    with pytest.raises(InvalidBaseUrl, match=f"^{BASE_URL_ENV} "):
        base_url_from(None, env)
    with pytest.raises(InvalidBaseUrl, match=r"^--base-url "):
        base_url_from("http://[::1", {})
    assert base_url_from(None, {BASE_URL_ENV: "  "}) == LIVE_BASE_URL
    assert base_url_from(None, {}) == LIVE_BASE_URL


def test_the_client_refuses_an_unusable_url_itself() -> None:
    with pytest.raises(InvalidBaseUrl):
        MyOperatorClient(FAKE_TOKEN, base_url="http://127.0.0.1:99999")
