"""Transcripts in file formats, computed from a conversation's messages (no I/O).

The messages are those of ``GET /v1/conversations/{id}/messages`` (``text``, ``from.name``,
``startTime``/``endTime`` and, when the service sends them, ``timeOffset``/``duration``); the
Text API shape (``payload.content``, ``duration.startTime``) is read too. Times in every format
are counted from the start of the conversation: the first message's ``startTime`` less its
``timeOffset`` (0 when absent). A message without ISO times falls back to its
``timeOffset``/``duration``, then to the end of the message before it.

Formats (:data:`EXPORT_FORMATS`):

- ``srt``: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, ``Speaker: text``.
- ``vtt``: WebVTT, ``HH:MM:SS.mmm`` timings and ``<v Speaker>`` voice tags.
- ``txt``: ``[MM:SS] Speaker: text``, one line per message (``[HH:MM:SS]`` from an hour on).
- ``markdown``: a paragraph per turn (consecutive messages of one speaker), speaker in bold.
- ``jsonl``: one JSON object per message: ``speaker``, ``start``, ``end`` (seconds), ``text``.

Subtitles stay readable: a message longer than :data:`MAX_CUE_CHARACTERS` becomes several
cues, cut between words, its time shared between them in proportion to their length.

Example:
    >>> export_messages([{"text": "Hi.", "from": {"name": "Ann"}, "timeOffset": 1.5,
    ...                   "duration": 1.0}], "txt")
    '[00:01] Ann: Hi.\\n'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from symbl._protocol.checks import is_number, shown
from symbl.errors import InvalidArgumentError

#: The formats :func:`export_messages` writes.
EXPORT_FORMATS = ("srt", "vtt", "txt", "markdown", "jsonl")
#: The label of a message whose speaker has no name.
UNKNOWN_SPEAKER = "Unknown Speaker"
#: The most characters of text in one subtitle cue: about two lines on a screen.
MAX_CUE_CHARACTERS = 84

_ISO_TIME = re.compile(
    r"(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?", re.ASCII
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Line(NamedTuple):
    """One message, placed in time: milliseconds from the start of the conversation."""

    speaker: str
    start: int
    end: int
    text: str


def check_format(value: Any) -> str:
    """``value`` as one of :data:`EXPORT_FORMATS` (any case).

    Raises:
        InvalidArgumentError: another value, naming the formats there are.
    """
    chosen = value.lower() if isinstance(value, str) else None
    if chosen not in EXPORT_FORMATS:
        raise InvalidArgumentError(
            f"unknown export format {shown(value)}; choose one of {', '.join(EXPORT_FORMATS)}"
        )
    return chosen


def export_messages(messages: Iterable[Mapping[str, Any]], format: str) -> str:
    """The messages as the text of a file in ``format`` (see :data:`EXPORT_FORMATS`).

    Args:
        messages: the ``messages`` of ``conversation.get_messages()``.
        format: ``srt``, ``vtt``, ``txt``, ``markdown`` or ``jsonl``.

    Raises:
        InvalidArgumentError: an unknown format, or a message that is not an object.
    """
    writer = _WRITERS[check_format(format)]
    return "".join(writer(timed_lines(messages)))


def timed_lines(messages: Iterable[Mapping[str, Any]]) -> list[Line]:
    """Each message's speaker, start and end (ms from the conversation's start) and text."""
    lines: list[Line] = []
    origin: int | None = None
    previous_end = 0
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidArgumentError(
                f"messages[{index}] must be a message object, not {shown(message)}"
            )
        start_at, end_at = _instant(message, "startTime"), _instant(message, "endTime")
        offset, duration = _seconds(message.get("timeOffset")), _seconds(message.get("duration"))
        if start_at is not None and origin is None:
            origin = start_at - (offset or 0)
        if start_at is not None and origin is not None:
            start = start_at - origin
        else:
            start = offset if offset is not None else previous_end
        if end_at is not None and origin is not None:
            end = end_at - origin
        else:
            end = start + (duration or 0)
        start = max(start, 0)
        previous_end = max(end, start)
        lines.append(Line(speaker_name(message), start, previous_end, message_text(message)))
    return lines


def speaker_name(message: Mapping[str, Any]) -> str:
    """Who said a message: ``from.name``, or :data:`UNKNOWN_SPEAKER`."""
    speaker = message.get("from")
    return speaker_label(speaker.get("name") if isinstance(speaker, Mapping) else None)


def speaker_label(name: Any) -> str:
    """A speaker's name on one line, or :data:`UNKNOWN_SPEAKER` when it has none."""
    return " ".join(name.split()) if isinstance(name, str) and name.strip() else UNKNOWN_SPEAKER


def message_text(message: Mapping[str, Any]) -> str:
    """What a message says: ``text``, or the Text API's ``payload.content``."""
    text = message.get("text")
    if text is None and isinstance(message.get("payload"), Mapping):
        text = message["payload"].get("content")
    return text if isinstance(text, str) else ""


def clock(milliseconds: int, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``separator`` before the milliseconds: ``,`` for SRT)."""
    seconds, millis = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def short_clock(milliseconds: int, with_hours: bool) -> str:
    """``MM:SS``, or ``HH:MM:SS`` when ``with_hours`` (whole seconds, cut down)."""
    minutes, seconds = divmod(milliseconds // 1000, 60)
    if not with_hours:
        return f"{minutes:02d}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _instant(message: Mapping[str, Any], name: str) -> int | None:
    """An ISO-8601 time of the message as ms since the epoch, or None (absent or unreadable)."""
    value = message.get(name)
    if value is None and isinstance(message.get("duration"), Mapping):
        value = message["duration"].get(name)  # the Text API's shape
    matched = _ISO_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if matched is None:
        return None
    day, hours, minutes, seconds, fraction, zone = matched.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{hours}:{minutes}:{seconds}")
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        zone_digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(zone_digits[:2]), minutes=int(zone_digits[2:]))
    whole = (moment.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(seconds=1)
    return whole * 1000 + round(float(f"0.{fraction or 0}") * 1000)


def _seconds(value: Any) -> int | None:
    return round(value * 1000) if is_number(value) else None


def _plain(text: str) -> str:
    """Text on one line, whitespace runs made single spaces."""
    return " ".join(text.split())


def _spoken(lines: Iterable[Line]) -> Iterator[Line]:
    """The lines that say something, their text on one line."""
    for line in lines:
        text = _plain(line.text)
        if text:
            yield line._replace(text=text)


def _cues(lines: Iterable[Line]) -> Iterator[Line]:
    """Subtitle cues: each line, or its parts when it is too long for one cue."""
    for line in _spoken(lines):
        parts = _parts(line.text)
        total = sum(map(len, parts))
        done = 0
        for part in parts:
            start = line.start + (line.end - line.start) * done // total
            done += len(part)
            end = line.start + (line.end - line.start) * done // total
            yield Line(line.speaker, start, end, part)


def _parts(text: str) -> list[str]:
    """``text`` cut between words into pieces of at most :data:`MAX_CUE_CHARACTERS`."""
    parts: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > MAX_CUE_CHARACTERS:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    parts.append(current)
    return parts


def _srt(lines: list[Line]) -> Iterator[str]:
    for number, cue in enumerate(_cues(lines), 1):
        yield "\n" if number > 1 else ""
        yield f"{number}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n"
        yield f"{cue.speaker}: {cue.text}\n"


def _vtt(lines: list[Line]) -> Iterator[str]:
    yield "WEBVTT\n"
    for cue in _cues(lines):
        yield f"\n{clock(cue.start)} --> {clock(cue.end)}\n"
        yield f"<v {_vtt_escaped(cue.speaker)}>{_vtt_escaped(cue.text)}\n"


def _vtt_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _txt(lines: list[Line]) -> Iterator[str]:
    with_hours = any(line.start >= 3_600_000 for line in lines)
    for line in _spoken(lines):
        yield f"[{short_clock(line.start, with_hours)}] {line.speaker}: {line.text}\n"


def _markdown(lines: list[Line]) -> Iterator[str]:
    with_hours = any(line.start >= 3_600_000 for line in lines)
    speaker = None
    for line in _spoken(lines):
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", line.text)
        if line.speaker == speaker:
            yield f" {text}"
            continue
        if speaker is not None:
            yield "\n\n"
        speaker = line.speaker
        name = _MARKDOWN_SPECIAL.sub(r"\\\1", line.speaker)
        yield f"**{name}** ({short_clock(line.start, with_hours)}): {text}"
    if speaker is not None:
        yield "\n"


def _jsonl(lines: list[Line]) -> Iterator[str]:
    for line in lines:
        record = {
            "speaker": line.speaker,
            "start": line.start / 1000,
            "end": line.end / 1000,
            "text": line.text,
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


_WRITERS = {"srt": _srt, "vtt": _vtt, "txt": _txt, "markdown": _markdown, "jsonl": _jsonl}
