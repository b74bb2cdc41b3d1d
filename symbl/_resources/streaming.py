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

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

from symbl._live.audio import AudioData, Microphone, frames, read_wav, to_linear16
from symbl._live.connection import LiveConnection, LiveConnectionOwner
from symbl._models.objects import SymblObject
from symbl._protocol import streaming
from symbl._protocol.frames import encode
from symbl._protocol.options import is_language
from symbl._protocol.streaming import MAX_FRAME_BYTES
from symbl._transport.http import HttpClient
from symbl.errors import InvalidArgumentError, StreamingError

from .base import Resource, checked_arguments, timezone_offset
from .conversations import Conversation

logger = logging.getLogger("symbl")

#: Seconds ``stop()`` waits for ``conversation_completed`` by default.
STOP_TIMEOUT = 10.0
_FILE_CHUNK_SECONDS = 0.1
_SPEAKER_KEYS = frozenset({"name", "userId", "email"})


class Streaming(Resource):
    """The Streaming API (``symbl.Streaming``)."""

    def start_connection(
        self,
        credentials: Mapping[str, Any] | None = None,
        speaker: Mapping[str, Any] | None = None,
        insight_types: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
        trackers: Sequence[Mapping[str, Any]] | None = None,
        *,
        handle_signals: bool = True,
    ) -> StreamingConnection:
        """Open a streaming connection, ready for audio.

        Args:
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            speaker: whose audio this is: ``{'name': ..., 'userId': ...}`` (``email`` works as
                ``userId``); with an email, the service mails a summary at the end.
            insight_types: any of ``question``, ``action_item``, ``follow_up``, ``topic``.
            config: ``confidenceThreshold``, ``languageCode``, ``meetingTitle``,
                ``speechRecognition`` (``{'encoding': 'LINEAR16', 'sampleRateHertz': 16000}``), ...
            languages: ``['en-US']``: the recognition language (one).
            timezone: an IANA name such as ``'America/New_York'``; sent as ``timezoneOffset``.
            trackers: ``[{'name': ..., 'vocabulary': [...]}]``.
            handle_signals: whether Ctrl+C and the end of the program stop the stream (True);
                False leaves stopping it to your program.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
            StreamingError: the connection could not be opened or the service refused it.
        """
        request = _start_request(speaker, insight_types, config, languages, timezone, trackers)
        connection = StreamingConnection(
            self._client_for(credentials), request, handle_signals=handle_signals
        )
        connection._start()
        return connection


class StreamingConnection(LiveConnectionOwner):
    """A live streaming connection (made by ``symbl.Streaming.start_connection``).

    While it is open, Ctrl+C and the end of the program stop it cleanly (``stop_request``, then
    a short wait for the service to complete the conversation). Set ``handle_signals`` to False
    to leave that to your program, which then calls ``stop()`` itself.

    Attributes:
        connectionId: the id of the stream (others may join it, or listen, with this id).
        conversation: the :class:`~symbl.Conversation` being built (Conversation API access).
        summary_url: the Summary UI link, once the conversation is completed.
        error: what ended the connection unexpectedly, if anything did.
        handle_signals: whether Ctrl+C and the end of the program stop the stream (True).
    """

    def __init__(
        self,
        client: HttpClient,
        request: dict[str, Any],
        connection_id: str | None = None,
        *,
        handle_signals: bool = True,
    ):
        self._client = client
        self._request = request
        self.connectionId = connection_id or str(uuid.uuid4())
        recognition = request["config"]["speechRecognition"]
        self.sample_rate: int = recognition["sampleRateHertz"]
        self.encoding: str = recognition["encoding"]
        self.conversation: Conversation | None = None
        self.summary_url: str | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self._refusal: StreamingError | None = None
        self._live = LiveConnection(
            client,
            streaming.streaming_path(self.connectionId),
            events=streaming.STREAMING_EVENTS,
            kind="streaming connection",
            name=f"symbl-streaming-{self.connectionId[:8]}",
            on_interrupt=self.interrupt,
            on_event=self._track,
            on_close=self._on_close,
            # The sending call (send_audio_from_mic, ...) is what keeps a script running; when
            # the script ends, the exit hook in symbl._live.interrupts stops the stream properly.
            daemon=True,
            handle_signals=handle_signals,
        )

    def __repr__(self) -> str:
        conversation = self.conversation.get_conversation_id() if self.conversation else None
        return f"<StreamingConnection {self.connectionId} conversation={conversation} {self.state}>"

    def __enter__(self) -> StreamingConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def connection_id(self) -> str:
        """The id of the stream (snake_case alias of ``connectionId``)."""
        return self.connectionId

    @property
    def state(self) -> str:
        """``open``, ``closing`` or ``closed`` (also ``new``/``connecting`` while starting)."""
        return self._live.state.value

    def subscribe(self, events: Mapping[str, Callable[[Any], object]]) -> None:
        """Call back on live events: ``{'message_response': callback, ...}``.

        Events: ``message_response`` (final sentences), ``insight_response`` (questions,
        action items), ``topic_response``, ``tracker_response``, ``message`` (live
        transcription with ``isFinal``, and lifecycle messages), and ``error`` (the SDK's: a
        callback raised, or the connection failed; the callback gets the exception). Callbacks
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
        if self.encoding != "LINEAR16":
            if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) > MAX_FRAME_BYTES:
                raise InvalidArgumentError(
                    f"{self.encoding} audio goes as bytes, at most {MAX_FRAME_BYTES} per call"
                )
            self._send(bytes(data))
            return
        payload = to_linear16(data)
        if len(payload) % 2:
            raise InvalidArgumentError(
                "LINEAR16 audio has 2 bytes per sample; got an odd byte count"
            )
        for frame in frames(payload):
            self._send(frame)

    def send_audio_from_mic(self, device: int | str | None = None) -> None:
        """Stream the microphone until the connection ends (or Ctrl+C, which stops it cleanly).

        Args:
            device: an input device index or name (see ``symbl.audio.input_devices()``);
                the system default when None.

        Raises:
            AudioDeviceError: no PortAudio, no such input device, or the device is busy.
            StreamingError: the connection broke while streaming.
        """
        self._require_linear16("send_audio_from_mic")
        try:
            with Microphone(self.sample_rate, device) as microphone:
                while not self._finished.is_set() and not self._live.stopping:
                    block = microphone.read(timeout=0.2)
                    if block and not self._stream(block):
                        break
        except KeyboardInterrupt:
            self.stop(timeout=1.0)
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

        Raises:
            InvalidArgumentError: the file is missing or not a PCM WAV file.
            StreamingError: the connection broke while streaming.
        """
        self._require_linear16("send_audio_from_file")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0:
            raise InvalidArgumentError(f"speed must be a positive number, not {speed!r}")
        audio = read_wav(path, self.sample_rate)
        # Paced audio goes in 100 ms frames, like a microphone; unpaced in the largest frames.
        chunk = int(self.sample_rate * _FILE_CHUNK_SECONDS) * 2 if realtime else MAX_FRAME_BYTES
        started = time.monotonic()
        try:
            for index, frame in enumerate(frames(audio, chunk)):
                if self._finished.is_set() or not self._stream(frame):
                    break
                if realtime:
                    due = started + (index + 1) * _FILE_CHUNK_SECONDS / speed
                    time.sleep(max(0.0, due - time.monotonic()))
        except KeyboardInterrupt:
            self.stop(timeout=1.0)
            raise
        self._end_of_stream()

    def stop(self, timeout: float = STOP_TIMEOUT) -> StreamingConnection:
        """End the stream: send ``stop_request``, wait for ``conversation_completed``, close.

        Safe to call more than once and from any thread. From inside a callback it sends the
        stop and returns at once; the connection then closes when the service finishes.

        Args:
            timeout: seconds to wait for the service to complete the conversation.
        """
        # The first stopper sends the stop; the service's close that follows is expected.
        if self._live.begin_stop() and self._live.expect_close():
            try:
                self._live.send(encode(streaming.stop_request()))
            except StreamingError as exc:
                logger.debug("stop_request not sent: %s", exc)
        if self._live.on_reader_thread():
            return self
        if not self._finished.wait(timeout):
            logger.warning(
                "streaming connection %s: no conversation_completed within %g s; closing anyway",
                self.connectionId,
                timeout,
            )
        self._live.close(timeout=min(timeout, 5.0))
        return self

    def interrupt(self, deadline: float) -> None:
        """Stop before ``deadline`` (a ``time.monotonic()`` value); used on Ctrl+C."""
        self.stop(timeout=max(0.1, deadline - time.monotonic() - 0.2))

    # -- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        self._live.open()
        try:
            self._send(encode(self._request))
        except BaseException:
            self._live.close(timeout=1.0)
            raise
        if not self._ready.wait(self._client.connect_timeout) or self.conversation is None:
            self._live.close(timeout=1.0)
            raise (
                self._refusal
                or self.error
                or StreamingError(
                    "the service did not create a conversation within "
                    f"{self._client.connect_timeout:g} s"
                )
            )

    def _send(self, frame: str | bytes) -> None:
        self._live.send(frame)

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
        if event["type"] != "message":
            return
        message: Mapping[str, Any] = event.get("message") or {}
        kind = message.get("type")
        if kind == "conversation_created":
            conversation_id = (message.get("data") or {}).get("conversationId")
            if conversation_id:
                self.conversation = Conversation(str(conversation_id), client=self._client)
            self._ready.set()
        elif kind == "conversation_completed":
            self.summary_url = message.get("summaryUrl")
            self._finished.set()
        elif kind == "error":
            error = StreamingError(
                f"the service reported an error: {message.get('message') or ''} "
                f"{message.get('details') or ''}".strip()
            )
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


def _start_request(
    speaker: Mapping[str, Any] | None,
    insight_types: Sequence[str] | None,
    config: Mapping[str, Any] | None,
    languages: Sequence[str] | None,
    timezone: str | None,
    trackers: Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """Map the arguments of ``start_connection`` onto the ``start_request`` (§6.2)."""
    if isinstance(insight_types, str):
        raise InvalidArgumentError(
            f"insight_types must be a list of: {', '.join(streaming.INSIGHT_TYPES)}"
        )
    merged = {} if config is None else dict(config) if isinstance(config, Mapping) else config
    if languages is not None and isinstance(merged, dict):
        language = _language(languages)
        if merged.get("languageCode", language) != language:
            raise InvalidArgumentError("languages and config['languageCode'] disagree; give one")
        merged["languageCode"] = language
    if timezone is not None and isinstance(merged, dict):
        merged["timezoneOffset"] = timezone_offset(timezone)
    if insight_types is not None and not isinstance(insight_types, (list, tuple)):
        insight_types = list(insight_types)  # a set, a generator: any collection of names
    if trackers is not None and isinstance(trackers, (list, tuple)):
        trackers = [dict(item) if isinstance(item, Mapping) else item for item in trackers]
    with checked_arguments({"insightTypes": "insight_types"}):
        request = streaming.start_request(
            insight_types, merged, None if speaker is None else _speaker(speaker), trackers
        )
        encode(request)  # it must travel as JSON: refused now, not after connecting
    return request


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


def _speaker(speaker: Mapping[str, Any]) -> dict[str, str]:
    """The wire speaker: ``email`` is the reference page's name for ``userId``."""
    if not isinstance(speaker, Mapping) or set(speaker) - _SPEAKER_KEYS:
        raise InvalidArgumentError("speaker must be {'name': ..., 'userId': ...} (or 'email')")
    result = {
        "userId": str(speaker.get("userId") or speaker.get("email") or ""),
        "name": str(speaker.get("name") or ""),
    }
    return {key: value for key, value in result.items() if value}
