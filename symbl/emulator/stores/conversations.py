"""Conversations: who said what and when, and what the insight engine makes of it (no HTTP).

A conversation holds members and timed lines of speech or text. Jobs append lines; the
analysis (messages, insights, topics, analytics, ...) is recomputed from all lines the next
time it is read. Conversations belong to the app that created them; other apps see 404.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from symbl.emulator.engine import insights, reports

_FIRST_CONVERSATION_ID = 5_000_000_000_000_000


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
    _analysis: reports.Analysis | None = field(default=None, repr=False)
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
        self._analysis = None

    def rename_member(self, member_id: str, name: str, email: str) -> None:
        """Change a member's name and email everywhere it appears."""
        member = self.members[member_id]
        member.name = name
        member.email = email or member.email
        self._analysis = None

    def attribute(self, member_id: str, start: float, end: float) -> int:
        """Give the lines starting in ``[start, end)`` to this member; return how many."""
        moved = 0
        for line in self.lines:
            if start <= line.start < end:
                line.member_id = member_id
                moved += 1
        self._analysis = None
        return moved

    def analysis(self) -> reports.Analysis:
        """What the insight engine makes of the lines (computed once per change)."""
        if self._analysis is None:
            utterances = [
                insights.Utterance(self._speaker(line.member_id), line.text, line.start, line.end)
                for line in self.lines
            ]
            self.options.reference_time = self.start_time
            self._analysis = reports.analyse(
                utterances,
                self.options,
                self.id,
                insights.IdFactory(self.id + ":analysis"),
                duration=self.duration if self.speech_segments is not None else None,
                speech_segments=self.speech_segments,
            )
        return self._analysis

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
