"""Helpers shared by the sandbox's unit tests."""

from __future__ import annotations

from typing import Any

import httpx

from desktop_app.sandbox import DEMO_TOKEN, SandboxApp

# Tue 2023-11-14 22:13:20 UTC (03:43 IST on the Wednesday).
NOW = 1_700_000_000.0


class FakeClock:
    """A clock the test moves by hand, so nothing ever waits for real time."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client_for(app: SandboxApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """POST /search with the demo token; the envelope's data, asserting success."""
    response = await client.post("/search", params={"token": DEMO_TOKEN}, data=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    return data
