"""The asyncio live-connection core: the twin of :class:`~symbl._live.connection.LiveConnection`
for the connections of ``symbl.AsyncClient`` (DESIGN.md §6). It starts no thread.

- **One reader task per connection.** It reads the socket, parses each frame
  (:func:`~symbl._live.events.parse_event`), lets the owner see each event first
  (``on_event``), then runs the subscribers' callbacks one at a time, awaiting those that are
  coroutine functions. The same task reconnects after a drop, so every callback of a
  connection runs in it, in order, across sockets.
- **State.** The current socket's :class:`~symbl._transport.websocket.Lifecycle` (new →
  connecting → open → closing → closed), or ``reconnecting`` between two sockets, as in the
  threaded core.
- **Heartbeat.** After ``heartbeat_interval`` seconds with nothing from the service the reader
  pings; after ``dead_peer_timeout`` seconds (not even a pong) the peer counts as dead and the
  socket is cut: an abnormal end. Numbered pings (:meth:`AsyncLiveConnection.ping`) come back
  to ``on_pong``.
- **Ends and reconnecting.** As the threaded core: an end nobody asked for sets
  :attr:`~AsyncLiveConnection.error` and reaches the ``error`` subscribers; with
  ``reconnect``, a drop worth rejoining (no close frame, a dead peer, a code in
  ``RECONNECTABLE_CLOSE_CODES``) opens new sockets on the same path with the same backoff, for
  up to ``reconnect_window`` seconds, telling the subscribers with ``reconnecting`` and
  ``reconnected``. On each new socket the owner restarts its side (``on_reopened``), reading
  the service's answers with the function it is given.
- **Iterating.** ``async for event in connection`` (:meth:`AsyncLiveConnection.events`) is a
  consumer like a subscription: it gets every event but ``error`` (the backlog rule applies
  to it too), ends when the connection ends for good, and then raises the connection's error
  if it ended abnormally.
- **Cancellation.** :meth:`~AsyncLiveConnection.close` ends the reader and waits for it, so no
  task is left. If the event loop cancels the reader itself (``asyncio.run`` does on Ctrl+C
  and when the program's main coroutine returns), the owner's stop runs first
  (``on_interrupt``, with ``handle_signals``), within :data:`INTERRUPT_GRACE` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from symbl._arguments import checked_flag
from symbl._live.async_events import EventStream
from symbl._live.connection import _REFUSED_FOR_GOOD, RECONNECT_EVENTS, _backoff
from symbl._live.events import ERROR_EVENT, Callback, EventDispatcher, parse_event
from symbl._models.objects import SymblObject, to_symbl
from symbl._protocol.frames import CLOSE_NORMAL, NORMAL_CLOSE_CODES, RECONNECTABLE_CLOSE_CODES
from symbl._transport.async_http import AsyncHttpClient, import_aiohttp
from symbl._transport.websocket import Frame, Lifecycle, State
from symbl.errors import StreamingError, SymblError

if TYPE_CHECKING:
    from aiohttp import ClientWebSocketResponse

    Socket = ClientWebSocketResponse[bool]

__all__ = ["INTERRUPT_GRACE", "AsyncLiveConnection", "ReceiveUntil"]

logger = logging.getLogger("symbl")

#: Seconds a connection whose reader the event loop cancels gives its owner's stop and the
#: service's last frames before its socket is cut.
INTERRUPT_GRACE = 1.0
#: What ``on_reopened`` is given: read and deliver the new socket's frames until the event is
#: set or the seconds pass (raising :class:`StreamingError` if the socket ends first).
ReceiveUntil = Callable[[asyncio.Event, float], Awaitable[None]]
# How long cutting a socket waits for the service's answer to the close frame.
_CUT_PATIENCE = 0.1
_End = Optional[StreamingError]
_NORMAL_CLOSE = CLOSE_NORMAL.to_bytes(2, "big")


class AsyncLiveConnection:
    """One live results socket with its subscribers, on the event loop.

    The arguments are those of :class:`~symbl._live.connection.LiveConnection`, for an
    :class:`~symbl._transport.async_http.AsyncHttpClient`, except that the owner's hooks
    ``on_interrupt`` and ``on_reopened`` are coroutine functions, and there is no thread to
    make a daemon of.

    Args:
        client: the client whose ``open_websocket`` opens the socket (URL, token, timeouts).
        path: the socket's path below the client's websocket URL.
        events: the event names the connection type emits (the documented list).
        kind: what to call the connection in messages, e.g. ``"streaming connection"``.
        name: the reader task's name.
        on_interrupt: the owner's stop, awaited when the event loop cancels the reader.
        on_event: sees each event in the reader task before the subscribers do.
        on_close: called when the connection ends for good, with the error that ended it
            (None after a normal or an expected end), before the ``error`` subscribers.
        handle_signals: whether a cancellation of the reader by the event loop runs
            ``on_interrupt`` (True), or only closes the socket.
        reconnect: reconnect after an abnormal end worth rejoining, instead of ending.
        reconnect_window: seconds from the drop after which reconnecting gives up.
        on_reopened: awaited in the reader task on each new socket, with a
            :data:`ReceiveUntil` and a function to call (with no wait before the next write)
            once the connection may carry traffic again; raising :class:`StreamingError`
            fails that attempt. Without it, the connection is ready once the socket is open.
        on_final_error: turns the error that ends the connection for good into the one to
            report.
        on_pong: called with the number of each answered :meth:`ping`.
    """

    def __init__(
        self,
        client: AsyncHttpClient,
        path: str,
        *,
        events: tuple[str, ...],
        kind: str,
        name: str,
        on_interrupt: Callable[[], Awaitable[object]] | None = None,
        on_event: Callable[[SymblObject], None] | None = None,
        on_close: Callable[[StreamingError | None], None] | None = None,
        handle_signals: bool = True,
        reconnect: bool = False,
        reconnect_window: float = 60.0,
        on_reopened: Callable[[ReceiveUntil, Callable[[], None]], Awaitable[None]] | None = None,
        on_final_error: Callable[[StreamingError], StreamingError] | None = None,
        on_pong: Callable[[int], None] | None = None,
    ) -> None:
        aiohttp = import_aiohttp()
        self._types = aiohttp.WSMsgType
        self._send_errors: tuple[type[BaseException], ...] = (
            OSError,
            RuntimeError,
            aiohttp.ClientError,
        )
        self._client = client
        self._path = path
        self._kind = kind
        self._name = name
        self._on_interrupt = on_interrupt
        self._on_event = on_event
        self._on_close = on_close
        self._handle_signals = checked_flag("handle_signals", handle_signals)
        self._reconnect = reconnect
        self._reconnect_window = reconnect_window
        self._on_reopened = on_reopened
        self._on_final_error = on_final_error
        self._on_pong = on_pong
        self._dispatcher = EventDispatcher((*events, *RECONNECT_EVENTS), kind, awaits=True)
        self._lifecycle = Lifecycle()
        self._socket: Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._receiving: asyncio.Future[Any] | None = None  # the pending socket.receive()
        self._wakeup: asyncio.Future[None] | None = None  # resolved to wake a waiting reader
        # Events of the connection itself, delivered by the reader in order with the others.
        self._notices: deque[tuple[str, Any]] = deque()
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        #: Whether the connection is between two sockets after an abnormal end.
        self.reconnecting = False
        #: Whether a stop has begun (and was not handed back).
        self.stopping = False
        self._closing = asyncio.Event()
        self._close_timeout = 5.0
        self._ended = asyncio.Event()
        self._state_changed = asyncio.Event()
        # Writers of the owner take turns; the reader's own pings and pongs never wait for
        # them (a writer blocked on a frozen peer must not stop the reader noticing it).
        self._write_lock = asyncio.Lock()
        self._close_code: int | None = None
        self._close_reason = ""
        self.error: StreamingError | None = None  # what ended it unexpectedly, if anything

    @property
    def state(self) -> State:
        """The current socket's state, or ``reconnecting`` between two sockets."""
        return State.RECONNECTING if self.reconnecting else self._lifecycle.state

    def __repr__(self) -> str:
        return f"<AsyncLiveConnection {self._kind} {self.state.value}>"

    def _get_handle_signals(self) -> bool:
        return self._handle_signals

    def _set_handle_signals(self, value: bool) -> None:
        self._handle_signals = checked_flag("handle_signals", value)

    #: Whether a cancellation of the reader by the event loop stops the owner first; settable.
    handle_signals = property(_get_handle_signals, _set_handle_signals)

    # -- opening, subscribing, iterating ---------------------------------------------------------

    async def open(self) -> bool:
        """Open the socket now and start the reader task, unless the connection is open,
        opening or reconnecting already.

        Returns:
            True if this call opened it.

        Raises:
            StreamingError: the connection was stopped, or the handshake failed or was refused.
        """
        lifecycle = self._claim_opening()
        if lifecycle is None:
            return False
        socket = await self._handshake(lifecycle)
        self._reader = self._start_reader(self._run(socket))
        return True

    def open_in_background(self) -> bool:
        """Open the socket in the reader task, unless the connection is open, opening or
        reconnecting already; a failed handshake ends the connection with that error.

        Returns:
            True if this call started the opening.

        Raises:
            StreamingError: the connection was stopped.
        """
        lifecycle = self._claim_opening()
        if lifecycle is None:
            return False
        self._reader = self._start_reader(self._open_then_run(lifecycle, self._reader))
        return True

    def subscribe(self, events: Mapping[str, Callback]) -> None:
        """Add callbacks (see :class:`~symbl._live.events.EventDispatcher`); events from before
        the first subscription are replayed to it by the reader task.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
        """
        if self._dispatcher.subscribe(events):
            self._wake()

    def events(self) -> EventStream:
        """An asynchronous iterator over the connection's events (``async for``)."""
        stream = EventStream(self._dispatcher)
        self._streams.add(stream)
        self.subscribe(stream.handlers)
        if self._ended.is_set() and not self.on_reader_task():
            self._dispatcher.replay()  # no reader left: what was kept comes now
            stream.end(self.error)
        return stream

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, frame: Frame) -> None:
        """Send a text (str) or binary (bytes) frame; writers take turns.

        Raises:
            StreamingError: the socket is not open, or the send failed (:attr:`error` when the
                connection broke).
        """
        socket = self._socket
        if socket is None or self._lifecycle.state not in (State.OPEN, State.CLOSING):
            raise StreamingError(f"cannot send: the {self._kind} is {self.state.value}")
        try:
            async with self._write_lock:
                if isinstance(frame, str):
                    await socket.send_str(frame)
                else:
                    await socket.send_bytes(frame)
        except self._send_errors as exc:
            if self.error is not None:
                raise self.error from exc
            raise StreamingError(
                f"sending on the {self._kind} failed: {exc or type(exc).__name__}"
            ) from exc

    async def ping(self, number: int) -> None:
        """Send ping ``number`` on the current socket (see ``on_pong``).

        Raises:
            StreamingError: there is no open socket, or the send failed.
        """
        socket = self._socket
        if socket is None or self._lifecycle.state is not State.OPEN:
            raise StreamingError(f"cannot ping: the {self._kind} is {self.state.value}")
        try:
            async with self._write_lock:
                await socket.ping(str(number).encode("ascii"))
        except self._send_errors as exc:
            raise StreamingError(f"ping on the {self._kind} failed: {exc}") from exc

    def notify(self, name: str, **payload: Any) -> None:
        """Hand one of the connection's own events to the subscribers, in the reader task and
        in order with the service's events."""
        self._notices.append((name, payload))
        self._wake()

    def report(self, error: SymblError) -> None:
        """Tell the ``error`` subscribers (or the log) about a failure, from the reader task."""
        self._notices.append((ERROR_EVENT, error))
        self._wake()

    async def wait_while(self, state: State, timeout: float) -> State:
        """Wait up to ``timeout`` seconds while the connection is in ``state``; returns the
        state now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state is state:
            left = deadline - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._state_changed.wait(), left)
        return self.state

    # -- stopping ---------------------------------------------------------------------------------

    def begin_stop(self) -> bool:
        """Claim the stop; True for the first caller only (see the threaded core)."""
        first, self.stopping = not self.stopping, True
        return first

    def abandon_stop(self) -> None:
        """The protocol's stop failed and the connection goes on: a later stop may try again."""
        self.stopping = False

    def expect_close(self) -> bool:
        """Mark the end as expected (open → closing) before causing it; True if it was open."""
        moved = self._lifecycle.try_move(State.CLOSING, only_from=(State.OPEN,)) is not None
        self._changed()
        return moved

    async def close(self, timeout: float = 5.0) -> None:
        """Close the socket and wait (up to ``timeout``, twice at worst) for the reader task to
        end; then it is cancelled. Idempotent; from the reader task itself (inside a callback)
        it starts the close and returns."""
        self._close_timeout = timeout
        self._closing.set()
        self._wake()
        lifecycle = self._lifecycle
        # A handshake under way gives up when it ends; an open socket is closed by the reader.
        if lifecycle.try_move(State.CLOSED, only_from=(State.NEW, State.CONNECTING)) is None:
            lifecycle.try_move(State.CLOSING, only_from=(State.OPEN,))
        self._changed()
        reader = self._reader
        if reader is None or reader.done() or reader is asyncio.current_task():
            return
        done, _ = await asyncio.wait({reader}, timeout=2 * timeout)
        if not done:
            logger.debug("the %s's reader did not end in time; cancelling it", self._kind)
            reader.cancel()
            await asyncio.wait({reader})

    def on_reader_task(self) -> bool:
        """Whether the caller is the reader task (it runs every callback)."""
        return self._reader is not None and asyncio.current_task() is self._reader

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the connection has ended for good (across reconnections).

        Returns:
            True if it ended; False if the timeout passed first or it never started.

        Raises:
            SymblError: called from a callback (the reader task would wait for itself).
        """
        reader = self._reader
        if reader is None:
            return False
        if self.on_reader_task():
            raise SymblError(
                "wait() was called from a callback, in the very task it would wait for; "
                "await it from your own task (callbacks run in the connection's reader task)"
            )
        try:
            await asyncio.wait_for(self._ended.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        await asyncio.wait({reader})  # it has only its own bookkeeping left
        return True

    # -- the reader task --------------------------------------------------------------------------

    def _claim_opening(self) -> Lifecycle | None:
        if self.stopping:
            raise StreamingError(f"this {self._kind} was stopped")
        if self.reconnecting:
            return None  # the reconnection opens the next socket
        if self._lifecycle.state is State.CLOSED:
            # The last socket ended: a new life (a call subscribed again).
            self._lifecycle = Lifecycle()
            self._ended.clear()
            self._closing.clear()
            self.error = None
        lifecycle = self._lifecycle
        if lifecycle.try_move(State.CONNECTING, only_from=(State.NEW,)) is None:
            return None
        self._changed()
        return lifecycle

    def _start_reader(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._client.background(work, name=self._name)

    async def _handshake(self, lifecycle: Lifecycle) -> Socket:
        try:
            socket = await self._client.open_websocket(self._path)
        except BaseException:
            lifecycle.try_move(State.CLOSED, only_from=(State.CONNECTING,))
            self._changed()
            raise
        if lifecycle.try_move(State.OPEN, only_from=(State.CONNECTING,)) is None:
            await self._cut(socket)  # closed during the handshake: it ends before it opens
            raise StreamingError(f"the {self._kind} was closed while it was opening")
        self._socket = socket
        self._close_code, self._close_reason = None, ""
        self._changed()
        return socket

    async def _open_then_run(
        self, lifecycle: Lifecycle, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous})  # the last reader finishes its own bookkeeping
        try:
            socket = await self._handshake(lifecycle)
        except asyncio.CancelledError:
            self._settle()
            raise
        except SymblError as exc:
            failure = exc if isinstance(exc, StreamingError) else StreamingError(str(exc))
            if failure is not exc:
                failure.__cause__ = exc
            await self._finish(None if self._closing.is_set() else failure)
            return
        await self._run(socket)

    async def _run(self, socket: Socket) -> None:
        try:
            error = await self._follow(socket)
        except asyncio.CancelledError:
            await self._cancelled()
            raise
        except Exception as exc:  # a failure of ours: never leave the connection hanging
            logger.exception("the %s's reader failed", self._kind)
            error = StreamingError(f"the {self._kind} failed: {type(exc).__name__}: {exc}")
            if self._socket is not None:
                await self._cut(self._socket)
            self._lifecycle.try_move(State.CLOSED)
        await self._finish(error)

    async def _follow(self, socket: Socket) -> _End:
        """Read sockets, reconnecting after drops, until the connection ends for good; the
        error that ended it, if any."""
        while True:
            _, error = await self._read(socket)
            if error is not None and self.stopping:
                error = None  # a stop begun just before the end still makes it expected
            if error is None or not self._may_rejoin():
                return error
            self._set_reconnecting(True)
            rejoined, error = await self._rejoin(str(error))
            if rejoined is None:
                return error
            socket = rejoined

    async def _read(
        self, socket: Socket, ready: asyncio.Event | None = None, deadline: float | None = None
    ) -> tuple[bool, _End]:
        """Read and deliver frames until the socket ends (True, and the error of an end
        nobody asked for), or ``ready`` is set or ``deadline`` passes (False, None)."""
        loop = asyncio.get_running_loop()
        heartbeat = self._client.heartbeat_interval
        dead_after = self._client.dead_peer_timeout
        heard = pinged = loop.time()
        closing_by: float | None = None  # once our close frame is out: when to stop waiting
        while True:
            await self._deliver_pending()
            now = loop.time()
            if self._closing.is_set() and closing_by is None:
                # As the threaded core: what the service sends before it answers the close
                # frame (the last events after a stop) is still delivered.
                closing_by = now + self._close_timeout
                await self._control(socket.send_frame(_NORMAL_CLOSE, self._types.CLOSE))
            if closing_by is not None and now >= closing_by:
                await self._cut(socket)
                return True, self._socket_ended(None)
            if (ready is not None and ready.is_set()) or (deadline is not None and now >= deadline):
                return False, None
            wait = min(heartbeat - (now - max(heard, pinged)), heard + dead_after - now)
            for limit in (deadline, closing_by):
                if limit is not None:
                    wait = min(wait, limit - now)
            message = await self._next(socket, max(0.0, wait))
            now = loop.time()
            if message is None:
                if closing_by is not None:
                    continue
                if now - heard >= dead_after:
                    await self._cut(socket)
                    reason = f"no answer for {dead_after:g} s, not even to pings"
                    return True, self._socket_ended(reason)
                if now - max(heard, pinged) >= heartbeat and not self._write_lock.locked():
                    pinged = now
                    await self._control(socket.ping())
                continue
            heard = now
            if message.type is self._types.CLOSE:
                self._close_code, self._close_reason = message.data, message.extra or ""
                await self._cut(socket)  # aiohttp has answered it; this releases the socket
                return True, self._socket_ended(None)
            if message.type in (self._types.CLOSING, self._types.CLOSED, self._types.ERROR):
                failure = message.data if message.type is self._types.ERROR else None
                await self._cut(socket)
                return True, self._socket_ended(str(failure or "no close frame"))
            await self._on_message(socket, message)

    async def _next(self, socket: Socket, timeout: float) -> Any:
        """The next message, or None after ``timeout`` seconds or a wake-up."""
        receiving = self._receiving
        if receiving is None:
            receiving = self._receiving = asyncio.ensure_future(socket.receive())
        if not receiving.done():
            # One future for the three ways the wait ends (asyncio.wait costs more per frame).
            loop = asyncio.get_running_loop()
            waiter = self._wakeup = loop.create_future()

            def wake(_: object = None) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            receiving.add_done_callback(wake)
            timer = loop.call_later(timeout, wake)
            try:
                await waiter
            finally:
                timer.cancel()
                receiving.remove_done_callback(wake)
                self._wakeup = None
            if not receiving.done():
                return None
        self._receiving = None
        return receiving.result()

    async def _on_message(self, socket: Socket, message: Any) -> None:
        types = self._types
        if message.type is types.TEXT or message.type is types.BINARY:
            try:
                event = parse_event(message.data)
            except SymblError as exc:
                await self._dispatcher.report_async(StreamingError(str(exc)))
                return
            if event is None:
                return
            if self._on_event is not None:
                self._on_event(event)
            await self._dispatcher.deliver_async(event["type"], event)
        elif message.type is types.PING:
            await self._control(socket.pong(message.data))
        elif message.type is types.PONG and self._on_pong is not None:
            number = bytes(message.data).decode("ascii", errors="replace")
            if number.isdigit():  # the heartbeat's own pings carry no number
                self._on_pong(int(number))

    async def _control(self, sending: Awaitable[None]) -> None:
        """Send a ping or pong of the reader's own, never waiting long on a stuck peer."""
        with contextlib.suppress(asyncio.TimeoutError, *self._send_errors):
            await asyncio.wait_for(sending, self._client.heartbeat_interval)

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _deliver_pending(self) -> None:
        """The connection's own events, then the replay a first subscription waits for."""
        while self._notices:
            name, payload = self._notices.popleft()
            if name == ERROR_EVENT:
                await self._dispatcher.report_async(payload)
            else:
                await self._announce(name, **payload)
        await self._dispatcher.replay_async()

    async def _announce(self, name: str, **payload: Any) -> None:
        await self._dispatcher.deliver_async(name, to_symbl({"type": name, **payload}))

    def _socket_ended(self, failure: str | None) -> _End:
        """What the end of the current socket means: None for an expected or normal end."""
        expected = self._lifecycle.try_move(State.CLOSED) is not State.OPEN
        self._changed()
        if expected:
            return None
        url = self._client.websocket_url + self._path.split("?")[0]
        if failure is not None:
            return StreamingError(f"the connection to {url} closed unexpectedly: {failure}")
        if self._close_code in NORMAL_CLOSE_CODES:
            return None
        reason = f" ({self._close_reason})" if self._close_reason else ""
        return StreamingError(f"the server closed {url} with code {self._close_code}{reason}")

    def _may_rejoin(self) -> bool:
        code = self._close_code
        return (
            self._reconnect
            and not self.stopping
            and not self._closing.is_set()
            and (code is None or code in RECONNECTABLE_CLOSE_CODES)
        )

    async def _cut(self, socket: Socket, patience: float = _CUT_PATIENCE) -> None:
        """Close ``socket``, waiting ``patience`` seconds at most for the service's answer;
        cancelling aiohttp's close then cuts the connection."""
        receiving, self._receiving = self._receiving, None
        if receiving is not None and not receiving.done():
            receiving.cancel()
            await asyncio.wait({receiving})
        with contextlib.suppress(asyncio.TimeoutError, *self._send_errors):
            await asyncio.wait_for(socket.close(), patience)

    def _set_reconnecting(self, value: bool) -> None:
        self.reconnecting = value
        self._changed()

    def _changed(self) -> None:
        """Wake every :meth:`wait_while`: the state may have changed."""
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    # -- ends -------------------------------------------------------------------------------------

    async def _finish(self, error: _End) -> None:
        """The connection's end for good: report it, end the iterators, let waiters go."""
        if error is not None and self._on_final_error is not None:
            error = self._on_final_error(error)
        if error is not None:
            self.error = error
        self._set_reconnecting(False)
        # At once, with no wait since the socket ended: what a stop sees is how it ended.
        if self._on_close is not None:
            self._on_close(error)
        await self._deliver_pending()
        if error is not None:
            await self._dispatcher.report_async(error)
        self._settle()

    def _settle(self) -> None:
        """Mark the connection ended for good (the last thing its reader does)."""
        self.reconnecting = False
        self._lifecycle.try_move(State.CLOSED)
        for stream in list(self._streams):
            stream.end(self.error)
        self._ended.set()
        self._changed()

    async def _cancelled(self) -> None:
        """The reader was cancelled: by :meth:`close` (which asked for it), or by the event
        loop (Ctrl+C or the end of ``asyncio.run``), when the owner stops first."""
        foreign = not self._closing.is_set()
        socket = self._socket
        try:
            if (
                foreign
                and self._handle_signals
                and self._on_interrupt is not None
                and socket is not None
                and self._lifecycle.state is State.OPEN
            ):
                loop = asyncio.get_running_loop()
                deadline = loop.time() + INTERRUPT_GRACE
                try:
                    await asyncio.wait_for(self._on_interrupt(), INTERRUPT_GRACE)
                    await self._read(socket, deadline=deadline)  # the service's last words
                except (SymblError, asyncio.TimeoutError) as exc:
                    logger.warning("stopping the %s as its task ended: %s", self._kind, exc)
        finally:
            self._closing.set()
            if socket is not None:
                await self._cut(socket, _CUT_PATIENCE)
            if self._on_close is not None:
                self._on_close(None)
            self._settle()

    async def _rejoin(self, cause: str) -> tuple[Socket | None, _End]:
        """Open new sockets with backoff until one is ready (returned), the window passes, a
        refusal for good, or a close; then the error to end with."""
        loop = asyncio.get_running_loop()
        dropped = loop.time()
        attempt = 0
        for attempt, delay, wait in _attempts(self._reconnect_window, loop.time):
            if self._closing.is_set():
                break
            await self._announce(
                "reconnecting", attempt=attempt, delay=round(delay, 3), cause=cause
            )
            if await self._closed_within(wait):
                break
            try:
                socket = await self._attempt()
            except SymblError as exc:
                cause = str(exc)
                if getattr(exc, "status_code", None) in _REFUSED_FOR_GOOD:
                    break  # gone, unauthorised, forbidden: another try changes nothing
                continue
            self._set_reconnecting(False)
            await self._announce(
                "reconnected", attempts=attempt, downtime=round(loop.time() - dropped, 3)
            )
            return socket, None
        self._set_reconnecting(False)
        if self._closing.is_set():
            return None, None
        return None, StreamingError(
            f"the {self._kind} broke and reconnecting gave up after {attempt} attempt(s) in "
            f"{loop.time() - dropped:.1f} s: {cause}"
        )

    async def _closed_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if :meth:`close` is called; whether it was."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _attempt(self) -> Socket:
        """One reconnection: a new socket, then the owner's own restart on it."""
        lifecycle = self._lifecycle = Lifecycle()
        lifecycle.move(State.CONNECTING)
        socket = await self._handshake(lifecycle)
        try:
            ready = functools.partial(self._ready_again, lifecycle)
            if self._on_reopened is not None:
                await self._on_reopened(functools.partial(self._receive_until, socket), ready)
            else:
                ready()
        except BaseException:
            await self._cut(socket)
            lifecycle.try_move(State.CLOSED)
            raise
        return socket

    def _ready_again(self, lifecycle: Lifecycle) -> None:
        """The owner's restart is done: traffic flows again, unless the new socket has already
        ended (then this attempt fails, and the next one follows)."""
        if lifecycle.state is not State.OPEN:
            raise StreamingError(f"the {self._kind}'s new socket ended while it restarted")
        self._set_reconnecting(False)

    async def _receive_until(self, socket: Socket, ready: asyncio.Event, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        ended, error = await self._read(socket, ready, deadline)
        if ended:
            detail = f": {error}" if error is not None else ""
            raise StreamingError(f"the {self._kind}'s new socket ended while it restarted{detail}")


def _attempts(window: float, clock: Callable[[], float]) -> Iterator[tuple[int, float, float]]:
    """Reconnection attempts while ``window`` seconds from now last: each attempt's number,
    its backoff, and the wait before it (the backoff, or what is left of the window)."""
    started = clock()
    attempt = 0
    while True:
        left = window - (clock() - started)
        if left <= 0:
            return
        attempt += 1
        delay = _backoff(attempt)
        yield attempt, delay, min(delay, left)
