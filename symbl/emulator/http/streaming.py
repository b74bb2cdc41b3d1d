"""The Streaming API websockets (PROTOCOL.md §6) and the websocket plumbing of every live area.

- ``/v1/streaming/{connectionId}`` and ``/v1/realtime/insights/{connectionId}`` (any query,
  e.g. ``?source=python_sdk``): a sender socket of the session.
- ``/v1/subscribe/{connectionId}``: a read-only listener of the session (PROTOCOL.md §11.7);
  for an id with no stream it waits for one to start. What a listener sends is counted and
  otherwise ignored, but for the keep-alive ``__PING__``, which every socket answers.

Authentication is the usual middleware's (header, Bearer, ``access_token`` query or
``Sec-WebSocket-Protocol``): without a valid token the upgrade is refused with 401. An offered
subprotocol is echoed back, as the JS client requires. Text frames are JSON, except that
``__PING__`` is answered with ``__PONG__`` and a stop message may be the old Python client's
repr ``{'type': 'stop_request'}``. What messages and audio do is the business of
:mod:`symbl.emulator.stores.streaming`.

Every live websocket of the emulator (these, and the telephony ones) runs through
:func:`serve_websocket` over a :class:`WebSocketSink`: frames are read and handled one at a
time, protocol pings are answered in order behind the frames before them, and the test controls
can cut, freeze or close a socket, now (:class:`~symbl.emulator.stores.live.SocketRegistry`) or
when a socket fault rule's moment comes (:mod:`symbl.emulator.stores.faults`). A close sent by
the emulator waits for the client's answering close frame (up to two seconds) before the
connection ends, so that the frame is not lost to a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from symbl._protocol import streaming
from symbl._protocol.errors import ProtocolError
from symbl._protocol.frames import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    MAX_CLOSE_REASON_BYTES,
    PING,
    PONG,
    parse_client_message,
)
from symbl.emulator.stores.faults import FaultRule, SocketTraffic
from symbl.emulator.stores.live import JSON, error_message, strike
from symbl.emulator.stores.streaming import StreamClient, StreamStore

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
# The old client's Python-literal form is a short stop message: longer texts must be JSON.
_LITERAL_LIMIT = 4096


class _Pong:
    """A protocol-level pong queued behind the frames before it."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class WebSocketSink:
    """A :class:`~.live.Sink` over an aiohttp websocket.

    Stores send from synchronous code, so frames go onto a queue that one writer task drains
    in order; a close is queued behind the frames before it. A frozen sink neither reads (the
    transport stops reading, so nothing the client sends is seen, its pings included) nor
    writes (the queue waits) until thawed; a cut wakes everything up to end.

    ``rule`` is the socket fault rule armed on this socket, if any, until it strikes;
    ``traffic`` counts what the socket carried since it was armed, for the rule's trigger.
    """

    def __init__(self, request: web.Request, socket: web.WebSocketResponse) -> None:
        self.path = request.path
        self.rule: FaultRule | None = None
        self.traffic = SocketTraffic()
        self.cut = False
        self.close_sent = False
        self._request = request
        self._socket = socket
        self._transport = request.transport
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._thawed = asyncio.Event()
        self._thawed.set()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def closing(self) -> bool:
        """Whether a close frame was queued or the connection cut: what the client sends from
        now on is not handled."""
        return self._closing

    @property
    def frozen(self) -> bool:
        """Whether the socket is frozen."""
        return not self._thawed.is_set()

    def start(self) -> None:
        """Start writing (once the handshake is done)."""
        self._transport = self._transport or self._socket.get_extra_info("transport")
        self._writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def armed(self) -> bool:
        """Whether a socket fault rule waits to strike this socket."""
        return self.rule is not None

    def arm(self, rule: FaultRule) -> None:
        """Let a socket fault rule strike this socket when its moment comes, counting from
        now (at once if it names none)."""
        self.rule, self.traffic = rule, SocketTraffic()
        if rule.after_seconds is not None:
            self._timer("fault", rule.after_seconds, self._strike)
        else:
            self.check_rule()

    def send(self, frame: JSON) -> None:
        """Queue a JSON text frame."""
        self.send_text(json.dumps(frame))

    def send_text(self, text: str) -> None:
        """Queue a text frame (dropped once the socket is closing)."""
        if not self._closing:
            self._queue.put_nowait(text)

    def pong(self, data: bytes) -> None:
        """Queue the answer to a protocol-level ping."""
        if not self._closing:
            self._queue.put_nowait(_Pong(data))

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", *, wait: bool = True) -> None:
        """Queue a close frame; later frames are dropped. After it, wait a while for the
        client's answering close frame, or (``wait`` false) end the connection at once."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait((code, reason, wait))

    def abort(self) -> None:
        """Cut the TCP connection without a close frame (a frozen one too)."""
        self._closing = self.cut = True
        self._cancel_timers()
        self._thawed.set()  # wake the reader and the writer, to end
        if self._transport is not None:
            self._transport.abort()

    def freeze(self, seconds: float | None = None) -> None:
        """Stop reading and writing, for ``seconds`` or until :meth:`thaw`."""
        if self.cut:
            return
        if not self.frozen:
            self._thawed.clear()
            self._request.protocol.pause_reading()
        if seconds is None:
            self._cancel_timers("thaw")
        else:
            self._timer("thaw", seconds, self.thaw)

    def thaw(self) -> None:
        """End a freeze: what the client sent meanwhile is read, what was queued is sent."""
        self._cancel_timers("thaw")
        if self.frozen and not self.cut:
            self._request.protocol.resume_reading()
            self._thawed.set()

    async def wait_thawed(self) -> bool:
        """Return when the socket is not frozen: True, or False if it was cut."""
        await self._thawed.wait()
        return not self.cut

    def received(self, data: str | bytes) -> None:
        """Count a frame the client sent (once handled), and strike if the rule is due."""
        self.traffic.frames_received += 1
        if isinstance(data, bytes):
            self.traffic.bytes_received += len(data)
        self.check_rule()

    def check_rule(self) -> None:
        """Strike if the socket's fault rule is due now."""
        if self.rule is not None and self.rule.due(self.traffic):
            self._strike()

    async def finish(self) -> None:
        """The socket is done: let the writer finish what it is doing, then stop it."""
        self._closing = True
        self._cancel_timers()
        writer = self._writer
        if writer is None or writer.done():
            return
        self._queue.put_nowait(_STOP)
        done, _ = await asyncio.wait({writer}, timeout=_CLOSE_TIMEOUT)
        if not done:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _strike(self) -> None:
        rule, self.rule = self.rule, None  # a rule strikes a socket once
        if rule is not None:
            strike(self, rule)

    def _timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timers(name)
        self._timers[name] = asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    def _cancel_timers(self, *names: str) -> None:
        for name in names or tuple(self._timers):
            timer = self._timers.pop(name, None)
            if timer is not None:
                timer.cancel()

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            await self._thawed.wait()
            if self.cut:
                return
            try:
                if isinstance(item, str):
                    await self._socket.send_str(item)
                    self.traffic.frames_sent += 1
                    self.check_rule()
                    continue
                if isinstance(item, _Pong):
                    await self._socket.pong(item.data)
                    continue
                if isinstance(item, tuple):
                    # The close frame alone: the reader goes on to the client's answering close
                    # (reading what the client sent meanwhile, so the connection ends with a
                    # FIN and not a reset that could lose this frame), or gives up after a while.
                    code, reason, wait = item
                    payload = code.to_bytes(2, "big") + _reason_bytes(reason)
                    await self._socket.send_frame(payload, WSMsgType.CLOSE)
                    self.close_sent = True
                    self._timer("close", _CLOSE_TIMEOUT if wait else 0.0, self.end_connection)
                return
            except (ConnectionError, RuntimeError):
                return  # the peer is gone: nothing more can be written

    def end_connection(self) -> None:
        """Close the TCP connection (after what is written), once the close handshake is
        over or the client did not answer."""
        if self._transport is not None:
            self._transport.close()


def _reason_bytes(reason: str) -> bytes:
    """A close reason that fits a close frame, cut at a character boundary."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return encoded
    return encoded[:MAX_CLOSE_REASON_BYTES].decode("utf-8", errors="ignore").encode()


async def serve_websocket(
    request: web.Request,
    attach: Callable[[WebSocketSink], T],
    on_message: Callable[[T, WebSocketSink, str | bytes], None],
    detach: Callable[[T], None],
) -> web.WebSocketResponse:
    """Run one websocket: ``attach`` it (which may refuse the upgrade by raising
    :class:`ApiError`), hand every text or binary frame to ``on_message``, ``detach`` it at
    the end. Every live socket is in the state's registry while it is open, and is armed with
    the first socket fault rule that matches it (:mod:`~symbl.emulator.stores.faults`).

    Frames are read one at a time, and not while the socket is frozen; once a close is on its
    way (or the socket was cut) what the client sends is no longer handled.
    """
    offered = [
        protocol.strip()
        for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        if protocol.strip()
    ]
    socket = web.WebSocketResponse(
        protocols=offered[:1],
        max_msg_size=_MAX_MESSAGE,
        timeout=_CLOSE_TIMEOUT,
        autoping=False,
        autoclose=False,
    )
    if not socket.can_prepare(request):
        raise ApiError(400, f"{request.path} takes a websocket upgrade (GET with Upgrade).")
    state = state_of(request)
    sockets = state.sockets
    sink = WebSocketSink(request, socket)
    attached = attach(sink)
    try:
        await socket.prepare(request)
        record_upgrade()
        rule = state.faults.take(request.method, request.path, socket=True)
        sockets.add(sink)
        sink.start()
        if rule is not None:
            sink.arm(rule)
        while True:
            if not await sink.wait_thawed():
                break
            frame = await socket.receive()
            if not await sink.wait_thawed():  # a freeze that began meanwhile holds the frame
                break
            if frame.type == WSMsgType.PING:
                sink.pong(frame.data)
                continue
            if frame.type == WSMsgType.PONG:
                continue
            if frame.type == WSMsgType.CLOSE:
                await _answer_close(socket, sink)
                break
            if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            if sink.closing:
                continue
            _handle(request, sink, attached, on_message, frame.data)
            sink.received(frame.data)
    finally:
        detach(attached)
        sockets.discard(sink)
        await sink.finish()
    return socket


async def _answer_close(socket: web.WebSocketResponse, sink: WebSocketSink) -> None:
    """The client's close frame: the answer to ours (end the connection), or its own close
    (answer it, as aiohttp does)."""
    if sink.close_sent:
        sink.end_connection()
    else:
        await socket.close()


def _handle(
    request: web.Request,
    sink: WebSocketSink,
    attached: T,
    on_message: Callable[[T, WebSocketSink, str | bytes], None],
    data: str | bytes,
) -> None:
    if data == PING:  # the keep-alive of every socket (PROTOCOL.md §6.2)
        sink.send_text(PONG)
        return
    try:
        on_message(attached, sink, data)
    except Exception:
        logger.exception("emulator websocket handler failed on %s", request.path)
        sink.send(error_message("Internal error", "The Symbl emulator failed."))


@routes.get(streaming.STREAMING_PATH)
@routes.get(streaming.LEGACY_STREAMING_PATH)
async def stream(request: web.Request) -> web.StreamResponse:
    """A sender socket of a streaming session."""
    return await _serve(request, subscriber=False)


@routes.get(streaming.SUBSCRIBE_API_PATH)
async def subscribe(request: web.Request) -> web.StreamResponse:
    """A read-only listener of a streaming session."""
    return await _serve(request, subscriber=True)


#: The answer to a streaming connection past the account's limit.
STREAM_LIMIT_REACHED = (
    "Maximum number of concurrent streaming connections ({limit}) reached. Please wait for "
    "some connections to end."
)


async def _serve(request: web.Request, subscriber: bool) -> web.StreamResponse:
    store = state_of(request).streams
    app_id, connection_id = app_id_of(request), request.match_info["connection_id"]

    def attach(sink: WebSocketSink) -> StreamClient:
        if not subscriber and not store.has_room(app_id, connection_id):
            limit = state_of(request).settings.max_live_streams
            raise ApiError(429, STREAM_LIMIT_REACHED.format(limit=limit))
        return store.connect(app_id, connection_id, sink, subscriber=subscriber)

    def on_message(client: StreamClient, sink: WebSocketSink, data: str | bytes) -> None:
        if client.subscriber:
            store.from_listener(client)
            return
        if isinstance(data, bytes):
            store.audio_frame(client, data)
        else:
            _on_text(store, client, data)

    return await serve_websocket(request, attach, on_message, store.disconnect)


def read_message(text: str) -> dict[str, Any]:
    """A client's text frame as a message: a JSON object with a string ``type``, or (if short)
    the old Python client's literal form (PROTOCOL.md §10.5).

    Raises:
        ProtocolError: anything else, a text nested too deeply included.
    """
    try:
        return parse_client_message(text, lenient=len(text) <= _LITERAL_LIMIT)
    except RecursionError:
        raise ProtocolError("the message is not valid JSON: nested too deeply") from None


def _on_text(store: StreamStore, client: StreamClient, text: str) -> None:
    try:
        message = read_message(text)
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
    elif kind == streaming.BOOKMARK_REQUEST:
        store.bookmark(client, message)
    else:
        known = "start_request, modify_request, bookmark_request and stop_request"
        client.sink.send(error_message("Unknown message type", f"{kind!r}; expected {known}"))


async def end_live_sessions(app: web.Application) -> None:
    """On shutdown: end every stream and call and close every socket, promptly."""
    app[STATE].end_live(CLOSE_GOING_AWAY)
