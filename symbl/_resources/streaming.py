"""The Streaming API (PROTOCOL.md §6): send live audio over a websocket, get results live.

``symbl.Streaming.start_connection()`` returns a :class:`StreamingConnection` that is already
connected: the handshake is done, the ``start_request`` sent, and ``connection.conversation`` set
from the service's ``conversation_created`` message. Audio goes in with ``send_audio``,
``send_audio_from_mic`` or ``send_audio_from_file``; results come to the callbacks given to
``subscribe``, on the connection's reader thread. ``stop()`` sends the protocol's stop, waits for
``conversation_completed`` and closes.

Audio defaults to LINEAR16 at 16 kHz: the service's documented default, which every microphone
and PortAudio host can deliver (the old client used 44.1 kHz, which the service then had to
downsample). Change it with ``config={'speechRecognition': {'sampleRateHertz': ...}}``.

Example:
    >>> connection = symbl.Streaming.start_connection(insight_types=["question", "action_item"])
    >>> connection.subscribe({"message_response": lambda event: print(event["messages"])})
    >>> connection.send_audio_from_file("meeting.wav")
    >>> connection.stop()
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

from symbl._arguments import aliases, checked_flag
from symbl._live.audio import AudioData, Microphone, WavFile, frames, to_linear16
from symbl._live.connection import LiveConnection, LiveConnectionOwner, State
from symbl._live.events import STREAM_EVENTS, service_error
from symbl._live.replay import ReplayBuffer
from symbl._models.objects import SymblObject
from symbl._protocol import streaming
from symbl._protocol.bookmarks import bookmark_fields
from symbl._protocol.checks import is_number, shown
from symbl._protocol.events import Event
from symbl._protocol.frames import conversation_id_of, encode, lifecycle
from symbl._protocol.options import is_language
from symbl._protocol.streaming import MAX_FRAME_BYTES
from symbl._transport.http import HttpClient
from symbl.errors import AudioNotDeliveredError, InvalidArgumentError, StreamingError

from .base import (
    EMPTY,
    Resource,
    checked_arguments,
    mapping,
    path_id,
    timezone_offset,
    wait_seconds,
)
from .bookmarks import stream_frame
from .conversations import Conversation
from .listeners import StreamListener

logger = logging.getLogger("symbl")

#: Seconds ``stop()`` waits for ``conversation_completed`` by default.
STOP_TIMEOUT = 10.0
#: The default ``noConnectionTimeout``: how long the service keeps a conversation whose
#: socket dropped, and so how long a reconnection may take. A minute covers a restarting
#: router or a roaming laptop; longer holds the service's resources for abandoned streams.
NO_CONNECTION_TIMEOUT = 60
#: The default replay buffer, in seconds of audio: what a reconnection can make up for.
REPLAY_BUFFER_SECONDS = 60.0
# How long a reconnection may try when the stream was started with noConnectionTimeout 0 (the
# service then starts a new conversation, which the connection reports).
_REJOIN_WITHOUT_TIMEOUT = 30.0
# Seconds between the pings that confirm what the service has read.
_CHECKPOINT_SECONDS = 0.2
_FILE_CHUNK_SECONDS = 0.1
_SPEAKER_KEYS = frozenset({"name", "userId", "email"})
#: The argument names of the start_request's fields, for error messages.
_START_ARGUMENTS = {
    "insightTypes": "insight_types",
    "noConnectionTimeout": "no_connection_timeout",
    "disconnectOnStopRequest": "disconnect_on_stop_request",
    "disconnectOnStopRequestTimeout": "disconnect_on_stop_request_timeout",
    "customVocabulary": "custom_vocabulary",
}


class Streaming(Resource):
    """The Streaming API (``symbl.Streaming``)."""

    @aliases(insight_type="insight_types")
    def start_connection(
        self,
        credentials: Mapping[str, Any] | None = None,
        speaker: Mapping[str, Any] | None = None,
        insight_types: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        trackers: Sequence[Mapping[str, Any]] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
        *,
        handle_signals: bool = True,
        no_connection_timeout: float = NO_CONNECTION_TIMEOUT,
        disconnect_on_stop_request: bool | None = None,
        disconnect_on_stop_request_timeout: float | None = None,
        custom_vocabulary: Sequence[str] | None = None,
        reconnect: bool = True,
        replay_buffer_seconds: float = REPLAY_BUFFER_SECONDS,
        extra_fields: Mapping[str, Any] = EMPTY,
    ) -> StreamingConnection:
        """Open a streaming connection, ready for audio.

        Args:
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            speaker: whose audio this is: ``{'name': ..., 'userId': ...}`` (``email`` works as
                ``userId``); with an email, the service mails a summary at the end.
            insight_types: any of ``question``, ``action_item``, ``follow_up``, ``topic``
                (``insight_type=``, the reference page's spelling, works too).
            config: ``confidenceThreshold``, ``languageCode``, ``meetingTitle``,
                ``speechRecognition`` (``{'encoding': 'LINEAR16', 'sampleRateHertz': 16000}``), ...
            trackers: ``[{'name': ..., 'vocabulary': [...]}]``.
            languages: ``['en-US']``: the recognition language (one).
            timezone: an IANA name such as ``'America/New_York'``; sent as ``timezoneOffset``.
            handle_signals: whether Ctrl+C, SIGTERM and the end of the program stop the
                stream (True); False leaves stopping it to your program.
            no_connection_timeout: seconds the service keeps the conversation while no socket
                is connected (0 to 1800): the time a reconnection has to continue it. Sent as
                ``noConnectionTimeout``.
            disconnect_on_stop_request: False makes ``stop_request`` pause the stream instead
                of ending it (the service's ``disconnectOnStopRequest``).
            disconnect_on_stop_request_timeout: with the above, seconds a paused stream stays
                open (``disconnectOnStopRequestTimeout``, 0 to 1800).
            custom_vocabulary: words and phrases to favour in recognition.
            reconnect: after an abnormal end (a dropped network, a dead or restarting service),
                reconnect to the same stream and continue the conversation (True), or end with
                an error (False).
            replay_buffer_seconds: how much audio is kept for replay while the service has not
                confirmed it (always), and while reconnecting; beyond it sending raises
                :class:`~symbl.AudioNotDeliveredError`.
            extra_fields: more fields of the ``start_request`` message, sent at its top level
                as given, e.g. ``{'enableAllTrackers': True}``: fields the service documents
                are checked, others are sent unchanged (fields inside ``config`` go in
                ``config``). A field another argument sets is refused.

        With ``symbl.AsyncClient``, ``await`` it: its connection's methods that wait are
        coroutines (see :class:`~symbl._resources.async_streaming.AsyncStreaming`).

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
            StreamingError: the connection could not be opened or the service refused it.
        """
        checked_flag("handle_signals", handle_signals)
        request = _start_request(
            speaker,
            insight_types,
            config,
            languages,
            timezone,
            trackers,
            noConnectionTimeout=no_connection_timeout,
            disconnectOnStopRequest=disconnect_on_stop_request,
            disconnectOnStopRequestTimeout=disconnect_on_stop_request_timeout,
            customVocabulary=_listed(custom_vocabulary),
            extra_fields=extra_fields,
        )
        return self._connect(
            self._client_for(credentials),
            request,
            handle_signals=handle_signals,
            reconnect=reconnect,
            replay_buffer_seconds=replay_buffer_seconds,
        )

    def _connect(
        self, client: HttpClient, request: dict[str, Any], **options: Any
    ) -> StreamingConnection:
        """The I/O of ``start_connection`` (what the asyncio client overrides)."""
        connection = StreamingConnection(client, request, **options)
        connection._start()
        return connection

    def subscribe_to_stream(
        self,
        connection_id: str,
        credentials: Mapping[str, Any] | None = None,
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
    ) -> StreamListener:
        """Listen to a stream someone else sends (the Subscribe API), read-only.

        Returns once the listener's socket is open. It gets the events of the stream's own
        connection from then on: ``conversation_created`` first (``listener.conversation``
        is set then), live results, and at the end ``recognition_stopped`` and
        ``conversation_completed``, after which the service closes it. For an id with no
        stream yet, the service keeps the listener open until a stream with that id starts.

        Args:
            connection_id: the stream's id (``connection.connectionId`` of the sender).
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            handle_signals: whether Ctrl+C, SIGTERM and the end of the program close the
                listener (True); False leaves that to your program.
            reconnect: after an abnormal end (a dropped network, a restarting service), join
                the stream again (True), or end with an error (False).

        Example:
            >>> listener = symbl.Streaming.subscribe_to_stream(connection_id)
            >>> listener.subscribe({"message_response": print})
            >>> listener.wait()

        With ``symbl.AsyncClient``, ``await`` it: it gives an
        :class:`~symbl.AsyncStreamListener`, whose ``stop`` and ``wait`` are coroutines.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
            StreamingError: the socket could not be opened or the service refused it.
        """
        connection_id = path_id(connection_id, "connection_id")
        checked_flag("handle_signals", handle_signals)
        checked_flag("reconnect", reconnect)
        return self._listen(
            self._client_for(credentials),
            connection_id,
            handle_signals=handle_signals,
            reconnect=reconnect,
        )

    def _listen(self, client: HttpClient, connection_id: str, **options: bool) -> StreamListener:
        """The I/O of ``subscribe_to_stream`` (what the asyncio client overrides)."""
        listener = StreamListener(client, connection_id, **options)
        listener._open()
        return listener


class StreamingConnection(LiveConnectionOwner):
    """A live streaming connection (made by ``symbl.Streaming.start_connection``).

    While it is open, Ctrl+C, SIGTERM and the end of the program stop it cleanly
    (``stop_request``, then a short wait for the service to complete the conversation). Set
    ``handle_signals`` to False to leave that to your program, which then calls ``stop()``
    itself.

    Attributes:
        connectionId: the id of the stream (others may join it, or listen, with this id).
        conversation: the :class:`~symbl.Conversation` being built (Conversation API access).
        summary_url: the Summary UI link, once the conversation is completed.
        error: what ended the connection unexpectedly, if anything did.
        handle_signals: whether Ctrl+C, SIGTERM and the end of the program stop the stream (True).
    """

    def __init__(
        self,
        client: HttpClient,
        request: dict[str, Any],
        connection_id: str | None = None,
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
        replay_buffer_seconds: float = REPLAY_BUFFER_SECONDS,
    ):
        self._client = client
        self._request = request
        self.connectionId = connection_id or str(uuid.uuid4())
        recognition = request["config"]["speechRecognition"]
        self.sample_rate: int = recognition["sampleRateHertz"]
        self.encoding: str = recognition["encoding"]
        self.conversation: Conversation | None = None
        self.summary_url: str | None = None
        self._ready = self._new_event()
        self._finished = self._new_event()
        self._completed = self._new_event()
        self._refusal: StreamingError | None = None
        self._reconnect = checked_flag("reconnect", reconnect)
        self._send_lock = self._new_lock()
        self._replay = ReplayBuffer(
            int(_checked_seconds(replay_buffer_seconds) * _bytes_per_second(recognition)),
            _bytes_per_second(recognition),
        )
        self._last_checkpoint = 0.0
        self._unasked = 0  # bytes sent since the last checkpoint
        # Ask for confirmations often enough that a fast sender rarely waits for room.
        self._ask_after = max(MAX_FRAME_BYTES, self._replay.limit // 4)
        window = request.get("noConnectionTimeout") or _REJOIN_WITHOUT_TIMEOUT
        self._live = self._live_connection(
            streaming.streaming_path(self.connectionId),
            events=STREAM_EVENTS,
            kind="streaming connection",
            name=f"symbl-streaming-{self.connectionId[:8]}",
            on_event=self._track,
            on_close=self._on_close,
            handle_signals=handle_signals,
            reconnect=self._reconnect,
            reconnect_window=float(window),
            on_reopened=self._reopened,
            on_final_error=self._with_undelivered,
            on_pong=self._replay.confirm,
        )

    # What the connection waits with and on: threads here; asyncio in the asyncio client.
    _conversation_class: type[Conversation] = Conversation

    def _new_event(self) -> threading.Event:
        return threading.Event()

    def _new_lock(self) -> threading.Lock:
        return threading.Lock()

    def _live_connection(self, path: str, **options: Any) -> LiveConnection:
        # The sending call (send_audio_from_mic, ...) is what keeps a script running; when the
        # script ends, the exit hook in symbl._live.interrupts stops the stream properly.
        return LiveConnection(
            self._client, path, on_interrupt=self.interrupt, daemon=True, **options
        )

    def __repr__(self) -> str:
        conversation = self.conversation.get_conversation_id() if self.conversation else None
        kind = type(self).__name__
        return f"<{kind} {self.connectionId} conversation={conversation} {self.state}>"

    def subscribe(self, events: Mapping[str, Callable[[Any], object]]) -> None:
        """Call back on live events: ``{'message_response': callback, ...}``.

        Events: ``message_response`` (final sentences), ``insight_response`` (questions,
        action items), ``topic_response``, ``tracker_response``, ``message`` (live
        transcription with ``isFinal``, and lifecycle messages), and the SDK's own:
        ``reconnecting`` and ``reconnected`` (a drop being recovered), ``conversation_changed``
        (a reconnection landed in another conversation) and ``error`` (a callback raised, or
        the connection failed; the callback gets the exception). Callbacks
        run one at a time on the connection's thread and get the event as a dict. Events that
        came before the first ``subscribe`` are delivered to it first.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
        """
        self._live.subscribe(events)

    def send_audio(self, data: AudioData) -> None:
        """Send audio: LINEAR16 bytes, or a numpy array (int16, or float in -1.0 .. 1.0).

        Long audio is split into frames of at most 8192 bytes, as the service requires. For
        other encodings (FLAC, MULAW, Opus), bytes are sent as they are, 8192 at most per call.

        Raises:
            StreamingError: the connection is closed (``error`` says why if it broke).
            InvalidArgumentError: audio of the wrong type or shape.
        """
        self._send_all(self._audio_frames(data))

    def send_audio_from_mic(self, device: int | str | None = None) -> None:
        """Stream the microphone until the connection ends (or Ctrl+C, which stops it cleanly).

        Args:
            device: an input device index or name (see ``symbl.audio.input_devices()``);
                the system default when None.

        Raises:
            AudioDeviceError: no PortAudio, no such input device, or the device is busy.
            StreamingError: the connection broke while streaming.
            KeyboardInterrupt: Ctrl+C, once the microphone is closed and the stream stopped.
        """
        self._require_linear16("send_audio_from_mic")
        try:
            with Microphone(self.sample_rate, device) as microphone:
                while not self._finished.is_set() and not self._live.stopping:
                    block = microphone.read(timeout=0.2)
                    if block and not self._stream(block):
                        break
        except KeyboardInterrupt:
            self._stop_quietly(1.0)
            raise
        self._end_of_stream()

    def send_audio_from_file(
        self, path: str | Path, realtime: bool = True, *, speed: float = 1.0
    ) -> None:
        """Stream a WAV file (mixed to mono and resampled to the connection's rate).

        Args:
            path: a PCM WAV file.
            realtime: pace the audio like a live speaker (True), or send it as fast as the
                connection allows (False).
            speed: when pacing, how many times faster than real time (2.0: twice as fast).

        The file is read, mixed down and resampled block by block as it is sent, so memory
        stays flat however long the file is.

        Raises:
            InvalidArgumentError: the file is missing, a directory, unreadable, or not a PCM WAV
                file (nothing was sent).
            StreamingError: the connection broke while streaming.
        """
        wav, chunk = self._wav_source(path, realtime, speed)
        started = time.monotonic()
        try:
            with wav:
                for index, frame in enumerate(wav.frames(chunk)):
                    if self._finished.is_set() or not self._stream(frame):
                        break
                    if realtime:
                        time.sleep(max(0.0, _due(started, index, speed) - time.monotonic()))
        except KeyboardInterrupt:
            self._stop_quietly(1.0)
            raise
        self._end_of_stream()

    def modify(self, sample_rate: int | None = None, encoding: str | None = None) -> None:
        """Change the audio format mid-stream (``modify_request``), e.g. after the microphone
        changed; the audio sent afterwards is in the new format.

        Args:
            sample_rate: the new ``sampleRateHertz`` (8000 to 48000); unchanged when None.
            encoding: the new encoding (``LINEAR16``, ``FLAC``, ``MULAW``, ``Opus``); unchanged
                when None.

        Raises:
            InvalidArgumentError: an unknown encoding or a rate out of range (nothing sent).
            StreamingError: the connection is closed.
        """
        message, recognition = self._modify_request(sample_rate, encoding)
        with self._send_lock:
            # Audio is replayed in the format of its start_request: change formats only once
            # the service has confirmed everything sent in the old one.
            patience = self._client.dead_peer_timeout
            if self._live.reconnecting or not self._replay.wait_until_empty(
                patience, self._checkpoint
            ):
                raise _unconfirmed(patience)
            self._live.send(message)
            self._modified(recognition)

    def create_bookmark(
        self,
        label: str,
        description: str,
        user: Mapping[str, Any],
        begin_time_offset: float | None = None,
        duration: float | None = None,
        message_refs: Sequence[str | Mapping[str, Any]] | None = None,
    ) -> None:
        """Bookmark a part of this stream's conversation (``bookmark_request``). The service
        answers with a ``bookmark_response`` event holding the bookmark and its ``id``
        (subscribe to it); a refusal comes as an ``error`` message event. The bookmark is
        listed afterwards by ``connection.conversation.get_bookmarks()``.

        Args:
            label, description, user, begin_time_offset, duration, message_refs: as for
                :meth:`symbl.Conversation.create_bookmark`: a time span (seconds from the start
                of the stream) or message ids.

        Raises:
            InvalidArgumentError: a missing or bad field (nothing was sent).
            StreamingError: the connection is closed.
        """
        fields = bookmark_fields(
            label, description, user, begin_time_offset, duration, message_refs
        )
        # Returned, so that the asyncio connection, whose send is a coroutine, awaits it.
        return self._live.send(stream_frame("create", None, fields))

    def update_bookmark(
        self,
        bookmark_id: str,
        label: str,
        description: str,
        user: Mapping[str, Any],
        begin_time_offset: float | None = None,
        duration: float | None = None,
        message_refs: Sequence[str | Mapping[str, Any]] | None = None,
    ) -> None:
        """Replace a bookmark of this stream's conversation with the one given; answered by a
        ``bookmark_response`` event. Arguments and errors as :meth:`create_bookmark`, with the
        ``bookmark_id`` a ``bookmark_response`` gave."""
        fields = bookmark_fields(
            label, description, user, begin_time_offset, duration, message_refs
        )
        return self._live.send(stream_frame("update", bookmark_id, fields))

    def delete_bookmark(self, bookmark_id: str) -> None:
        """Delete a bookmark of this stream's conversation; answered by a
        ``bookmark_response`` event holding the bookmark removed.

        Raises:
            InvalidArgumentError: ``bookmark_id`` is not an id (nothing was sent).
            StreamingError: the connection is closed.
        """
        return self._live.send(stream_frame("delete", bookmark_id))

    def stop(self, timeout: float | None = STOP_TIMEOUT) -> StreamingConnection:
        """End the stream: send ``stop_request``, wait for ``conversation_completed``, close.

        Safe to call more than once and from any thread. From inside a callback it sends the
        stop and returns at once; the connection then closes when the service finishes.

        Args:
            timeout: seconds to wait for the service to complete the conversation; 10 when
                None, no limit when ``float('inf')``.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number (nothing sent).
            StreamingError: the stream was live, and the service did not complete the
                conversation: the connection broke during the stop, or the timeout passed.
                The stream is closed either way; what was processed is in ``conversation``.
                (Stopping a stream that had already ended raises nothing: its end, if it was
                an error, is in ``error``.)
        """
        timeout = _stop_timeout(timeout)
        started = time.monotonic()
        # A socket that has just closed: let the reader finish telling how (a final end, or a
        # reconnection) before the stop changes what that end means.
        while (
            self._live.state is State.CLOSED
            and not self._live.on_reader_thread()
            and not self._finished.wait(0.005)
            and time.monotonic() - started < 1.0
        ):
            pass
        ended_before = self._finished.is_set()
        if self._live.begin_stop():
            if not self._live.on_reader_thread():
                # A reconnection under way finishes first (its replay goes before the stop).
                self._live.wait_while(State.RECONNECTING, timeout)
            # The first stopper sends the stop, after any audio being sent; the service's
            # close that follows is expected.
            with self._send_lock:
                if self._live.expect_close():
                    try:
                        self._live.send(encode(streaming.stop_request()))
                    except StreamingError as exc:
                        logger.debug("stop_request not sent: %s", exc)
        if self._live.on_reader_thread():
            return self
        finished = self._finished.wait(max(0.0, timeout - (time.monotonic() - started)))
        self._live.close(timeout=min(timeout, 5.0))
        if not self._completed.is_set() and not ended_before:
            raise self._incomplete_stop(finished, timeout)
        return self

    def interrupt(self, deadline: float) -> None:
        """Stop before ``deadline`` (a ``time.monotonic()`` value); used on Ctrl+C."""
        self._stop_quietly(max(0.1, deadline - time.monotonic() - 0.2))

    def _stop_quietly(self, timeout: float) -> None:
        """Stop while an interrupt or the program's end goes on: a stop that did not complete
        is reported in the log, never raised in place of what is under way."""
        try:
            self.stop(timeout=timeout)
        except StreamingError as exc:
            logger.warning("%s", exc)

    # -- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        self._live.open()
        try:
            self._live.send(encode(self._request))
        except BaseException:
            self._live.close(timeout=1.0)
            raise
        if not self._ready.wait(self._client.connect_timeout) or self.conversation is None:
            self._live.close(timeout=1.0)
            raise self._start_failure()

    def _send(self, frame: bytes) -> None:
        """Send one audio frame; it is held until the service confirms it (ReplayBuffer), and
        only held while the connection is down.

        Raises:
            AudioNotDeliveredError: the replay buffer is full, or reconnecting gave up.
            StreamingError: the connection is closed (``error`` says why if it broke).
        """
        if not self._live.reconnecting:
            # While the connection is up, a full buffer waits for the service to confirm what
            # it has read, as long as a live peer would take to answer; outside the send lock,
            # which the replay after a reconnection needs.
            self._replay.wait_for_room(len(frame), self._client.dead_peer_timeout, self._checkpoint)
        with self._send_lock:
            if not self._accept(frame):
                return  # replayed once the connection is back
            try:
                self._live.send(frame)
            except StreamingError:
                # The socket broke just now: once the reader has seen the end, a reconnection
                # replays this frame, or the end is final.
                settled = self._live.wait_while(State.OPEN, self._client.dead_peer_timeout)
                if self._reconnect and settled is State.RECONNECTING:
                    return
                raise self.error or StreamingError("cannot send: the stream ended") from None
            if self._checkpoint_due(len(frame)):
                self._checkpoint()

    def _send_all(self, frames: list[bytes]) -> None:
        """Send frames in order; a refusal counts every byte not sent."""
        for index, frame in enumerate(frames):
            try:
                self._send(frame)
            except AudioNotDeliveredError as refused:
                raise self._refused_call(refused, frames[index + 1 :]) from None

    def _checkpoint(self) -> None:
        """Ask the service to confirm what it has read so far (its pong releases it)."""
        with contextlib.suppress(StreamingError):  # a broken socket: the reconnection handles it
            self._live.ping(self._replay.checkpoint())

    def _reopened(self, ready: Callable[[], None]) -> None:
        """On a new socket after a drop: start again, replay what was not confirmed, go on."""
        before = self.conversation.get_conversation_id() if self.conversation else None
        self._ready.clear()
        self._live.send(encode(self._request))
        if not self._ready.wait(self._client.connect_timeout) or self._refusal is not None:
            raise self._restart_refusal()
        self._tell_if_changed(before)
        with self._send_lock:
            for frame in self._replay.pending():
                self._live.send(frame)
            ready()
            self._checkpoint()

    def _with_undelivered(self, error: StreamingError) -> StreamingError:
        """``error``, saying how much accepted audio never reached the service, if any."""
        if not len(self._replay) or isinstance(error, AudioNotDeliveredError):
            return error
        lost = self._replay.undelivered()
        return AudioNotDeliveredError(
            f"{error}; {lost}",
            undelivered_bytes=lost.undelivered_bytes,
            undelivered_seconds=lost.undelivered_seconds,
        )

    def _stream(self, frame: bytes) -> bool:
        """Send one frame of a long stream; False once the stream has ended normally.

        A stop from another thread (or the service ending the stream) may land between a
        sender's check and its send; that ends the loop quietly. A broken connection raises.
        """
        try:
            self._send(frame)
        except StreamingError:
            if self.error is None and (self._live.stopping or self._finished.is_set()):
                return False
            raise
        return True

    def _track(self, event: SymblObject) -> None:
        """Follow the lifecycle messages the connection itself depends on (reader thread)."""
        kind, message = lifecycle(event)
        if kind == "conversation_created":
            conversation_id = conversation_id_of(message)
            if conversation_id:
                self.conversation = self._conversation_class(conversation_id, client=self._client)
            self._ready.set()
        elif kind == "conversation_completed":
            self.summary_url = message.get("summaryUrl")
            self._completed.set()
            self._finished.set()
        elif kind == "error":
            error = service_error(message)
            if not self._ready.is_set():
                # The start was refused: _start raises this, and the close that follows is
                # part of the refusal, not a second error.
                self._refusal = error
                self._live.expect_close()
                self._ready.set()
            else:
                self._live.report(error)

    def _on_close(self, error: StreamingError | None) -> None:
        self._ready.set()
        self._finished.set()

    def _end_of_stream(self) -> None:
        """After a sending loop: if the stream is ending, return only once it has ended."""
        if self._live.stopping or self._finished.is_set():
            self._live.wait(STOP_TIMEOUT)
        if self.error is not None:
            raise self.error

    def _require_linear16(self, method: str) -> None:
        if self.encoding != "LINEAR16":
            raise InvalidArgumentError(
                f"{method} streams LINEAR16 audio, but this connection was started with "
                f"{self.encoding}; start it with config={{'speechRecognition': "
                "{'encoding': 'LINEAR16'}}"
            )

    # -- what both clients decide the same way, without waiting ---------------------------------

    def _audio_frames(self, data: AudioData) -> list[bytes]:
        """``send_audio``'s argument as the frames to send, checked.

        Raises:
            InvalidArgumentError: audio of the wrong type or shape.
        """
        if self.encoding != "LINEAR16":
            if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) > MAX_FRAME_BYTES:
                raise InvalidArgumentError(
                    f"{self.encoding} audio goes as bytes, at most {MAX_FRAME_BYTES} per call"
                )
            return [bytes(data)]
        payload = to_linear16(data)
        if len(payload) % 2:
            raise InvalidArgumentError(
                "LINEAR16 audio has 2 bytes per sample; got an odd byte count"
            )
        return list(frames(payload))

    def _wav_source(self, path: str | Path, realtime: bool, speed: float) -> tuple[WavFile, int]:
        """The checked file of ``send_audio_from_file`` and the size of its frames.

        Raises:
            InvalidArgumentError: not LINEAR16, a bad speed, or a file that is not a PCM WAV.
        """
        self._require_linear16("send_audio_from_file")
        checked_flag("realtime", realtime)
        if not is_number(speed) or speed <= 0:
            raise InvalidArgumentError(
                f"speed must be a positive, finite number, not {shown(speed)}"
            )
        wav = WavFile(path, self.sample_rate)  # a bad file is refused here, before sending
        # Paced audio goes in 100 ms frames, like a microphone; unpaced in the largest frames.
        chunk = int(self.sample_rate * _FILE_CHUNK_SECONDS) * 2 if realtime else MAX_FRAME_BYTES
        return wav, chunk

    def _modify_request(
        self, sample_rate: int | None, encoding: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The ``modify_request`` frame for ``modify()`` and the new format, checked."""
        new_rate = self.sample_rate if sample_rate is None else sample_rate
        new_encoding = self.encoding if encoding is None else encoding
        with checked_arguments(
            {
                "speechRecognition.sampleRateHertz": "sample_rate",
                "speechRecognition.encoding": "encoding",
            }
        ):
            message = encode(streaming.modify_request(new_encoding, new_rate))
        return message, {"encoding": new_encoding, "sampleRateHertz": new_rate}

    def _modified(self, recognition: dict[str, Any]) -> None:
        """The service was told of the new format: use it from now on."""
        self._replay.change_rate(_bytes_per_second(recognition))
        # A reconnection starts again with the format in use now.
        self._request["config"]["speechRecognition"] = recognition
        self.sample_rate, self.encoding = recognition["sampleRateHertz"], recognition["encoding"]

    def _accept(self, frame: bytes) -> bool:
        """Hold a frame for the replay (with the send lock); whether to send it now (not while
        the connection is down).

        Raises:
            AudioNotDeliveredError: the replay buffer is full, or reconnecting gave up.
            StreamingError: the connection is closed (``error`` says why if it broke).
        """
        if self.error is not None:
            raise self.error.with_traceback(None)
        if self._live.state not in (State.OPEN, State.RECONNECTING):
            raise StreamingError(f"cannot send: the stream is {self._live.state.value}")
        self._replay.add(frame)
        return not self._live.reconnecting

    def _checkpoint_due(self, size: int) -> bool:
        """After sending ``size`` bytes: whether to ask for a confirmation now."""
        now = time.monotonic()
        self._unasked += size
        if now - self._last_checkpoint >= _CHECKPOINT_SECONDS or self._unasked >= self._ask_after:
            self._last_checkpoint, self._unasked = now, 0
            return True
        return False

    def _refused_call(
        self, refused: AudioNotDeliveredError, rest: list[bytes]
    ) -> AudioNotDeliveredError:
        """The refusal of a frame, counting the frames of the same call after it."""
        size = sum(map(len, rest))
        return AudioNotDeliveredError(
            f"{refused} ({refused.undelivered_bytes + size} bytes of this call in all)",
            undelivered_bytes=refused.undelivered_bytes + size,
            undelivered_seconds=refused.undelivered_seconds + self._replay.seconds(size),
        )

    def _start_failure(self) -> StreamingError:
        """Why the stream did not start (the service did not create a conversation)."""
        return (
            self._refusal
            or self.error
            or StreamingError(
                "the service did not create a conversation within "
                f"{self._client.connect_timeout:g} s"
            )
        )

    def _restart_refusal(self) -> StreamingError:
        """Why a new socket did not take the ``start_request`` again."""
        refusal, self._refusal = self._refusal, None
        return refusal or StreamingError("the service did not take the start_request again")

    def _tell_if_changed(self, before: str | None) -> None:
        """After a reconnection: tell the subscribers if it landed in another conversation."""
        after = self.conversation.get_conversation_id() if self.conversation else None
        if before is not None and after != before:
            self._live.notify(
                Event.CONVERSATION_CHANGED.value, previous=before, conversationId=after
            )

    def _incomplete_stop(self, finished: bool, timeout: float) -> StreamingError:
        """The error of a stop the service did not complete."""
        cause = self.error or (
            "the connection ended first" if finished else f"nothing came within {timeout:g} s"
        )
        return self._with_undelivered(
            StreamingError(
                f"streaming connection {self.connectionId} stopped, but the service did not "
                f"complete the conversation: {cause}"
            )
        )


def _start_request(
    speaker: Mapping[str, Any] | None,
    insight_types: Sequence[str] | None,
    config: Mapping[str, Any] | None,
    languages: Sequence[str] | None,
    timezone: str | None,
    trackers: Sequence[Mapping[str, Any]] | None,
    extra_fields: Mapping[str, Any] = EMPTY,
    **session: Any,
) -> dict[str, Any]:
    """Map the arguments of ``start_connection`` onto the ``start_request`` (§6.2)."""
    extra = dict(mapping(extra_fields, "extra_fields"))
    taken = sorted(
        name
        for name in extra
        if name in _SET_BY_ARGUMENTS or (name in session and session[name] is not None)
    )
    if taken:
        raise InvalidArgumentError(
            f"extra_fields gives {', '.join(taken)}, which start_connection's own arguments "
            "set: give them there"
        )
    session.update(extra)
    merged = {} if config is None else dict(config) if isinstance(config, Mapping) else config
    if languages is not None and isinstance(merged, dict):
        language = _language(languages)
        if merged.get("languageCode", language) != language:
            raise InvalidArgumentError("languages and config['languageCode'] disagree; give one")
        merged["languageCode"] = language
    if timezone is not None and isinstance(merged, dict):
        merged["timezoneOffset"] = timezone_offset(timezone)
    insight_types = _listed(insight_types)
    if trackers is not None and isinstance(trackers, (list, tuple)):
        trackers = [dict(item) if isinstance(item, Mapping) else item for item in trackers]
    with checked_arguments(_START_ARGUMENTS):
        request = streaming.start_request(
            insight_types,
            merged,
            None if speaker is None else _speaker(speaker),
            trackers,
            **session,
        )
        encode(request)  # it must travel as JSON: refused now, not after connecting
    return request


# The start_request fields the positional arguments fill in.
_SET_BY_ARGUMENTS = frozenset({"type", "insightTypes", "config", "speaker", "trackers"})


def _listed(value: Any) -> Any:
    """A collection of names (a tuple, a set, a generator) as the list the wire takes; anything
    else as it is, for the protocol core to refuse by name."""
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping)):
        return list(value)
    return value


def _language(languages: Sequence[str]) -> str:
    if (
        not isinstance(languages, (list, tuple))
        or len(languages) != 1
        or not is_language(languages[0])
    ):
        raise InvalidArgumentError(
            "languages must be a list of one supported language code, e.g. ['en-US']"
        )
    return languages[0]


def _speaker(speaker: Mapping[str, Any]) -> dict[str, Any]:
    """The wire speaker: ``email`` is the reference page's name for ``userId``; members the
    protocol does not document are sent as given (the protocol core notes them at DEBUG)."""
    if not isinstance(speaker, Mapping):
        raise InvalidArgumentError(
            f"speaker must be {{'name': ..., 'userId': ...}} (or 'email'), not {shown(speaker)}"
        )
    if "userId" in speaker and "email" in speaker:
        raise InvalidArgumentError(
            "speaker has both 'userId' and 'email', two spellings of the same field; give one"
        )
    given = {"userId": speaker.get("userId") or speaker.get("email"), "name": speaker.get("name")}
    # Left out when empty; anything but a string is refused by the protocol core, by name.
    documented = {
        key: value
        for key, value in given.items()
        if value is not None and not (isinstance(value, str) and not value)
    }
    return {**documented, **{key: speaker[key] for key in speaker if key not in _SPEAKER_KEYS}}


def _stop_timeout(timeout: Any) -> float:
    """``stop()``'s timeout, checked: :data:`STOP_TIMEOUT` when None.

    Raises:
        InvalidArgumentError: negative, NaN or not a number.
    """
    limit = wait_seconds("timeout", timeout)
    return STOP_TIMEOUT if limit is None else limit


def _due(started: float, index: int, speed: float) -> float:
    """When paced frame ``index`` of a file should have gone (on the clock of ``started``)."""
    return started + (index + 1) * _FILE_CHUNK_SECONDS / speed


def _unconfirmed(patience: float) -> StreamingError:
    """The error of a ``modify()`` that found audio still unconfirmed."""
    return StreamingError(
        "modify() waits for the service to confirm the audio already sent, and it did not "
        f"within {patience:g} s (the connection is down or reconnecting); try again once it is "
        "back"
    )


def _bytes_per_second(recognition: Mapping[str, Any]) -> float:
    """Bytes per second of audio in this format (compressed formats: at most LINEAR16's)."""
    bytes_per_sample = 1 if recognition["encoding"] == "MULAW" else 2
    return float(recognition["sampleRateHertz"] * bytes_per_sample)


def _checked_seconds(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 86400:
        raise InvalidArgumentError(
            f"replay_buffer_seconds must be a number of seconds above 0, not {shown(value)}"
        )
    return float(value)
