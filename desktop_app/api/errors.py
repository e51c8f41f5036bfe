"""The only exceptions that leave the API client.

Every message is redacted at construction, so an error can be logged or shown as it is.
"""

from __future__ import annotations

from desktop_app.api.redact import redact


class MyOperatorError(Exception):
    """Base of every error the client raises; its text never carries the token."""

    def __init__(self, message: str) -> None:
        self.message = redact(message)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationError(MyOperatorError):
    """Input the API would refuse; `sent` is False when it was caught before any request."""

    def __init__(self, message: str, *, field: str | None = None, sent: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.sent = sent


class RelayRefused(ValidationError):
    """The team relay did not pass the request on (a colleague is calling the number back,
    the team's allowance is spent); its message says why in full: nothing was done."""


class TokenRejected(MyOperatorError):
    """The service answered "This not an authorized request": a wrong or truncated token."""


class PermissionDenied(MyOperatorError):
    """The token is valid but its user's role may not do this (e.g. add users)."""


class NotFound(MyOperatorError):
    """The thing asked for does not exist."""


class NotReadyYet(NotFound):
    """A recording the service has not finished processing ("no voice file found")."""


class RateLimited(MyOperatorError):
    """The account's request limit is spent; `retry_after` seconds until it refills."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetUnavailable(MyOperatorError):
    """The account's shared request budget cannot be read (a team relay's Redis is down):
    nothing is sent, because counting alone would overspend what the others share."""


class ServerError(MyOperatorError):
    """The service or a proxy in front of it failed (5xx, an HTML error page)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NetworkError(MyOperatorError):
    """No usable answer came back: DNS, refused or dropped connection, timeout."""


class MalformedResponse(MyOperatorError):
    """An answer that is not the envelope the contract describes."""


class OutcomeUnknown(MyOperatorError):
    """A non-idempotent request (click-to-call, add or update user) may have reached the
    server but no clear answer came back: it may or may not have taken effect."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(message)
        self.operation = operation


class InvalidBaseUrl(ValidationError, ValueError):
    """A base URL (``--base-url``, ``$MYOPERATOR_BASE_URL``) no request could be sent to.

    Also a `ValueError`, so start-up code that knows nothing of the API can catch it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, field="base_url")
