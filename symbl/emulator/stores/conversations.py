"""Conversations: who said what and when, and what the insight engine makes of it (no HTTP).

A conversation holds members and timed lines of speech or text. Jobs append lines; the
analysis (messages, insights, topics, analytics, ...) is recomputed from all lines the next
time it is read. Conversations belong to the app that created them; other apps see 404.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from symbl._protocol.listing import Comparison, ListQuery
from symbl.emulator.engine import insights, reports

_FIRST_CONVERSATION_ID = 5_000_000_000_000_000

logger = logging.getLogger("symbl.emulator")
#: Conversations up to this many lines are analysed on the event loop (a few milliseconds).
INLINE_ANALYSIS_LINES = 50


class ConversationNotFoundError(Exception):
    """No such conversation for this app (or it was deleted)."""


@dataclass
class Member:
    """A participant; messages and insights refer to it by id."""

    id: str
    name: str
    email: str = ""
    user_id: str = ""

    def to_json(self) -> dict[str, str]:
        """The member as the Members API shows it."""
        data = {"id": self.id, "name": self.name}
        if self.email:
            data["email"] = self.email
        if self.user_id and self.user_id != self.email:
            data["userId"] = self.user_id
        return data


@dataclass
class Line:
    """One turn: a member's words over a time span (seconds from the conversation start)."""

    member_id: str
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class AnalysisInput:
    """A copy of everything the insight engine reads of a conversation at one moment.

    It shares nothing the conversation may change later, so :meth:`analyse` can run in a
    worker thread while the event loop goes on (see :meth:`StoredConversation.analysis`).
    """

    conversation_id: str
    utterances: tuple[insights.Utterance, ...]
    options: insights.Options
    duration: float | None
    speech_segments: tuple[tuple[float, float], ...] | None

    def analyse(self) -> reports.Analysis:
        """Run the insight engine: a pure function of this input, safe in any thread."""
        return reports.analyse(
            self.utterances,
            self.options,
            self.conversation_id,
            insights.IdFactory(self.conversation_id + ":analysis"),
            duration=self.duration,
            speech_segments=self.speech_segments,
        )


@dataclass
class StoredConversation:
    """A conversation and everything known about it."""

    id: str
    app_id: str
    name: str
    start_time: datetime
    kind: str = "meeting"
    metadata: dict[str, Any] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    media_duration: float = 0.0
    speech_segments: list[tuple[float, float]] | None = None
    options: insights.Options = field(default_factory=insights.Options)
    features: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    #: When it was made: what listings window, sort and filter as its ``startTime`` (a Text
    #: job may date ``start_time`` back to its messages' times).
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _analysis: reports.Analysis | None = field(default=None, repr=False)
    _analysing: asyncio.Lock | None = field(default=None, repr=False)
    # Counts the changes, so that an analysis computed meanwhile is not cached.
    _version: int = field(default=0, repr=False)
    _ids: insights.IdFactory = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = insights.IdFactory(self.id + ":members")

    @property
    def duration(self) -> float:
        """Seconds from start to the end of the last line or of the media, whichever is later."""
        last = max((line.end for line in self.lines), default=0.0)
        return max(self.media_duration, last)

    def to_json(self) -> dict[str, Any]:
        """The conversation resource (PROTOCOL.md §4.2)."""
        return {
            "id": self.id,
            "type": self.kind,
            "name": self.name,
            "startTime": insights.iso_time(self.start_time, 0.0),
            "endTime": insights.iso_time(self.start_time, self.duration),
            "members": [member.to_json() for member in self.members.values()],
            "metadata": self.metadata,
        }

    def member(self, name: str = "", user_id: str = "", email: str = "") -> Member:
        """The member with this email/user id (or name), added if new."""
        email = email or (user_id if "@" in user_id else "")
        for existing in self.members.values():
            same_account = (email and existing.email == email) or (
                user_id and existing.user_id == user_id
            )
            if same_account or (not email and not user_id and name and existing.name == name):
                return existing
        created = Member(
            self._ids.uuid(), name or "Unknown Speaker", email=email, user_id=user_id or email
        )
        self.members[created.id] = created
        return created

    def add_lines(
        self,
        lines: Sequence[Line],
        options: insights.Options,
        media_duration: float = 0.0,
        speech_segments: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        """Append lines (already offset to follow what is there) and merge the job's options."""
        self.lines.extend(lines)
        self.media_duration = max(self.media_duration, media_duration)
        if speech_segments is not None:
            self.speech_segments = (self.speech_segments or []) + list(speech_segments)
        self.options = _merge_options(self.options, options)
        self._changed()

    def lasted(self, seconds: float) -> None:
        """The media (a stream, a call) lasted ``seconds``: the conversation is at least that
        long (silence at the end counts in analytics)."""
        if seconds > self.media_duration:
            self.media_duration = seconds
            self._changed()

    def prepared(self) -> Awaitable[None] | None:
        """Compute the analysis ahead of the first getter: a small conversation's here and now
        (it costs less than a trip to a thread), a larger one's in a worker thread, by
        awaiting what this returns. A failure is logged, and raised again by the getters."""
        if self._analysis is not None:
            return None
        if len(self.lines) > INLINE_ANALYSIS_LINES:
            return self._prepared()
        try:
            self.analysis()
        except Exception:
            logger.exception("analysing conversation %s failed", self.id)
        return None

    async def _prepared(self) -> None:
        try:
            await self.analysed()
        except Exception:
            logger.exception("analysing conversation %s failed", self.id)

    async def analysed(self) -> reports.Analysis:
        """:meth:`analysis`, computed in a worker thread so that the event loop goes on
        serving other requests meanwhile; callers at the same time share one computation."""
        if self._analysing is None:
            self._analysing = asyncio.Lock()
        async with self._analysing:
            cached = self._analysis
            if cached is not None:
                return cached
            version = self._version
            analysis = await asyncio.to_thread(self.analysis_input().analyse)
            if version == self._version:  # else the conversation changed meanwhile
                self._analysis = analysis
            return analysis

    def rename_member(self, member_id: str, name: str, email: str) -> None:
        """Change a member's name and email everywhere it appears."""
        member = self.members[member_id]
        member.name = name
        member.email = email or member.email
        self._changed()

    def attribute(self, member_id: str, start: float, end: float) -> int:
        """Give the lines starting in ``[start, end)`` to this member; return how many."""
        moved = 0
        for line in self.lines:
            if start <= line.start < end:
                line.member_id = member_id
                moved += 1
        self._changed()
        return moved

    def analysis(self) -> reports.Analysis:
        """What the insight engine makes of the lines, computed here on first use after a
        change.

        The HTTP handlers use :meth:`analysed`, which computes it in a worker thread.
        """
        if self._analysis is None:
            self._analysis = self.analysis_input().analyse()
        return self._analysis

    def analysis_input(self) -> AnalysisInput:
        """A copy of what the analysis depends on (call it on the event loop)."""
        options = copy.deepcopy(self.options)
        options.reference_time = self.start_time
        segments = self.speech_segments
        return AnalysisInput(
            self.id,
            tuple(
                insights.Utterance(self._speaker(line.member_id), line.text, line.start, line.end)
                for line in self.lines
            ),
            options,
            self.duration if segments is not None else None,
            tuple(segments) if segments is not None else None,
        )

    def _changed(self) -> None:
        """What the analysis reads has changed: it is computed again when next asked for."""
        self._analysis = None
        self._version += 1

    def _speaker(self, member_id: str) -> insights.Speaker:
        member = self.members[member_id]
        return insights.Speaker(member.id, member.name, member.user_id, member.email)


class ConversationStore:
    """Every conversation, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredConversation] = {}
        self._numbers = itertools.count(_FIRST_CONVERSATION_ID)

    def create(
        self,
        app_id: str,
        name: str | None = None,
        start_time: datetime | None = None,
        conversation_id: str | None = None,
    ) -> StoredConversation:
        """A new, empty conversation owned by ``app_id``."""
        new_id = conversation_id or str(next(self._numbers))
        while new_id in self._by_id and conversation_id is None:
            new_id = str(next(self._numbers))
        if new_id in self._by_id:
            raise ValueError(f"conversation {new_id} exists already")
        conversation = StoredConversation(
            id=new_id,
            app_id=app_id,
            name=name or new_id,
            start_time=start_time or datetime.now(timezone.utc),
        )
        self._by_id[new_id] = conversation
        return conversation

    def get(self, app_id: str, conversation_id: str) -> StoredConversation:
        """The conversation, if it exists and belongs to ``app_id``."""
        conversation = self._by_id.get(conversation_id)
        if conversation is None or conversation.app_id != app_id:
            raise ConversationNotFoundError(conversation_id)
        return conversation

    def delete(self, app_id: str, conversation_id: str) -> None:
        """Forget the conversation."""
        self.get(app_id, conversation_id)
        del self._by_id[conversation_id]

    def of_app(self, app_id: str) -> list[StoredConversation]:
        """The app's conversations, oldest first."""
        return [item for item in self._by_id.values() if item.app_id == app_id]

    def all(self) -> list[StoredConversation]:
        """Every conversation."""
        return list(self._by_id.values())

    def listing(
        self,
        app_id: str,
        query: ListQuery,
        now: datetime,
        criteria: Sequence[Comparison] = (),
    ) -> list[StoredConversation]:
        """One page of the app's conversations (PROTOCOL.md §11.1): those in the query's window
        that satisfy its filter and ``criteria`` (a group's), sorted once, then sliced."""
        start, end = query.window(now)
        comparisons = (*query.comparisons, *criteria)
        found = [
            conversation
            for conversation in self.of_app(app_id)
            if (start is None or start <= conversation.created_at)
            and (end is None or conversation.created_at < end)
            and all(_holds(comparison, conversation) for comparison in comparisons)
        ]
        # Made earlier sorts first among equals; Python's sort is stable, even reversed.
        found.sort(
            key=lambda conversation: [_sort_key(conversation, field) for field in query.sort],
            reverse=query.order == "desc",
        )
        return found[query.offset : query.offset + query.limit]


def _merge_options(old: insights.Options, new: insights.Options) -> insights.Options:
    """Options accumulate over a conversation's jobs: later thresholds win, lists add up."""
    return insights.Options(
        confidence_threshold=new.confidence_threshold,
        detect_phrases=old.detect_phrases or new.detect_phrases,
        custom_entities=old.custom_entities
        + [e for e in new.custom_entities if e not in old.custom_entities],
        trackers=old.trackers + [t for t in new.trackers if t not in old.trackers],
        reference_time=old.reference_time,
    )


def field_value(conversation: StoredConversation, selector: str) -> str | None:
    """The value an RSQL selector names (``conversation.name``,
    ``conversation.metadata.agentId``, ...), as text; None when the conversation has none."""
    name = selector.removeprefix("conversation.")
    if name.startswith("metadata."):
        value = conversation.metadata.get(name.removeprefix("metadata."))
        return None if value is None else str(value)
    if name == "startTime":
        return insights.iso_time(conversation.created_at, 0.0)
    if name == "endTime":
        return insights.iso_time(conversation.created_at, conversation.duration)
    simple = {"id": conversation.id, "name": conversation.name, "type": conversation.kind}
    return simple.get(name)


def _sort_key(conversation: StoredConversation, selector: str) -> tuple[bool, str]:
    value = field_value(conversation, selector)
    return value is None, value or ""


def _holds(comparison: Comparison, conversation: StoredConversation) -> bool:
    """Whether the conversation satisfies one RSQL comparison (``*`` is a wildcard in ``==``
    and ``!=``; ordering compares numbers as numbers, other text as text)."""
    value = field_value(conversation, comparison.selector)
    operator, arguments = comparison.operator, comparison.arguments
    if operator in ("==", "!="):
        pattern = ".*".join(re.escape(part) for part in arguments[0].split("*"))
        equal = value is not None and re.fullmatch(pattern, value) is not None
        return equal == (operator == "==")
    if operator in ("=in=", "=out="):
        return (value in arguments) == (operator == "=in=")
    if value is None:
        return False
    difference = _compare(value, arguments[0])
    return {
        "=gt=": difference > 0,
        "=ge=": difference >= 0,
        "=lt=": difference < 0,
        "=le=": difference <= 0,
    }[operator]


def _compare(value: str, argument: str) -> int:
    """-1, 0 or 1 as ``value`` is below, equal to or above ``argument``: as numbers when both
    are numbers, else as text."""
    try:
        left, right = float(value), float(argument)
    except ValueError:
        return (value > argument) - (value < argument)
    return (left > right) - (left < right)
