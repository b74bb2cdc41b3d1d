"""The threaded websocket both live connection types build on (the only user of websocket-client).

One :class:`WebSocketConnection` owns one socket and one reader thread. The handshake happens in
the caller's thread, so a connection is open when :meth:`open` returns. The reader thread waits
with ``select`` on the socket and on a wake-up socket pair, so other threads can hand it work
(:meth:`wake`) without it ever polling; everything it is handed, and every received frame, runs
on that one thread. Writes may come from any thread (websocket-client locks its sends).

Lifecycle: :class:`State` is the one state enum of every live connection, and a
:class:`Lifecycle` the one way it changes: new → connecting → open → closing → closed (or
straight to closed when a handshake fails, the peer ends an open connection, or a connection is
closed before it opened), each move checked against the allowed ones under a lock; any other is
refused. A socket drives its lifecycle; the connection that owns the socket may hold the same
:class:`Lifecycle` and move it too (to claim the opening, or to mark a close it is about to
cause as expected). Closed is final: a socket is never reopened. ``on_close`` runs exactly once,
last, on the reader thread; an end the socket was not told to expect (no close frame, or a
close code other than 1000) reaches it as a :class:`StreamingError` with the code.

Every wait has a timeout: the handshake, each send and receive (``io_timeout``) and
:meth:`close`. A connection that stays quiet is pinged every ``heartbeat`` seconds, and one
from which nothing at all (not even a pong) has come for ``dead_peer_timeout`` seconds is
declared dead, so a vanished or frozen peer cannot leave the reader (and the process) waiting
forever. :meth:`ping` sends a numbered ping from any thread; the peer's pong comes back to
``on_pong`` with the number, which tells that the peer has read everything sent before it.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Collection, Mapping
from typing import Callable, Optional, Union

import websocket

from symbl._protocol.frames import CLOSE_NORMAL, NORMAL_CLOSE_CODES, parse_close
from symbl.errors import StreamingError

logger = logging.getLogger("symbl")

Frame = Union[str, bytes]
#: Given a refused handshake: the headers for one more attempt, or None to give up.
RetryWith = Callable[[StreamingError], Optional[Mapping[str, str]]]


class State(enum.Enum):
    """Where a connection is in its life."""

    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    #: A connection between two sockets: the last one ended abnormally, the next is coming.
    #: Only a connection is ever in this state; a socket never reopens.
    RECONNECTING = "reconnecting"
    CLOSING = "closing"
    CLOSED = "closed"


# A socket's moves; a connection's own open ⇄ reconnecting is its owner's (symbl._live).
_ALLOWED: dict[State, frozenset[State]] = {
    State.NEW: frozenset({State.CONNECTING, State.CLOSED}),
    State.CONNECTING: frozenset({State.OPEN, State.CLOSED}),
    State.OPEN: frozenset({State.CLOSING, State.CLOSED}),
    State.CLOSING: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}


class Lifecycle:
    """A connection's :class:`State`, changed only along the allowed moves, under a lock.

    Example:
        >>> lifecycle = Lifecycle()
        >>> lifecycle.move(State.CONNECTING)
        <State.NEW: 'new'>
        >>> lifecycle.try_move(State.CLOSING) is None  # not from connecting
        True
    """

    def __init__(self) -> None:
        self._state = State.NEW
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Lifecycle {self._state.value}>"

    @property
    def state(self) -> State:
        """The state now."""
        return self._state

    def move(self, to: State) -> State:
        """Go to ``to``; returns the state left.

        Raises:
            StreamingError: ``to`` cannot follow the current state.
        """
        with self._lock:
            if to not in _ALLOWED[self._state]:
                raise StreamingError(f"a {self._state.value} connection cannot become {to.value}")
            left, self._state = self._state, to
            return left

    def try_move(self, to: State, *, only_from: Collection[State] | None = None) -> State | None:
        """Go to ``to`` if that is allowed now (and the state is one of ``only_from``, when
        given); returns the state left, or None when nothing changed."""
        with self._lock:
            if to not in _ALLOWED[self._state]:
                return None
            if only_from is not None and self._state not in only_from:
                return None
            left, self._state = self._state, to
            return left


class WebSocketConnection:
    """A websocket with a reader thread.

    Args:
        url: the ``ws://`` or ``wss://`` URL (it never carries a token).
        headers: handshake headers, e.g. the ``x-api-key`` token header.
        name: the reader thread's name.
        on_frame: called on the reader thread for each text (str) or binary (bytes) frame.
        on_wake: called on the reader thread after :meth:`wake`.
        on_close: called once, last, on the reader thread: with None after a clean close, or
            with the :class:`StreamingError` that ended the connection.
        connect_timeout: seconds allowed for the TCP, TLS and websocket handshakes.
        io_timeout: seconds any single send or receive may block.
        heartbeat: seconds of silence before the reader pings the peer.
        dead_peer_timeout: seconds without any frame from the peer (a pong counts) after which
            it is declared dead and the connection ends with an error.
        on_pong: called on the reader thread with the number of each answered :meth:`ping`.
        daemon: whether the reader thread may be abandoned when the program ends. A non-daemon
            reader keeps a script that ended right after subscribing alive until the
            connection ends (what the telephony snippets rely on).
        lifecycle: the :class:`Lifecycle` to drive, new or already connecting (its owner may
            claim the opening first); a new one when omitted.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        name: str,
        on_frame: Callable[[Frame], None],
        on_wake: Callable[[], None],
        on_close: Callable[[StreamingError | None], None],
        connect_timeout: float = 10.0,
        io_timeout: float = 30.0,
        heartbeat: float = 2.5,
        dead_peer_timeout: float = 7.5,
        daemon: bool = False,
        lifecycle: Lifecycle | None = None,
        on_pong: Callable[[int], None] | None = None,
    ) -> None:
        self.url = url
        self._headers = dict(headers)
        self._name = name
        self._on_frame = on_frame
        self._on_wake = on_wake
        self._on_close = on_close
        self._connect_timeout = connect_timeout
        self._io_timeout = io_timeout
        self._heartbeat = heartbeat
        self._dead_peer_timeout = dead_peer_timeout
        self._on_pong = on_pong
        self._daemon = daemon
        self.lifecycle = lifecycle or Lifecycle()
        self._close_lock = threading.Lock()
        self._close_sent = False
        # Sends under way: while a writer holds the socket, the reader does not queue a ping
        # behind it (a frozen peer would block the reader too, and it must notice the freeze).
        self._sending = 0
        self._sending_lock = threading.Lock()
        self._socket: websocket.WebSocket | None = None
        self._reader: threading.Thread | None = None
        self._wake_in, self._wake_out = socket.socketpair()
        #: The code of the peer's close frame (1005 for one without a code); None until then.
        self.close_code: int | None = None
        self.close_reason = ""

    def __repr__(self) -> str:
        return f"<WebSocketConnection {self.state.value} {self.url}>"

    @property
    def state(self) -> State:
        """The connection's state now."""
        return self.lifecycle.state

    @property
    def reader(self) -> threading.Thread | None:
        """The reader thread, once open."""
        return self._reader

    def open(self, *, retry_with: RetryWith | None = None) -> None:
        """Do the handshake now, then start the reader thread.

        Args:
            retry_with: asked once if the server refuses the handshake with a status: the
                headers for one more handshake (e.g. with a fresh token), or None to give up.

        Raises:
            StreamingError: the handshake failed or was refused (with the status and message),
                or the connection was closed while the handshake was going on.
        """
        if self.lifecycle.try_move(State.CONNECTING, only_from=(State.NEW,)) is None:
            if self.state is State.CLOSED and self._reader is None:
                # The owner claimed the opening, then closed it before the handshake began.
                self._fail_open()
                raise StreamingError(f"{self.url} was closed while it was opening")
            if self.state is not State.CONNECTING:
                raise StreamingError(f"this connection was already opened ({self.state.value})")
        try:
            try:
                ws = self._handshake(self._headers)
            except StreamingError as refused:
                headers = None
                if refused.status_code is not None and retry_with is not None:
                    headers = retry_with(refused)
                if headers is None:
                    raise
                ws = self._handshake(headers)
        except BaseException:
            self._fail_open()
            raise
        self._socket = ws
        if self.lifecycle.try_move(State.OPEN, only_from=(State.CONNECTING,)) is None:
            # close() was called during the handshake: the connection ends before it opens.
            ws.abort()
            ws.shutdown()
            self._fail_open()
            raise StreamingError(f"{self.url} was closed while it was opening")
        self._reader = threading.Thread(target=self._read, name=self._name, daemon=self._daemon)
        self._reader.start()

    def _handshake(self, headers: Mapping[str, str]) -> websocket.WebSocket:
        try:
            ws = websocket.create_connection(
                self.url,
                timeout=self._connect_timeout,
                header=[f"{key}: {value}" for key, value in headers.items()],
                enable_multithread=True,
            )
            ws.settimeout(self._io_timeout)
        except websocket.WebSocketBadStatusException as exc:
            raise StreamingError(_refusal(exc, self.url), status_code=exc.status_code) from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise StreamingError(f"could not open {self.url}: {exc or type(exc).__name__}") from exc
        return ws

    def send(self, frame: Frame) -> None:
        """Send a text (str) or binary (bytes) frame; safe from any thread.

        Raises:
            StreamingError: the connection is not open, or the send failed.
        """
        ws = self._socket
        state = self.state
        if ws is None or state not in (State.OPEN, State.CLOSING):
            raise StreamingError(f"cannot send: the connection is {state.value}")
        with self._sending_lock:
            self._sending += 1
        try:
            if isinstance(frame, str):
                ws.send(frame)
            else:
                ws.send_binary(frame)
        except (websocket.WebSocketException, OSError) as exc:
            raise StreamingError(
                f"sending on {self.url} failed: {exc or type(exc).__name__}"
            ) from exc
        finally:
            with self._sending_lock:
                self._sending -= 1

    def ping(self, number: int) -> None:
        """Send a ping carrying ``number`` (safe from any thread); ``on_pong`` gets it back.

        Raises:
            StreamingError: the connection is not open, or the send failed.
        """
        ws = self._socket
        if ws is None or self.state is not State.OPEN:
            raise StreamingError(f"cannot ping: the connection is {self.state.value}")
        try:
            ws.ping(str(number))
        except (websocket.WebSocketException, OSError) as exc:
            raise StreamingError(
                f"sending on {self.url} failed: {exc or type(exc).__name__}"
            ) from exc

    def wake(self) -> None:
        """Make the reader thread call ``on_wake`` soon (safe from any thread)."""
        # An OSError means the reader has finished: there is nothing left to wake.
        with contextlib.suppress(OSError):
            self._wake_out.send(b"\0")

    def close(self, timeout: float = 5.0, code: int = CLOSE_NORMAL) -> None:
        """Close: send a close frame, let the reader finish, and wait for it.

        Safe to call more than once and from any thread; from the reader thread itself (inside
        a callback) it starts the close and returns without waiting for the reader to end. A
        connection still in its handshake is closed at once: the handshake then gives up.
        """
        left = self.lifecycle.try_move(State.CLOSED, only_from=(State.NEW, State.CONNECTING))
        if left is State.NEW:  # never to be opened: nothing else will release the wake-up pair
            self._wake_in.close()
            self._wake_out.close()
        if left is not None:
            return
        # From open, or from closing when the owner marked the close as expected before
        # (e.g. while the protocol's stop ran): either way, one close frame goes out.
        self.lifecycle.try_move(State.CLOSING, only_from=(State.OPEN,))
        ws = self._socket
        with self._close_lock:
            send_close = not self._close_sent and self.state is State.CLOSING and ws is not None
            self._close_sent = self._close_sent or send_close
        if send_close and ws is not None:
            try:
                ws.send_close(code)
            except (websocket.WebSocketException, OSError):
                ws.abort()
        if threading.current_thread() is self._reader or self._reader is None:
            return
        self._reader.join(timeout)
        if self._reader.is_alive():  # the server never answered the close: cut the socket
            logger.debug("no close answer from %s; aborting the socket", self.url)
            if ws is not None:
                ws.abort()
            self._reader.join(timeout)

    def _fail_open(self) -> None:
        self.lifecycle.try_move(State.CLOSED, only_from=(State.NEW, State.CONNECTING))
        self._wake_in.close()
        self._wake_out.close()

    def _read(self) -> None:
        failure: Exception | None = None
        ws = self._socket
        assert ws is not None
        last_heard = time.monotonic()
        try:
            while True:
                socket_ready, woken = self._wait(ws, last_heard)
                if woken:
                    self._on_wake()
                if not socket_ready:
                    if not woken:
                        last_heard = self._keep_alive(ws, last_heard)
                    continue
                opcode, data = ws.recv_data(control_frame=True)
                last_heard = time.monotonic()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    # websocket-client has answered the close frame already.
                    self.close_code, self.close_reason = parse_close(bytes(data))
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self._on_frame(data.decode("utf-8", errors="replace"))
                elif opcode == websocket.ABNF.OPCODE_BINARY:
                    self._on_frame(bytes(data))
                elif opcode == websocket.ABNF.OPCODE_PONG and self._on_pong is not None:
                    number = bytes(data).decode("ascii", errors="replace")
                    if number.isdigit():  # the heartbeat's own pings carry no number
                        self._on_pong(int(number))
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            failure = exc
        finally:
            # One atomic move tells whether this end was expected (a close was under way).
            expected = self.lifecycle.try_move(State.CLOSED) is not State.OPEN
            if ws.sock is not None:  # wakes a writer blocked on a peer that stopped reading
                with contextlib.suppress(OSError):
                    ws.sock.shutdown(socket.SHUT_RDWR)
            ws.shutdown()
            self._wake_in.close()
            self._wake_out.close()
            self._on_close(None if expected else self._unexpected_end(failure))

    def _unexpected_end(self, failure: Exception | None) -> StreamingError | None:
        """What an end nobody asked for means: None for the peer's normal close."""
        if failure is not None:
            return StreamingError(
                f"the connection to {self.url} closed unexpectedly: "
                f"{failure or type(failure).__name__}"
            )
        if self.close_code in NORMAL_CLOSE_CODES:
            return None
        reason = f" ({self.close_reason})" if self.close_reason else ""
        return StreamingError(f"the server closed {self.url} with code {self.close_code}{reason}")

    def _keep_alive(self, ws: websocket.WebSocket, last_heard: float) -> float:
        """After a quiet heartbeat: ping, or give up on a peer that stopped answering."""
        if time.monotonic() - last_heard >= self._dead_peer_timeout:
            raise websocket.WebSocketTimeoutException(
                f"no answer for {self._dead_peer_timeout:g} s, not even to pings"
            )
        if not self._sending:  # a writer is blocked on a peer that reads nothing: wait it out
            ws.ping()
        return last_heard

    def _wait(self, ws: websocket.WebSocket, last_heard: float) -> tuple[bool, bool]:
        """Block until a frame can be read, someone called :meth:`wake`, a heartbeat passed, or
        the peer has been silent for ``dead_peer_timeout``.

        Returns ``(socket_ready, woken)``.
        """
        sock = ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("the socket is closed")
        # TLS may already hold decrypted bytes that select() on the socket would never report.
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        until_dead = last_heard + self._dead_peer_timeout - time.monotonic()
        timeout = 0 if buffered else max(0.0, min(self._heartbeat, until_dead))
        readable, _, _ = select.select([sock, self._wake_in], [], [], timeout)
        woken = self._wake_in in readable
        if woken:
            self._wake_in.recv(4096)
        return buffered or sock in readable, woken


def _refusal(exc: websocket.WebSocketBadStatusException, url: str) -> str:
    body = (
        exc.resp_body.decode("utf-8", errors="replace") if isinstance(exc.resp_body, bytes) else ""
    )
    detail = f": {body[:300]}" if body else ""
    hint = " (check the credentials)" if exc.status_code == 401 else ""
    return f"the server refused the websocket {url} with status {exc.status_code}{detail}{hint}"
