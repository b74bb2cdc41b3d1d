"""Whole-conversation reports of the emulator (no HTTP here): everything the Conversation API
returns about a finished conversation, built from the per-sentence pieces of :mod:`.insights`.

:func:`analyse` computes it all: messages, questions, action items, follow-ups, topics,
entities, trackers, members, analytics (talk time, silence, overlap, pace) and the summary.
:func:`formatted_transcript` renders the result as Markdown or SRT (PROTOCOL.md §4.12).

Example:
    >>> said = Utterance(Speaker("m-1", "Mike"), "I'll send the deck tomorrow.", 0.0, 2.0)
    >>> result = analyse([said], Options(), "c1")
    >>> result.action_items[0]["dueBy"]
    '2021-01-02T07:00:00.000Z'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from . import language
from .insights import (
    JSON,
    IdFactory,
    Options,
    Speaker,
    TrackerHit,
    Utterance,
    classify,
    entities_for,
    match_trackers,
    member_json,
    message_json,
    sentiment_json,
    speaker_json,
    time_sentences,
    topics_for,
    tracker_results,
    word_timings,
)

_Value = TypeVar("_Value")


class PerMessage(Mapping[str, _Value], Generic[_Value]):
    """Values derived from each message, by message id, computed whenever they are read and
    never stored: few readers ask for them, and then for all of them at once.

    Args:
        compute: makes a message's value from its arguments.
        arguments: the arguments of each message, by message id.
    """

    def __init__(
        self, compute: Callable[..., _Value], arguments: dict[str, tuple[Any, ...]]
    ) -> None:
        self._compute = compute
        self._arguments = arguments

    def __getitem__(self, message_id: str) -> _Value:
        return self._compute(*self._arguments[message_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._arguments)

    def __len__(self) -> int:
        return len(self._arguments)


@dataclass
class Analysis:
    """Everything the Conversation API returns about one conversation (PROTOCOL.md §4).

    Messages carry neither ``words`` nor ``sentiment``: those are in :attr:`words` and
    :attr:`sentiments` by message id, for ``verbose=true`` and ``sentiment=true``, computed
    when read. Topics always carry ``sentiment`` and ``parentRefs``; the HTTP layer strips them
    unless asked.
    """

    messages: list[JSON]
    questions: list[JSON]
    action_items: list[JSON]
    follow_ups: list[JSON]
    topics: list[JSON]
    entities: list[JSON]
    trackers: list[JSON]
    members: list[JSON]
    analytics: JSON
    summary: list[JSON]
    words: Mapping[str, list[JSON]]
    sentiments: Mapping[str, JSON]


def analyse(
    utterances: Sequence[Utterance],
    options: Options,
    conversation_id: str,
    ids: IdFactory | None = None,
    *,
    duration: float | None = None,
    speech_segments: Sequence[tuple[float, float]] | None = None,
) -> Analysis:
    """Compute every insight of a conversation.

    Args:
        utterances: what was said; sorted by start time here.
        options: what to look for.
        conversation_id: goes into each message; also seeds the ids when ``ids`` is None.
        ids: where ids come from.
        duration: media length in seconds (audio); defaults to the last utterance's end.
        speech_segments: for audio, the intervals where the signal says someone speaks; then
            silence is ``duration`` minus their union rather than the gaps between utterances.
    """
    ids = ids or IdFactory(conversation_id)
    ordered = sorted(utterances, key=lambda utterance: utterance.start)
    speakers = list({u.speaker.id: u.speaker for u in ordered}.values())
    messages: list[JSON] = []
    found: dict[str, list[JSON]] = {"question": [], "action_item": [], "follow_up": []}
    insight_refs: dict[str, list[JSON]] = {}
    hits: list[TrackerHit] = []
    timed: dict[str, tuple[Any, ...]] = {}
    for utterance in ordered:
        for text, start, end in time_sentences(utterance):
            message_id = ids.numeric()
            messages.append(
                message_json(
                    text,
                    utterance.speaker,
                    start,
                    end,
                    message_id,
                    conversation_id,
                    options,
                    speakers,
                )
            )
            timed[message_id] = (text, start, end, options.reference_time)
            for insight in classify(text, utterance.speaker, speakers, options):
                item = insight.to_json(ids.numeric(), [message_id])
                found[insight.type].append(item)
                insight_refs.setdefault(message_id, []).append(item)
            hits.extend(match_trackers(text, message_id, options.trackers))
    topics = topics_for(messages, ids, speakers)
    return Analysis(
        messages=messages,
        questions=found["question"],
        action_items=found["action_item"],
        follow_ups=found["follow_up"],
        topics=topics,
        entities=entities_for(messages, speakers, options),
        trackers=tracker_results(hits, options.trackers, insight_refs, ids),
        members=[member_json(speaker) for speaker in speakers],
        analytics=analytics_for(ordered, duration, speech_segments),
        summary=_summary(messages, topics, speakers, found, ids),
        words=PerMessage(word_timings, timed),
        sentiments=PerMessage(sentiment_json, {key: args[:1] for key, args in timed.items()}),
    )


# --- analytics -----------------------------------------------------------------------------

Intervals = list[tuple[float, float]]


def analytics_for(
    utterances: Sequence[Utterance],
    duration: float | None = None,
    speech_segments: Sequence[tuple[float, float]] | None = None,
) -> JSON:
    """The §4.10 analytics.

    ``total_silence`` and ``total_talk_time`` add up to the duration and their percentages are
    of it; ``total_overlap`` (time when two or more members speak at once) is a percentage of
    the talk time, as in the service's example. Per member, ``talkTime`` is the union of their
    utterances and ``listenTime`` the rest of everyone's talk time, both as percentages of
    everyone's talk time; ``pace`` is words per minute of talk.

    Args:
        utterances: what was said.
        duration: media length (audio); defaults to the last utterance's end.
        speech_segments: for audio, where the signal says someone speaks.
    """
    by_speaker: dict[str, Intervals] = {}
    speakers: dict[str, Speaker] = {}
    for u in utterances:
        speakers.setdefault(u.speaker.id, u.speaker)
        by_speaker.setdefault(u.speaker.id, []).append((u.start, u.end))
    own = {key: _union(spans) for key, spans in by_speaker.items()}
    heard = _length(_union([span for spans in own.values() for span in spans]))
    if duration is None:
        duration = max((u.end for u in utterances), default=0.0)
    talk = heard
    if speech_segments is not None:
        talk = _length(_union([(max(0.0, a), min(duration, b)) for a, b in speech_segments]))
    silence, speaking = _shares(talk, duration)
    overlap = _shares(_length(_overlaps(list(own.values()))), talk)[1]
    metrics = [
        {"type": "total_silence", **silence},
        {"type": "total_talk_time", **speaking},
        {"type": "total_overlap", **overlap},
    ]
    spoken: dict[str, int] = dict.fromkeys(speakers, 0)
    for u in utterances:
        spoken[u.speaker.id] += len(u.text.split())
    members = []
    for key, speaker in speakers.items():
        seconds = _length(own[key])
        listening, talking = _shares(seconds, heard)
        member = speaker_json(speaker)
        member["pace"] = {"wpm": round(spoken[key] * 60 / seconds) if seconds else 0}
        member["talkTime"] = {"percentage": talking["percent"], "seconds": talking["seconds"]}
        member["listenTime"] = {"percentage": listening["percent"], "seconds": listening["seconds"]}
        member["overlap"] = _member_overlap(key, own, speakers)
        members.append(member)
    return {"metrics": metrics, "members": members}


def _shares(part: float, whole: float) -> tuple[JSON, JSON]:
    """``{"percent", "seconds"}`` of the rest of ``whole`` and of ``part``, rounded to three
    decimals so that the two still add up to ``whole`` and to 100."""
    seconds = round(part, 3)
    percent = round(100 * part / whole, 3) if whole else 0.0
    rest = {
        "percent": round(100 - percent, 3) if whole else 0.0,
        "seconds": round(max(0.0, round(whole, 3) - seconds), 3),
    }
    return rest, {"percent": percent, "seconds": seconds}


def _member_overlap(key: str, own: dict[str, Intervals], speakers: dict[str, Speaker]) -> JSON:
    others = [k for k in own if k != key]
    total = _length(_intersection(own[key], _union([s for k in others for s in own[k]])))
    if not total:
        return {}
    with_each = []
    for other in others:
        seconds = _length(_intersection(own[key], own[other]))
        if seconds:
            entry = speaker_json(speakers[other])
            entry["percent"] = round(100 * seconds / _length(own[key]), 3)
            entry["seconds"] = round(seconds, 3)
            with_each.append(entry)
    return {"overlapDuration": round(total, 3), "overlappingMembers": with_each}


def _union(spans: Iterable[tuple[float, float]]) -> Intervals:
    merged: Intervals = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersection(a: Intervals, b: Intervals) -> Intervals:
    """Where two merged (sorted, disjoint) interval lists overlap, in order: one sweep over
    both."""
    common: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        (s, e), (t, f) = a[i], b[j]
        if max(s, t) < min(e, f):
            common.append((max(s, t), min(e, f)))
        if e < f:
            i += 1
        else:
            j += 1
    return common


def _overlaps(per_speaker: list[Intervals]) -> Intervals:
    """Where at least two of the (each already merged) interval lists cover the same time."""
    pairs = [
        span
        for i, first in enumerate(per_speaker)
        for second in per_speaker[i + 1 :]
        for span in _intersection(first, second)
    ]
    return _union(pairs)


def _length(spans: Intervals) -> float:
    return sum(end - start for start, end in spans)


# --- summary and formatted transcript -------------------------------------------------------


def _summary(
    messages: list[JSON],
    topics: list[JSON],
    speakers: list[Speaker],
    found: dict[str, list[JSON]],
    ids: IdFactory,
) -> list[JSON]:
    """Up to three §4.13 items: who discussed the main topics (or, without topics, the first
    message), the action items and follow-ups, and the first questions."""
    if not messages:
        return []
    if topics:
        names = [s.name for s in speakers if s.name] or ["The participants"]
        texts = [topic["text"] for topic in topics[:3]]
        refs = [i for topic in topics[:3] for i in topic["messageIds"]]
        items = [(f"{_and(names)} discussed {_and(texts)}.", refs)]
    else:
        items = [(messages[0]["text"], [messages[0]["id"]])]
    position = {message["id"]: index for index, message in enumerate(messages)}
    for chosen in (found["action_item"] + found["follow_up"], found["question"][:3]):
        if chosen:
            ordered = sorted(chosen, key=lambda item: position[item["messageIds"][0]])
            refs = [i for item in ordered for i in item["messageIds"]]
            items.append((" ".join(item["text"] for item in ordered), refs))
    return [
        {"id": ids.numeric(), "text": text, "messageRefs": [{"id": i} for i in dict.fromkeys(refs)]}
        for text, refs in items
    ]


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def formatted_transcript(
    analysis: Analysis,
    content_type: str,
    create_paragraphs: bool = False,
    show_speaker_separation: bool = False,
    highlight_insight_phrases: bool = False,
    highlight_all_phrases: bool = False,
) -> str:
    """The §4.12 formatted transcript payload.

    Markdown: one paragraph per speaker turn joined with ``<br/><br/>`` when
    ``create_paragraphs`` (else with a space); ``"Name: "`` before each turn when
    ``show_speaker_separation``; with ``highlight_insight_phrases`` the action phrase of each
    action item or follow-up, and each whole question, in ``<mark>…</mark>``;
    ``highlight_all_phrases`` also marks the action phrases of every other message. SRT: one
    numbered cue per message (``HH:MM:SS,mmm``), ``"Name: "`` prefixed when separating speakers.

    Raises:
        ValueError: ``content_type`` is neither ``text/markdown`` nor ``text/srt``.
    """
    labels = {m["id"]: m["name"] or f"Speaker {n}" for n, m in enumerate(analysis.members, start=1)}
    if content_type == "text/srt":
        cues = []
        for n, message in enumerate(analysis.messages, start=1):
            start = message["timeOffset"]
            prefix = f"{labels[message['from']['id']]}: " if show_speaker_separation else ""
            cues.append(
                f"{n}\n{_srt_time(start)} --> {_srt_time(start + message['duration'])}\n"
                f"{prefix}{message['text']}\n\n"
            )
        return "".join(cues)
    if content_type != "text/markdown":
        raise ValueError(f"content_type must be text/markdown or text/srt, not {content_type!r}")
    marks = _highlights(analysis, highlight_insight_phrases, highlight_all_phrases)
    turns: list[tuple[str, list[str]]] = []
    for message in analysis.messages:
        text = _mark(message["text"], marks.get(message["id"]))
        if turns and turns[-1][0] == message["from"]["id"]:
            turns[-1][1].append(text)
        else:
            turns.append((message["from"]["id"], [text]))
    paragraphs = [
        (f"{labels[speaker]}: " if show_speaker_separation else "") + " ".join(texts)
        for speaker, texts in turns
    ]
    return ("<br/><br/>" if create_paragraphs else " ").join(paragraphs)


def _highlights(analysis: Analysis, insights: bool, everything: bool) -> dict[str, str]:
    """What to mark in each message: a phrase, or "" for the whole sentence."""
    marks: dict[str, str] = {}
    if everything:
        names = [m["name"].split()[0] for m in analysis.members if m["name"].strip()]
        for message in analysis.messages:
            commitment = language.find_commitment(message["text"], names)
            if commitment:
                marks[message["id"]] = commitment.phrase
    if insights or everything:
        for item in analysis.questions:
            marks.setdefault(item["messageIds"][0], "")
        for item in analysis.action_items + analysis.follow_ups:
            marks[item["messageIds"][0]] = item["phrases"][0]["text"] if item["phrases"] else ""
    return marks


def _mark(text: str, phrase: str | None) -> str:
    if phrase is None:
        return text
    if phrase and phrase in text:
        return text.replace(phrase, f"<mark>{phrase}</mark>", 1)
    return f"<mark>{text}</mark>"


def _srt_time(seconds: float) -> str:
    minutes, millis = divmod(round(seconds * 1000), 60_000)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{millis // 1000:02d},{millis % 1000:03d}"
