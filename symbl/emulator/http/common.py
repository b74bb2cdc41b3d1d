"""HTTP plumbing shared by every emulator area: errors, body reading, and the middlewares.

The middlewares run in this order for every request: record it in the request log, turn any
error into the service's JSON error shape, apply injected faults, then check the access token.
The admin API (``/_emulator/...``) and token generation need no token; the admin API is neither
logged nor subject to faults.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, Callable

from aiohttp import web

from symbl._protocol import auth
from symbl._protocol.errors import ProtocolError
from symbl.emulator.stores.requestlog import BODY_KEEP_LIMIT, RecordedRequest
from symbl.emulator.stores.state import EmulatorState

logger = logging.getLogger("symbl.emulator")

STATE = web.AppKey("state", EmulatorState)
# Per-request values: each request runs in its own task, so a context variable set by a
# middleware is seen by the handler and by nothing else.
_RECORD: ContextVar[RecordedRequest | None] = ContextVar("symbl_record", default=None)
_APP_ID: ContextVar[str] = ContextVar("symbl_app_id", default="")
ADMIN_PREFIX = "/_emulator/"
TOKEN_REJECTED = "Token validation failed for provided token."
# JSON bodies above this are refused, as the service does for oversized requests.
MAX_JSON_BODY = 16 << 20
_SPOOL_IN_MEMORY = 1 << 20
_READ_CHUNK = 1 << 16

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """Raised by handlers to answer ``{"message": ...}`` with a status (plus any extra fields)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@contextmanager
def protocol_errors_as_400() -> Iterator[None]:
    """Answer a :class:`ProtocolError` raised in the block with a 400 and its message."""
    try:
        yield
    except ProtocolError as exc:
        raise ApiError(400, str(exc)) from None


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer with JSON, as the service does."""
    return web.json_response(data, status=status, headers=headers)


def state_of(request: web.Request) -> EmulatorState:
    """The emulator state behind this request."""
    return request.app[STATE]


def app_id_of(request: web.Request) -> str:
    """The app whose token authenticated this request."""
    return _APP_ID.get()


async def read_body(request: web.Request, limit: int = MAX_JSON_BODY) -> bytes:
    """Read a (small) body whole and record it."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes.")
    data = await request.read()
    if len(data) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes.")
    _record_body(data[:BODY_KEEP_LIMIT], len(data), hashlib.sha256(data).hexdigest())
    return data


async def read_json(request: web.Request) -> Any:
    """Read and decode a JSON body; a malformed one is a 400, as on the service."""
    data = await read_body(request)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from exc


async def read_object(request: web.Request) -> dict[str, Any]:
    """Read a JSON body that must be an object; anything else is a 400."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    return body


async def spool_body(request: web.Request) -> IO[bytes]:
    """Stream a (possibly huge) upload into a temporary file, hashing as it goes.

    The first megabyte stays in memory; the rest goes to disk, so the emulator's memory does
    not grow with the upload. The returned file is positioned at its start; close it when done.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    await _stream_body(request, spool.write)
    spool.seek(0)
    return spool


async def discard_body(request: web.Request) -> None:
    """Read and drop an unread body (recording its size), so the client sees our answer."""
    if request.body_exists and not request.content.at_eof():
        await _stream_body(request, lambda chunk: None)


async def _stream_body(request: web.Request, sink: Callable[[bytes], object]) -> None:
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    while True:
        chunk = await request.content.read(_READ_CHUNK)
        if not chunk:
            break
        sink(chunk)
        digest.update(chunk)
        if len(head) < BODY_KEEP_LIMIT:
            head += chunk[: BODY_KEEP_LIMIT - len(head)]
        size += len(chunk)
    _record_body(bytes(head), size, digest.hexdigest())


def record_upgrade() -> None:
    """Log an accepted websocket upgrade as 101 at once (the handler returns only when the
    socket closes, and tests look at the log while it is open)."""
    record = _RECORD.get()
    if record is not None:
        record.status = 101


def _record_body(head: bytes, size: int, sha256: str) -> None:
    record = _RECORD.get()
    if record is not None:
        record.set_body(head, size, sha256)


@web.middleware
async def record_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log the request, and give every answer an ``X-Request-Id``."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    record = RecordedRequest(
        method=request.method,
        path=request.path,
        query_string=request.rel_url.raw_query_string,
        query=list(request.query.items()),
        headers={key.lower(): value for key, value in request.headers.items()},
        websocket=request.headers.get("Upgrade", "").lower() == "websocket",
    )
    _RECORD.set(record)
    state_of(request).requests.append(record)
    response = await handler(request)
    record.status = response.status
    if not response.prepared:
        response.headers.setdefault("X-Request-Id", str(uuid.uuid4()))
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure with the service's ``{"message": ...}`` shape."""
    try:
        return await handler(request)
    except ApiError as exc:
        await discard_body(request)
        return json_response({"message": exc.message, **exc.extra}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        await discard_body(request)
        message = f"{exc.reason}: {request.method} {request.path}"
        return json_response({"message": message}, status=exc.status, headers=_allow(exc))
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        logger.exception("emulator handler failed for %s %s", request.method, request.path)
        return json_response({"message": "Internal error in the Symbl emulator."}, status=500)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the first matching injected fault, if any."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    rule = state_of(request).faults.take(request.method, request.path)
    if rule is None:
        return await handler(request)
    if rule.delay:
        await asyncio.sleep(rule.delay)
    if rule.drop:
        # Close without any answer, like a crashed server or a broken network path. The
        # response returned afterwards goes nowhere: aiohttp drops writes to a closed transport.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)
    if rule.status is None:
        return await handler(request)
    body = rule.body if rule.body is not None else {"message": f"Injected fault {rule.status}."}
    await discard_body(request)
    return json_response(body, status=rule.status, headers=dict(rule.headers))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a valid access token on everything but token generation and the admin API."""
    if request.path == auth.TOKEN_PATH or request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    tokens = state_of(request).tokens
    app_id = next(filter(None, map(tokens.app_for, presented_tokens(request))), None)
    if app_id is None:
        await discard_body(request)
        raise ApiError(401, TOKEN_REJECTED)
    _APP_ID.set(app_id)
    record = _RECORD.get()
    if record is not None:
        record.app_id = app_id
    return await handler(request)


def presented_tokens(request: web.Request) -> list[str]:
    """Every place a client may put its token (PROTOCOL.md §1.3), in order."""
    found = []
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        found.append(authorization[7:].strip())
    found.append(request.headers.get(auth.TOKEN_HEADER, "").strip())
    found.append(request.query.get("access_token", "").strip())
    protocols = request.headers.get("Sec-WebSocket-Protocol", "")
    found.extend(protocol.strip() for protocol in protocols.split(","))
    return [token for token in found if token]


MIDDLEWARES = [record_middleware, error_middleware, fault_middleware, auth_middleware]


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None
