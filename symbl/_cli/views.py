"""How the command line shows conversations and live events to people."""

from __future__ import annotations

import json
import sys
from typing import IO, Any, Callable

from symbl._models.charts import talk_times
from symbl._models.tables import columns_for
from symbl._resources.conversations import Conversation

from .terminal import Column, bar_chart, interactive, table

_FETCH: dict[str, Callable[[Conversation], Any]] = {
    "messages": Conversation.get_messages,
    "topics": Conversation.get_topics,
    "questions": Conversation.get_questions,
    "action-items": Conversation.get_action_items,
    "follow-ups": Conversation.get_follow_ups,
    "members": Conversation.get_members,
    "entities": Conversation.get_entities,
    "trackers": Conversation.get_trackers,
    "analytics": Conversation.get_analytics,
}

#: view -> the key of its list of records in the API's answer
_RECORDS = {
    "messages": "messages",
    "topics": "topics",
    "questions": "questions",
    "action-items": "actionItems",
    "follow-ups": "followUps",
    "members": "members",
    "entities": "entities",
}
_METRICS: list[Column] = [
    ("metric", lambda metric: metric["type"]),
    ("seconds", lambda metric: metric.get("seconds")),
    ("percent", lambda metric: metric.get("percent")),
]
_SPEAKERS: list[Column] = [
    ("talk %", lambda member: (member.get("talkTime") or {}).get("percentage")),
    ("words/min", lambda member: (member.get("pace") or {}).get("wpm")),
    ("member", lambda member: member.get("name")),
]


def fetch(conversation: Conversation, view: str) -> Any:
    """The API answer behind a view of ``symbl conversation``."""
    return _FETCH[view](conversation)


def render(view: str, answer: Any, unicode: bool = True) -> str:
    """A view's answer as text tables (analytics: talk-time bars first, drawn with block
    characters when ``unicode``, else ``#``)."""
    if view == "analytics":
        return (
            talk_time_bars(answer, unicode)
            + "\n\n"
            + table(answer.get("metrics") or [], _METRICS)
            + "\n\n"
            + table(answer.get("members") or [], _SPEAKERS)
        )
    records = answer if view == "trackers" else answer.get(_RECORDS[view]) or []
    return table(records, columns_for(records) if records else [])


def talk_time_bars(analytics: Any, unicode: bool = True) -> str:
    """Talk time per speaker as bars that fit 80 columns, under a title."""
    bars = [
        (
            talk.speaker,
            talk.seconds,
            f"{talk.seconds:.1f} s"
            + (f" {talk.percentage:3.0f}%" if talk.percentage is not None else ""),
        )
        for talk in talk_times(analytics)
    ]
    return "talk time\n" + bar_chart(bars, unicode=unicode)


class LivePrinter:
    """Callbacks that print live events: readable lines, or one JSON object per line.

    On a terminal, interim transcription is shown on one line that the final text replaces.
    ``heard`` tells whether a stream brought any final message (``message_response``).
    """

    def __init__(self, as_json: bool, stream: IO[str] = sys.stdout) -> None:
        self._json = as_json
        self._stream = stream
        self._interim = not as_json and interactive(stream)
        self.heard = False

    def streaming_callbacks(self) -> dict[str, Callable[[Any], None]]:
        """For ``StreamingConnection.subscribe``."""
        if self._json:
            callbacks = dict.fromkeys(
                ("message", "insight_response", "topic_response"), self._print_json
            )
        else:
            callbacks = {"message": self._recognition, "insight_response": self._insights}
        return {**callbacks, "message_response": self._message_response}

    def telephony_callbacks(self) -> dict[str, Callable[[Any], None]]:
        """For ``Connection.subscribe``."""
        if self._json:
            return dict.fromkeys(
                (
                    "transcript_response",
                    "message_response",
                    "insight_response",
                    "topic_response",
                    "message",
                ),
                self._print_json,
            )
        return {"transcript_response": self._transcript, "insight_response": self._insights}

    def _message_response(self, event: Any) -> None:
        self.heard = True
        if self._json:
            self._print_json(event)

    def _print_json(self, event: Any) -> None:
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()

    def _recognition(self, event: Any) -> None:
        message = event.get("message") or {}
        if message.get("type") != "recognition_result":
            return
        text = (message.get("punctuated") or {}).get("transcript", "")
        speaker = (message.get("user") or {}).get("name")
        self._line(f"{speaker}: {text}" if speaker else text, bool(message.get("isFinal")))

    def _transcript(self, event: Any) -> None:
        self._line((event.get("payload") or {}).get("content", ""), bool(event.get("isFinal")))

    def _insights(self, event: Any) -> None:
        for insight in event.get("insights") or []:
            self._line(f"  [{insight.get('type')}] {insight.get('text') or ''}", True)

    def _line(self, text: str, final: bool) -> None:
        if final:
            self._stream.write(("\r\033[K" if self._interim else "") + text + "\n")
        elif self._interim:
            self._stream.write("\r\033[K" + text[-200:])
        self._stream.flush()
