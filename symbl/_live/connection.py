"""The live-connection core that both connection types compose (DESIGN.md §6).

A :class:`~symbl.StreamingConnection` and a telephony :class:`~symbl.Connection` each hold one
:class:`LiveConnection`: the results socket, its subscribers, and how it ends. What differs
between them stays with them: the protocol's stop (a ``stop_request`` frame, or a REST call)
and the lifecycle messages a stream follows.

- **State.** The connection's state is its socket's
  :class:`~symbl._transport.websocket.Lifecycle`: new → connecting → open → closing → closed,
  changed under a lock, illegal moves refused. The core claims the opening (new → connecting)
  before the handshake, so two threads cannot open twice, and a close during the handshake
  makes the handshake give up. Closed is final for a socket: the connection gets a new socket,
  with a new lifecycle, when it reconnects (or, for a call whose socket ended, on its next
  ``subscribe``); between two sockets the connection itself is ``reconnecting``.
- **Frames.** Each frame is parsed with :func:`~symbl._live.events.parse_event`; one that is
  not an event is a protocol error for the ``error`` subscribers. The owner sees each event
  first (``on_event``), then the subscribers get it, all on the reader thread.
- **Subscriptions.** :meth:`LiveConnection.subscribe` checks names and callbacks at once;
  events that came before the first subscription are replayed to it on the reader thread (the
  reader is woken for that), so callbacks never run anywhere else.
- **Ends.** An end nobody asked for (no close frame, a close code other than 1000, a dead peer)
  sets :attr:`LiveConnection.error` and reaches the ``error`` subscribers; an end after
  :meth:`~LiveConnection.begin_stop` or :meth:`~LiveConnection.expect_close` does not.
- **Reconnecting.** With ``reconnect``, an abnormal end that is worth rejoining (no close
  frame, a dead peer, or a code in ``RECONNECTABLE_CLOSE_CODES``) starts a thread that opens
  new sockets on the same path with backoff and jitter, for up to ``reconnect_window``
  seconds, telling the subscribers through ``reconnecting`` and ``reconnected``; the owner
  restarts its side on each new socket (``on_reopened``). A refusal for good (a 4xx), a stop,
  or the window's end gives up, and the end is then reported as above.
- **Stopping once.** :meth:`~LiveConnection.begin_stop` lets exactly one caller run the
  protocol's stop (or, if that fails, hand the stop back with
  :meth:`~LiveConnection.abandon_stop`); :meth:`~LiveConnection.close` is idempotent and safe
  from any thread, including a callback on the reader thread, where it starts the close
  without waiting for itself.
- **Ctrl+C and the end of the program.** From the start of its opening until its socket ends,
  the connection is registered with :mod:`symbl._live.interrupts`, which stops it on SIGINT,
  SIGTERM and at interpreter exit by calling the owner's ``interrupt``.
  ``handle_signals=False`` (or setting :attr:`~LiveConnection.handle_signals` to False later)
  opts out: the program then stops the connection itself.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, TypeVar

from symbl._arguments import checked_flag
from symbl._models.objects import SymblObject, to_symbl
from symbl._protocol.events import Event
from symbl._protocol.frames import RECONNECTABLE_CLOSE_CODES
from symbl._transport.http import HttpClient
from symbl._transport.websocket import Frame, Lifecycle, State, WebSocketConnection
from symbl.errors import StreamingError, SymblError

from . import interrupts as _interrupts
from .events import Callback, EventDispatcher, parse_event

__all__ = [
    "RECONNECT_EVENTS",
    "LiveConnection",
    "LiveConnectionOwner",
    "State",
]

#: The connection's own events besides ``error``: a drop being recovered, and its recovery.
RECONNECT_EVENTS = (Event.RECONNECTING.value, Event.RECONNECTED.value)
# Reconnection backoff: the first wait, its growth cap, and the jitter's lower bound.
_FIRST_DELAY = 0.1
# How often wait_while looks again: state changes come from other threads, with no event.
_SETTLE_POLL = 0.005
# Handshake refusals a retry cannot change (unlike 408 and 429, which say "later").
_REFUSED_FOR_GOOD = frozenset({400, 401, 403, 404, 405, 410})
_LONGEST_DELAY = 5.0
_JITTER = 0.5

_Owner = TypeVar("_Owner", bound="LiveConnectionOwner")


class LiveConnection:
    """One live results socket with its subscribers: what both connection types are built on.

    Args:
        client: the client whose ``open_websocket`` opens the socket (URL, token, timeouts).
        path: the socket's path below the client's websocket URL.
        events: the event names the connection type emits (the documented list).
        kind: what to call the connection in messages, e.g. ``"streaming connection"``.
        name: the reader thread's name.
        on_interrupt: stops the owner by a deadline (a ``time.monotonic()`` value); called on
            Ctrl+C and at interpreter exit.
        on_event: sees each event on the reader thread before the subscribers do.
        on_close: called on the reader thread when a socket ends, with the error that ended
            it (None after a normal or an expected end), before the ``error`` subscribers.
        daemon: whether the reader thread may be abandoned when the program ends.
        handle_signals: stop the connection on Ctrl+C and at interpreter exit (see
            :mod:`symbl._live.interrupts`); False leaves both to the program.
        reconnect: after an abnormal end (no close frame, a close code in
            ``RECONNECTABLE_CLOSE_CODES``, a dead peer), open a new socket on the same path,
            with backoff, for up to ``reconnect_window`` seconds, instead of ending.
        reconnect_window: seconds from the drop after which reconnecting gives up.
        on_reopened: called on the reconnecting thread once a new socket is open, with a
            function it must call when the connection may carry traffic again (a stream
            re-sends its ``start_request`` and its unconfirmed audio first); raising
            :class:`StreamingError` makes that attempt fail. Without it, the connection is
            ready as soon as the socket is open.
        on_final_error: turns the error that ends the connection for good into the one to
            report (a stream adds the audio that was not delivered).
        on_pong: called on the reader thread with the number of each answered :meth:`ping`.
    """

    def __init__(
        self,
        client: HttpClient,
        path: str,
        *,
        events: tuple[str, ...],
        kind: str,
        name: str,
        on_interrupt: Callable[[float], None],
        on_event: Callable[[SymblObject], None] | None = None,
        on_close: Callable[[StreamingError | None], None] | None = None,
        daemon: bool = False,
        handle_signals: bool = True,
        reconnect: bool = False,
        reconnect_window: float = 60.0,
        on_reopened: Callable[[Callable[[], None]], None] | None = None,
        on_final_error: Callable[[StreamingError], StreamingError] | None = None,
        on_pong: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self._path = path
        self._kind = kind
        self._name = name
        self._on_interrupt = on_interrupt
        self._on_event = on_event
        self._on_close = on_close
        self._daemon = daemon
        self._handle_signals = checked_flag("handle_signals", handle_signals)
        self._dispatcher = EventDispatcher((*events, *RECONNECT_EVENTS), kind)
        self._reconnect = reconnect
        self._reconnect_window = reconnect_window
        self._on_reopened = on_reopened
        self._on_final_error = on_final_error
        self._on_pong = on_pong
        self._reconnecting = False
        self._lost_while_rejoining = False
        self._rejoiner: threading.Thread | None = None
        # Events of the connection itself, delivered by the next reader (see _on_wake).
        self._notices: list[tuple[str, dict[str, Any]]] = []
        self._ended_for_good = threading.Event()
        self._closing = threading.Event()
        # Guards the claim of the stop and the swap of lifecycle and socket; never held while
        # waiting on the network.
        self._lock = threading.Lock()
        self._lifecycle = Lifecycle()
        self._socket: WebSocketConnection | None = None
        self._stopping = False
        # A close that came after the handshake but before the socket was stored here.
        self._close_pending = False
        #: What ended the connection unexpectedly, if anything did.
        self.error: StreamingError | None = None

    def __repr__(self) -> str:
        return f"<LiveConnection {self._kind} {self.state.value}>"

    @property
    def state(self) -> State:
        """The connection's state now: its socket's, or reconnecting between two sockets."""
        return State.RECONNECTING if self._reconnecting else self._lifecycle.state

    @property
    def reconnecting(self) -> bool:
        """Whether the connection is between two sockets after an abnormal end."""
        return self._reconnecting

    @property
    def stopping(self) -> bool:
        """Whether a stop has begun (and was not handed back)."""
        return self._stopping

    @property
    def handle_signals(self) -> bool:
        """Whether Ctrl+C and the end of the program stop this connection; settable."""
        return self._handle_signals

    @handle_signals.setter
    def handle_signals(self, value: bool) -> None:
        self._handle_signals = checked_flag("handle_signals", value)
        if not self._handle_signals:
            _interrupts.unregister(self)
        elif self.state in (State.CONNECTING, State.OPEN, State.CLOSING):
            _interrupts.register(self)

    # -- opening and subscribing ----------------------------------------------------------------

    def open(self) -> bool:
        """Open the socket, unless it is open, opening or being reconnected already.

        Returns:
            True if this call opened it.

        Raises:
            StreamingError: the connection was stopped, or the handshake failed or was refused.
        """
        return self._open(rejoining=False)

    def _open(self, rejoining: bool) -> bool:
        with self._lock:
            if self._stopping:
                raise StreamingError(f"this {self._kind} was stopped")
            if self._reconnecting and not rejoining:
                return False  # the reconnection opens the next socket
            if self._lifecycle.state is State.CLOSED:
                self._lifecycle = Lifecycle()  # the last socket ended: a new one
                self._close_pending = False
                if not rejoining:  # opened again after an end (a call subscribed again)
                    self._ended_for_good.clear()
                    self.error = None
            lifecycle = self._lifecycle
            if lifecycle.try_move(State.CONNECTING, only_from=(State.NEW,)) is None:
                return False
        # Registered from the start, so that Ctrl+C during the handshake stops it too.
        if self._handle_signals:
            _interrupts.register(self)
        try:
            socket = self._client.open_websocket(
                self._path,
                name=self._name,
                on_frame=self._on_frame,
                on_wake=self._on_wake,
                on_close=self._ended,
                daemon=self._daemon,
                lifecycle=lifecycle,
                on_pong=self._on_pong,
            )
        except BaseException:
            lifecycle.try_move(State.CLOSED, only_from=(State.CONNECTING,))
            if not rejoining:  # a reconnection stays registered between its attempts
                _interrupts.unregister(self)
            raise
        with self._lock:
            self._socket = socket
            close_now, self._close_pending = self._close_pending, False
            # A stop that came while this socket was opening (the old one stored meanwhile).
            close_now = close_now or (rejoining and self._closing.is_set())
        if close_now:
            self.close()
            return True
        socket.wake()  # deliver what a subscribe before the opening is waiting for
        return True

    def subscribe(self, events: Mapping[str, Callback]) -> None:
        """Add callbacks (see :class:`~symbl._live.events.EventDispatcher`); events from before
        the first subscription are replayed to it on the reader thread.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
        """
        if self._dispatcher.subscribe(events) and self._socket is not None:
            self._socket.wake()

    def send(self, frame: Frame) -> None:
        """Send a frame; safe from any thread.

        Raises:
            StreamingError: the socket is not open (:attr:`error` when it broke).
        """
        socket = self._socket
        if socket is None:
            raise StreamingError(f"cannot send: the {self._kind} is {self.state.value}")
        try:
            socket.send(frame)
        except StreamingError as exc:
            if self.error is not None:
                raise self.error from exc
            raise

    def wait_while(self, state: State, timeout: float) -> State:
        """Wait up to ``timeout`` seconds while the connection is in ``state``, e.g. for the
        reader to see a broken socket, or for a reconnection to end; returns the state now."""
        deadline = time.monotonic() + timeout
        while self.state is state and time.monotonic() < deadline:
            time.sleep(_SETTLE_POLL)
        return self.state

    def ping(self, number: int) -> None:
        """Send ping ``number`` on the current socket (see ``on_pong``); safe from any thread.

        Raises:
            StreamingError: there is no open socket.
        """
        socket = self._socket
        if socket is None:
            raise StreamingError(f"cannot ping: the {self._kind} is {self.state.value}")
        socket.ping(number)

    def report(self, error: SymblError) -> None:
        """Tell the ``error`` subscribers (or the log) about a failure."""
        self._dispatcher.report(error)

    # -- stopping -------------------------------------------------------------------------------

    def begin_stop(self) -> bool:
        """Claim the stop; True for the first caller only, from any thread.

        The first caller runs the protocol's stop, then :meth:`close`; from now on an end of
        the socket is not an error, and :meth:`open` is refused.
        """
        with self._lock:
            first, self._stopping = not self._stopping, True
            return first

    def abandon_stop(self) -> None:
        """The protocol's stop failed and the connection goes on: a later stop may try again."""
        with self._lock:
            self._stopping = False

    def expect_close(self) -> bool:
        """Mark the end as expected (open → closing) before causing it, e.g. before sending the
        protocol's stop, after which the service closes the socket; True if it was open."""
        return self._lifecycle.try_move(State.CLOSING, only_from=(State.OPEN,)) is not None

    def close(self, timeout: float = 5.0) -> None:
        """Close the socket and wait (up to ``timeout``, twice at worst) for its reader to end.

        Idempotent and safe from any thread; on the reader thread (inside a callback) it starts
        the close and returns. A socket still in its handshake gives up when the handshake ends.
        """
        self._closing.set()  # a reconnection under way gives up
        with self._lock:
            lifecycle, socket = self._lifecycle, self._socket
            # Open, but its opener has not stored the socket yet: the opener closes it.
            self._close_pending = socket is None
        closed_before_opening = (
            lifecycle.try_move(State.CLOSED, only_from=(State.NEW, State.CONNECTING)) is not None
        )
        if not closed_before_opening and socket is not None:
            socket.close(timeout)
        _interrupts.unregister(self)

    def on_reader_thread(self) -> bool:
        """Whether the caller runs callbacks: the reader thread, or the reconnecting thread
        (which delivers ``reconnecting`` and a final ``error``)."""
        socket = self._socket
        current = threading.current_thread()
        return (socket is not None and socket.reader is current) or self._rejoiner is current

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the connection has ended for good (across reconnections).

        Returns:
            True if it ended; False if the timeout passed first or it never started.

        Raises:
            SymblError: called from a callback (the reader thread would wait for itself).
        """
        socket = self._socket
        if socket is None or socket.reader is None:
            return False
        if self.on_reader_thread():
            raise SymblError(
                "wait() was called from a callback, on the very thread it would wait for; "
                "call it from your own thread (callbacks run on the reader thread)"
            )
        if not self._ended_for_good.wait(timeout):
            return False
        socket = self._socket
        if socket is not None and socket.reader is not None:
            socket.reader.join(timeout)  # the last reader finishes its own bookkeeping
        return True

    def interrupt(self, deadline: float) -> None:
        """Stop the owner before ``deadline``; :mod:`symbl._live.interrupts` calls this."""
        self._on_interrupt(deadline)

    # -- on the reader thread -------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        try:
            event = parse_event(frame)
        except SymblError as exc:
            self._dispatcher.report(StreamingError(str(exc)))
            return
        if event is None:
            return
        if self._on_event is not None:
            self._on_event(event)
        self._dispatcher.deliver(event["type"], event)

    def _on_wake(self) -> None:
        with self._lock:
            notices, self._notices = self._notices, []
        for name, payload in notices:
            self._dispatcher.deliver(name, to_symbl({"type": name, **payload}))
        self._dispatcher.replay()

    def _ended(self, error: StreamingError | None) -> None:
        # A stop begun just before the end (its close not sent yet) still makes it expected.
        if error is not None and self._stopping:
            error = None
        with self._lock:
            if self._reconnecting:
                # A socket of a reconnection under way: that loop decides what follows.
                self._lost_while_rejoining = True
                return
            rejoin = error is not None and self._may_rejoin()
            if rejoin:
                self._reconnecting = True
                self._lost_while_rejoining = False
                self._rejoiner = threading.Thread(
                    target=self._rejoin, args=(str(error),), name=f"{self._name}-reconnect"
                )
        if self._rejoiner is not None and rejoin:
            self._rejoiner.start()
            return
        self._finish(error)

    def _may_rejoin(self) -> bool:
        socket = self._socket
        code = socket.close_code if socket is not None else None
        return (
            self._reconnect
            and not self._stopping
            and not self._closing.is_set()
            and (code is None or code in RECONNECTABLE_CLOSE_CODES)
        )

    def _finish(self, error: StreamingError | None) -> None:
        """The connection's end for good: report it, and let waiters go."""
        if error is not None and self._on_final_error is not None:
            error = self._on_final_error(error)
        if error is not None:
            self.error = error
        if self._on_close is not None:
            self._on_close(error)
        if error is not None:
            self._dispatcher.report(error)
        _interrupts.unregister(self)
        self._ended_for_good.set()

    # -- reconnecting (its own thread) ----------------------------------------------------------

    def _rejoin(self, cause: str) -> None:
        """Open new sockets with backoff until one is ready, the window passes, or a stop."""
        dropped = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            delay = _backoff(attempt)
            left = self._reconnect_window - (time.monotonic() - dropped)
            # A stop waits for the reconnection to finish (so that it goes after the replay);
            # a close ends it.
            if left <= 0 or self._closing.is_set():
                break
            self.notify("reconnecting", attempt=attempt, delay=round(delay, 3), cause=cause)
            if self._closing.wait(min(delay, left)):
                break
            try:
                self._attempt()
            except StreamingError as exc:
                cause = str(exc)
                if exc.status_code is not None and exc.status_code in _REFUSED_FOR_GOOD:
                    break  # gone, unauthorised, forbidden: another try changes nothing
                continue
            self.notify(
                "reconnected", attempts=attempt, downtime=round(time.monotonic() - dropped, 3)
            )
            return
        self._reconnecting = False
        given_up = StreamingError(
            f"the {self._kind} broke and reconnecting gave up after {attempt} attempt(s) in "
            f"{time.monotonic() - dropped:.1f} s: {cause}"
        )
        self._finish(None if self._closing.is_set() else given_up)

    def _attempt(self) -> None:
        """One reconnection: a new socket, then the owner's own restart."""
        with self._lock:
            self._lost_while_rejoining = False
        if not self._open(rejoining=True):
            raise StreamingError(f"the {self._kind} could not be reopened")
        try:
            if self._on_reopened is not None:
                self._on_reopened(self._ready_again)
            else:
                self._ready_again()
        except BaseException:
            socket = self._socket
            if socket is not None:
                socket.close(1.0)
            raise

    def _ready_again(self) -> None:
        """The owner's restart is done: traffic flows again, unless the new socket has already
        ended (then this attempt fails, and the next one follows)."""
        with self._lock:
            socket = self._socket
            if self._lost_while_rejoining or socket is None or socket.state is not State.OPEN:
                raise StreamingError(f"the {self._kind}'s new socket ended while it restarted")
            self._reconnecting = False

    def notify(self, name: str, **payload: Any) -> None:
        """Hand one of the connection's own events (``reconnecting``, ...) to the subscribers,
        on a reader thread and in order with the service's events."""
        with self._lock:
            self._notices.append((name, payload))
            socket = self._socket
        if socket is not None and socket.state is State.OPEN:
            socket.wake()
        elif name == "reconnecting":
            self._on_wake()  # no reader between sockets: this thread is the only one running


class LiveConnectionOwner:
    """What the connection types (a stream, a listener, a call) show of the core they hold
    (as ``_live``): its state, and ``with`` support (leaving the block stops it)."""

    _live: LiveConnection
    connectionId: str

    def stop(self) -> object:
        """End the connection (each connection type says how)."""
        raise NotImplementedError

    def __enter__(self: _Owner) -> _Owner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def connection_id(self) -> str:
        """The connection's id (snake_case alias of ``connectionId``)."""
        return self.connectionId

    @property
    def state(self) -> str:
        """``new``, ``connecting``, ``open``, ``reconnecting``, ``closing`` or ``closed``."""
        return self._live.state.value

    @property
    def error(self) -> StreamingError | None:
        """What ended the connection unexpectedly, if anything did."""
        return self._live.error

    @property
    def handle_signals(self) -> bool:
        """Whether Ctrl+C and the end of the program stop the connection; set False to opt
        out."""
        return self._live.handle_signals

    @handle_signals.setter
    def handle_signals(self, value: bool) -> None:
        self._live.handle_signals = value


def _backoff(attempt: int) -> float:
    """The wait before reconnection ``attempt`` (1, 2, ...): doubling, capped, with jitter so
    that many clients do not come back in lock-step."""
    ceiling = min(_LONGEST_DELAY, _FIRST_DELAY * 2 ** (attempt - 1))
    return random.uniform(ceiling * _JITTER, ceiling)
