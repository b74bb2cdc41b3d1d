"""Live conversations, shared by the Streaming API and the Telephony API (no HTTP here).

The emulator never recognises speech. What a live session "hears" is the *live transcript*, a
script set through the test controls (lines of ``{"speaker": {"name", "userId"}, "text",
"start", "end"}``, the shape :func:`~symbl.emulator.media.parse_transcript` reads), played
against a clock: for streaming, the duration of the audio actually received; for telephony,
wall-clock time since the call was answered, scaled by ``telephony_speed``. Without a script a
session honestly hears nothing.

- :class:`Timeline` turns the script and the clock into results: once the clock reaches a
  line's ``start``, interim results reveal its words in proportion to the time elapsed within
  the line (always at least one interim, and never the whole line unless it has one word);
  at its ``end``, a final one.
- :class:`LiveAnalyser` turns a final line into the insight frames of PROTOCOL.md §6.3
  (``message_response`` with one message per sentence, ``insight_response``,
  ``topic_response`` for topics not seen before, ``tracker_response``) and appends the line to
  the session's :class:`~symbl.emulator.stores.conversations.StoredConversation`.
- :class:`Sink` is what a store sends frames through (the HTTP layer implements it over a
  websocket); :class:`SocketRegistry` knows every live one, to cut, freeze, unfreeze or close
  those under a path, now. Socket fault rules (:mod:`.faults`) do the same to one socket at a
  chosen moment, through :func:`strike`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from symbl._protocol.frames import CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_NORMAL
from symbl.emulator.engine import insights
from symbl.emulator.engine.topics import TopicCounts, excluded_words
from symbl.emulator.media import TranscriptLine

from .conversations import Line, StoredConversation
from .faults import FaultPlan, FaultRule

JSON = dict[str, Any]

SUMMARY_UI = "https://meetinginsights.symbl.ai/meeting/#/"


class Sink(Protocol):
    """Where a live session's frames go: one websocket, as seen by the stores."""

    @property
    def path(self) -> str:
        """The request path the socket was opened on."""

    def send(self, frame: JSON) -> None:
        """Queue a JSON text frame (never blocks; ignored once closing)."""

    def send_text(self, text: str) -> None:
        """Queue a raw text frame."""

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", *, wait: bool = True) -> None:
        """Queue a close frame after whatever is queued; later sends are dropped. Then wait a
        while for the client's answering close frame, or (``wait`` false) end at once."""

    def abort(self) -> None:
        """Cut the connection at once, without a close frame."""

    @property
    def frozen(self) -> bool:
        """Whether the socket is frozen."""

    def freeze(self, seconds: float | None = None) -> None:
        """Stop reading from the connection and writing to it (it stays open), for ``seconds``
        or until :meth:`thaw`; what is queued meanwhile waits."""

    def thaw(self) -> None:
        """End a freeze: the socket goes on where it stopped."""

    @property
    def armed(self) -> bool:
        """Whether a socket fault rule waits to strike this socket."""

    def arm(self, rule: FaultRule) -> None:
        """Let a socket fault rule strike this socket when its moment comes, counted from
        now."""


def strike(sink: Sink, rule: FaultRule) -> None:
    """Do to ``sink`` what a socket fault rule says: cut, freeze or close it."""
    if rule.websocket == "cut":
        sink.abort()
    elif rule.websocket == "freeze":
        sink.freeze(rule.freeze_seconds)
    elif rule.websocket == "close":
        sink.close(rule.code, rule.reason)


class SocketRegistry:
    """Every live websocket, so that tests can drop or close them and resets can close them."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []

    def add(self, sink: Sink) -> None:
        """Remember a socket that just opened."""
        self._sinks.append(sink)

    def discard(self, sink: Sink) -> None:
        """Forget a socket that closed."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def count(self) -> int:
        """How many sockets are open."""
        return len(self._sinks)

    def drop(self, path_prefix: str = "") -> int:
        """Abort every socket whose path starts with ``path_prefix``; return how many."""
        chosen = self._under(path_prefix)
        for sink in chosen:
            sink.abort()
        return len(chosen)

    def close(
        self, path_prefix: str = "", code: int = CLOSE_INTERNAL_ERROR, reason: str = ""
    ) -> int:
        """Close every socket whose path starts with ``path_prefix`` with ``code`` (after the
        frames already queued on it); return how many."""
        chosen = self._under(path_prefix)
        for sink in chosen:
            sink.close(code, reason)
        return len(chosen)

    def freeze(self, path_prefix: str = "", seconds: float | None = None) -> int:
        """Freeze every socket whose path starts with ``path_prefix`` (for ``seconds``, or until
        unfrozen); return how many."""
        chosen = self._under(path_prefix)
        for sink in chosen:
            sink.freeze(seconds)
        return len(chosen)

    def thaw(self, path_prefix: str = "") -> int:
        """Unfreeze every frozen socket whose path starts with ``path_prefix``; return how
        many."""
        chosen = [sink for sink in self._under(path_prefix) if sink.frozen]
        for sink in chosen:
            sink.thaw()
        return len(chosen)

    def arm(self, rule: FaultRule, plan: FaultPlan) -> int:
        """Arm a socket fault rule just added to ``plan`` on the open sockets it matches that
        have none armed, oldest first, as far as its ``times`` and ``probability`` allow;
        return how many."""
        chosen = [
            sink
            for sink in list(self._sinks)
            if not sink.armed and plan.claim(rule, "GET", sink.path)
        ]
        for sink in chosen:
            sink.arm(rule)
        return len(chosen)

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Close every socket with ``code`` without waiting for answers; frozen ones, which
        can carry nothing, are cut."""
        for sink in list(self._sinks):
            if sink.frozen:
                sink.abort()
            else:
                sink.close(code, reason, wait=False)

    def _under(self, path_prefix: str) -> list[Sink]:
        return [sink for sink in self._sinks if sink.path.startswith(path_prefix)]


def platform_message(kind: str, **fields: Any) -> JSON:
    """A wrapped lifecycle message: ``{"type": "message", "message": {"type": kind, ...}}``."""
    return {"type": "message", "message": {"type": kind, **fields}}


def error_message(message: str, details: str) -> JSON:
    """The nested error frame (PROTOCOL.md §6.3 item 12, the judged form)."""
    return platform_message("error", message=message, details=details)


def summary_url(conversation_id: str, user_id: str | None = None) -> str:
    """A Summary UI address in the service's format (base64 of a small JSON document)."""
    document = {"userId": user_id} if user_id else {}
    document["sessionId"] = conversation_id
    token = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    return SUMMARY_UI + token


# --- the script against a clock ----------------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """What has been recognised of one script line so far.

    Attributes:
        line: the script line.
        words: its words recognised so far (all of them when ``final``).
        final: whether the line is finished.
    """

    line: TranscriptLine
    words: tuple[str, ...]
    final: bool

    @property
    def text(self) -> str:
        """The recognised words as text."""
        return " ".join(self.words)


class Timeline:
    """A script played against a clock that only moves forward.

    Example:
        >>> timeline = Timeline([TranscriptLine("Hello there world.", 1.0, 2.0)])
        >>> [(h.text, h.final) for h in timeline.advance(1.5)]
        [('Hello', False)]
        >>> [(h.text, h.final) for h in timeline.advance(2.0)]
        [('Hello there', False), ('Hello there world.', True)]
    """

    def __init__(self, lines: Sequence[TranscriptLine]) -> None:
        self.lines = tuple(sorted(lines, key=lambda line: (line.start, line.end)))
        self.elapsed = 0.0
        self._shown = [0] * len(self.lines)
        # Lines are sorted by start and the clock only moves forward, so the lines fall into
        # three runs: final ones, open ones (started, not final) and the rest from
        # ``_unstarted`` on. Each step looks at the open lines only, however long the script.
        self._unstarted = 0
        self._open: list[int] = []  # in script order
        self._open_started()

    @property
    def finished(self) -> bool:
        """Whether every line has had its final result."""
        return self._unstarted == len(self.lines) and not self._open

    def advance(self, elapsed: float) -> list[Heard]:
        """Move the clock to ``elapsed`` seconds; return the new interim results (in script
        order), then the new final ones (in order of their ends)."""
        self.elapsed = max(self.elapsed, elapsed)
        self._open_started()
        interims, finals, still_open = [], [], []
        for index in self._open:
            line = self.lines[index]
            words = tuple(line.text.split())
            shown = _revealed(line, len(words), self.elapsed)
            if shown > self._shown[index]:
                self._shown[index] = shown
                interims.append(Heard(line, words[:shown], False))
            if self.elapsed >= line.end:
                finals.append(Heard(line, words, True))
            else:
                still_open.append(index)
        self._open = still_open
        finals.sort(key=lambda heard: heard.line.end)
        return interims + finals

    def next_change(self) -> float | None:
        """The clock reading at which :meth:`advance` would next return something (None when
        the script is over)."""
        upcoming = [self._next_word(index) for index in self._open]
        if self._unstarted < len(self.lines):
            upcoming.append(self.lines[self._unstarted].start)
        return min(upcoming, default=None)

    def _open_started(self) -> None:
        lines = self.lines
        while self._unstarted < len(lines) and lines[self._unstarted].start <= self.elapsed:
            self._open.append(self._unstarted)
            self._unstarted += 1

    def _next_word(self, index: int) -> float:
        """When the next word of an open line shows, or the line ends."""
        line = self.lines[index]
        count = len(line.text.split())
        following = self._shown[index] + 1
        if following <= count - 1 and line.end > line.start:
            step = (line.end - line.start) / count
            return min(line.end, line.start + following * step)
        return line.end


def _revealed(line: TranscriptLine, count: int, elapsed: float) -> int:
    """Words of an unfinished line recognised at ``elapsed``: in proportion to the time spent
    in the line, at least one and (before the final result) never all of them."""
    span = line.end - line.start
    fraction = 1.0 if span <= 0 or elapsed >= line.end else (elapsed - line.start) / span
    # The epsilon keeps a word from appearing one float rounding late at its exact time.
    return min(max(1, math.floor(count * fraction + 1e-9)), max(1, count - 1))


# --- final lines to insight frames -------------------------------------------------------------


class LiveAnalyser:
    """Builds the insight frames of final lines and stores the lines in their conversation.

    Args:
        conversation: where the lines go (the Conversation API reads them from there).
        options: confidence threshold and trackers (its ``reference_time`` is set here to the
            conversation's start).
        insight_types: which of ``question``, ``action_item`` and ``follow_up`` to report.
        speaker: ``{"name", "userId"}`` to attribute every line to (a streaming socket's
            ``speaker``), or None to use each line's own speaker.
    """

    def __init__(
        self,
        conversation: StoredConversation,
        options: insights.Options,
        insight_types: Collection[str],
        speaker: JSON | None = None,
    ) -> None:
        self.conversation = conversation
        self.options = options
        options.reference_time = conversation.start_time
        self.insight_types = frozenset(insight_types)
        self._speaker = speaker
        self._ids = insights.IdFactory(conversation.id + ":live")
        self._people: dict[tuple[str, str], insights.Speaker] = {}
        self._topics = TopicCounts(excluded_words(()))
        self._topic_ids: set[str] = set()
        self._sequence: dict[str, int] = {}

    def speaker_for(self, line: TranscriptLine) -> insights.Speaker:
        """Who said ``line``: the fixed speaker if there is one, else the line's speaker (a
        conversation member either way)."""
        if self._speaker is not None:
            key = (str(self._speaker.get("name") or ""), str(self._speaker.get("userId") or ""))
        else:
            key = (line.speaker_name, line.speaker_user_id)
        if key not in self._people:
            member = self.conversation.member(*key)
            self._people[key] = insights.Speaker(
                member.id, member.name, member.user_id, member.email
            )
        return self._people[key]

    def user_json(self, line: TranscriptLine) -> JSON:
        """The ``user`` of a recognition result: ``userId`` (when known), ``name`` and ``id``."""
        speaker = self.speaker_for(line)
        user: JSON = {"userId": speaker.user_id} if speaker.user_id else {}
        user.update(name=speaker.name, id=speaker.id)
        return user

    def finalise(self, line: TranscriptLine, heard_until: float) -> list[JSON]:
        """Store a final line and return its frames; ``heard_until`` is how far the session's
        clock has got (the conversation lasts at least that long)."""
        speaker = self.speaker_for(line)
        self.conversation.add_lines(
            [Line(speaker.id, line.text, line.start, line.end)],
            self.options,
            media_duration=heard_until,
        )
        members = [
            insights.Speaker(m.id, m.name, m.user_id, m.email)
            for m in self.conversation.members.values()
        ]
        utterance = insights.Utterance(speaker, line.text, line.start, line.end)
        messages: list[JSON] = []
        sentences: list[tuple[str, str]] = []
        found: list[JSON] = []
        by_message: dict[str, list[JSON]] = {}
        hits: list[insights.TrackerHit] = []
        for text, start, end in insights.time_sentences(utterance):
            message_id = self._ids.uuid()
            message = insights.message_json(
                text, speaker, start, end, message_id, self.conversation.id, self.options, members
            )
            sentences.append((message_id, text))
            words = insights.word_timings(text, start, end, self.options.reference_time)
            messages.append(insights.stream_message_json(message, words))
            for insight in insights.classify(text, speaker, members, self.options):
                if insight.type in self.insight_types:
                    item = insight.to_stream_json(self._ids.uuid(), message_id)
                    found.append(item)
                    by_message.setdefault(message_id, []).append(item)
            hits += insights.match_trackers(text, message_id, self.options.trackers)
        frames = [self._numbered("message_response", messages=messages)]
        if found:
            frames.append(self._numbered("insight_response", insights=found))
        new_topics = self._new_topics(sentences, members)
        if new_topics:
            self._topic_ids.update(topic["id"] for topic in new_topics)
            topics = [insights.stream_topic_json(topic) for topic in new_topics]
            frames.append({"type": "topic_response", "topics": topics})
        if hits:
            trackers = insights.tracker_results(hits, self.options.trackers, by_message, self._ids)
            frames.append(self._numbered("tracker_response", isFinal=True, trackers=trackers))
        return frames

    def _new_topics(
        self, messages: Sequence[tuple[str, str]], members: Sequence[insights.Speaker]
    ) -> list[JSON]:
        """Count the topics of a line's messages; return the top ones not sent before.

        The counts are kept from line to line, so a line costs the same however long the
        session. Only a change of names among the members (who are never topics) makes them
        count everything again.
        """
        excluded = excluded_words(member.name for member in members)
        if excluded != self._topics.excluded:
            self._topics = self._topics.recounted(excluded)
        for message_id, text in messages:
            self._topics.add(message_id, text)
        return insights.topic_items(self._topics, self._ids, self._topic_ids)

    def _numbered(self, kind: str, **fields: Any) -> JSON:
        number = self._sequence.get(kind, 0)
        self._sequence[kind] = number + 1
        frame: JSON = {"type": kind}
        if "isFinal" in fields:
            frame["isFinal"] = fields.pop("isFinal")
        return {**frame, "sequenceNumber": number, **fields}


def word_offsets(heard: Heard) -> list[tuple[str, float, float]]:
    """``(word, start, end)`` in seconds for the recognised words of a line, spread evenly
    over the whole line."""
    line = heard.line
    total = max(1, len(line.text.split()))
    step = (line.end - line.start) / total
    return [
        (word, line.start + i * step, line.start + (i + 1) * step)
        for i, word in enumerate(heard.words)
    ]


def loop_time() -> float:
    """The server loop's clock: what session and call timers are measured with."""
    return asyncio.get_running_loop().time()
