"""The threaded websocket both live connection types build on (the only user of websocket-client).

One :class:`WebSocketConnection` owns one socket and one reader thread. The handshake happens in
the caller's thread, so a connection is open when :meth:`open` returns. The reader thread waits
with ``select`` on the socket and on a wake-up socket pair, so other threads can hand it work
(:meth:`wake`) without it ever polling; everything it is handed, and every received frame, runs
on that one thread. Writes may come from any thread (websocket-client locks its sends).

Lifecycle: new → connecting → open → closing → closed; ``on_close`` runs exactly once, last, on
the reader thread. Every wait has a timeout: the handshake, each send and receive (``io_timeout``)
and :meth:`close`. A connection that stays quiet is pinged every ``heartbeat`` seconds, and one
that answers nothing for two heartbeats is declared dead, so a vanished peer cannot leave the
reader (and the process) waiting forever.
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
from collections.abc import Mapping
from typing import Callable, Union

import websocket

from .errors import StreamingError

logger = logging.getLogger("symbl")

Frame = Union[str, bytes]


class State(enum.Enum):
    """Where a connection is in its life."""

    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


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
        daemon: whether the reader thread may be abandoned when the program ends. A non-daemon
            reader keeps a script that ended right after subscribing alive until the
            connection ends (what the telephony snippets rely on).
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
        heartbeat: float = 20.0,
        daemon: bool = False,
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
        self._daemon = daemon
        self._state = State.NEW
        self._state_lock = threading.Lock()
        self._socket: websocket.WebSocket | None = None
        self._reader: threading.Thread | None = None
        self._wake_in, self._wake_out = socket.socketpair()
        self.close_code: int | None = None

    def __repr__(self) -> str:
        return f"<WebSocketConnection {self._state.value} {self.url}>"

    @property
    def state(self) -> State:
        """The connection's state now."""
        return self._state

    @property
    def reader(self) -> threading.Thread | None:
        """The reader thread, once open."""
        return self._reader

    def open(self) -> None:
        """Do the handshake now, then start the reader thread.

        Raises:
            StreamingError: the handshake failed or was refused (with the status and message).
        """
        with self._state_lock:
            if self._state is not State.NEW:
                raise StreamingError(f"this connection was already opened ({self._state.value})")
            self._state = State.CONNECTING
        try:
            self._socket = websocket.create_connection(
                self.url,
                timeout=self._connect_timeout,
                header=[f"{key}: {value}" for key, value in self._headers.items()],
                enable_multithread=True,
            )
            self._socket.settimeout(self._io_timeout)
        except websocket.WebSocketBadStatusException as exc:
            self._fail_open()
            raise StreamingError(_refusal(exc, self.url), status_code=exc.status_code) from exc
        except (websocket.WebSocketException, OSError) as exc:
            self._fail_open()
            raise StreamingError(f"could not open {self.url}: {exc or type(exc).__name__}") from exc
        self._state = State.OPEN
        self._reader = threading.Thread(target=self._read, name=self._name, daemon=self._daemon)
        self._reader.start()

    def send(self, frame: Frame) -> None:
        """Send a text (str) or binary (bytes) frame; safe from any thread.

        Raises:
            StreamingError: the connection is not open, or the send failed.
        """
        ws = self._socket
        if ws is None or self._state not in (State.OPEN, State.CLOSING):
            raise StreamingError(f"cannot send: the connection is {self._state.value}")
        try:
            if isinstance(frame, str):
                ws.send(frame)
            else:
                ws.send_binary(frame)
        except (websocket.WebSocketException, OSError) as exc:
            raise StreamingError(
                f"sending on {self.url} failed: {exc or type(exc).__name__}"
            ) from exc

    def wake(self) -> None:
        """Make the reader thread call ``on_wake`` soon (safe from any thread)."""
        # An OSError means the reader has finished: there is nothing left to wake.
        with contextlib.suppress(OSError):
            self._wake_out.send(b"\0")

    def close(self, timeout: float = 5.0, code: int = 1000) -> None:
        """Close: send a close frame, let the reader finish, and wait for it.

        Safe to call more than once and from any thread; from the reader thread itself (inside
        a callback) it starts the close and returns without waiting for the reader to end.
        """
        with self._state_lock:
            if self._state in (State.NEW, State.CONNECTING):
                self._state = State.CLOSED
                return
            starting = self._state is State.OPEN
            self._state = State.CLOSING if starting else self._state
        ws = self._socket
        if starting and ws is not None:
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
        self._state = State.CLOSED
        self._wake_in.close()
        self._wake_out.close()

    def _read(self) -> None:
        error: StreamingError | None = None
        ws = self._socket
        assert ws is not None
        last_heard = time.monotonic()
        try:
            while True:
                socket_ready, woken = self._wait(ws)
                if woken:
                    self._on_wake()
                if not socket_ready:
                    if not woken:
                        last_heard = self._keep_alive(ws, last_heard)
                    continue
                opcode, data = ws.recv_data(control_frame=True)
                last_heard = time.monotonic()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    self.close_code = _close_code(data)
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self._on_frame(data.decode("utf-8", errors="replace"))
                elif opcode == websocket.ABNF.OPCODE_BINARY:
                    self._on_frame(bytes(data))
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            if self._state is not State.CLOSING:
                error = StreamingError(
                    f"the connection to {self.url} closed unexpectedly: {exc or type(exc).__name__}"
                )
        finally:
            was_closing = self._state is State.CLOSING
            self._state = State.CLOSED
            ws.shutdown()
            self._wake_in.close()
            self._wake_out.close()
            if error is None and not was_closing and self.close_code not in (None, 1000):
                error = StreamingError(f"the server closed {self.url} with code {self.close_code}")
            self._on_close(error)

    def _keep_alive(self, ws: websocket.WebSocket, last_heard: float) -> float:
        """After a quiet heartbeat: ping, or give up on a peer that stopped answering."""
        if time.monotonic() - last_heard > 2 * self._heartbeat:
            raise websocket.WebSocketTimeoutException(
                f"no answer for {2 * self._heartbeat:g} s, not even to pings"
            )
        ws.ping()
        return last_heard

    def _wait(self, ws: websocket.WebSocket) -> tuple[bool, bool]:
        """Block until a frame can be read, someone called :meth:`wake`, or a heartbeat passed.

        Returns ``(socket_ready, woken)``.
        """
        sock = ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("the socket is closed")
        # TLS may already hold decrypted bytes that select() on the socket would never report.
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        timeout = 0 if buffered else self._heartbeat
        readable, _, _ = select.select([sock, self._wake_in], [], [], timeout)
        woken = self._wake_in in readable
        if woken:
            self._wake_in.recv(4096)
        return buffered or sock in readable, woken


def _close_code(frame: object) -> int | None:
    data = getattr(frame, "data", b"")
    return int.from_bytes(data[:2], "big") if len(data) >= 2 else None


def _refusal(exc: websocket.WebSocketBadStatusException, url: str) -> str:
    body = (
        exc.resp_body.decode("utf-8", errors="replace") if isinstance(exc.resp_body, bytes) else ""
    )
    detail = f": {body[:300]}" if body else ""
    hint = " (check the credentials)" if exc.status_code == 401 else ""
    return f"the server refused the websocket {url} with status {exc.status_code}{detail}{hint}"
