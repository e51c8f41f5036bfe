"""A desktop's side of claims on callbacks (no Qt): "I'm on it" and "Release" sent to the
team relay (`relay.claim_routes`) with the agent's credential as a bearer token.

What the team sees of a claim comes back through the event stream, like everyone else's
(`services.team_claims`); these calls only ask. A refusal (another agent holds the
number) is `ClaimRefused` with the relay's sentence, to be shown as it is; a refused
credential is `RelayAuthError`, as from the stream.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from desktop_app.relay.client import RelayAuthError
from desktop_app.relay.events import CallbackClaim


class ClaimRefused(Exception):
    """The relay said no (a colleague is on this callback); the message says so."""


class ClaimUnavailable(Exception):
    """The relay could not be asked or could not answer; nothing is known to have changed."""


class RelayClaims:
    """Claims and releases callbacks as one agent; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        credential: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {credential}", "Accept": "application/json"}
        self._client = client
        self._own_client = client is None
        self._timeout = httpx.Timeout(timeout_s)

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def claim(self, number: str) -> CallbackClaim:
        """Put this agent on `number`'s callback (renewed if already theirs)."""
        body = await self._send("POST", "/v1/claims", json={"number": number})
        return CallbackClaim(
            number=str(body.get("number", number)),
            agent=str(body.get("agent", "")),
            at_ms=int(body.get("at_ms", 0)),
            until_ms=int(body.get("until_ms", 0)),
        )

    async def release(self, number: str) -> bool:
        """Let `number`'s callback go; False when nobody held it (it had lapsed)."""
        body = await self._send("DELETE", "/v1/claims/" + quote(number, safe="+"))
        return bool(body.get("released"))

    async def whoami(self) -> str:
        """This credential's agent name (to tell this agent's claims from others')."""
        return str((await self._send("GET", "/v1/agent")).get("agent", ""))

    async def _send(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.request(
                method, self._base_url + path, headers=self._headers, **options
            )
        except httpx.HTTPError as exc:
            raise ClaimUnavailable(
                f"The team relay could not be reached ({type(exc).__name__})."
            ) from None
        body = _json(response)
        message = str(body.get("message") or "")
        if response.status_code in (401, 403):
            raise RelayAuthError(message or "The relay refused this agent credential.")
        if response.status_code == 409:
            raise ClaimRefused(message or "The team relay refused this claim.")
        if response.status_code != 200:
            raise ClaimUnavailable(
                message or f"The team relay could not answer (HTTP {response.status_code})."
            )
        return body


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        decoded = json.loads(response.content)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
