"""What an async job does to its conversation: turn media or text into timed lines (no HTTP).

The emulator never recognises speech. The words of a recording come from, in order:
1. a transcript registered for its URL or SHA-256 through the admin API (``/_emulator/media``);
2. a transcript embedded in the file itself (see :mod:`symbl.emulator.media`).
A recording with neither still completes, honestly: duration, silence and talk time are
measured from the samples, and the transcript is empty.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from symbl._protocol.jobs import check_messages
from symbl._protocol.options import parse_timestamp
from symbl.emulator.engine import insights
from symbl.emulator.media import MediaInfo, TranscriptLine, probe

from .conversations import ConversationStore, Line, StoredConversation

logger = logging.getLogger("symbl.emulator")

_WORDS_PER_SECOND = 2.5  # a brisk 150 words a minute, for text messages that carry no timing
_GAP_BETWEEN_MESSAGES = 0.5


@dataclass(frozen=True)
class RegisteredMedia:
    """A transcript (and optionally a duration) registered for some media."""

    transcript: tuple[TranscriptLine, ...]
    duration: float | None = None


@dataclass
class MediaLibrary:
    """Transcripts registered through the admin API, by media URL or by SHA-256 of the bytes."""

    by_url: dict[str, RegisteredMedia] = field(default_factory=dict)
    by_sha256: dict[str, RegisteredMedia] = field(default_factory=dict)


def insight_options(options: Mapping[str, Any]) -> insights.Options:
    """The insight engine's options from a job's checked API options."""
    return insights.Options(
        confidence_threshold=float(options.get("confidenceThreshold", 0.5)),
        detect_phrases=bool(options.get("detectPhrases", False)),
        custom_entities=list(options.get("entities", [])),
        trackers=list(options.get("trackers", [])),
    )


def sha256_of(stream: IO[bytes]) -> str:
    """SHA-256 of a seekable stream, read in chunks; leaves it at its start."""
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def add_media(
    conversation: StoredConversation,
    info: MediaInfo,
    registered: RegisteredMedia | None,
    options: Mapping[str, Any],
) -> None:
    """Append a recording to the conversation, after what it already holds."""
    offset = conversation.duration
    if registered is not None:
        transcript, source = registered.transcript, "registered transcript"
    elif info.transcript is not None:
        transcript, source = info.transcript, "embedded transcript"
    else:
        transcript, source = (), "no transcript"
        logger.info(
            "conversation %s: the %s carries no transcript and none is registered; it gets "
            "measured analytics but no words",
            conversation.id,
            info.kind,
        )
    duration = (
        info.duration
        if info.duration is not None
        else (registered.duration if registered else None)
    )
    lines = [
        Line(
            conversation.member(line.speaker_name, line.speaker_user_id).id,
            line.text,
            offset + line.start,
            offset + line.end,
        )
        for line in transcript
    ]
    segments = [(offset + start, offset + end) for start, end in info.speech_segments or ()]
    if info.speech_segments is None:
        segments = [(line.start, line.end) for line in lines]
    conversation.add_lines(
        lines,
        insight_options(options),
        media_duration=offset + (duration or max((line.end for line in transcript), default=0.0)),
        speech_segments=segments,
    )
    conversation.sources.append(f"{info.kind}: {source}")


def add_text(
    conversation: StoredConversation,
    messages: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
) -> None:
    """Append text messages (PROTOCOL.md §2.4), timed by their ``duration`` or by length."""
    first_job = not conversation.lines
    stamps = [_times(message) for message in messages]
    starts = [start for start, _ in stamps if start is not None]
    if first_job and starts:
        conversation.start_time = min(starts)
    cursor = conversation.duration + (_GAP_BETWEEN_MESSAGES if conversation.lines else 0.0)
    lines = []
    for message, (start, end) in zip(messages, stamps):
        content = str(message["payload"]["content"]).strip()
        speaker = message.get("from") or {}
        if start is not None:
            begin = max(0.0, (start - conversation.start_time).total_seconds())
            finish = (end - conversation.start_time).total_seconds() if end else begin
        else:
            begin = cursor
            finish = begin
        if finish <= begin:
            finish = begin + max(1.0, len(content.split()) / _WORDS_PER_SECOND)
        member = conversation.member(
            str(speaker.get("name", "")),
            str(speaker.get("userId", "")),
            str(speaker.get("email", "")),
        )
        lines.append(Line(member.id, content, round(begin, 3), round(finish, 3)))
        cursor = finish + _GAP_BETWEEN_MESSAGES
    conversation.add_lines(lines, insight_options(options))
    conversation.sources.append("text")


def import_text(
    store: ConversationStore,
    app_id: str,
    messages: Any,
    conversation_id: str | None = None,
    name: str | None = None,
) -> StoredConversation:
    """A finished conversation made from Text API messages, with a chosen id if given.

    Raises:
        ValueError: invalid messages, an id that is not digits, or an id already taken.
    """
    if conversation_id is not None and not (
        isinstance(conversation_id, str) and conversation_id.isdigit()
    ):
        raise ValueError('"id" must be a string of digits')
    checked = check_messages(messages)
    conversation = store.create(app_id, name=name, conversation_id=conversation_id)
    add_text(conversation, checked, {})
    return conversation


def _times(message: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    duration = message.get("duration") or {}
    start = duration.get("startTime")
    end = duration.get("endTime")
    begin = parse_timestamp(start, "startTime") if start else None
    finish = parse_timestamp(end, "endTime") if end else None
    if begin is None and finish is not None:
        begin = finish - timedelta(seconds=1)
    return begin, finish


def probe_upload(stream: IO[bytes]) -> MediaInfo:
    """Probe an uploaded file (runs in a worker thread: it reads the whole file)."""
    stream.seek(0)
    return probe(stream)
