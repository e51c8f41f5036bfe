"""The emulated MyOperator HTTP API as one ASGI (Starlette) application.

The app is wrapped in an outer layer (`SandboxApp.__call__`) that sees every request first:
it reads the body once and merges the parameters (query string, then an urlencoded,
multipart or JSON body on top, as live integrations send them), records the request with
the token removed, materialises due live calls, sleeps the configured latency and applies
faults. That layer gets the server's own ``send``, which is what lets a "drop" fault close a
real uvicorn connection without a response; under ``httpx.ASGITransport`` there is no
connection, so a drop (or a truncated body) raises ``httpx.RemoteProtocolError``, the error
a client would see over a socket.

Paths are bare and exact (``/search``; ``/search/search`` or ``/search/`` is a 404), as the
live service answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from desktop_app.sandbox.config import ROLE_ADMIN, ROLE_SUPER_ADMIN, SandboxConfig
from desktop_app.sandbox.errors import UNAUTHORIZED, ApiError
from desktop_app.sandbox.faults import Fault
from desktop_app.sandbox.filters import FILTERS, FilterError, compile_filters
from desktop_app.sandbox.media import RangeNotSatisfiable, parse_range, sign, verify
from desktop_app.sandbox.ratelimit import retry_after_header
from desktop_app.sandbox.state import RecordedRequest, SandboxState
from desktop_app.sandbox.users import dialling_code, list_users, national_number

MAX_PAGE_SIZE = 100
NOT_READY = "no voice file found"
_PARAMS = "sandbox.params"
_BODY_ERROR = "sandbox.body_error"
_FAULT_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}
_MALFORMED = b'{"status": "success", "code": 200, "data": {"total": 3, "hits": [{"_id": "'


@contextlib.asynccontextmanager
async def _webhooks_lifespan(app: Starlette) -> AsyncIterator[None]:
    """While served, post the account's webhooks when its config asks for them."""
    state: SandboxState = app.state.sandbox
    settings = state.config.webhooks
    if settings is None:
        yield
        return
    from desktop_app.sandbox.webhooks import WebhookEmitter  # httpx: only when asked for

    emitter = WebhookEmitter(settings, seed=state.config.seed)
    following = asyncio.get_running_loop().create_task(emitter.follow(state))
    state.webhooks = emitter
    try:
        yield
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await emitter.aclose()


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """A fresh sandbox; its `SandboxState` is ``app.state.sandbox`` (and ``app.sandbox``)."""
    return SandboxApp(SandboxState(config or SandboxConfig()))


class SandboxApp(Starlette):
    """Starlette with the sandbox's outer layer in front of its routes."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(
            routes=[
                Route("/search", _search, methods=["POST"]),
                Route("/filters", _filters, methods=["GET"]),
                Route("/clickOcall", _click_to_call, methods=["POST"]),
                Route("/user", _user, methods=["GET", "POST", "PUT"]),
                Route("/recordings/link", _recording_link, methods=["GET"]),
                Route("/media/{file}", _media, methods=["GET"]),
            ],
            exception_handlers={ApiError: _api_error, HTTPException: _http_error},
            lifespan=_webhooks_lifespan,
        )
        self.router.redirect_slashes = False
        self.state.sandbox = state
        self.sandbox = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state = self.sandbox
        method, path = scope["method"], scope["path"]
        body = await _read_body(receive)
        params, body_error = await _parse_params(scope, body)
        record = state.record(method, path, params)
        state.advance()
        delay = state.config.latency_ms + state.faults.extra_latency_ms(method, path)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        fault = state.faults.pick(method, path)
        if fault is not None:
            record.fault = fault.kind
            if fault.replaces_response and not fault.after:
                await _send_fault(fault, send, record)
                return
        scope[_PARAMS] = params
        scope[_BODY_ERROR] = body_error
        response = _Captured()
        await super().__call__(scope, _replay(body), response)
        record.processed = True
        record.status = response.status
        if fault is None:
            await response.forward(send)
        elif fault.replaces_response:
            await _send_fault(fault, send, record)
        elif fault.kind == "truncate":
            await _truncate(response, send)
        else:
            await _trickle(response, send, fault)


# ---- the outer layer's plumbing ------------------------------------------------------------


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A `receive` that hands the already-read body to the inner app once."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _parse_params(scope: Scope, body: bytes) -> tuple[dict[str, str], str | None]:
    """Query parameters with the body's on top; plus a complaint about the body, if any."""
    query = scope.get("query_string", b"").decode("latin-1")
    params = dict(parse_qsl(query, keep_blank_values=True))
    if not body:
        return params, None
    content_type = ""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            content_type = value.decode("latin-1").lower()
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return params, "Invalid JSON body"
        if not isinstance(data, dict):
            return params, "JSON body must be an object"
        for key, value in data.items():
            if value is not None:
                params[str(key)] = _as_text(value)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif content_type.startswith("multipart/form-data"):
        try:
            form = await Request(scope, _replay(body)).form()
        except Exception:
            return params, "Invalid multipart body"
        for key, item in form.multi_items():
            if isinstance(item, UploadFile):
                await item.close()
            else:
                params[key] = item
    return params, None


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


class _Captured:
    """A `send` that keeps the inner app's response so faults can rewrite it."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def forward(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status or 500, "headers": self.headers}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


async def _send_fault(fault: Fault, send: Send, record: RecordedRequest) -> None:
    if fault.kind == "drop":
        record.status = None
        await _hang_up(send, "Server disconnected without sending a response.")
        return
    headers: dict[str, str] = {}
    if fault.kind == "429":
        status, headers["Retry-After"] = 429, str(fault.retry_after)
        response: Response = _envelope_response("Too many requests", 429, headers=headers)
    elif fault.kind == "html":
        status = fault.status
        response = Response(_html_page(status), status, media_type="text/html")
    elif fault.kind == "malformed":
        status = 200
        response = Response(_MALFORMED, 200, media_type="application/json")
    elif fault.kind == "novoice":
        status = 404
        response = _envelope_response(NOT_READY, 404)
    else:
        status = fault.status
        response = _envelope_response(_FAULT_MESSAGES.get(status, "Server error"), status)
    record.status = status
    await response(_NO_SCOPE, _replay(b""), send)


_NO_SCOPE: Scope = {"type": "http"}


def _html_page(status: int) -> bytes:
    title = {
        502: "502 Bad Gateway",
        503: "503 Service Temporarily Unavailable",
        504: "504 Gateway Time-out",
    }.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


async def _truncate(response: _Captured, send: Send) -> None:
    """Declare the whole body's length, send half of it, hang up."""
    headers = [(k, v) for k, v in response.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(max(len(response.body), 1)).encode()))
    await send(
        {"type": "http.response.start", "status": response.status or 200, "headers": headers}
    )
    await send(
        {
            "type": "http.response.body",
            "body": response.body[: len(response.body) // 2],
            "more_body": True,
        }
    )
    await _hang_up(send, "peer closed connection without sending complete message body")


async def _trickle(response: _Captured, send: Send, fault: Fault) -> None:
    """The real response, its body in small chunks with a pause before each."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status or 200,
            "headers": response.headers,
        }
    )
    body = response.body
    for offset in range(0, len(body), fault.chunk):
        await asyncio.sleep(fault.ms / 1000)
        await send(
            {
                "type": "http.response.body",
                "body": body[offset : offset + fault.chunk],
                "more_body": True,
            }
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _hang_up(send: Send, message: str) -> None:
    """Close the client's connection mid-exchange.

    Under uvicorn `send` is a bound method of the request cycle, which holds the socket's
    transport: closing it is what a crashed upstream looks like. Waiting for uvicorn to
    notice the disconnect keeps it from writing an error response of its own. Without a
    transport (ASGITransport) the equivalent is the exception httpx raises over a socket.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        import httpx  # only under ASGITransport: the demo's service process never needs it

        raise httpx.RemoteProtocolError(message)
    transport.close()
    for _ in range(1000):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


# ---- handlers ---------------------------------------------------------------------------


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _authorize(request: Request) -> tuple[dict[str, str], int]:
    """The request's parameters and its token's role; or the error the service gives."""
    body_error: str | None = request.scope.get(_BODY_ERROR)
    if body_error:
        raise ApiError(body_error)
    params: dict[str, str] = request.scope.get(_PARAMS, {})
    state = _state(request)
    token = params.get("token", "")
    role = state.config.tokens.get(token)
    if role is None:
        raise ApiError(UNAUTHORIZED)
    wait = state.rate_limiter.hit(token, state.clock())
    if wait is not None:
        raise ApiError("Too many requests", 429, headers={"Retry-After": retry_after_header(wait)})
    return params, role


def _envelope_response(
    message: str,
    code: int,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "code": code, "message": message},
        status_code=code if http_status is None else http_status,
        headers=dict(headers or {}),
    )


def _ok(data: object, **extra: object) -> JSONResponse:
    return JSONResponse({"status": "success", "code": 200, "data": data, **extra})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _envelope_response(exc.message, exc.code, exc.http_status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _envelope_response(str(exc.detail), exc.status_code, headers=exc.headers)


def _int_param(
    params: Mapping[str, str], name: str, default: int, low: int, high: int | None, what: str
) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        raise ApiError(f"{name} must be {what}")
    return int(raw)


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ApiError(f"{name} must be a unix timestamp in seconds (UTC)")
    return int(raw)


async def _search(request: Request) -> Response:
    params, _ = _authorize(request)
    start, end = _timestamp(params, "from"), _timestamp(params, "to")
    if start is not None and end is not None and start > end:
        raise ApiError("from must not be later than to")
    offset = _int_param(params, "log_from", 0, 0, None, "a number of at least 0")
    size = _int_param(
        params, "page_size", 20, 1, MAX_PAGE_SIZE, f"a number between 1 and {MAX_PAGE_SIZE}"
    )
    try:
        terms = compile_filters(params.get("filters", ""))
    except FilterError as exc:
        raise ApiError(str(exc)) from None
    search_key = params.get("search_key", "").strip()
    total, page = _state(request).search(start, end, offset, size, search_key, terms)
    return _ok({"total": total, "hits": [call.to_hit() for call in page]})


async def _filters(request: Request) -> Response:
    _authorize(request)
    return _ok([f.to_api() for f in FILTERS])


async def _click_to_call(request: Request) -> Response:
    params, _ = _authorize(request)
    for name in ("customer_number", "customer_cc", "support_user_id"):
        if not params.get(name, "").strip():
            raise ApiError(f"{name} is required")
    cc = dialling_code(params["customer_cc"].strip(), "customer_cc")
    number = national_number(params["customer_number"].strip(), cc, "customer_number")
    state = _state(request)
    agent = state.find_user(params["support_user_id"].strip())
    if agent is None:
        raise ApiError("support_user_id does not match any user")
    if not agent.is_enabled:
        raise ApiError("support_user_id belongs to a disabled user")
    unique_id = state.click_to_call(agent, cc, number)
    return _ok({"unique_id": unique_id})


async def _user(request: Request) -> Response:
    params, role = _authorize(request)
    state = _state(request)
    if request.method == "GET":
        users, next_page = list_users(state.users, params)
        return _ok([u.to_api() for u in users], next_page=next_page)
    if role not in (ROLE_SUPER_ADMIN, ROLE_ADMIN):
        action = "add" if request.method == "POST" else "update"
        raise ApiError(f"You are not allowed to {action} users", 403)
    if request.method == "POST":
        user = state.add_user(params)
        return _ok(user.to_api())
    state.update_user(params)
    return JSONResponse({"status": "success", "code": 200, "message": "User updated successfully"})


async def _recording_link(request: Request) -> Response:
    params, _ = _authorize(request)
    filename = params.get("file", "").strip()
    if not filename:
        raise ApiError("file is required")
    state = _state(request)
    call = state.call_by_filename(filename)
    if call is None:
        raise ApiError("File not found", 404)
    now = state.clock()
    if now < call.end_time + state.config.recording_delay_s:
        raise ApiError(NOT_READY, 404)
    expires = int(now + state.config.link_ttl_s)
    signature = sign(state.link_secret, filename, expires)
    url = f"{request.base_url}media/{quote(filename)}?expires={expires}&sig={signature}"
    return JSONResponse({"status": "success", "code": 200, "url": url})


async def _media(request: Request) -> Response:
    """The signed download: real mp3 bytes, with single-span Range support."""
    state = _state(request)
    filename = request.path_params["file"]
    params: dict[str, str] = request.scope.get(_PARAMS, {})
    expires, signature = params.get("expires", ""), params.get("sig", "")
    if not verify(state.link_secret, filename, expires, signature):
        return Response(b"Signature does not match", 403, media_type="text/plain")
    if state.clock() > int(expires):
        return Response(b"Request has expired", 403, media_type="text/plain")
    if state.call_by_filename(filename) is None:
        return Response(b"Not found", 404, media_type="text/plain")
    audio = state.recordings.audio_for(filename)
    size = len(audio)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0",
    }
    try:
        span = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b"", 416, headers=headers, media_type="text/plain")
    if span is None:
        return Response(audio, 200, headers=headers, media_type="audio/mpeg")
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(audio[first : last + 1], 206, headers=headers, media_type="audio/mpeg")
