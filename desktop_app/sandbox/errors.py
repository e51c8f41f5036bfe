"""The error envelope, as an exception the handlers raise and the app turns into JSON."""

from __future__ import annotations

UNAUTHORIZED = "This not an authorized request"


class ApiError(Exception):
    """``{"status": "error", "code": code, "message": message}`` with HTTP `http_status`.

    `http_status` defaults to `code`; the live service sometimes answers HTTP 200 with an
    error envelope, which is modelled by passing ``http_status=200``.
    """

    def __init__(
        self,
        message: str,
        code: int = 400,
        *,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = code if http_status is None else http_status
        self.headers = headers or {}

    def envelope(self) -> dict[str, object]:
        return {"status": "error", "code": self.code, "message": self.message}
