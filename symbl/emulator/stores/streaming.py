"""Streaming API sessions (PROTOCOL.md §6): what a socket's messages and audio do (no HTTP).

A session is everything one app sends to one ``connectionId``: every socket on
``/v1/streaming/{id}`` or ``/v1/realtime/insights/{id}`` joins it as a *sender*, every socket
on ``/v1/subscribe/{id}`` as a read-only *subscriber* (a listener), and all of them get its
results.

Listeners (PROTOCOL.md §11.7): one that joins once the conversation exists gets
``conversation_created`` first, then live results only (no replay), and at the end the two
final messages and a close with 1000, like every socket. One that comes before any stream
with that id (or before its ``start_request``) is not refused: it waits, and gets the three
start messages when the stream starts; if none starts within ``listener_wait_seconds`` it is
closed with 1000. A session only listeners have joined is not listed among the sessions until
a sender joins it. What a listener sends is only counted, never handled.

Life of a session:

- ``waiting``: sockets are open, no valid ``start_request`` yet. Audio is ignored (counted).
- ``listening``: the first valid ``start_request`` creates the conversation and sends
  ``conversation_created``, ``started_listening``, ``recognition_started`` (to the starting
  socket and the subscribers; a sender that starts later gets them too, with the same id).
  Recognition follows the *received* audio: LINEAR16 lasts ``bytes / (2 * rate)`` seconds,
  MULAW ``bytes / rate``; FLAC and Opus frames are counted but do not move the clock. Each
  sender's audio is laid on the session's clock from where that clock stood when the sender's
  ``start_request`` was accepted (a speaker joining later, a socket reconnecting, a paused
  socket resuming all go on from there); the session's clock is the furthest any sender has
  reached, and plays the live transcript (:mod:`.live`). A ``modify_request`` changes the
  encoding or rate of the following audio of its socket (a field left out keeps its value)
  and is answered with ``session_modified``.
- Every sender gone without a ``stop_request`` (cut, closed): with ``noConnectionTimeout``
  (of the latest accepted ``start_request``) the session stays ``listening`` that many
  seconds with no sender. A sender socket that joins meanwhile and sends a ``start_request``
  continues the same conversation (same ``conversationId``, the transcript and the clock go
  on): a *reconnect*. When the time is up the conversation is finalised as below, and a
  later socket on that id starts a new session. Without it (0, the default) the last sender
  leaving ends the session at once.
- ``paused``: after ``stop_request`` with ``disconnectOnStopRequest: false``: both final
  messages are sent, the sockets stay open, audio is ignored (counted), and a new
  ``start_request`` resumes the same conversation; after ``disconnectOnStopRequestTimeout``
  seconds (default 1800; 0 closes at once, as with ``true``) the sockets are closed.
- ``completed``: after ``stop_request`` (or ``stream_idle_seconds`` of silence, or the
  last sender leaving, after ``noConnectionTimeout`` if one was given): every socket gets
  ``recognition_stopped`` and ``conversation_completed`` (order: setting ``stop_order``) and
  is closed with 1000.
- ``rejected``: the ``start_request`` was invalid (error message, close 1008, no
  conversation); ``closed``: every socket left before any ``start_request``.

A sender counts as a reconnect when its ``start_request`` continues a conversation in which
no other sender could send at that moment (none open, or only frozen ones), and it is a new
socket (a paused socket resuming is not one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from symbl._protocol import streaming
from symbl._protocol.frames import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY_VIOLATION
from symbl.emulator.engine import insights
from symbl.emulator.media import TranscriptLine

from .bookmarks import BookmarkNotFoundError, BookmarkStore
from .conversations import ConversationStore
from .live import (
    JSON,
    Heard,
    LiveAnalyser,
    Sink,
    Timeline,
    error_message,
    loop_time,
    platform_message,
    summary_url,
    word_offsets,
)
from .settings import Settings

#: LINEAR16 frames quieter than this (RMS, in dBFS) count as silence for the idle end.
SILENCE_DBFS = -50.0
#: Audio kept per session for :meth:`StreamStore.audio`; beyond it, bytes are only counted.
AUDIO_KEEP_LIMIT = 256 << 20
_RECOGNITION_CONFIDENCE = 0.95


def audio_seconds(size: int, encoding: str, sample_rate: int) -> float:
    """How long ``size`` bytes of audio last (0 for compressed encodings)."""
    if encoding == "LINEAR16":
        return size / (2 * sample_rate)
    if encoding == "MULAW":
        return size / sample_rate
    return 0.0


class StreamClient:
    """One socket of a session."""

    def __init__(self, session: StreamSession, sink: Sink, subscriber: bool) -> None:
        self.session = session
        self.sink = sink
        self.subscriber = subscriber
        self.request: streaming.StartRequest | None = None
        self.listening = False
        self.open = True
        self.reconnect = False
        self.encoding = "LINEAR16"
        self.sample_rate = streaming.DEFAULT_SAMPLE_RATE
        self.seconds = 0.0
        self.start_requests = 0
        self.bytes_received = self.audio_bytes = self.audio_frames = 0
        #: A listener's wait for the stream to start: its deadline.
        self.waiting: asyncio.TimerHandle | None = None

    def to_json(self) -> JSON:
        """The test-control view of a sender socket."""
        return {
            "path": self.sink.path,
            "open": self.open,
            "frozen": self.open and self.sink.frozen,
            "reconnect": self.reconnect,
            "start_requests": self.start_requests,
            "bytes_received": self.bytes_received,
            "audio_bytes": self.audio_bytes,
            "audio_frames": self.audio_frames,
        }


class StreamSession:
    """Everything sent to one connection id, and the conversation it makes."""

    def __init__(self, app_id: str, connection_id: str, script: tuple[TranscriptLine, ...]) -> None:
        self.app_id = app_id
        self.connection_id = connection_id
        self.state = "waiting"
        self.start_request: JSON | None = None
        self.request: streaming.StartRequest | None = None
        self.analyser: LiveAnalyser | None = None
        self.timeline = Timeline(script)
        self.clients: list[StreamClient] = []
        self.senders_seen: list[StreamClient] = []
        self.reconnects = 0
        self.no_connection_timeout = 0.0
        self.modify_requests: list[JSON] = []
        self.audio = bytearray()
        self.audio_bytes = self.audio_frames = self.largest_frame = 0
        self.audio_before_start = self.oversize_frames = 0
        self.stop_requests: list[str] = []
        self.listener_frames = 0
        self.heard = 0.0
        self.last_audio = 0.0
        self.timer: asyncio.TimerHandle | None = None

    @property
    def conversation_id(self) -> str | None:
        """The conversation's id, once started."""
        return self.analyser.conversation.id if self.analyser else None

    @property
    def live(self) -> bool:
        """Whether sockets may still join."""
        return self.state in ("waiting", "listening", "paused")

    def senders(self) -> list[StreamClient]:
        """The sockets that may send audio."""
        return [client for client in self.clients if not client.subscriber]

    def broadcast(self, frame: JSON, clients: list[StreamClient] | None = None) -> None:
        """Send a frame to every socket (or to ``clients``)."""
        for client in self.clients if clients is None else clients:
            client.sink.send(frame)

    def to_json(self) -> JSON:
        """The test-control view (``emu.streams()``)."""
        return {
            "connectionId": self.connection_id,
            "conversationId": self.conversation_id,
            "appId": self.app_id,
            "state": self.state,
            "start_request": self.start_request,
            "audio_bytes": self.audio_bytes,
            "audio_frames": self.audio_frames,
            "audio_seconds": round(self.heard, 3),
            "largest_frame": self.largest_frame,
            "audio_before_start": self.audio_before_start,
            "oversize_frames": self.oversize_frames,
            "stop_requests": list(self.stop_requests),
            "listener_frames": self.listener_frames,
            "modify_requests": list(self.modify_requests),
            "sockets": len(self.clients),
            "reconnects": self.reconnects,
            "senders": [client.to_json() for client in self.senders_seen],
        }


class StreamStore:
    """Every streaming session; methods run on the server's event loop."""

    def __init__(
        self,
        settings: Settings,
        conversations: ConversationStore,
        script: Callable[[], tuple[TranscriptLine, ...]],
        bookmarks: BookmarkStore,
    ) -> None:
        self._settings = settings
        self._conversations = conversations
        self._bookmarks = bookmarks
        self._script = script
        self._sessions: list[StreamSession] = []
        self._live: dict[tuple[str, str], StreamSession] = {}
        self._shut = False

    def sessions(self) -> list[StreamSession]:
        """Every session so far, oldest first."""
        return list(self._sessions)

    def audio(self, connection_id: str) -> bytes:
        """The audio accepted by the latest session with this connection id.

        Raises:
            KeyError: no such session.
            ValueError: audio is not kept (the ``keep_stream_audio`` setting is off).
        """
        if not self._settings.keep_stream_audio:
            raise ValueError(
                "streamed audio is not kept: start the emulator with keep_stream_audio=True "
                "(or PATCH the setting) to inspect it"
            )
        for session in reversed(self._sessions):
            if session.connection_id == connection_id:
                return bytes(session.audio)
        raise KeyError(connection_id)

    def has_room(self, app_id: str, connection_id: str) -> bool:
        """Whether a sender may open a socket for ``connection_id``: it joins a live session
        of its own, or the app has fewer live sessions than ``max_live_streams`` allows."""
        limit = self._settings.max_live_streams
        if not limit or (app_id, connection_id) in self._live:
            return True
        # Listeners waiting for a stream hold a session too; they are not charged.
        live = sum(
            1 for (app, _), session in self._live.items() if app == app_id and session.senders_seen
        )
        return live < limit

    def connect(
        self, app_id: str, connection_id: str, sink: Sink, *, subscriber: bool = False
    ) -> StreamClient:
        """A socket opened: it joins the live session of its id, or starts one."""
        session = self._live.get((app_id, connection_id))
        if session is None:
            session = StreamSession(app_id, connection_id, self._script())
            self._live[(app_id, connection_id)] = session
        client = StreamClient(session, sink, subscriber)
        session.clients.append(client)
        if subscriber:
            if session.conversation_id:
                sink.send(_created(session.conversation_id))
            else:
                delay = self._settings.listener_wait_seconds
                client.waiting = asyncio.get_running_loop().call_later(delay, sink.close)
            return client
        if not session.senders_seen:
            self._sessions.append(session)
        session.senders_seen.append(client)
        if session.state == "listening":
            self._watch_idle(session)  # cancels a pending noConnectionTimeout
        return client

    def disconnect(self, client: StreamClient) -> None:
        """A socket closed or dropped; the last sender leaving ends the session (one not
        started yet only once no listener waits for it either)."""
        session = client.session
        client.open = False
        _stop_waiting([client])
        if client in session.clients:
            session.clients.remove(client)
        if self._shut or not session.live or session.senders():
            return
        if session.state == "waiting":
            if not session.clients:
                self._close(session, "closed")
        elif client.subscriber:
            return
        elif session.state == "listening" and session.no_connection_timeout > 0:
            self._arm(session, session.no_connection_timeout, lambda: self._finish(session))
        elif session.state == "listening":
            self._finish(session)
        else:
            self._close(session, "completed")

    def start(self, client: StreamClient, message: JSON) -> None:
        """A ``start_request``."""
        session = client.session
        if client.listening:
            client.sink.send(error_message("Unexpected start_request", "it was already received"))
            return
        try:
            request = streaming.check_start_request(message, lenient=True)
        except ValueError as exc:
            session.start_request = session.start_request or message
            client.sink.send(error_message("Invalid start_request", str(exc)))
            client.sink.close(CLOSE_POLICY_VIOLATION, "invalid start_request")
            if session.state == "waiting" and client.session.senders() == [client]:
                self._close(session, "rejected")
            return
        if (
            session.state == "listening"
            and client.start_requests == 0
            and not any(
                other.listening and not other.sink.frozen
                for other in session.senders()
                if other is not client
            )
        ):
            client.reconnect = True
            session.reconnects += 1
        client.request, client.listening = request, True
        client.start_requests += 1
        client.encoding, client.sample_rate = request.encoding, request.sample_rate
        client.seconds = max(client.seconds, session.heard)
        session.no_connection_timeout = request.no_connection_timeout
        recipients = [client]
        if session.state != "listening":
            if session.analyser is None:
                self._begin(session, request, message)
            listeners = [other for other in session.clients if other.subscriber]
            _stop_waiting(listeners)
            recipients += listeners
            session.state = "listening"
            self._watch_idle(session)
        conversation = {"conversationId": session.conversation_id}
        for frame in (
            platform_message("conversation_created", data=conversation),
            platform_message("started_listening"),
            platform_message("recognition_started", data=conversation),
        ):
            session.broadcast(frame, recipients)

    def from_listener(self, client: StreamClient) -> None:
        """A frame a listener sent: counted, never handled (a listener cannot change the
        stream)."""
        client.session.listener_frames += 1

    def audio_frame(self, client: StreamClient, data: bytes) -> None:
        """A binary frame."""
        session = client.session
        client.bytes_received += len(data)
        session.largest_frame = max(session.largest_frame, len(data))
        if len(data) > streaming.MAX_FRAME_BYTES:
            session.oversize_frames += 1
            details = (
                f"An audio frame may carry at most {streaming.MAX_FRAME_BYTES} bytes; this one had "
                f"{len(data)} and was ignored."
            )
            client.sink.send(error_message("Audio frame too large", details))
            return
        if not client.listening or session.state != "listening":
            session.audio_before_start += 1
            return
        session.audio_frames += 1
        session.audio_bytes += len(data)
        client.audio_frames += 1
        client.audio_bytes += len(data)
        room = AUDIO_KEEP_LIMIT - len(session.audio)
        if room > 0 and self._settings.keep_stream_audio:
            session.audio += data[:room]
        if audible(data, client.encoding):
            session.last_audio = loop_time()
        client.seconds += audio_seconds(len(data), client.encoding, client.sample_rate)
        if client.seconds > session.heard:
            session.heard = client.seconds
            self._recognise(session)

    def modify(self, client: StreamClient, message: JSON) -> None:
        """A ``modify_request``: new encoding or sample rate for this socket's following audio
        (what it leaves out stays as it was)."""
        client.session.modify_requests.append(message)
        if client.request is None:
            client.sink.send(error_message("Unexpected modify_request", "send start_request first"))
            return
        try:
            encoding, rate = streaming.check_modify_request(
                message, client.encoding, client.sample_rate, lenient=True
            )
        except ValueError as exc:
            client.sink.send(error_message("Invalid modify_request", str(exc)))
            return
        client.encoding, client.sample_rate = encoding, rate
        data = {"sampleRateHertz": rate, "encoding": encoding}
        client.sink.send(platform_message("session_modified", data=data))

    def bookmark(self, client: StreamClient, message: JSON) -> None:
        """A ``bookmark_request`` (PROTOCOL.md §11.4): the ``bookmark_response`` goes to every
        socket of the session; a refusal is an error message to the sender alone."""
        session = client.session
        if client.subscriber or client.request is None or session.conversation_id is None:
            why = "this socket is read-only" if client.subscriber else "send start_request first"
            client.sink.send(error_message("Unexpected bookmark_request", why))
            return
        try:
            answer = self._bookmarks.answer(session.app_id, session.conversation_id, message)
        except ValueError as exc:
            client.sink.send(error_message("Invalid bookmark_request", str(exc)))
            return
        except BookmarkNotFoundError as exc:
            details = f"no bookmark {exc} in conversation {session.conversation_id}"
            client.sink.send(error_message("Bookmark not found", details))
            return
        session.broadcast(answer)

    def stop(self, client: StreamClient, raw: str) -> None:
        """A ``stop_request`` (``raw`` is the text as received)."""
        session = client.session
        session.stop_requests.append(raw)
        if session.state == "waiting":
            client.sink.close(CLOSE_NORMAL)
        elif session.state == "paused":
            self._close(session, "completed")
        elif client.request is not None and not client.request.disconnect_on_stop:
            self._finish(session, pause_for=client.request.disconnect_timeout)
        else:
            self._finish(session)

    def shutdown(self) -> None:
        """End every session and close every socket (reset, server stop)."""
        self._shut = True
        for session in list(self._live.values()):
            self._close(session, "completed", CLOSE_GOING_AWAY)

    # -- behaviour ---------------------------------------------------------------------------

    def _begin(
        self, session: StreamSession, request: streaming.StartRequest, message: JSON
    ) -> None:
        conversation = self._conversations.create(session.app_id, name=request.meeting_title)
        conversation.sources.append("streaming")
        options = insights.Options(
            confidence_threshold=request.confidence_threshold, trackers=request.trackers
        )
        session.analyser = LiveAnalyser(
            conversation, options, request.insight_types, request.speaker
        )
        session.request, session.start_request = request, message

    def _recognise(self, session: StreamSession) -> None:
        analyser = session.analyser
        assert analyser is not None
        for heard in session.timeline.advance(session.heard):
            session.broadcast(_recognition_result(heard, analyser))
            if heard.final:
                for frame in analyser.finalise(heard.line, session.heard):
                    session.broadcast(frame)

    def _watch_idle(self, session: StreamSession) -> None:
        session.last_audio = loop_time()
        self._arm(session, self._settings.stream_idle_seconds, lambda: self._check_idle(session))

    def _check_idle(self, session: StreamSession) -> None:
        left = session.last_audio + self._settings.stream_idle_seconds - loop_time()
        if left > 0:
            self._arm(session, left, lambda: self._check_idle(session))
        else:
            self._finish(session)

    def _finish(self, session: StreamSession, pause_for: float = 0.0) -> None:
        """Stop recognising: the two final messages to every socket, then close them all,
        or pause for ``pause_for`` seconds (``disconnectOnStopRequest: false``)."""
        assert session.analyser is not None
        conversation = session.analyser.conversation
        conversation.lasted(session.heard)
        stopped = platform_message("recognition_stopped")
        completed = platform_message(
            "conversation_completed",
            conversationId=conversation.id,
            summaryUrl=summary_url(conversation.id),
            data={"conversationId": conversation.id},
        )
        first_completed = self._settings.stop_order == "conversation_completed_first"
        for frame in (completed, stopped) if first_completed else (stopped, completed):
            session.broadcast(frame)
        if pause_for > 0:
            session.state = "paused"
            for client in session.clients:
                client.listening = False
            self._arm(session, pause_for, lambda: self._close(session, "completed"))
        else:
            self._close(session, "completed")

    def _close(self, session: StreamSession, state: str, code: int = CLOSE_NORMAL) -> None:
        session.state = state
        if session.timer is not None:
            session.timer.cancel()
            session.timer = None
        _stop_waiting(session.clients)
        for client in session.clients:
            client.sink.close(code)
        if self._live.get((session.app_id, session.connection_id)) is session:
            del self._live[(session.app_id, session.connection_id)]

    def _arm(self, session: StreamSession, delay: float, callback: Callable[[], None]) -> None:
        if session.timer is not None:
            session.timer.cancel()
        session.timer = asyncio.get_running_loop().call_later(max(0.0, delay), callback)


def _stop_waiting(clients: list[StreamClient]) -> None:
    """End the waits of listeners for their stream to start."""
    for client in clients:
        if client.waiting is not None:
            client.waiting.cancel()
            client.waiting = None


def _created(conversation_id: str) -> JSON:
    return platform_message("conversation_created", data={"conversationId": conversation_id})


def _recognition_result(heard: Heard, analyser: LiveAnalyser) -> JSON:
    """The §6.3 item 4 frame for the words of a line recognised so far."""
    timed = word_offsets(heard)
    words = [
        {"word": word, "startTime": _timestamp(start), "endTime": _timestamp(end)}
        for word, start, end in timed
    ]
    alternative = {
        "words": words,
        "transcript": heard.text,
        "confidence": _RECOGNITION_CONFIDENCE,
    }
    reached = timed[-1][2] if timed else heard.line.start
    return {
        "type": "message",
        "message": {
            "type": "recognition_result",
            "isFinal": heard.final,
            "payload": {"raw": {"alternatives": [alternative]}},
            "punctuated": {"transcript": heard.text},
            "user": analyser.user_json(heard.line),
        },
        "timeOffset": round(reached * 1000),
    }


def _timestamp(seconds: float) -> dict[str, str]:
    whole, nanos = divmod(round(seconds * 1e9), 10**9)
    return {"seconds": str(whole), "nanos": str(nanos)}


def audible(data: bytes, encoding: str) -> bool:
    """Whether a frame carries sound: the service ends a meeting after long silence, not only
    after audio stops arriving. Only LINEAR16 can be measured; other encodings count as sound."""
    if encoding != "LINEAR16" or len(data) < 2:
        return True
    samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.float64)
    rms = float(np.sqrt(np.mean(samples * samples)))
    return rms > 0 and 20 * np.log10(rms / 32768.0) > SILENCE_DBFS
