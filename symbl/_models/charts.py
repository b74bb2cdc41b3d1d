"""Pictures of a conversation as hand-written SVG, for Jupyter (no plotting library).

- :func:`talk_time_svg`: talk time per speaker as horizontal bars, from the analytics answer
  (``members[].talkTime``); bar lengths are proportional to the seconds.
- :func:`timeline_svg`: who spoke when, from the messages: a lane per speaker, a bar per
  message from its start to its end. Messages fetched with ``{'sentiment': True}`` are coloured
  by their sentiment polarity (red negative, grey neutral, green positive), others by speaker.

:func:`object_chart` and :func:`records_chart` pick the picture for a response or a list, for
the ``_repr_html_`` of :mod:`symbl._models.objects`. Every name and text is escaped, and
characters XML does not allow are dropped, so any speaker name gives a well-formed picture.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from symbl._protocol.checks import is_number

from .exports import Line, short_clock, speaker_label, timed_lines
from .tables import is_records, record_kind

#: Characters of a speaker's name drawn before it is cut with "…" (the full name is in the
#: tooltip).
MAX_LABEL = 22
#: Characters of a message's text in its tooltip on the timeline.
MAX_TOOLTIP = 120

_LABEL_WIDTH = 160
_PLOT_WIDTH = 480
_ROW = 24
_BAR = 16
_TOP = 28
_SPEAKER_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948")
# Characters XML 1.0 forbids even when escaped (control characters, lone surrogates, ...).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Talk(NamedTuple):
    """One speaker's talk time."""

    speaker: str
    seconds: float
    percentage: float | None


def talk_times(analytics: Mapping[str, Any]) -> list[Talk]:
    """The talk time of each member of an analytics answer (members without one count 0)."""
    members = analytics.get("members")
    if not isinstance(members, list):
        return []
    talks = []
    for member in members:
        if not isinstance(member, Mapping):
            continue
        talk = member.get("talkTime")
        talk = talk if isinstance(talk, Mapping) else {}
        seconds = _number(talk.get("seconds")) or 0.0
        talks.append(
            Talk(speaker_label(member.get("name")), seconds, _number(talk.get("percentage")))
        )
    return talks


def talk_time_svg(analytics: Mapping[str, Any]) -> str | None:
    """Talk time per speaker as horizontal bars, or None when the answer has no members."""
    talks = talk_times(analytics)
    if not talks:
        return None
    longest = max(talk.seconds for talk in talks)
    scale = _PLOT_WIDTH / longest if longest > 0 else 0.0
    parts = []
    for row, talk in enumerate(talks):
        y = _TOP + row * _ROW
        summary = f"{talk.seconds:.1f} s" + (
            f" ({talk.percentage:.0f}%)" if talk.percentage is not None else ""
        )
        width = talk.seconds * scale
        parts.append(_label(talk.speaker, y))
        parts.append(
            f'<rect class="bar" x="{_LABEL_WIDTH}" y="{y}" width="{width:.2f}" height="{_BAR}" '
            f'fill="{_SPEAKER_COLOURS[0]}"><title>{_xml(talk.speaker)}: {summary}</title></rect>'
        )
        parts.append(
            f'<text x="{_LABEL_WIDTH + width + 6:.2f}" y="{y + _BAR - 3}">{summary}</text>'
        )
    return _svg("Talk time per speaker", _TOP + len(talks) * _ROW + 4, parts)


def timeline_svg(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """Who spoke when, a lane per speaker; None when there are no messages."""
    lines = timed_lines(messages)
    if not lines:
        return None
    lanes: dict[str, int] = {}
    for line in lines:
        lanes.setdefault(line.speaker, len(lanes))
    end = max(line.end for line in lines) or 1
    scale = _PLOT_WIDTH / end
    scores = [_polarity(message) for message in messages]
    by_sentiment = any(score is not None for score in scores)
    parts = [_label(speaker, _TOP + lane * _ROW) for speaker, lane in lanes.items()]
    for line, score in zip(lines, scores):
        lane = lanes[line.speaker]
        colour = _sentiment_colour(score) if by_sentiment else _lane_colour(lane)
        x = _LABEL_WIDTH + line.start * scale
        width = max((line.end - line.start) * scale, 1.0)
        parts.append(
            f'<rect class="message" x="{x:.2f}" y="{_TOP + lane * _ROW}" width="{width:.2f}" '
            f'height="{_BAR}" fill="{colour}"><title>{_tooltip(line)}</title></rect>'
        )
    axis = _TOP + len(lanes) * _ROW + 12
    parts.extend(_ticks(end, axis))
    title = "Who spoke when" + (
        " (colour: sentiment, red negative, green positive)" if by_sentiment else ""
    )
    return _svg(title, axis + 8, parts)


def object_chart(value: Mapping[str, Any]) -> str | None:
    """The picture of a response: talk time for analytics, a timeline for messages."""
    if isinstance(value.get("metrics"), list) and isinstance(value.get("members"), list):
        return talk_time_svg(value)
    messages = value.get("messages")
    if is_records(messages) and messages and record_kind(messages[0]) == "message":
        return timeline_svg(messages)
    return None


def records_chart(records: Sequence[Mapping[str, Any]]) -> str | None:
    """The picture of a list: a timeline for messages, talk time for analytics members."""
    if not records:
        return None
    if record_kind(records[0]) == "message":
        return timeline_svg(records)
    if isinstance(records[0].get("talkTime"), Mapping):
        return talk_time_svg({"members": records})
    return None


def _svg(title: str, height: int, parts: list[str]) -> str:
    # currentColor: the text follows the notebook's theme, light or dark.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LABEL_WIDTH + _PLOT_WIDTH + 120}" '
        f'height="{height}" font-family="sans-serif" font-size="12" fill="currentColor" '
        f'role="img"><title>{_xml(title)}</title>'
        f'<text x="0" y="14" font-weight="bold">{_xml(title)}</text>{"".join(parts)}</svg>'
    )


def _label(speaker: str, y: int) -> str:
    shown = speaker if len(speaker) <= MAX_LABEL else speaker[: MAX_LABEL - 1] + "…"
    return (
        f'<text class="speaker" x="{_LABEL_WIDTH - 8}" y="{y + _BAR - 3}" text-anchor="end">'
        f"<title>{_xml(speaker)}</title>{_xml(shown)}</text>"
    )


def _ticks(end: int, y: int) -> list[str]:
    with_hours = end >= 3_600_000
    ticks = []
    for step in range(5):
        at = end * step // 4
        x = _LABEL_WIDTH + at * _PLOT_WIDTH / end
        anchor = ("start", "middle", "middle", "middle", "end")[step]
        ticks.append(
            f'<text x="{x:.2f}" y="{y}" text-anchor="{anchor}" font-size="10">'
            f"{short_clock(at, with_hours)}</text>"
        )
    return ticks


def _tooltip(line: Line) -> str:
    text = " ".join(line.text.split())
    if len(text) > MAX_TOOLTIP:
        text = text[: MAX_TOOLTIP - 1] + "…"
    when = f"{short_clock(line.start, False)} to {short_clock(line.end, False)}"
    return _xml(f"{line.speaker} {when}: {text}")


def _polarity(message: Mapping[str, Any]) -> float | None:
    sentiment = message.get("sentiment")
    polarity = sentiment.get("polarity") if isinstance(sentiment, Mapping) else None
    score = _number(polarity.get("score")) if isinstance(polarity, Mapping) else None
    return None if score is None else max(-1.0, min(1.0, score))


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _sentiment_colour(score: float | None) -> str:
    """Grey at 0 (and without a score), to red at -1 and to green at +1."""
    grey, red, green = (158, 158, 158), (214, 39, 40), (44, 160, 44)
    target, weight = (green, score) if (score or 0) >= 0 else (red, -(score or 0))
    mixed = (round(g + (t - g) * (weight or 0)) for g, t in zip(grey, target))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def _lane_colour(lane: int) -> str:
    return _SPEAKER_COLOURS[lane % len(_SPEAKER_COLOURS)]


def _xml(text: str) -> str:
    return html.escape(_NOT_XML.sub("", text), quote=True)
