"""The Telephony API (PROTOCOL.md §5): Symbl dials into a call over PSTN or SIP.

``symbl.Telephony.start_pstn(...)`` / ``start_sip(...)`` start the call and return a
:class:`Connection`. ``connection.subscribe({...})`` opens the live results socket on a
background thread (the script may end right after it: events keep coming until the call ends).
``connection.stop()`` ends the call on the service and returns the connection updated with its
summary links.

Example:
    >>> connection = symbl.Telephony.start_pstn(phone_number="+14155550100", dtmf=",,12345#")
    >>> connection.subscribe({"transcript_response": lambda event: print(event["payload"])})
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from . import _interrupts
from ._client import Client
from ._conversations import Conversation
from ._events import EventDispatcher, parse_event
from ._facade import Facade, path_id
from ._options import LANGUAGE_CODES
from ._websocket import State, WebSocketConnection
from .errors import InvalidArgumentError, StreamingError, SymblError
from .streaming import timezone_offset

#: What ``Connection.subscribe`` accepts (plus the SDK's own ``error``).
TELEPHONY_EVENTS = (
    "transcript_response",
    "message_response",
    "insight_response",
    "topic_response",
    "tracker_response",
    "message",
)
SPEAKER_EVENT_TYPES = ("started_speaking", "stopped_speaking", "joined", "left")
_PHONE = re.compile(r"^\+?\d{7,15}$")
_DTMF = re.compile(r"^[0-9A-Da-d*#,wW]*$")
_SIP = re.compile(r"^sips?:[^\s@]+(@[^\s@]+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AUDIO_CONFIG_KEYS = {"encoding", "sampleRate", "sampleSize", "payloadType"}
Credentials = Optional[Mapping[str, Any]]


class Telephony(Facade):
    """The Telephony API (``symbl.Telephony``)."""

    def start_pstn(
        self,
        phone_number: str,
        dtmf: str | None = None,
        credentials: Credentials = None,
        actions: Sequence[Mapping[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
    ) -> Connection:
        """Have Symbl dial a phone number (a phone, or a conference bridge).

        Args:
            phone_number: with country code, e.g. ``"+14155550100"``.
            dtmf: digits to dial once connected; ``,`` waits 500 ms. For Zoom:
                ``",,{}#,,{}#".format(meeting_id, passcode)``.
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            actions: e.g. ``[{"invokeOn": "stop", "name": "sendSummaryEmail",
                "parameters": {"emails": ["john@example.com"]}}]``.
            data: e.g. ``{"session": {"name": "My Meeting"}}``.
            languages: ``["en-US"]``; the first is the call's language.
            timezone: an IANA name such as ``"America/New_York"`` (used in the summary).

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
            APIStatusError: the service refused the call.
        """
        cleaned = re.sub(r"[\s().-]", "", phone_number) if isinstance(phone_number, str) else ""
        if not _PHONE.match(cleaned):
            raise InvalidArgumentError(
                f"phone_number {phone_number!r} is not a phone number; give it with the country "
                "code, like '+14155550100'"
            )
        endpoint: dict[str, Any] = {"type": "pstn", "phoneNumber": cleaned}
        if dtmf is not None:
            if not isinstance(dtmf, str) or not _DTMF.match(dtmf):
                raise InvalidArgumentError(
                    f"dtmf {dtmf!r} may only hold 0-9, *, #, A-D and ',' (a 500 ms pause)"
                )
            endpoint["dtmf"] = dtmf
        return self._start(endpoint, credentials, actions, data, languages, timezone)

    def start_sip(
        self,
        uri: str,
        audio_config: Mapping[str, Any] | None = None,
        credentials: Credentials = None,
        actions: Sequence[Mapping[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
    ) -> Connection:
        """Have Symbl join a call through a SIP URI.

        Args:
            uri: e.g. ``"sip:8002@sip.example.com"``.
            audio_config: e.g. ``{"encoding": "OPUS", "sampleRate": 48000, "sampleSize": 16}``.
            credentials, actions, data, languages, timezone: as for :meth:`start_pstn`.
        """
        if not isinstance(uri, str) or not _SIP.match(uri):
            raise InvalidArgumentError(
                f"uri {uri!r} is not a SIP URI like 'sip:8002@sip.example.com'"
            )
        endpoint: dict[str, Any] = {"type": "sip", "uri": uri}
        if audio_config is not None:
            if not isinstance(audio_config, Mapping) or set(audio_config) - _AUDIO_CONFIG_KEYS:
                raise InvalidArgumentError(
                    f"audio_config takes {', '.join(sorted(_AUDIO_CONFIG_KEYS))}"
                )
            endpoint["audioConfig"] = dict(audio_config)
        return self._start(endpoint, credentials, actions, data, languages, timezone)

    def stop(
        self, connection_id: str, credentials: Credentials = None, **params: Any
    ) -> Connection:
        """End a call by its connection id; returns the connection with its summary info.

        Args:
            connection_id: the ``connectionId`` from the start call.
            credentials: another account's credentials.
            **params: more fields of the stop request, e.g. ``actions`` or ``data``.
        """
        path_id(connection_id, "connection_id")
        client = self._client(credentials)
        body = {"operation": "stop", "connectionId": str(connection_id), **params}
        return Connection(client, client.request("POST", "/v1/endpoint:connect", json=body))

    def _start(
        self,
        endpoint: dict[str, Any],
        credentials: Credentials,
        actions: Sequence[Mapping[str, Any]] | None,
        data: Mapping[str, Any] | None,
        languages: Sequence[str] | None,
        timezone: str | None,
    ) -> Connection:
        body: dict[str, Any] = {
            "operation": "start",
            "endpoint": endpoint,
            "actions": _actions(actions),
        }
        if data is not None:
            if not isinstance(data, Mapping):
                raise InvalidArgumentError(
                    "data must be a dict, e.g. {'session': {'name': 'My Meeting'}}"
                )
            body["data"] = dict(data)
        if languages is not None:
            if (
                isinstance(languages, str)
                or not languages
                or any(code not in LANGUAGE_CODES for code in languages)
            ):
                raise InvalidArgumentError(
                    "languages must be a list of supported codes, e.g. ['en-US']"
                )
            body["languages"] = list(languages)
        if timezone is not None:
            timezone_offset(timezone)  # checks the name
            body["timezone"] = timezone
        client = self._client(credentials)
        return Connection(client, client.request("POST", "/v1/endpoint:connect", json=body))


class Connection:
    """A telephony connection: the call's ids, its live events, and its stop.

    Attributes:
        connectionId: identifies the call while it lasts.
        conversationId: the conversation it feeds (Conversation API).
        resultWebSocketUrl: the service's websocket for this call.
        eventUrl: where speaker events are posted.
        summaryInfo: after ``stop()``, the Summary UI links, one per recipient.
        conversation: a :class:`~symbl.Conversation` for ``conversationId``.
    """

    def __init__(self, client: Client, answer: Mapping[str, Any]) -> None:
        if not isinstance(answer, Mapping) or not answer.get("connectionId"):
            raise SymblError(f"the service answered without a connectionId: {answer!r}")
        self._client = client
        self.connectionId: str = str(answer["connectionId"])
        self.conversationId: str | None = answer.get("conversationId")
        self.resultWebSocketUrl: str | None = answer.get("resultWebSocketUrl")
        self.eventUrl: str | None = answer.get("eventUrl")
        self.summaryInfo: list[Any] | None = answer.get("summaryInfo")
        self.conversation = (
            Conversation(self.conversationId, client=client) if self.conversationId else None
        )
        self.error: StreamingError | None = None
        self._dispatcher = EventDispatcher(TELEPHONY_EVENTS, "telephony connection")
        self._lock = threading.Lock()
        self._socket: WebSocketConnection | None = None
        self._stopped = False

    def __repr__(self) -> str:
        fields = ("connectionId", "conversationId", "resultWebSocketUrl", "eventUrl")
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        if self.summaryInfo:
            shown += f", summaryInfo={self.summaryInfo!r}"
        return f"Connection({shown})"

    @property
    def connection_id(self) -> str:
        """snake_case alias of ``connectionId``."""
        return self.connectionId

    @property
    def conversation_id(self) -> str | None:
        """snake_case alias of ``conversationId``."""
        return self.conversationId

    def to_dict(self) -> dict[str, Any]:
        """The connection's fields as the service names them."""
        data: dict[str, Any] = {
            "connectionId": self.connectionId,
            "conversationId": self.conversationId,
            "resultWebSocketUrl": self.resultWebSocketUrl,
            "eventUrl": self.eventUrl,
        }
        if self.summaryInfo is not None:
            data["summaryInfo"] = self.summaryInfo
        return data

    def subscribe(self, events: Mapping[str, Callable[[Any], object]]) -> None:
        """Call back on live events of the call: ``{'transcript_response': callback, ...}``.

        Events: ``transcript_response`` (live text with ``isFinal``), ``message_response``
        (final sentences), ``insight_response`` (questions, action items), ``topic_response``,
        ``tracker_response``, ``message``, and ``error`` (the SDK's). The first call opens the
        live socket on a background thread, which keeps the program running until the call
        ends. Events from before the socket opens are not sent live by the service; they are
        all in ``connection.conversation`` afterwards.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
            StreamingError: the live socket could not be opened.
        """
        replay_due = self._dispatcher.subscribe(events)
        with self._lock:
            if self._stopped:
                raise StreamingError(f"connection {self.connectionId} was stopped")
            # A socket that dropped is replaced: subscribing again resumes the live events.
            if self._socket is None or self._socket.state is State.CLOSED:
                self._socket = WebSocketConnection(
                    f"{self._client.websocket_url}/session/subscribe/{self.connectionId}",
                    {"x-api-key": self._client.access_token()},
                    name=f"symbl-telephony-{self.connectionId[:8]}",
                    on_frame=self._on_frame,
                    on_wake=self._dispatcher.replay,
                    on_close=self._on_close,
                    connect_timeout=self._client.connect_timeout,
                    io_timeout=self._client.timeout,
                )
                self._socket.open()
                _interrupts.register(self)
        if replay_due:
            self._socket.wake()

    def stop(self, **params: Any) -> Connection:
        """End the call on the service (``operation: stop``) and close the live socket.

        Safe to call more than once (once the service has confirmed the stop, later calls do
        nothing) and from any thread, including a callback. If the stop request fails, the
        error is raised and the connection stays as it was, so ``stop()`` can be retried.

        Args:
            **params: more fields of the stop request, e.g. ``actions``.

        Returns:
            This connection, updated with ``summaryInfo``.
        """
        return self._stop(None, params)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the call's live socket closes (the call ended, or ``stop()``).

        Args:
            timeout: seconds to wait at most; forever when None.

        Returns:
            True if the socket closed, False if the timeout passed first (or never subscribed).
        """
        socket = self._socket
        if socket is None or socket.reader is None:
            return False
        if socket.reader is threading.current_thread():
            raise SymblError(
                "Connection.wait() was called from a callback, on the very thread it would "
                "wait for; call it from your own thread (callbacks run on the reader thread)"
            )
        socket.reader.join(timeout)
        return not socket.reader.is_alive()

    def push_speaker_event(
        self,
        event_type: str,
        user: Mapping[str, str],
        timestamp: str | None = None,
    ) -> None:
        """Tell the service who is speaking now (``POST`` to ``eventUrl``).

        Args:
            event_type: ``started_speaking``, ``stopped_speaking``, ``joined`` or ``left``.
            user: ``{'userId': 'john@example.com', 'name': 'John'}``.
            timestamp: ISO-8601; now when omitted.
        """
        if event_type not in SPEAKER_EVENT_TYPES:
            raise InvalidArgumentError(
                f"event_type must be one of {', '.join(SPEAKER_EVENT_TYPES)}"
            )
        if not isinstance(user, Mapping) or not user.get("userId") or not user.get("name"):
            raise InvalidArgumentError("user must be {'userId': ..., 'name': ...}")
        when = timestamp or datetime.now(dt_timezone.utc).isoformat(timespec="milliseconds")
        body = {
            "topic": "speaker",
            "type": event_type,
            "user": dict(user),
            "timestamp": when.replace("+00:00", "Z"),
        }
        path = urlsplit(self.eventUrl).path if self.eventUrl else f"/v1/event/{self.connectionId}"
        self._client.request("POST", path, json=body)

    def interrupt(self, deadline: float) -> None:
        """Stop before ``deadline`` (a ``time.monotonic()`` value); used on Ctrl+C."""
        # Ctrl+C: the program is ending, so the socket closes even if the stop fails.
        self._stop(max(0.2, deadline - time.monotonic() - 0.3), {}, close_anyway=True)

    def _stop(
        self, timeout: float | None, params: Mapping[str, Any], close_anyway: bool = False
    ) -> Connection:
        with self._lock:
            if self._stopped:
                return self
            self._stopped = True
        body = {"operation": "stop", "connectionId": self.connectionId, **params}
        try:
            answer = self._client.request(
                "POST", "/v1/endpoint:connect", json=body, timeout=timeout
            )
        except SymblError:
            if close_anyway:
                self._close(timeout)
            else:
                with self._lock:
                    self._stopped = False  # the call may still run: let stop() be retried
            raise
        if isinstance(answer, Mapping):
            self.summaryInfo = answer.get("summaryInfo", self.summaryInfo)
            self.conversationId = answer.get("conversationId", self.conversationId)
        self._close(timeout)
        return self

    def _close(self, timeout: float | None) -> None:
        if self._socket is not None:
            self._socket.close(timeout=timeout or 5.0)
        _interrupts.unregister(self)

    def _on_frame(self, frame: Any) -> None:
        try:
            event = parse_event(frame)
        except SymblError as exc:
            self._dispatcher.report(StreamingError(str(exc)))
            return
        if event is not None:
            self._dispatcher.deliver(event["type"], event)

    def _on_close(self, error: StreamingError | None) -> None:
        if error is not None and not self._stopped:
            self.error = error
            self._dispatcher.report(error)
        _interrupts.unregister(self)


def _actions(actions: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Check actions; they are always sent as a list (the old client sent ``{}``)."""
    if actions is None:
        return []
    if isinstance(actions, Mapping) or not isinstance(actions, (list, tuple)):
        raise InvalidArgumentError("actions must be a list of actions")
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        if not isinstance(action, Mapping) or set(action) - {"invokeOn", "name", "parameters"}:
            raise InvalidArgumentError(f"{where} takes invokeOn, name and parameters")
        if action.get("invokeOn") not in ("start", "stop"):
            raise InvalidArgumentError(f"{where}.invokeOn must be 'start' or 'stop'")
        if action.get("name") != "sendSummaryEmail":
            raise InvalidArgumentError(f"{where}.name must be 'sendSummaryEmail' (the only action)")
        emails = (action.get("parameters") or {}).get("emails")
        if (
            not isinstance(emails, (list, tuple))
            or not emails
            or not all(isinstance(email, str) and _EMAIL.match(email) for email in emails)
        ):
            raise InvalidArgumentError(
                f"{where}.parameters.emails must be a list of email addresses"
            )
    return [dict(action) for action in actions]
