"""HTTP plumbing shared by every emulator area: errors, body reading, and the middlewares.

The middlewares run in this order for every request: the doors (the ``Host`` check and the
admin token, see :mod:`.doors`), record it in the request log, turn any error into the
service's JSON error shape, apply injected faults, then check the access token. The admin API
(``/_emulator/...``) and token generation need no access token; the admin API is neither
logged nor subject to faults.

Bodies are read only by the handler that needs them, as they stream in, up to that handler's
limit: a larger ``Content-Length`` is refused with 413 before anything is read, and a chunked
body is refused once it passes the limit. JSON endpoints take only JSON content types (415
otherwise). A request refused before its body was read has at most :data:`DRAIN_LIMIT` bytes
of it read (and recorded); beyond that its connection is closed after the answer.
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
from symbl._protocol.checks import MAX_JSON_INTEGER
from symbl._protocol.errors import ProtocolError
from symbl.emulator.stores.requestlog import (
    BODY_KEEP_LIMIT,
    RecordedRequest,
    redact_headers,
    redact_query,
    redact_query_string,
)
from symbl.emulator.stores.state import EmulatorState

logger = logging.getLogger("symbl.emulator")

STATE = web.AppKey("state", EmulatorState)
# Per-request values: each request runs in its own task, so a context variable set by a
# middleware is seen by the handler and by nothing else.
_RECORD: ContextVar[RecordedRequest | None] = ContextVar("symbl_record", default=None)
_APP_ID: ContextVar[str] = ContextVar("symbl_app_id", default="")
ADMIN_PREFIX = "/_emulator/"
TOKEN_REJECTED = "Token validation failed for provided token."
# The largest JSON body of an endpoint that names no other limit.
JSON_LIMIT = 1 << 20
# How much of the body of a refused request is read (and recorded) before the answer.
DRAIN_LIMIT = 1 << 20
_SPOOL_IN_MEMORY = 1 << 20
_READ_CHUNK = 1 << 16
# Typed request keys came with aiohttp 3.14, which warns about str keys; older ones (Python 3.9
# gets 3.13) have only str keys.
_BODY_READ: Any = (
    web.RequestKey("symbl_emulator_body_read", bool)
    if hasattr(web, "RequestKey")
    else "symbl_emulator_body_read"
)

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
    """Answer a :class:`ProtocolError` raised in the block with a 400 and its message (and
    JSON in the request nested too deeply to decode, with a 400 too)."""
    try:
        yield
    except ProtocolError as exc:
        raise ApiError(400, str(exc)) from None
    except RecursionError:
        raise ApiError(400, "The request holds JSON nested too deeply.") from None


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


async def read_json(request: web.Request, limit: int = JSON_LIMIT) -> Any:
    """Read and decode a JSON body of at most ``limit`` bytes.

    Raises:
        ApiError: 415 for a Content-Type that is not JSON, 413 for a body over ``limit``, 400
            for a body that is not JSON (or holds a number no JSON client means).
    """
    content_type = request.headers.get("Content-Type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        shown = repr(content_type) if content_type else "none"
        raise ApiError(415, f"Content-Type must be application/json, not {shown}.")
    data = bytearray()
    await _stream_body(request, data.extend, limit)
    return decode_json(bytes(data))


async def read_object(request: web.Request, limit: int = JSON_LIMIT) -> dict[str, Any]:
    """Read a JSON body that must be an object (as :func:`read_json`); anything else is a 400."""
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    return body


def decode_json(data: bytes | str) -> Any:
    """Decode a JSON request body (see :func:`parse_json`).

    Raises:
        ApiError: 400, naming what is wrong.
    """
    try:
        return parse_json(data)
    except ValueError as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from None


def parse_json(data: bytes | str) -> Any:
    """Decode JSON text as the service's JSON parser would accept it.

    Raises:
        ValueError: text that is not JSON (``NaN`` and ``Infinity`` included), is nested too
            deeply, or holds a number beyond what a JSON client means (an integer past 2**64,
            a float that overflows).
    """
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]}... is too large")
    return value


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_JSON_INTEGER:  # no client means them, and they overflow floats
        raise ValueError(f"the integer {text[:20]}... is too large")
    return value


async def spool_body(request: web.Request, limit: int, hint: str = "") -> IO[bytes]:
    """Stream a (possibly huge) upload of at most ``limit`` bytes into a temporary file,
    hashing as it goes.

    The first megabyte stays in memory; the rest goes to disk, so the emulator's memory does
    not grow with the upload. The returned file is positioned at its start; close it when done.

    Raises:
        ApiError: 413 for a body over ``limit`` (the message ends with ``hint``).
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        await _stream_body(request, spool.write, limit, hint)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def drain_body(request: web.Request) -> bool:
    """Read and drop (recording it) the unread body of a refused request, up to
    :data:`DRAIN_LIMIT` bytes, so that the client sees the answer; return whether it was all
    read. When it was not, the connection must be closed after the answer (see
    :func:`refusal`)."""
    if not request.body_exists or request.content.at_eof():
        return True
    length = request.content_length
    if request.get(_BODY_READ) or (length is not None and length > DRAIN_LIMIT):
        return False  # a handler refused it as too large, or it is too large to drain
    try:
        await _stream_body(request, lambda chunk: None, DRAIN_LIMIT)
    except ApiError:
        return False
    return True


async def refusal(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send a refusal without its request's body having been read: drain what is cheap to
    drain, else close the connection after the answer (the server then reads and drops the
    rest for a few seconds only, so the client can read the answer)."""
    if not await drain_body(request):
        response.force_close()
    return response


async def _stream_body(
    request: web.Request, sink: Callable[[bytes], object], limit: int, hint: str = ""
) -> None:
    """Hand the body to ``sink`` as it arrives, recording it; refuse it past ``limit``."""
    too_large = f"Request body is larger than {limit} bytes.{hint}"
    request[_BODY_READ] = True
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, too_large)
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    try:
        while True:
            chunk = await request.content.read(_READ_CHUNK)
            if not chunk:
                break
            if size + len(chunk) > limit:
                raise ApiError(413, too_large)
            sink(chunk)
            digest.update(chunk)
            if len(head) < BODY_KEEP_LIMIT:
                head += chunk[: BODY_KEEP_LIMIT - len(head)]
            size += len(chunk)
    finally:
        _record_body(request, bytes(head), size, digest.hexdigest())


def record_upgrade() -> None:
    """Log an accepted websocket upgrade as 101 at once (the handler returns only when the
    socket closes, and tests look at the log while it is open)."""
    record = _RECORD.get()
    if record is not None:
        record.status = 101


def _record_body(request: web.Request, head: bytes, size: int, sha256: str) -> None:
    record = _RECORD.get()
    if record is not None:
        state_of(request).requests.set_body(record, head, size, sha256)


@web.middleware
async def record_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log the request, and give every answer an ``X-Request-Id``."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    record = RecordedRequest(
        method=request.method,
        path=request.path,
        query_string=redact_query_string(request.rel_url.raw_query_string),
        query=redact_query(list(request.query.items())),
        headers=redact_headers(request.headers),
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
        return await error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = f"{exc.reason}: {request.method} {request.path}"
        answer = json_response({"message": message}, status=exc.status, headers=_allow(exc))
        return await refusal(request, answer)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        logger.exception("emulator handler failed for %s %s", request.method, request.path)
        return json_response({"message": "Internal error in the Symbl emulator."}, status=500)


async def error_response(request: web.Request, error: ApiError) -> web.StreamResponse:
    """The service's ``{"message": ...}`` answer to an :class:`ApiError`."""
    answer = json_response({"message": error.message, **error.extra}, status=error.status)
    return await refusal(request, answer)


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
    return await refusal(
        request, json_response(body, status=rule.status, headers=dict(rule.headers))
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a valid access token on everything but token generation and the admin API."""
    if request.path == auth.TOKEN_PATH or request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    tokens = state_of(request).tokens
    app_id = next(filter(None, map(tokens.app_for, presented_tokens(request))), None)
    if app_id is None:
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
