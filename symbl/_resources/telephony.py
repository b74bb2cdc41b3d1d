"""The Telephony API (PROTOCOL.md §5): Symbl dials into a call over PSTN or SIP.

``symbl.Telephony.start_pstn(...)`` / ``start_sip(...)`` start the call and return a
:class:`Connection`. ``connection.subscribe({...})`` opens the live results socket on a
background thread (the script may end right after it: events keep coming until the call ends).
``connection.stop()`` ends the call on the service and returns the connection updated with its
summary links; after ``symbl.Telephony.stop(connection_id)`` of the same call it sends nothing.

The reference page's spellings work as keywords too: ``phoneNumber``, ``audioConfig``,
``connectionId``.

Example:
    >>> connection = symbl.Telephony.start_pstn(phone_number="+14155550100", dtmf=",,12345#")
    >>> connection.subscribe({"transcript_response": lambda event: print(event["payload"])})
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from symbl._arguments import aliases, checked_flag
from symbl._live.connection import LiveConnection, LiveConnectionOwner
from symbl._protocol import telephony
from symbl._protocol.checks import shown
from symbl._protocol.request import Request
from symbl._transport.http import HttpClient
from symbl.errors import NotFoundError, SymblError

from .base import (
    CredentialsArgument,
    Resource,
    answered_id,
    checked_arguments,
    path_id,
    timezone_offset,
    wait_seconds,
)
from .conversations import Conversation

logger = logging.getLogger("symbl")

# What people write inside phone numbers and the service does not take.
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
#: The argument names of the wire fields, for error messages.
_ARGUMENTS = {
    "endpoint.phoneNumber": "phone_number",
    "endpoint.dtmf": "dtmf",
    "endpoint.uri": "uri",
    "endpoint.audioConfig": "audio_config",
}


class Telephony(Resource):
    """The Telephony API (``symbl.Telephony``)."""

    @aliases(phoneNumber="phone_number")
    def start_pstn(
        self,
        phone_number: str,
        dtmf: str | None = None,
        credentials: CredentialsArgument = None,
        actions: Sequence[Mapping[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
    ) -> Connection:
        """Have Symbl dial a phone number (a phone, or a conference bridge).

        Args:
            phone_number: with country code, e.g. ``"+14155550100"``; spaces, dots, dashes
                and parentheses are removed. ``phoneNumber=`` works too.
            dtmf: digits to dial once connected; ``,`` waits 500 ms. For Zoom:
                ``",,{}#,,{}#".format(meeting_id, passcode)``.
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            actions: e.g. ``[{"invokeOn": "stop", "name": "sendSummaryEmail",
                "parameters": {"emails": ["john@example.com"]}}]``.
            data: e.g. ``{"session": {"name": "My Meeting"}}``.
            languages: ``["en-US"]``; the first is the call's language.
            timezone: an IANA name such as ``"America/New_York"`` (used in the summary).
            handle_signals: whether Ctrl+C, SIGTERM and the end of the program stop the call (True);
                False leaves stopping it to your program.
            reconnect: whether the live events socket reopens by itself after an abnormal end
                (True), or ends with an error (False). The call goes on either way.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
            APIStatusError: the service refused the call.
        """
        number = phone_number
        if isinstance(number, str):
            number = _PHONE_PUNCTUATION.sub("", number)
        endpoint: dict[str, Any] = {"type": "pstn", "phoneNumber": number}
        if dtmf is not None:
            endpoint["dtmf"] = dtmf
        return self._start(
            endpoint, credentials, actions, data, languages, timezone, handle_signals, reconnect
        )

    @aliases(audioConfig="audio_config")
    def start_sip(
        self,
        uri: str,
        audio_config: Mapping[str, Any] | None = None,
        credentials: CredentialsArgument = None,
        actions: Sequence[Mapping[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
        languages: Sequence[str] | None = None,
        timezone: str | None = None,
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
    ) -> Connection:
        """Have Symbl join a call through a SIP URI.

        Args:
            uri: e.g. ``"sip:8002@sip.example.com"``.
            audio_config: e.g. ``{"encoding": "OPUS", "sampleRate": 48000, "sampleSize": 16}``;
                ``audioConfig=`` works too.
            credentials, actions, data, languages, timezone, handle_signals, reconnect: as for
                :meth:`start_pstn`.
        """
        endpoint: dict[str, Any] = {"type": "sip", "uri": uri}
        if audio_config is not None:
            endpoint["audioConfig"] = audio_config
        return self._start(
            endpoint, credentials, actions, data, languages, timezone, handle_signals, reconnect
        )

    @aliases(connectionId="connection_id")
    def stop(
        self, connection_id: str, credentials: CredentialsArgument = None, **params: Any
    ) -> Connection:
        """End a call by its connection id; returns the connection with its summary info.

        A :class:`Connection` of the same call in this process then counts as stopped: its
        ``stop()`` sends nothing more.

        Args:
            connection_id: the ``connectionId`` from the start call (``connectionId=`` works
                too).
            credentials: another account's credentials.
            **params: more fields of the stop request, e.g. ``actions`` or ``data``.
        """
        connection = path_id(connection_id, "connection_id")
        with checked_arguments():
            request = telephony.stop(connection, params, "Telephony.stop params")
        return self._call(self._client_for(credentials), request, stopped=True)

    def _start(
        self,
        endpoint: dict[str, Any],
        credentials: CredentialsArgument,
        actions: Sequence[Mapping[str, Any]] | None,
        data: Mapping[str, Any] | None,
        languages: Sequence[str] | None,
        timezone: str | None,
        handle_signals: bool,
        reconnect: bool,
    ) -> Connection:
        checked_flag("handle_signals", handle_signals)
        checked_flag("reconnect", reconnect)
        if timezone is not None:
            timezone_offset(timezone)  # checks the name
        with checked_arguments(_ARGUMENTS):
            request = telephony.start(endpoint, actions, data, languages, timezone)
        return self._call(
            self._client_for(credentials),
            request,
            handle_signals=handle_signals,
            reconnect=reconnect,
        )

    def _call(self, client: HttpClient, request: Request, **options: bool) -> Connection:
        """The I/O of a start or a stop (what the asyncio client overrides): the connection
        the service's answer describes."""
        return Connection(client, client.send(request), **options)


class _CallState:
    """What every :class:`Connection` object of one call shares (the one its start returned,
    the one ``Telephony.stop`` returned): whether the call was stopped, and the service's
    answer to the stop."""

    __slots__ = ("__weakref__", "answer", "stopped")

    def __init__(self) -> None:
        self.answer: Any = None
        self.stopped = False

    def stop(self, answer: Any) -> None:
        """The call was stopped; ``answer`` is the service's answer (None if it had ended)."""
        if answer is not None:
            self.answer = answer
        self.stopped = True  # after the answer: whoever sees it stopped sees the answer


# The calls with a Connection object in this process, by base URL and connection id; an
# entry lasts as long as one of its Connection objects does.
_calls: weakref.WeakValueDictionary[tuple[str, str], _CallState] = weakref.WeakValueDictionary()
_calls_lock = threading.Lock()


def _call_state(base_url: str, connection_id: str) -> _CallState:
    with _calls_lock:
        state = _calls.get((base_url, connection_id))
        if state is None:
            state = _calls[base_url, connection_id] = _CallState()
        return state


class Connection(LiveConnectionOwner):
    """A telephony connection: the call's ids, its live events, and its stop.

    Attributes:
        connectionId: identifies the call while it lasts.
        conversationId: the conversation it feeds (Conversation API).
        resultWebSocketUrl: the service's websocket for this call.
        eventUrl: where speaker events are posted.
        summaryInfo: after ``stop()``, the Summary UI links, one per recipient.
        conversation: a :class:`~symbl.Conversation` for ``conversationId``.
        error: what ended the live socket unexpectedly, if anything did.
        handle_signals: whether Ctrl+C, SIGTERM and the end of the program stop the call once
            subscribed (True). Set it to False to leave that to your program, which then calls
            ``stop()`` itself.

    Args:
        client: the client the call was started with (the SDK makes connections).
        answer: the service's answer describing the call.
        handle_signals, reconnect: as for :meth:`Telephony.start_pstn`.
        stopped: ``answer`` is the service's answer to a stop of the call.

    The live events socket reopens by itself after an abnormal end (``reconnecting`` and
    ``reconnected`` events tell when), unless the call was started with ``reconnect=False``.
    """

    def __init__(
        self,
        client: HttpClient,
        answer: Mapping[str, Any],
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
        stopped: bool = False,
    ) -> None:
        if not isinstance(answer, Mapping) or not answer.get("connectionId"):
            raise SymblError(f"the service answered without a connectionId: {shown(answer)}")
        self._client = client
        self.connectionId: str = answered_id(answer["connectionId"], "connectionId")
        conversation_id = answer.get("conversationId")
        self.conversationId: str | None = (
            None if conversation_id is None else answered_id(conversation_id, "conversationId")
        )
        self.resultWebSocketUrl: str | None = answer.get("resultWebSocketUrl")
        self.eventUrl: str | None = answer.get("eventUrl")
        self.summaryInfo: list[Any] | None = answer.get("summaryInfo")
        self._call_state = _call_state(client.base_url, self.connectionId)
        if stopped:
            self._call_state.stop(answer)
        self.conversation = (
            self._conversation_class(self.conversationId, client=client)
            if self.conversationId
            else None
        )
        self._live = self._live_connection(
            telephony.subscribe_path(self.connectionId),
            events=telephony.TELEPHONY_EVENTS,
            kind="telephony connection",
            name=f"symbl-telephony-{self.connectionId[:8]}",
            handle_signals=handle_signals,
            # A dropped results socket is opened again; the call itself never stopped.
            reconnect=reconnect,
        )

    _conversation_class: type[Conversation] = Conversation

    def _live_connection(self, path: str, **options: Any) -> LiveConnection:
        """The live core (the asyncio client's connection makes its own). Not a daemon: a
        script that ends right after subscribe() (as the documented snippets do) keeps
        receiving events until the call ends."""
        return LiveConnection(self._client, path, on_interrupt=self.interrupt, **options)

    def __repr__(self) -> str:
        fields = ("connectionId", "conversationId", "resultWebSocketUrl", "eventUrl")
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        if self.summaryInfo:
            shown += f", summaryInfo={self.summaryInfo!r}"
        return f"Connection({shown})"

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
        ``tracker_response``, ``message``, and the SDK's own ``reconnecting``, ``reconnected``
        and ``error``. The first call opens the
        live socket on a background thread, which keeps the program running until the call
        ends. Events from before the socket opens are not sent live by the service; they are
        all in ``connection.conversation`` afterwards.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
            StreamingError: the live socket could not be opened, or the call was stopped.
        """
        self._live.subscribe(events)
        # A socket that ended by itself is replaced: subscribing again resumes the live events.
        self._live.open()

    def stop(self, **params: Any) -> Connection:
        """End the call on the service (``operation: stop``) and close the live socket.

        Safe to call more than once (once the service has confirmed the stop, later calls do
        nothing) and from any thread, including a callback. After ``symbl.Telephony.stop``
        of the same call, it only closes the live socket. If the stop request fails, the
        error is raised and the connection stays as it was, so ``stop()`` can be retried.

        Args:
            **params: more fields of the stop request, e.g. ``actions``.

        Returns:
            This connection, updated with ``summaryInfo``.
        """
        return self._stop(None, params)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the call's live events end for good (the call ended, ``stop()``, or a
        drop that could not be recovered; a drop that is recovered does not end the wait).

        Args:
            timeout: seconds to wait at most; no limit when None or ``float('inf')``.

        Returns:
            True if the socket closed, False if the timeout passed first (or never subscribed).

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
        """
        return self._live.wait(wait_seconds("timeout", timeout))

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
        self._client.send(self._speaker_event(event_type, user, timestamp))

    def _speaker_event(
        self, event_type: str, user: Mapping[str, str], timestamp: str | None
    ) -> Request:
        """The checked request of ``push_speaker_event``."""
        when: Any = timestamp
        if when is None:
            now = datetime.now(dt_timezone.utc).isoformat(timespec="milliseconds")
            when = now.replace("+00:00", "Z")
        with checked_arguments({"type": "event_type"}):
            return telephony.speaker_event(self._event_path(), event_type, user, when)

    def _event_path(self) -> str:
        if self.eventUrl:
            return urlsplit(self.eventUrl).path
        return telephony.event_path(self.connectionId)

    def interrupt(self, deadline: float) -> None:
        """Stop before ``deadline`` (a ``time.monotonic()`` value); used on Ctrl+C."""
        # Ctrl+C: the program is ending, so the socket closes even if the stop fails.
        self._stop(max(0.2, deadline - time.monotonic() - 0.3), {}, close_anyway=True)

    def _stop(
        self, timeout: float | None, params: Mapping[str, Any], close_anyway: bool = False
    ) -> Connection:
        if not self._live.begin_stop():
            return self
        answer = self._stopped_elsewhere()
        try:
            if answer is None:
                answer = self._client.send(self._stop_request(params), timeout=timeout)
        except NotFoundError:
            self._ended_already()
            answer = None
        except SymblError:
            if close_anyway:
                self._live.close(timeout or 5.0)
            else:
                self._live.abandon_stop()  # the call may still run: let stop() be retried
            raise
        self._stopped(answer)
        self._live.close(timeout or 5.0)
        return self

    def _stop_request(self, params: Mapping[str, Any]) -> Request:
        """The checked request of ``stop()``."""
        with checked_arguments():
            return telephony.stop(self.connectionId, params, "Connection.stop params")

    def _ended_already(self) -> None:
        """The service no longer knows the call: it has ended (hung up, timed out, or stopped
        by an earlier stop whose answer was lost), which is what a stop wants."""
        logger.info("telephony call %s had already ended", self.connectionId)

    def _stopped_elsewhere(self) -> Any:
        """The service's answer to a stop of this call made through another Connection
        object (``symbl.Telephony.stop``), or None when the call was not stopped that way:
        that stop is this one's too, so nothing more is sent."""
        state = self._call_state
        return (state.answer or {}) if state.stopped else None

    def _stopped(self, answer: Any) -> None:
        """The service confirmed the stop: take the summary links it gave."""
        self._call_state.stop(answer)
        if isinstance(answer, Mapping):
            self.summaryInfo = answer.get("summaryInfo", self.summaryInfo)
            self.conversationId = answer.get("conversationId", self.conversationId)
