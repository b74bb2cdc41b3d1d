"""The Streaming API for the asyncio client: ``client.Streaming`` of ``symbl.AsyncClient``.

``await client.Streaming.start_connection(...)`` takes the arguments of
``symbl.Streaming.start_connection``, checks them the same way and sends the same
``start_request``; it returns an :class:`AsyncStreamingConnection`, already connected. Audio
goes in with ``await connection.send_audio(...)``, ``send_audio_from_file`` or
``send_audio_from_mic``; results come to the callbacks given to ``subscribe`` (functions or
coroutine functions) and to ``async for event in connection``, all from the connection's one
reader task. ``await connection.stop()`` sends the protocol's stop, waits for
``conversation_completed`` and closes; ``async with`` stops on exit. Reconnection and the
replay of unconfirmed audio work as in the threaded client.

Signals belong to the event loop. ``asyncio.run`` turns Ctrl+C into a cancellation: a
cancelled ``send_audio_from_file``, ``send_audio_from_mic``, ``stop`` or ``async with`` block
stops the stream (``stop_request``, a short wait, the socket closed), and so does the
cancellation of the connection's reader task when ``asyncio.run`` ends, unless the stream was
started with ``handle_signals=False`` (its socket is then only closed).

Example:
    >>> async with symbl.AsyncClient() as client:
    ...     async with await client.Streaming.start_connection() as connection:
    ...         connection.subscribe({"message_response": print})
    ...         await connection.send_audio_from_file("meeting.wav")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, Callable, NoReturn

from symbl._live.async_connection import AsyncLiveConnection, ReceiveUntil
from symbl._live.async_microphone import AsyncMicrophone
from symbl._live.audio import AudioData
from symbl._live.replay import _ASK_EVERY
from symbl._protocol import streaming
from symbl._protocol.frames import encode
from symbl._transport.async_http import AsyncHttpClient
from symbl._transport.websocket import State
from symbl.errors import AudioNotDeliveredError, StreamingError

from .async_conversations import AsyncConversation
from .async_listeners import AsyncStreamListener
from .coroutines import awaited, name_coroutines
from .streaming import (
    STOP_TIMEOUT,
    Streaming,
    StreamingConnection,
    _due,
    _stop_timeout,
    _unconfirmed,
)

logger = logging.getLogger("symbl")

__all__ = ["AsyncStreaming", "AsyncStreamingConnection"]


@name_coroutines
class AsyncStreamingConnection(StreamingConnection):
    """A live streaming connection of ``symbl.AsyncClient`` (made by
    ``await client.Streaming.start_connection()``): :class:`~symbl.StreamingConnection` on
    the event loop.

    Every method that waits is a coroutine; ``subscribe`` is not (callbacks may be coroutine
    functions, awaited one at a time by the connection's reader task). ``async for event in
    connection`` yields every event (a dict with its ``type``) but ``error``, from the first
    consumer on (events before it are kept, as for a first subscription), until the stream
    ends; then it raises the connection's error if the stream broke.

    Attributes:
        connectionId: the id of the stream.
        conversation: the :class:`~symbl.AsyncConversation` being built.
        summary_url: the Summary UI link, once the conversation is completed.
        error: what ended the connection unexpectedly, if anything did.
        state: ``new``, ``connecting``, ``open``, ``reconnecting``, ``closing`` or ``closed``.
    """

    _conversation_class = AsyncConversation
    _live: AsyncLiveConnection  # type: ignore[assignment]
    _client: AsyncHttpClient  # type: ignore[assignment]
    _ready: asyncio.Event  # type: ignore[assignment]
    _finished: asyncio.Event  # type: ignore[assignment]
    _completed: asyncio.Event  # type: ignore[assignment]
    _send_lock: asyncio.Lock  # type: ignore[assignment]

    def __init__(self, client: AsyncHttpClient, request: dict[str, Any], **options: Any) -> None:
        super().__init__(client, request, **options)  # type: ignore[arg-type]
        self._released = asyncio.Event()  # set when the service confirmed audio
        self._replay.on_release = self._released.set

    def _new_event(self) -> asyncio.Event:  # type: ignore[override]
        return asyncio.Event()

    def _new_lock(self) -> asyncio.Lock:  # type: ignore[override]
        return asyncio.Lock()

    def _live_connection(self, path: str, **options: Any) -> AsyncLiveConnection:  # type: ignore[override]
        return AsyncLiveConnection(self._client, path, on_interrupt=self._interrupted, **options)

    def __enter__(self) -> NoReturn:
        raise TypeError("an AsyncStreamingConnection is used with 'async with', not 'with'")

    def interrupt(self, deadline: float) -> NoReturn:
        """Not for asyncio: a cancellation stops the stream (see the module's docstring)."""
        raise TypeError("cancel the task instead, or await stop(): the event loop owns signals")

    async def __aenter__(self) -> AsyncStreamingConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def __aiter__(self) -> Any:
        return self._live.events()

    async def send_audio(self, data: AudioData) -> None:  # type: ignore[override]
        """Send audio: LINEAR16 bytes, or a numpy array (int16, or float in -1.0 .. 1.0),
        split into frames of at most 8192 bytes; other encodings as bytes, 8192 at most.

        Raises:
            StreamingError: the connection is closed (``error`` says why if it broke).
            AudioNotDeliveredError: the replay buffer is full, or reconnecting gave up.
            InvalidArgumentError: audio of the wrong type or shape.
        """
        await self._send_all(self._audio_frames(data))

    async def send_audio_from_mic(self, device: int | str | None = None) -> None:  # type: ignore[override]
        """Stream the microphone (``device``: an index or name, the default input when None)
        until the stream ends, as :meth:`symbl.StreamingConnection.send_audio_from_mic` does,
        with the same errors; a cancellation stops the stream."""
        self._require_linear16("send_audio_from_mic")
        try:
            with AsyncMicrophone(self.sample_rate, device) as microphone:
                async for block in microphone.blocks(self._streaming):
                    if not await self._stream(block):
                        break
        except asyncio.CancelledError:
            await self._stop_quietly(1.0)
            raise
        await self._end_of_stream()

    async def send_audio_from_file(  # type: ignore[override]
        self, path: str | Path, realtime: bool = True, *, speed: float = 1.0
    ) -> None:
        """Stream a WAV file (mixed to mono and resampled, block by block); a cancellation
        stops the stream.

        Args:
            path: a PCM WAV file.
            realtime: pace the audio like a live speaker (True), or send it as fast as the
                connection allows (False).
            speed: when pacing, how many times faster than real time.

        Raises:
            InvalidArgumentError: the file is missing or not a PCM WAV file (nothing sent).
            StreamingError: the connection broke while streaming.
        """
        wav, chunk = self._wav_source(path, realtime, speed)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            with wav:
                for index, frame in enumerate(wav.frames(chunk)):
                    if self._finished.is_set() or not await self._stream(frame):
                        break
                    # Unpaced, still let the reader run between frames (pongs, events).
                    pause = _due(started, index, speed) - loop.time() if realtime else 0.0
                    await asyncio.sleep(max(0.0, pause))
        except asyncio.CancelledError:
            await self._stop_quietly(1.0)
            raise
        await self._end_of_stream()

    async def modify(  # type: ignore[override]
        self, sample_rate: int | None = None, encoding: str | None = None
    ) -> None:
        """Change the audio format mid-stream (``modify_request``), once the service has
        confirmed the audio sent in the old one.

        Raises:
            InvalidArgumentError: an unknown encoding or a rate out of range (nothing sent).
            StreamingError: the connection is closed, or the audio sent was not confirmed.
        """
        message, recognition = self._modify_request(sample_rate, encoding)
        async with self._send_lock:
            patience = self._client.dead_peer_timeout
            if self._live.reconnecting or not await self._confirmed(
                lambda: not len(self._replay), patience
            ):
                raise _unconfirmed(patience)
            await self._live.send(message)
            self._modified(recognition)

    # The threaded connection's methods: they return what the connection's send does, which
    # here is a coroutine.
    create_bookmark = awaited(StreamingConnection.create_bookmark, type(None))  # type: ignore[assignment]
    update_bookmark = awaited(StreamingConnection.update_bookmark, type(None))  # type: ignore[assignment]
    delete_bookmark = awaited(StreamingConnection.delete_bookmark, type(None))  # type: ignore[assignment]

    async def stop(  # type: ignore[override]
        self, timeout: float | None = STOP_TIMEOUT
    ) -> AsyncStreamingConnection:
        """End the stream: send ``stop_request``, wait for ``conversation_completed``, close.

        Safe to call more than once and from several tasks. From a callback it sends the stop
        and returns; the connection then closes when the service finishes. A cancelled stop
        still closes the connection.

        Args:
            timeout: seconds to wait for the service to complete the conversation; 10 when
                None, no limit when ``float('inf')``.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number (nothing sent).
            StreamingError: the stream was live, and the service did not complete the
                conversation within ``timeout`` seconds (the stream is closed either way).
        """
        timeout = _stop_timeout(timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        ended_before = self._finished.is_set()
        on_reader = self._live.on_reader_task()
        if self._live.begin_stop():
            try:
                if not on_reader:
                    # A reconnection under way finishes first (its replay goes before the stop).
                    await self._live.wait_while(State.RECONNECTING, timeout)
                async with self._send_lock:
                    await self._send_stop_request()
            except asyncio.CancelledError:
                # Cancelled before the stop went out: it still goes, then the socket closes.
                await self._send_stop_request()
                await self._live.close(timeout=1.0)
                raise
        if on_reader:
            return self
        try:
            finished = await _within(self._finished, timeout - (loop.time() - started))
        finally:
            await self._live.close(timeout=min(timeout, 5.0))
        if not self._completed.is_set() and not ended_before:
            raise self._incomplete_stop(finished, timeout)
        return self

    # -- internals -------------------------------------------------------------------------------

    async def _start(self) -> None:  # type: ignore[override]
        try:
            await self._live.open()
            await self._live.send(encode(self._request))
            ready = await _within(self._ready, self._client.connect_timeout)
            if not ready or self.conversation is None:
                raise self._start_failure()
        except BaseException:  # a failure or a cancellation: no socket or task is left
            if self._live.state is State.OPEN and self._live.begin_stop():
                await self._send_stop_request()  # the service may have started the session
            await self._live.close(timeout=1.0)
            raise

    async def _send_stop_request(self) -> None:
        """Send ``stop_request`` once, if the socket is open; a failure is only logged (the
        socket closes next either way)."""
        if not self._live.expect_close():
            return
        try:
            await asyncio.wait_for(
                self._live.send(encode(streaming.stop_request())), self._client.heartbeat_interval
            )
        except (StreamingError, asyncio.TimeoutError) as exc:
            logger.debug("stop_request not sent: %s", exc)

    async def _send(self, frame: bytes) -> None:  # type: ignore[override]
        """Send one audio frame, held until the service confirms it (see the threaded one)."""
        if not self._live.reconnecting:
            await self._confirmed(
                lambda: self._replay.fits(len(frame)), self._client.dead_peer_timeout
            )
        async with self._send_lock:
            if not self._accept(frame):
                return  # replayed once the connection is back
            try:
                await self._live.send(frame)
            except StreamingError:
                # The socket broke just now: a reconnection replays this frame, or the end is
                # final (the reader tells which as soon as it has seen the end).
                settled = await self._live.wait_while(State.OPEN, self._client.dead_peer_timeout)
                if self._reconnect and settled is State.RECONNECTING:
                    return
                raise self.error or StreamingError("cannot send: the stream ended") from None
            if self._checkpoint_due(len(frame)):
                await self._checkpoint()

    async def _send_all(self, frames: list[bytes]) -> None:  # type: ignore[override]
        for index, frame in enumerate(frames):
            try:
                await self._send(frame)
            except AudioNotDeliveredError as refused:
                raise self._refused_call(refused, frames[index + 1 :]) from None

    async def _confirmed(self, done: Callable[[], bool], patience: float) -> bool:
        """Wait up to ``patience`` seconds until ``done()`` (the service confirmed enough
        audio), asking for confirmations now and then; whether it came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._released.clear()
            await self._checkpoint()
            if not done():
                await _within(self._released, min(left, _ASK_EVERY))
        return True

    async def _checkpoint(self) -> None:  # type: ignore[override]
        with contextlib.suppress(StreamingError):  # a broken socket: the reconnection handles it
            await self._live.ping(self._replay.checkpoint())

    async def _reopened(  # type: ignore[override]
        self, receive_until: ReceiveUntil, ready: Callable[[], None]
    ) -> None:
        """On a new socket after a drop: start again, replay what was not confirmed, go on."""
        before = self.conversation.get_conversation_id() if self.conversation else None
        self._ready.clear()
        await self._live.send(encode(self._request))
        await receive_until(self._ready, self._client.connect_timeout)
        if not self._ready.is_set() or self._refusal is not None:
            raise self._restart_refusal()
        self._tell_if_changed(before)
        async with self._send_lock:
            for frame in self._replay.pending():
                await self._live.send(frame)
            ready()
        await self._checkpoint()

    async def _stream(self, frame: bytes) -> bool:  # type: ignore[override]
        """Send one frame of a long stream; False once the stream has ended normally."""
        try:
            await self._send(frame)
        except StreamingError:
            if self.error is None and (self._live.stopping or self._finished.is_set()):
                return False
            raise
        return True

    def _streaming(self) -> bool:
        return not self._finished.is_set() and not self._live.stopping

    async def _end_of_stream(self) -> None:  # type: ignore[override]
        if self._live.stopping or self._finished.is_set():
            await self._live.wait(STOP_TIMEOUT)
        if self.error is not None:
            raise self.error

    async def _stop_quietly(self, timeout: float) -> None:  # type: ignore[override]
        """Stop while a cancellation goes on: a stop that did not complete is logged, never
        raised in place of the cancellation."""
        try:
            await self.stop(timeout=timeout)
        except StreamingError as exc:
            logger.warning("%s", exc)

    async def _interrupted(self) -> None:
        """The event loop cancelled the reader (Ctrl+C, the end of ``asyncio.run``): send the
        protocol's stop; the reader reads the service's last frames."""
        if self._live.begin_stop() and self._live.expect_close():
            await self._live.send(encode(streaming.stop_request()))


async def _within(event: asyncio.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``event``; whether it is set."""
    if not event.is_set() and timeout > 0:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
    return event.is_set()


@name_coroutines
class AsyncStreaming(Streaming):
    """The Streaming API for ``symbl.AsyncClient`` (``await client.Streaming.start_connection()``).

    ``start_connection`` and ``subscribe_to_stream`` take the arguments of
    ``symbl.Streaming``'s methods. With asyncio, ``handle_signals`` says whether the
    cancellation of the connection's reader task by the event loop (as ``asyncio.run`` does on
    Ctrl+C and when it ends) stops the stream (True), or only closes its socket (False; a
    listener's socket is only closed either way).
    """

    start_connection = awaited(Streaming.start_connection, AsyncStreamingConnection)  # type: ignore[assignment]

    async def _connect(  # type: ignore[override]
        self, client: AsyncHttpClient, request: dict[str, Any], **options: Any
    ) -> AsyncStreamingConnection:
        connection = AsyncStreamingConnection(client, request, **options)
        await connection._start()
        return connection

    subscribe_to_stream = awaited(Streaming.subscribe_to_stream, AsyncStreamListener)  # type: ignore[assignment]

    async def _listen(  # type: ignore[override]
        self, client: AsyncHttpClient, connection_id: str, **options: bool
    ) -> AsyncStreamListener:
        listener = AsyncStreamListener(client, connection_id, **options)  # type: ignore[arg-type]
        await listener._open()
        return listener
