"""The async MyOperator client: every operation, budgeted, retried only where safe.

Reads (search, filters, list users, recording link) are retried on connection failures,
429 and proxy errors. Click-to-call, add user and update user are sent at most once per
call: once the request may have reached the server, a failure is reported as an unknown
outcome, never resent, because a resent click-to-call rings a customer twice.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import logging
import os
import random
import re
import ssl
import stat
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import httpx

from desktop_app.api import parsing, validation
from desktop_app.api.budget import Priority, RequestBudget
from desktop_app.api.errors import (
    InvalidBaseUrl,
    MyOperatorError,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.models import (
    CallPlaced,
    FilterGroup,
    LogPage,
    NewUser,
    RecordingLink,
    User,
    UserPage,
    UserUpdate,
)
from desktop_app.api.probe import Reachability, classify_failure, failure_detail
from desktop_app.api.redact import install_redacting_filter, redact, register_secret
from desktop_app.partial_files import PART_SUFFIX, reserve_partial

LIVE_BASE_URL: Final = "https://developers.myoperator.co"
#: Where the command and the desktop app read a base URL other than the live one.
BASE_URL_ENV: Final = "MYOPERATOR_BASE_URL"
log = logging.getLogger(__name__)
# httpx logs every request's full URL, token included, on its own logger.
install_redacting_filter(logging.getLogger("httpx"))

_Result = TypeVar("_Result")
_RETRYABLE_STATUSES = frozenset({502, 503, 504})
# Answers to a mutation that say the service did NOT act on it: only these are refusals.
# Anything else after the request left (429, 5xx, an HTML page, garbled JSON) is an
# unknown outcome: a 429 or a 502 may come from a proxy after the service acted.
CLEAR_REFUSALS = (ValidationError, TokenRejected, PermissionDenied, NotFound)


class SharedTls:
    """One verifying TLS context for every client of the process.

    httpx builds a context per client (the CA bundle read and parsed: tens of ms, on the
    window's thread for the account's client and again for its sync twin). Built once
    here, and `prepare` builds it on a worker thread early in the start (OpenSSL reads
    the bundle with the GIL released), so the first client takes it ready-made. The
    context is httpx's own default (`httpx.create_ssl_context`: certifi's bundle, or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``), so verification is exactly what it was.
    """

    def __init__(self, make: Callable[[], ssl.SSLContext] = httpx.create_ssl_context) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    def get(self) -> ssl.SSLContext:
        """The context, built by the first caller (a second waits for it)."""
        with self._lock:
            if self._context is None:
                self._context = self._make()
            return self._context

    def prepare(self) -> threading.Thread:
        """Start building the context on a daemon thread (returned, for tests to join),
        and import there the transport httpx imports on a client's construction
        (httpcore: ~17 ms on the window's thread, while it is busy with Qt's C++ with the
        GIL released)."""
        thread = threading.Thread(target=self._prepare, name="tls-context", daemon=True)
        thread.start()
        return thread

    def _prepare(self) -> None:
        importlib.import_module("httpcore")
        self.get()


#: The process's TLS context for every `MyOperatorClient` without a transport of its own.
TLS: Final = SharedTls()


def normalize_base_url(text: str, *, source: str = "The API base URL") -> str:
    """The base URL every request is built on, checked once, before anything is sent.

    Accepts ``http``/``https`` with a host, an optional port (1-65535) and path; a trailing
    ``/`` is dropped. Refuses anything httpx would choke on later (with a traceback) and
    anything that would put a secret or a stray query into every request. `source` names
    where the value came from in the message (``--base-url``, ``MYOPERATOR_BASE_URL``).
    Raises `InvalidBaseUrl` with one sentence.
    """
    raw = text.strip()
    shown = _shown_url(raw)

    def refuse(reason: str) -> InvalidBaseUrl:
        return InvalidBaseUrl(f"{source} {shown} is not a usable address: {reason}.")

    if not raw:
        raise InvalidBaseUrl(f"{source} is empty: give an address such as {LIVE_BASE_URL}.")
    if _SECRET_SHAPED.fullmatch(raw):
        # A token or credential pasted in the wrong field: never quoted back.
        raise InvalidBaseUrl(
            f"{source} looks like a token or credential, not an address: paste the "
            "address (such as https://…) there, and the secret in its own field."
        )
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in raw):
        raise refuse("it contains spaces or control characters")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        reason = "the port must be a number from 1 to 65535" if "Port" in str(exc) else (
            "it is not a well-formed URL"
        )
        raise refuse(reason) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse("it must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise refuse("it must not carry a user name or password")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise refuse("it must not have a query (?) or fragment (#)")
    host = parts.hostname or ""
    if not host:
        raise refuse("it has no host name")
    if not _plausible_host(host):
        raise refuse("its host name is not valid")
    if port is not None and not 1 <= port <= 65535:
        raise refuse("the port must be a number from 1 to 65535")
    if any(_SECRET_SHAPED.fullmatch(segment) for segment in parts.path.split("/")):
        # Stored in the settings and shown in Preferences: never a secret's place.
        raise refuse("its path holds what looks like a token or credential")
    try:
        httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise refuse("it is not a well-formed URL") from None
    return raw.rstrip("/")


def base_url_from(given: str | None, environ: Mapping[str, str]) -> str:
    """The base URL to use: `given` (``--base-url``), else ``$MYOPERATOR_BASE_URL``, else
    the live service; checked by `normalize_base_url`, the message naming its source."""
    if given is not None:
        return normalize_base_url(given, source="--base-url")
    from_env = environ.get(BASE_URL_ENV, "")
    if from_env.strip():
        return normalize_base_url(from_env, source=BASE_URL_ENV)
    return LIVE_BASE_URL


#: A long run of letters and digits: MyOperator's tokens (32) and the relay's credentials
#: (47) are shaped so; an address's parts, between its dots and slashes, are shorter.
_SECRET_SHAPED: Final = re.compile(r"[A-Za-z0-9_-]{32,}")


def _shown_url(text: str) -> str:
    """A URL quoted back: bounded, on one line, and cut before anything secret-looking."""
    for mark in ("?", "#"):
        text = text.split(mark, 1)[0] + ("…" if mark in text else "")
    scheme, sep, rest = text.rpartition("://")
    if "@" in rest:
        text = f"{scheme}{sep}…@{rest.rsplit('@', 1)[1]}"
    text = "".join(c if c.isprintable() and not c.isspace() else " " for c in text)
    text = _SECRET_SHAPED.sub("…", text)  # "Bearer mor_…", a token after a slash
    return repr(text if len(text) <= 60 else text[:59] + "…")


def _plausible_host(host: str) -> bool:
    """A DNS name (letters of any script, digits, ``-``, ``.``, ``_``) or an IP literal."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return False
        return True
    labels = host.rstrip(".").split(".")
    return all(
        label and all(c.isalnum() or c in "-_" for c in label) for label in labels
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How reads are retried; mutations ignore it."""

    attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    # A Retry-After longer than this is reported instead of waited out.
    max_retry_after_s: float = 60.0
    # How long a request may wait for the request budget before giving up.
    max_budget_wait_s: float = 90.0


class MyOperatorClient:
    """One per account; owns its httpx client unless one is given."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = LIVE_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RequestBudget | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rng: random.Random | None = None,
        as_bearer: bool = False,
    ) -> None:
        token = token.strip()
        if not token:
            raise ValidationError("No API token is configured.", field="token")
        register_secret(token)
        self._token = token
        #: Send the secret as ``Authorization: Bearer`` instead of MyOperator's ``token``
        #: parameter: a team relay's agent credential, kept out of proxies' access logs.
        self._as_bearer = as_bearer
        self._transport = transport
        self.base_url = normalize_base_url(base_url)
        self.budget = budget if budget is not None else RequestBudget()
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        #: The operation of the latest mutation (click-to-call, add or update user) whose
        #: request was handed to the network; None until one is. A caller interrupted
        #: while it was in flight reads it: that outcome is unknown, not "not done".
        self.mutation_sent: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            # A transport given brings its own TLS (or none): the shared one is not built.
            verify=TLS.get() if transport is None else True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": "MyOperator-Desktop/0.1", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"MyOperatorClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> MyOperatorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def twin(self) -> MyOperatorClient:
        """The same account, budget and policies over a connection pool of its own: httpx
        binds a pool to the event loop that first uses it, so another loop (the sync
        thread's) needs its own client. Close each twin on the loop that used it."""
        return MyOperatorClient(
            self._token, base_url=self.base_url, transport=self._transport,
            budget=self.budget, timeout=self._timeout, retry=self._retry, sleep=self._sleep,
            rng=self._rng, as_bearer=self._as_bearer,
        )

    # ----------------------------------------------------------------- reads

    async def search_logs(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        offset: int = 0,
        page_size: int = 20,
        search: str | None = None,
        filters: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> LogPage:
        """One page of the call log; `retry` replaces the client's policy for this call."""
        params = validation.search_params(
            start=start, end=end, offset=offset, page_size=page_size, search=search,
            filters=filters,
        )
        body = await self._read("POST", "/search", params, retry=retry)
        return parsing.parse_log_page(body.get("data"), offset=offset, page_size=page_size)

    async def iter_logs(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        search: str | None = None,
        filters: str | None = None,
        page_size: int = 100,
        limit: int | None = None,
    ) -> AsyncIterator[LogPage]:
        """Pages newest first, advancing `log_from`, until a short page or `limit` logs."""
        offset = 0
        while True:
            size = page_size if limit is None else max(1, min(page_size, limit - offset))
            page = await self.search_logs(
                start=start, end=end, offset=offset, page_size=size, search=search,
                filters=filters,
            )
            yield page
            offset += len(page.logs)
            if page.is_last or not page.logs or (limit is not None and offset >= limit):
                return

    async def filters(self) -> tuple[FilterGroup, ...]:
        body = await self._read("GET", "/filters", {})
        return parsing.parse_filters(body.get("data"))

    async def list_users(
        self,
        *,
        keyword: str | None = None,
        page: int = 1,
        page_size: int = 20,
        retry: RetryPolicy | None = None,
    ) -> UserPage:
        params = validation.user_list_params(
            keyword=keyword, page=page, page_size=page_size, all_users=False
        )
        body = await self._read("GET", "/user", params, retry=retry)
        return parsing.parse_user_page(body, page=page)

    async def all_users(self, *, keyword: str | None = None) -> tuple[User, ...]:
        """Everyone in one request (`_all=1`): cheaper on the budget than paging."""
        params = validation.user_list_params(
            keyword=keyword, page=1, page_size=validation.MAX_PAGE_SIZE, all_users=True
        )
        body = await self._read("GET", "/user", params)
        return parsing.parse_user_page(body, page=1).users

    async def iter_users(
        self, *, keyword: str | None = None, page_size: int = 100
    ) -> AsyncIterator[UserPage]:
        page_number = 1
        while True:
            page = await self.list_users(keyword=keyword, page=page_number, page_size=page_size)
            yield page
            if page.next_page is None or page.next_page <= page_number or not page.users:
                return
            page_number = page.next_page

    async def recording_link(
        self, filename: str, *, retry: RetryPolicy | None = None
    ) -> RecordingLink:
        params = validation.recording_params(filename)
        body = await self._read("GET", "/recordings/link", params, retry=retry)
        return parsing.parse_recording_link(body)

    async def reach(self) -> Reachability:
        """Whether anything answers at the base URL, and if nothing does, why.

        One GET of the base URL without the token: it tests the way there (DNS, the
        connection, TLS, proxies) and spends none of the account's requests. Any HTTP
        status is an answer; the body is not read. Never raises for the network.
        """
        request = self._http.build_request("GET", "/")
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.send(request, stream=True)
                await response.aclose()
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return Reachability(None, classify_failure(exc), failure_detail(exc))
        return Reachability(response.status_code)

    async def download_recording(
        self,
        filename: str,
        destination: Path,
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """Fetch a fresh link and download to `destination` atomically.

        The body goes to a partial file of this download's own beside `destination`
        (random name, ``O_EXCL``), is flushed to disk, then renamed into place: two
        downloads to one target both succeed (the last rename wins), a failing one deletes
        only its own partial file, and a crash never leaves a truncated `destination`.
        The link is used once and forgotten: it expires, and it is a credential of sorts.
        """
        await asyncio.to_thread(_refuse_unless_regular_or_absent, destination)
        link = await self.recording_link(filename)
        partial = await asyncio.to_thread(
            reserve_partial, destination.parent, suffix=PART_SUFFIX
        )
        try:
            await self._download(link.url, partial, progress)
            await asyncio.to_thread(os.replace, partial, destination)
        except BaseException:
            # At once, not in a thread: a cancelled download must not leave its file.
            partial.unlink(missing_ok=True)
            raise
        return destination

    async def _download(
        self, url: str, partial: Path, progress: Callable[[int, int | None], None] | None
    ) -> None:
        last_error: MyOperatorError | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                await self._sleep(self._backoff(attempt))
            try:
                async with self._http.stream("GET", url) as response:
                    if response.status_code == 404:
                        raise NotFound("The recording file is no longer available.")
                    if response.status_code >= 400:
                        error = ServerError(
                            f"Downloading the recording failed (HTTP {response.status_code}).",
                            status=response.status_code,
                        )
                        if response.status_code in _RETRYABLE_STATUSES:
                            last_error = error
                            continue
                        raise error
                    total = _content_length(response.headers)
                    received = 0
                    # "wb" truncates only this download's own file (an earlier attempt).
                    with partial.open("wb") as out:
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                            received += len(chunk)
                            if progress is not None:
                                progress(received, total)
                        out.flush()
                        # On disk before the rename: after a crash the destination holds
                        # the old file or the whole new one, never a truncated one.
                        await asyncio.to_thread(os.fsync, out.fileno())
                    if total is not None and received != total:
                        raise NetworkError("The recording download was cut short.")
                    return
            except httpx.HTTPError as exc:
                last_error = _network_error(exc, "Downloading the recording")
            except NetworkError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    # ------------------------------------------------------------- mutations

    async def click_to_call(
        self, customer_number: str, customer_cc: str | int | None, support_user_id: str
    ) -> CallPlaced:
        """Ask the cloud to ring the agent, then the customer. Sent at most once."""
        params = validation.click_to_call_params(customer_number, customer_cc, support_user_id)
        return await self._mutate(
            "POST", "/clickOcall", params, operation="click-to-call",
            read=parsing.parse_call_placed,
        )

    async def add_user(self, user: NewUser) -> str | None:
        """Create a user; returns the new user's uuid when the service says it."""
        params = validation.new_user_params(user)
        return await self._mutate(
            "POST", "/user", params, operation="add user", read=_new_user_uuid
        )

    async def update_user(self, update: UserUpdate) -> str | None:
        """Change the given fields; returns the service's message."""
        params = validation.user_update_params(update)
        return await self._mutate(
            "PUT", "/user", params, operation="update user", read=_answer_message
        )

    async def set_receives_calls(self, uuid: str, receives_calls: bool) -> str | None:
        """The do-not-disturb switch integrations use: a PUT of just uuid and receive_calls."""
        return await self.update_user(UserUpdate(uuid=uuid, receive_calls=receives_calls))

    # -------------------------------------------------------------- plumbing

    def _backoff(self, attempt: int, policy: RetryPolicy | None = None) -> float:
        policy = policy if policy is not None else self._retry
        ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    def _request(
        self, method: str, path: str, params: Mapping[str, str]
    ) -> httpx.Request:
        if self._as_bearer:
            query: dict[str, str] = {}
            headers = {"Authorization": f"Bearer {self._token}"}
        else:
            query, headers = {"token": self._token}, {}
        if method == "GET":
            query.update(params)
            return self._http.build_request(method, path, params=query, headers=headers)
        return self._http.build_request(
            method, path, params=query, data=dict(params), headers=headers
        )

    async def _send_once(self, request: httpx.Request) -> dict[str, Any]:
        log.debug("%s %s", request.method, redact(str(request.url)))
        async with asyncio.timeout(self._timeout * 2):
            response = await self._http.send(request)
        log.debug("HTTP %s for %s %s", response.status_code, request.method, request.url.path)
        return parsing.interpret_response(response.status_code, response.headers, response.content)

    async def _read(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        *,
        retry: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        policy = retry if retry is not None else self._retry
        last_error: MyOperatorError | None = None
        for attempt in range(policy.attempts):
            if attempt:
                delay = self._backoff(attempt, policy)
                if isinstance(last_error, RateLimited) and last_error.retry_after is not None:
                    delay = max(delay, last_error.retry_after)
                await self._sleep(delay)
            await self.budget.acquire(Priority.BACKGROUND, max_wait=policy.max_budget_wait_s)
            try:
                return await self._send_once(self._request(method, path, params))
            except RateLimited as exc:
                wait = exc.retry_after
                if wait is None:
                    wait = self._backoff(attempt + 1, policy)
                self.budget.penalize(wait)
                if wait > policy.max_retry_after_s:
                    raise
                last_error = exc
            except ServerError as exc:
                if exc.status not in _RETRYABLE_STATUSES:
                    raise
                last_error = exc
            except (httpx.HTTPError, TimeoutError) as exc:
                last_error = _network_error(exc, f"Contacting MyOperator ({path})")
        assert last_error is not None
        raise last_error

    async def _mutate(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        *,
        operation: str,
        read: Callable[[dict[str, Any]], _Result],
    ) -> _Result:
        """Send once and `read` the answer; anything short of a clear answer after the
        request was handed over is `OutcomeUnknown`, whatever raised it (a parsing bug
        included), because only a clear answer proves what the service did.

        Mutations are what a person is waiting on (a call, a change to a user): they may
        spend the budget's reserve, which background reads never touch."""
        await self.budget.acquire(Priority.RESERVED, max_wait=self._retry.max_budget_wait_s)
        request = self._request(method, path, params)

        def unknown(reason: str) -> OutcomeUnknown:
            return OutcomeUnknown(
                f"The {operation} request was sent to MyOperator but {reason}: it may or may "
                "not have taken effect, so check before trying again.",
                operation=operation,
            )

        # From here on the request may reach the service. Set before the first await, so
        # a caller interrupted (Ctrl-C, cancellation) while it is in flight can tell.
        self.mutation_sent = operation
        try:
            return read(await self._send_once(request))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never left this machine: nothing happened at the server.
            raise _network_error(exc, f"The {operation} request could not be sent") from None
        except (httpx.HTTPError, TimeoutError):
            raise unknown("no complete answer came back") from None
        except CLEAR_REFUSALS:
            raise  # the service said what it refused: nothing was done
        except RateLimited as exc:
            # Still pause every request, but a 429 is no proof the request was not acted
            # on (the sandbox's `429:after=1` places the call, then answers 429).
            if exc.retry_after is not None:
                self.budget.penalize(exc.retry_after)
            raise unknown("the answer was \"rate-limited\"") from None
        except ServerError:
            raise unknown("the answer was a server error") from None
        except MyOperatorError:
            raise unknown("its answer could not be read") from None
        except Exception:
            # A bug, not the service: kept in the app's log (INFO and up) with its
            # traceback, yet below what Python prints unasked on the command's terminal.
            log.info("Reading the answer to a %s request failed", operation, exc_info=True)
            raise unknown("its answer could not be read") from None


def _new_user_uuid(body: dict[str, Any]) -> str | None:
    """The new user's uuid, when the answer to an add says it."""
    data = body.get("data")
    if isinstance(data, Mapping):
        uuid = data.get("uuid") or data.get("user_uuid") or data.get("id")
        return str(uuid) if uuid not in (None, "") else None
    return None


def _answer_message(body: dict[str, Any]) -> str | None:
    message = body.get("message")
    return str(message) if message is not None else None


def _refuse_unless_regular_or_absent(path: Path) -> None:
    """A download replaces only a regular file: never a device, FIFO, socket or symlink
    (``os.replace`` over ``/dev/null`` run as root swaps the device for a file)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ValidationError(
            f"{path} cannot be checked ({exc.strerror or 'not accessible'}).",
            field="destination",
        ) from None
    if not stat.S_ISREG(mode):
        raise ValidationError(
            f"{path} is not a regular file: a recording is saved only as a new or regular "
            "file.",
            field="destination",
        )


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _network_error(exc: BaseException, doing: str) -> NetworkError:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        reason = "timed out"
    elif isinstance(exc, httpx.ConnectError):
        reason = "could not connect"
    elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        reason = "the connection was dropped"
    else:
        reason = type(exc).__name__
    return NetworkError(f"{doing} failed: {reason}.")
