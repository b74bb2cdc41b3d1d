"""The Streaming API websockets (PROTOCOL.md §6) and the websocket plumbing of every live area.

- ``/v1/streaming/{connectionId}`` and ``/v1/realtime/insights/{connectionId}`` (any query,
  e.g. ``?source=python_sdk``): a sender socket of the session.
- ``/v1/subscribe/{connectionId}``: a read-only socket of a live session (404 otherwise).

Authentication is the usual middleware's (header, Bearer, ``access_token`` query or
``Sec-WebSocket-Protocol``): without a valid token the upgrade is refused with 401. An offered
subprotocol is echoed back, as the JS client requires. Text frames are JSON, except that
``__PING__`` is answered with ``__PONG__`` and a stop message may be the old Python client's
repr ``{'type': 'stop_request'}``. What messages and audio do is the business of
:mod:`symbl.emulator.stores.streaming`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TypeVar

from aiohttp import WSMsgType, web

from symbl._protocol import streaming
from symbl._protocol.frames import CLOSE_GOING_AWAY, CLOSE_NORMAL, PING, PONG, parse_client_message
from symbl.emulator.stores.live import JSON, error_message
from symbl.emulator.stores.streaming import SessionNotFoundError, StreamClient, StreamStore

from .common import STATE, ApiError, app_id_of, record_upgrade, state_of

logger = logging.getLogger("symbl.emulator")

routes = web.RouteTableDef()

T = TypeVar("T")
CONNECTION_NOT_FOUND = "The connectionId is either invalid or does not exist."
# Frames above the 8192-byte limit are still read (and answered with an error message);
# beyond this the socket is closed with 1009, as aiohttp does.
_MAX_MESSAGE = 16 << 20
# How long a close waits for the peer's answering close frame, and a finished socket for
# its writer to flush.
_CLOSE_TIMEOUT = 2.0
_STOP = object()


class WebSocketSink:
    """A :class:`~.live.Sink` over an aiohttp websocket.

    Stores send from synchronous code, so frames go onto a queue that one writer task drains
    in order; a close is queued behind the frames before it.
    """

    def __init__(self, request: web.Request, socket: web.WebSocketResponse) -> None:
        self.path = request.path
        self._socket = socket
        self._transport = request.transport
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start writing (once the handshake is done)."""
        self._transport = self._transport or self._socket.get_extra_info("transport")
        self._writer = asyncio.get_running_loop().create_task(self._write())

    def send(self, frame: JSON) -> None:
        """Queue a JSON text frame."""
        self.send_text(json.dumps(frame))

    def send_text(self, text: str) -> None:
        """Queue a text frame (dropped once the socket is closing)."""
        if not self._closing:
            self._queue.put_nowait(text)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Queue a close frame; later frames are dropped."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait((code, reason))

    def abort(self) -> None:
        """Cut the TCP connection without a close frame."""
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    async def finish(self) -> None:
        """The socket is done: let the writer finish what it is doing, then stop it."""
        self._closing = True
        writer = self._writer
        if writer is None or writer.done():
            return
        self._queue.put_nowait(_STOP)
        done, _ = await asyncio.wait({writer}, timeout=_CLOSE_TIMEOUT)
        if not done:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, str):
                    await self._socket.send_str(item)
                    continue
                if isinstance(item, tuple):
                    code, reason = item
                    await self._socket.close(code=code, message=reason.encode()[:120])
                return
            except (ConnectionError, RuntimeError):
                return  # the peer is gone: nothing more can be written


async def serve_websocket(
    request: web.Request,
    attach: Callable[[WebSocketSink], T],
    on_message: Callable[[T, WebSocketSink, str | bytes], None],
    detach: Callable[[T], None],
) -> web.WebSocketResponse:
    """Run one websocket: ``attach`` it (which may refuse the upgrade by raising
    :class:`ApiError`), hand every text or binary frame to ``on_message``, ``detach`` it at
    the end. Every live socket is in the state's registry while it is open."""
    offered = [
        protocol.strip()
        for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        if protocol.strip()
    ]
    socket = web.WebSocketResponse(
        protocols=offered[:1], max_msg_size=_MAX_MESSAGE, timeout=_CLOSE_TIMEOUT
    )
    if not socket.can_prepare(request):
        raise ApiError(400, f"{request.path} takes a websocket upgrade (GET with Upgrade).")
    sockets = state_of(request).sockets
    sink = WebSocketSink(request, socket)
    attached = attach(sink)
    try:
        await socket.prepare(request)
        record_upgrade()
        sink.start()
        sockets.add(sink)
        async for frame in socket:
            if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            if frame.data == PING:  # the keep-alive of every socket (PROTOCOL.md §6.2)
                sink.send_text(PONG)
                continue
            try:
                on_message(attached, sink, frame.data)
            except Exception:
                logger.exception("emulator websocket handler failed on %s", request.path)
                sink.send(error_message("Internal error", "The Symbl emulator failed."))
    finally:
        detach(attached)
        sockets.discard(sink)
        await sink.finish()
    return socket


@routes.get(streaming.STREAMING_PATH)
@routes.get(streaming.LEGACY_STREAMING_PATH)
async def stream(request: web.Request) -> web.StreamResponse:
    """A sender socket of a streaming session."""
    return await _serve(request, subscriber=False)


@routes.get(streaming.SUBSCRIBE_API_PATH)
async def subscribe(request: web.Request) -> web.StreamResponse:
    """A read-only socket of a live streaming session."""
    return await _serve(request, subscriber=True)


async def _serve(request: web.Request, subscriber: bool) -> web.StreamResponse:
    store = state_of(request).streams
    app_id, connection_id = app_id_of(request), request.match_info["connection_id"]

    def attach(sink: WebSocketSink) -> StreamClient:
        try:
            return store.connect(app_id, connection_id, sink, subscriber=subscriber)
        except SessionNotFoundError:
            raise ApiError(404, CONNECTION_NOT_FOUND) from None

    def on_message(client: StreamClient, sink: WebSocketSink, data: str | bytes) -> None:
        if isinstance(data, bytes):
            store.audio_frame(client, data)
        else:
            _on_text(store, client, data)

    return await serve_websocket(request, attach, on_message, store.disconnect)


def _on_text(store: StreamStore, client: StreamClient, text: str) -> None:
    try:
        message = parse_client_message(text, lenient=True)
    except ValueError as exc:
        client.sink.send(error_message("Invalid message", str(exc)))
        return
    kind = message["type"]
    if kind == "start_request":
        store.start(client, message)
    elif kind == "stop_request":
        store.stop(client, text)
    elif kind == "modify_request":
        store.modify(client, message)
    else:
        known = "start_request, modify_request and stop_request"
        client.sink.send(error_message("Unknown message type", f"{kind!r}; expected {known}"))


async def end_live_sessions(app: web.Application) -> None:
    """On shutdown: end every stream and call and close every socket, promptly."""
    app[STATE].end_live(CLOSE_GOING_AWAY)
