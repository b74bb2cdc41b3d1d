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
from typing import Any

from symbl._protocol import telephony
from symbl._protocol.frames import CLOSE_GOING_AWAY, CLOSE_NORMAL
from symbl.emulator.engine import insights
from symbl.emulator.media import TranscriptLine

from .conversations import ConversationStore
from .live import JSON, LiveAnalyser, Sink, Timeline, loop_time, platform_message, summary_url
from .settings import Settings

TELEPHONY_INSIGHTS = ("question", "action_item", "follow_up")


class CallNotFoundError(Exception):
    """No such call for this app, or it has ended (stopped, for ``stop``)."""


def received_speaker_event(body: Any, *, lenient: bool = False) -> JSON:
    """A speaker event that arrived (checked as PROTOCOL.md §5.3 says, leniently on the events
    socket), with the server's ``timestamp`` filled in when the client left it out.

    Raises:
        ProtocolError: what is wrong, naming the field.
    """
    event = telephony.check_speaker_event(body, lenient=lenient)
    if event.get("timestamp") is None:
        now = datetime.now(timezone.utc)
        event["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return event


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
        conversation.lasted(call.clock)
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
        for action in telephony.check_actions(actions, lenient=True):
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
