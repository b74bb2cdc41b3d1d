"""Telephony API calls (PROTOCOL.md §5): dial out, play the script, stop (no HTTP here).

A started call rings for ``telephony_answer_seconds`` (real seconds), then plays the live
transcript (:mod:`.live`) in real time scaled by ``telephony_speed`` to every socket on
``/session/subscribe/{connectionId}``: ``transcript_response`` interims and finals, then
``message_response``, ``insight_response`` (questions, action items, follow-ups) and
``topic_response`` for each final line. When the script has played to its end the remote
party hangs up; without a script the line stays silent until the call is stopped. Either way
subscribers get ``conversation_completed`` and are closed with 1000.

``sendSummaryEmail`` actions are recorded in an *outbox* (nothing is sent): those with
``invokeOn: start`` when the call starts, those with ``invokeOn: stop`` of the start request
when the call ends, and those of the stop request when it is stopped. A call that ended by
itself still takes one ``stop`` (the docs tell users to call it to get the conversation id);
after a stop its connection id is unknown.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from symbl._options import LANGUAGE_CODES, parse_timestamp

from . import insights
from .conversations import ConversationStore
from .live import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    JSON,
    LiveAnalyser,
    Sink,
    Timeline,
    loop_time,
    platform_message,
    summary_url,
)
from .media import TranscriptLine

if TYPE_CHECKING:
    from .state import Settings

PHONE_NUMBER = re.compile(r"\+?[0-9]{7,15}")
DTMF = re.compile(r"[0-9*#A-D,]*")
SPEAKER_EVENT_TYPES = frozenset({"started_speaking", "stopped_speaking", "joined", "left"})
TELEPHONY_INSIGHTS = ("question", "action_item", "follow_up")
_START_KEYS = frozenset(
    {"operation", "endpoint", "actions", "data", "languages", "timezone", "pushSpeakerEvents"}
)
_STOP_KEYS = frozenset({"operation", "connectionId", "actions", "data"})
_ENDPOINT_KEYS = {
    "pstn": frozenset({"type", "phoneNumber", "dtmf"}),
    "sip": frozenset({"type", "uri", "providerName", "transportConfig", "audioConfig"}),
}
_AUDIO_CONFIG_KEYS = frozenset({"encoding", "sampleRate", "sampleSize", "payloadType"})
_EVENT_KEYS = frozenset({"topic", "type", "user", "timestamp"})


class CallNotFoundError(Exception):
    """No such call for this app, or it has ended (stopped, for ``stop``)."""


# --- request checks ----------------------------------------------------------------------------


def check_start(body: JSON) -> JSON:
    """Check a start request (PROTOCOL.md §5.1), as lenient as the old client needs
    (``"actions": {}``, ``"dtmf": null``, ``"pushSpeakerEvents": true``, ``"sampleSize": "16"``).

    Raises:
        ValueError: what is wrong, naming the field.
    """
    _no_unknown(body, _START_KEYS, "")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, dict) or endpoint.get("type") not in _ENDPOINT_KEYS:
        raise ValueError('"endpoint" must be an object whose "type" is "pstn" or "sip"')
    _no_unknown(endpoint, _ENDPOINT_KEYS[endpoint["type"]], "endpoint.")
    if endpoint["type"] == "pstn":
        number = endpoint.get("phoneNumber")
        if not isinstance(number, str) or not PHONE_NUMBER.fullmatch(number):
            raise ValueError('"endpoint.phoneNumber" must be 7 to 15 digits, optionally after +')
        dtmf = endpoint.get("dtmf")
        if dtmf is not None and not (isinstance(dtmf, str) and DTMF.fullmatch(dtmf)):
            raise ValueError('"endpoint.dtmf" may only hold 0-9, *, #, A-D and "," (a pause)')
    else:
        _check_sip(endpoint)
    check_actions(body.get("actions"))
    _check_data(body.get("data"))
    languages = body.get("languages")
    if languages is not None and not (
        isinstance(languages, list) and all(_language_code(item) for item in languages)
    ):
        raise ValueError('"languages" must be a list of language codes (or of {"code": ...})')
    timezone_name = body.get("timezone")
    if timezone_name is not None and not (isinstance(timezone_name, str) and timezone_name):
        raise ValueError('"timezone" must be a time zone name such as "US/Pacific"')
    if not isinstance(body.get("pushSpeakerEvents", False), bool):
        raise ValueError('"pushSpeakerEvents" must be true or false')
    return body


def check_stop(body: JSON) -> str:
    """Check a stop request (PROTOCOL.md §5.2) and return its connection id.

    Raises:
        ValueError: what is wrong, naming the field.
    """
    _no_unknown(body, _STOP_KEYS, "")
    connection_id = body.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError('"connectionId" is required to stop a call')
    check_actions(body.get("actions"))
    _check_data(body.get("data"))
    return connection_id


def check_actions(value: Any) -> list[JSON]:
    """The ``actions`` list (``null`` or ``{}``, as the old client sends, mean none).

    Raises:
        ValueError: not a list of ``sendSummaryEmail`` actions.
    """
    if value is None or value == {}:
        return []
    if not isinstance(value, list):
        raise ValueError('"actions" must be a list')
    for index, action in enumerate(value):
        where = f'"actions[{index}]'
        if not isinstance(action, dict):
            raise ValueError(f'{where}" must be an object')
        _no_unknown(action, frozenset({"invokeOn", "name", "parameters"}), f"actions[{index}].")
        if action.get("invokeOn") not in ("start", "stop"):
            raise ValueError(f'{where}.invokeOn" must be "start" or "stop"')
        if action.get("name") != "sendSummaryEmail":
            raise ValueError(f'{where}.name" must be "sendSummaryEmail" (the only action)')
        parameters = action.get("parameters")
        emails = parameters.get("emails") if isinstance(parameters, dict) else None
        if not (
            isinstance(emails, list)
            and emails
            and all(isinstance(e, str) and "@" in e for e in emails)
        ):
            raise ValueError(f'{where}.parameters.emails" must be a non-empty list of emails')
    return list(value)


def check_speaker_event(body: Any, *, lenient: bool = False) -> JSON:
    """Check a speaker event (PROTOCOL.md §5.3) and fill in its ``timestamp`` if absent.

    With ``lenient`` (the events socket) the JS client's end marker
    ``{"topic": "speaker", "type": "stopped"}`` is accepted too.

    Raises:
        ValueError: what is wrong, naming the field.
    """
    if not isinstance(body, dict):
        raise ValueError("a speaker event must be a JSON object")
    _no_unknown(body, _EVENT_KEYS, "")
    if body.get("topic") != "speaker":
        raise ValueError('"topic" must be "speaker"')
    marker = lenient and body.get("type") == "stopped"
    if body.get("type") not in SPEAKER_EVENT_TYPES and not marker:
        raise ValueError(f'"type" must be one of {", ".join(sorted(SPEAKER_EVENT_TYPES))}')
    user = body.get("user")
    if not marker and not (
        isinstance(user, dict)
        and all(isinstance(user.get(key), str) and user[key] for key in ("userId", "name"))
    ):
        raise ValueError('"user.userId" and "user.name" are required strings')
    event = dict(body)
    if "timestamp" in event:
        parse_timestamp(event["timestamp"], "timestamp")
    else:
        now = datetime.now(timezone.utc)
        event["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return event


def _language_code(item: Any) -> bool:
    code = item.get("code") if isinstance(item, dict) else item
    return isinstance(code, str) and code in LANGUAGE_CODES


def _check_sip(endpoint: JSON) -> None:
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not re.fullmatch(r"sips?:\S+", uri):
        raise ValueError('"endpoint.uri" must be a SIP URI such as "sip:8002@sip.example.com"')
    for key in ("providerName", "transportConfig"):
        if key in endpoint and not isinstance(endpoint[key], str):
            raise ValueError(f'"endpoint.{key}" must be a string')
    audio = endpoint.get("audioConfig")
    if audio is None:
        return
    if not isinstance(audio, dict):
        raise ValueError('"endpoint.audioConfig" must be an object')
    _no_unknown(audio, _AUDIO_CONFIG_KEYS, "endpoint.audioConfig.")
    if "encoding" in audio and not isinstance(audio["encoding"], str):
        raise ValueError('"endpoint.audioConfig.encoding" must be a string such as "OPUS"')
    for key in ("sampleRate", "sampleSize", "payloadType"):
        value = audio.get(key, 1)
        if isinstance(value, str) and value.isdigit():
            continue  # the old client sends "sampleSize": "16"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f'"endpoint.audioConfig.{key}" must be a positive number')


def _check_data(data: Any) -> None:
    if data is None:
        return
    session = data.get("session") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not (session is None or isinstance(session, dict)):
        raise ValueError('"data" must be an object like {"session": {"name": "..."}}')
    if session is not None and not isinstance(session.get("name", ""), str):
        raise ValueError('"data.session.name" must be a string')


def _no_unknown(body: JSON, known: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        names = ", ".join(f'"{prefix}{key}"' for key in unknown)
        raise ValueError(f"{names} {'is' if len(unknown) == 1 else 'are'} not allowed")


# --- calls -------------------------------------------------------------------------------------


@dataclass
class Call:
    """One telephony connection and its conversation."""

    connection_id: str
    app_id: str
    start: JSON
    analyser: LiveAnalyser
    timeline: Timeline
    state: str = "ringing"
    stop: JSON | None = None
    ended_by: str | None = None
    speaker_events: list[JSON] = field(default_factory=list)
    subscribers: list[Sink] = field(default_factory=list)
    event_sockets: list[Sink] = field(default_factory=list)
    clock: float = 0.0
    clock_read_at: float = 0.0
    timer: asyncio.TimerHandle | None = None

    @property
    def conversation_id(self) -> str:
        """The call's conversation."""
        return self.analyser.conversation.id

    @property
    def session_name(self) -> str:
        """``data.session.name`` of the start request, else the conversation id."""
        session = (self.start.get("data") or {}).get("session") or {}
        return str(session.get("name") or self.conversation_id)

    def to_json(self) -> JSON:
        """The test-control view (``emu.calls()``)."""
        return {
            "connectionId": self.connection_id,
            "conversationId": self.conversation_id,
            "appId": self.app_id,
            "state": self.state,
            "start": self.start,
            "stop": self.stop,
            "ended_by": self.ended_by,
            "speaker_events": list(self.speaker_events),
            "subscribers": len(self.subscribers),
        }


class CallStore:
    """Every call, and the outbox of summary emails; methods run on the server's loop."""

    def __init__(
        self,
        settings: Settings,
        conversations: ConversationStore,
        script: Callable[[], tuple[TranscriptLine, ...]],
    ) -> None:
        self._settings = settings
        self._conversations = conversations
        self._script = script
        self._calls: dict[str, Call] = {}
        self.outbox: list[JSON] = []

    def calls(self) -> list[Call]:
        """Every call so far, oldest first."""
        return list(self._calls.values())

    def start(self, app_id: str, body: JSON) -> Call:
        """Dial out for a checked start request; the call answers after a short ring."""
        session = (body.get("data") or {}).get("session") or {}
        conversation = self._conversations.create(app_id, name=session.get("name") or None)
        conversation.sources.append("telephony")
        analyser = LiveAnalyser(conversation, insights.Options(), TELEPHONY_INSIGHTS)
        call = Call(str(uuid.uuid4()), app_id, body, analyser, Timeline(self._script()))
        self._calls[call.connection_id] = call
        self._run_actions(call, body.get("actions"), "start")
        self._arm(call, self._settings.telephony_answer_seconds, lambda: self._answer(call))
        return call

    def find(self, app_id: str, connection_id: str) -> Call:
        """A call that has not ended.

        Raises:
            CallNotFoundError: unknown, another app's, or ended.
        """
        call = self._calls.get(connection_id)
        if call is None or call.app_id != app_id or call.state == "ended":
            raise CallNotFoundError(connection_id)
        return call

    def subscribe(self, call: Call, sink: Sink) -> None:
        """A results socket joined."""
        call.subscribers.append(sink)

    def join_events(self, call: Call, sink: Sink) -> None:
        """A speaker-events socket joined (it is closed when the call ends)."""
        call.event_sockets.append(sink)

    def leave(self, call: Call, sink: Sink) -> None:
        """A socket of the call closed."""
        for sockets in (call.subscribers, call.event_sockets):
            if sink in sockets:
                sockets.remove(sink)

    def speaker_event(self, call: Call, event: JSON) -> None:
        """Record a checked speaker event."""
        call.speaker_events.append(event)

    def stop(self, app_id: str, body: JSON) -> tuple[Call, list[JSON]]:
        """End a call by request; return it and its ``summaryInfo``.

        Raises:
            CallNotFoundError: unknown, another app's, or already stopped.
        """
        call = self._calls.get(body["connectionId"])
        if call is None or call.app_id != app_id or call.stop is not None:
            raise CallNotFoundError(body["connectionId"])
        call.stop = body
        if call.state != "ended":
            self._end(call, "stop")
        self._run_actions(call, body.get("actions"), "stop")
        emails = [
            email
            for source in (call.start, body)
            for action in source.get("actions") or []
            if action["invokeOn"] == "stop"
            for email in action["parameters"]["emails"]
        ]
        return call, self._summary_info(call, list(dict.fromkeys(emails)))

    def hang_up(self, connection_id: str) -> None:
        """The remote party hangs up now.

        Raises:
            KeyError: no call with this id is connected.
        """
        call = self._calls.get(connection_id)
        if call is None or call.state == "ended":
            raise KeyError(connection_id)
        self._end(call, "hangup")

    def shutdown(self) -> None:
        """End every call and close its sockets (reset, server stop)."""
        for call in self._calls.values():
            if call.state != "ended":
                self._end(call, "reset", CLOSE_GOING_AWAY)

    # -- behaviour ---------------------------------------------------------------------------

    def _answer(self, call: Call) -> None:
        call.state = "active"
        call.clock_read_at = loop_time()
        self._play(call)

    def _play(self, call: Call, due: float = 0.0) -> None:
        """Send everything the script has reached, then wait for its next change."""
        self._catch_up(call, due)
        upcoming = call.timeline.next_change()
        if upcoming is not None:
            delay = (upcoming - call.clock) / self._settings.telephony_speed
            self._arm(call, delay, lambda: self._play(call, upcoming))
        elif call.timeline.lines and call.state == "active":
            self._end(call, "hangup")  # the script is over: the remote party hangs up

    def _catch_up(self, call: Call, due: float = 0.0) -> None:
        """Move the call's clock to now (at least to ``due``) and send what it reached."""
        now = loop_time()
        speed = self._settings.telephony_speed
        call.clock = max(due, call.clock + (now - call.clock_read_at) * speed)
        call.clock_read_at = now
        for heard in call.timeline.advance(call.clock):
            self._broadcast(call, _transcript_response(heard.text, heard.final))
            if heard.final:
                for frame in call.analyser.finalise(heard.line, call.clock):
                    self._broadcast(call, frame)

    def _end(self, call: Call, how: str, code: int = CLOSE_NORMAL) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        if call.state == "active" and how != "reset":
            self._catch_up(call)  # deliver what was said up to now
        call.state, call.ended_by = "ended", how
        conversation = call.analyser.conversation
        conversation.media_duration = max(conversation.media_duration, call.clock)
        completed = platform_message(
            "conversation_completed",
            conversationId=conversation.id,
            summaryUrl=summary_url(conversation.id),
        )
        for sink in call.subscribers:
            sink.send(completed)
        for sink in call.subscribers + call.event_sockets:
            sink.close(code)
        if how != "reset":
            self._run_actions(call, call.start.get("actions"), "stop")

    def _run_actions(self, call: Call, actions: Any, invoke_on: str) -> None:
        for action in check_actions(actions):
            if action["invokeOn"] != invoke_on:
                continue
            self.outbox.append(
                {
                    "to": list(action["parameters"]["emails"]),
                    "subject": f"Summary of {call.session_name}",
                    "conversationId": call.conversation_id,
                    "connectionId": call.connection_id,
                    "summaryUrl": summary_url(call.conversation_id),
                    "invokeOn": invoke_on,
                }
            )

    def _summary_info(self, call: Call, emails: list[str]) -> list[JSON]:
        ids = insights.IdFactory(call.conversation_id + ":summary")
        people: list[tuple[str, str, str | None]] = [(e, _name_of(e), e) for e in emails]
        # Without a summary email, the session's organizer: the app that started the call.
        people = people or [(call.app_id, call.session_name, None)]
        return [
            {
                "user": {"id": ids.uuid(), "userId": user_id, "name": name, "role": "organizer"},
                "url": summary_url(call.conversation_id, email),
            }
            for user_id, name, email in people
        ]

    def _broadcast(self, call: Call, frame: JSON) -> None:
        for sink in call.subscribers:
            sink.send(frame)

    def _arm(self, call: Call, delay: float, callback: Callable[[], None]) -> None:
        if call.timer is not None:
            call.timer.cancel()
        call.timer = asyncio.get_running_loop().call_later(max(0.0, delay), callback)


def _transcript_response(text: str, final: bool) -> JSON:
    """The §5.4 live-text frame."""
    return {
        "type": "transcript_response",
        "isFinal": final,
        "payload": {"content": text, "contentType": "text/plain"},
    }


def _name_of(email: str) -> str:
    """A display name from an email address: ``john.doe@x`` → ``John Doe``."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._+-]+", local) if part) or email
