"""The emulator's insight engine: timed, speaker-attributed utterances in, Conversation API
JSON out (no HTTP here).

:func:`analyse` computes everything for a finished conversation. The live connections build the
same results sentence by sentence from the public pieces: :func:`time_sentences`,
:func:`message_json`, :func:`classify`, :func:`match_trackers`, :func:`tracker_results` and
:func:`topics_for`, plus the streaming shapes :func:`stream_message_json`,
:meth:`Insight.to_stream_json` and :func:`stream_topic_json`. The English rules themselves live
in :mod:`.language`. Same input, same output: ids come from an :class:`IdFactory` seeded with
the conversation id, and "now" is :attr:`Options.reference_time`.

Example:
    >>> said = Utterance(Speaker("m-1", "Mike"), "I'll send the deck tomorrow.", 0.0, 2.0)
    >>> result = analyse([said], Options(), "c1")
    >>> result.action_items[0]["dueBy"]
    '2021-01-02T07:00:00.000Z'
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import language

JSON = dict[str, Any]

_DEFAULT_REFERENCE = datetime(2021, 1, 1, tzinfo=timezone.utc)
_MAX_TOPICS = 10


@dataclass(frozen=True)
class Speaker:
    """A participant. ``id`` is the member id, stable within a conversation."""

    id: str
    name: str
    user_id: str = ""
    email: str = ""

    @property
    def first_name(self) -> str:
        """The first word of the name ("" when there is no name)."""
        return self.name.split()[0] if self.name.strip() else ""


@dataclass(frozen=True)
class Utterance:
    """What one speaker said, ``start`` to ``end`` seconds from the conversation's start."""

    speaker: Speaker
    text: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"utterance ends ({self.end}) before it starts ({self.start})")


@dataclass
class Options:
    """What the engine looks for.

    Attributes:
        confidence_threshold: questions, action items and follow-ups scoring below are dropped.
        detect_phrases: fill each message's ``phrases`` (otherwise ``[]``).
        custom_entities: ``[{"customType", "text", "value"?}]`` to find as ``custom`` entities.
        trackers: ``[{"name", "vocabulary": [str]}]``.
        reference_time: the absolute time of offset 0, and "today" for relative dates. A naive
            datetime is taken as UTC.
    """

    confidence_threshold: float = 0.5
    detect_phrases: bool = False
    custom_entities: list[dict[str, Any]] = field(default_factory=list)
    trackers: list[dict[str, Any]] = field(default_factory=list)
    reference_time: datetime = _DEFAULT_REFERENCE


class IdFactory:
    """Deterministic ids: the same seed gives the same sequence.

    Example:
        >>> IdFactory("c1").numeric() == IdFactory("c1").numeric()
        True
    """

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._count = 0

    def numeric(self) -> str:
        """The next id in the sequence, as 16 decimal digits (the REST API's id style)."""
        return _sixteen_digits(self._next())

    def uuid(self) -> str:
        """The next id in the sequence, as a UUID string (the streaming API's id style)."""
        return str(uuid.UUID(bytes=self._next()[:16], version=4))

    def stable(self, key: str) -> str:
        """A 16-digit id for ``key`` that does not depend on how many ids came before, so a
        topic or tracker keeps its id as a live conversation grows."""
        return _sixteen_digits(self._digest("key:" + key))

    def _next(self) -> bytes:
        self._count += 1
        return self._digest(f"#{self._count}")

    def _digest(self, key: str) -> bytes:
        return hashlib.sha256(f"{self._seed}\x00{key}".encode()).digest()


def _sixteen_digits(digest: bytes) -> str:
    return str(10**15 + int.from_bytes(digest[:8], "big") % (9 * 10**15))


@dataclass
class Analysis:
    """Everything the Conversation API returns about one conversation (PROTOCOL.md §4).

    Messages carry neither ``words`` nor ``sentiment``: those are in :attr:`words` and
    :attr:`sentiments` by message id, for ``verbose=true`` and ``sentiment=true``. Topics always
    carry ``sentiment`` and ``parentRefs``; the HTTP layer strips them unless asked.
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
    words: dict[str, list[JSON]]
    sentiments: dict[str, JSON]


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
    words: dict[str, list[JSON]] = {}
    sentiments: dict[str, JSON] = {}
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
            words[message_id] = word_timings(text, start, end, options.reference_time)
            sentiments[message_id] = sentiment_json(text)
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
        words=words,
        sentiments=sentiments,
    )


# --- messages ------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (see :func:`.language.split_sentences`)."""
    return language.split_sentences(text)


def time_sentences(utterance: Utterance) -> list[tuple[str, float, float]]:
    """The utterance's sentences as ``(text, start, end)``, timed in proportion to word counts."""
    sentences = split_sentences(utterance.text)
    counts = [max(1, len(sentence.split())) for sentence in sentences]
    total = sum(counts)
    span = utterance.end - utterance.start
    timed, done = [], 0
    for sentence, count in zip(sentences, counts):
        start = utterance.start + span * done / total
        done += count
        timed.append((sentence, start, utterance.start + span * done / total))
    return timed


def message_json(
    text: str,
    speaker: Speaker,
    start: float,
    end: float,
    message_id: str,
    conversation_id: str,
    options: Options,
    members: Sequence[Speaker] = (),
) -> JSON:
    """One §4.4 message (without ``words`` and ``sentiment``); ``members`` help find the
    action phrase of "Mike will ..." when ``options.detect_phrases`` is set."""
    phrases = []
    if options.detect_phrases:
        commitment = language.find_commitment(text, _first_names([speaker, *members]))
        if commitment:
            phrases.append({"type": "action_phrase", "text": commitment.phrase})
    return {
        "id": message_id,
        "text": text,
        "from": speaker_json(speaker),
        "startTime": iso_time(options.reference_time, start),
        "endTime": iso_time(options.reference_time, end),
        "timeOffset": round(start, 2),
        "duration": round(end - start, 2),
        "conversationId": conversation_id,
        "phrases": phrases,
    }


def word_timings(text: str, start: float, end: float, reference_time: datetime) -> list[JSON]:
    """The §4.4 ``words`` of a sentence: its whitespace-separated words, spread evenly."""
    words = text.split()
    step = (end - start) / len(words) if words else 0.0
    return [
        {
            "word": word,
            "startTime": iso_time(reference_time, start + i * step),
            "endTime": iso_time(reference_time, start + (i + 1) * step),
            "timeOffset": round(start + i * step, 2),
            "duration": round(step, 2),
        }
        for i, word in enumerate(words)
    ]


def sentiment_json(text: str) -> JSON:
    """``{"polarity": {"score": s}, "suggested": ...}`` for a text (lexicon based)."""
    return _sentiment(language.polarity(text))


def _sentiment(score: float) -> JSON:
    return {"polarity": {"score": score}, "suggested": language.suggested_sentiment(score)}


def iso_time(reference_time: datetime, offset: float) -> str:
    """``reference_time + offset`` seconds as ISO-8601 UTC with milliseconds and ``Z``."""
    moment = _utc(reference_time) + timedelta(milliseconds=round(offset * 1000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def speaker_json(speaker: Speaker) -> JSON:
    """A message's ``from``, an insight's ``from``/``assignee``: id and name, plus ``userId``
    and ``email`` when known."""
    person: JSON = {"id": speaker.id, "name": speaker.name}
    if speaker.user_id:
        person["userId"] = speaker.user_id
    if _email_of(speaker):
        person["email"] = _email_of(speaker)
    return person


def member_json(speaker: Speaker) -> JSON:
    """A §4.7 member: ``id``, ``name``, ``email`` ("" when unknown), and ``userId`` if known."""
    member: JSON = {"id": speaker.id, "name": speaker.name, "email": _email_of(speaker)}
    if speaker.user_id:
        member["userId"] = speaker.user_id
    return member


def _email_of(speaker: Speaker) -> str:
    if speaker.email:
        return speaker.email
    return speaker.user_id if language.EMAIL.fullmatch(speaker.user_id) else ""


def stream_message_json(message: JSON, words: Sequence[JSON]) -> JSON:
    """A §4.4 message in the streaming ``message_response`` item shape (§6.3 item 5)."""
    timings = [{key: w[key] for key in ("word", "startTime", "endTime")} for w in words]
    return {
        "id": message["id"],
        "from": message["from"],
        "payload": {"content": message["text"], "contentType": "text/plain"},
        "channel": {"id": "realtime-api"},
        "metadata": {
            "disablePunctuation": True,
            "timezoneOffset": 0,
            "originalContent": message["text"],
            "words": json.dumps(timings, separators=(",", ":")),
            "originalMessageId": message["id"],
        },
        "dismissed": False,
        "duration": {
            "startTime": message["startTime"],
            "endTime": message["endTime"],
            "timeOffset": message["timeOffset"],
            "duration": message["duration"],
        },
    }


# --- questions, action items, follow-ups ---------------------------------------------------


@dataclass(frozen=True)
class Insight:
    """A question, action item or follow-up found in one sentence, before it gets an id.

    Attributes:
        type: ``question``, ``action_item`` or ``follow_up``.
        text: the sentence.
        score: confidence in [0, 1].
        speaker: who said it.
        definitive: firm commitment (action items and follow-ups).
        assignee: who is to act, as :func:`speaker_json`, or ``{}``.
        due_by: ISO due time, or None.
        entities: §4.6 entity items (people, dates) with offsets in ``text``.
        phrases: ``[{"type": "action_phrase", "text": ...}]``.
    """

    type: str
    text: str
    score: float
    speaker: Speaker
    definitive: bool = False
    assignee: JSON = field(default_factory=dict)
    due_by: str | None = None
    entities: list[JSON] = field(default_factory=list)
    phrases: list[JSON] = field(default_factory=list)

    def to_json(self, insight_id: str, message_ids: list[str]) -> JSON:
        """The §4.6 item; ``dueBy`` only when a due date was found."""
        item: JSON = {
            "id": insight_id,
            "text": self.text,
            "type": self.type,
            "score": self.score,
            "messageIds": list(message_ids),
        }
        if self.type == "question":
            item["from"] = speaker_json(self.speaker)
            return item
        item.update(
            entities=self.entities,
            phrases=self.phrases,
            **{"from": speaker_json(self.speaker)},
            definitive=self.definitive,
            assignee=self.assignee,
        )
        if self.due_by:
            item["dueBy"] = self.due_by
        return item

    def to_stream_json(self, insight_id: str, message_id: str) -> JSON:
        """The streaming ``insight_response`` item (§6.3 item 6), with ``text`` as well."""
        item: JSON = {
            "id": insight_id,
            "type": self.type,
            "text": self.text,
            "confidence": self.score,
            "messageReference": {"id": message_id},
            "hints": [{"key": "confidenceScore", "value": str(self.score)}],
            "assignee": self.assignee,
            "tags": [_tag(entity) for entity in self.entities],
            "dismissed": False,
            "entities": None,
            "payload": {"content": self.text, "contentType": "text/plain"},
            "from": speaker_json(self.speaker),
        }
        if self.due_by:
            item["dueBy"] = {"value": self.due_by}
        return item


def _tag(entity: JSON) -> JSON:
    if entity["type"] == "person":
        value = entity["value"]
    else:
        value = {"datetime": entity.get("value") or entity.get("end")}
    return {
        "type": entity["type"],
        "text": entity["text"],
        "beginOffset": entity["offset"],
        "value": {"value": value},
    }


def classify(
    sentence: str, speaker: Speaker, members: Sequence[Speaker], options: Options
) -> list[Insight]:
    """The questions, action items and follow-ups in one sentence.

    A request ("Can you send me the report by Friday?") is both a question and an action item;
    an action is a follow-up instead of an action item when it is about e-mailing, calling,
    meeting, following up or getting back to someone. Insights scoring below
    ``options.confidence_threshold`` are left out.

    Args:
        sentence: one sentence (see :func:`split_sentences`).
        speaker: who said it.
        members: everyone in the conversation so far, to resolve names and "you".
        options: the threshold and the reference time for due dates.
    """
    found: list[Insight] = []
    question = language.question_score(sentence)
    if question:
        found.append(Insight("question", sentence, question, speaker))
    commitment = language.find_commitment(sentence, _first_names(members))
    if commitment:
        found.append(_action(sentence, commitment, speaker, members, options))
    return [insight for insight in found if insight.score >= options.confidence_threshold]


def _action(
    sentence: str,
    commitment: language.Commitment,
    speaker: Speaker,
    members: Sequence[Speaker],
    options: Options,
) -> Insight:
    named = _members_named(sentence, members)
    assignee = _assignee(commitment.subject, speaker, members, [m for m, _, _ in named])
    entities: list[JSON] = []
    for member, text, offset in named:
        value: JSON = {"name": member.name, "id": member.id}
        if member.user_id:
            value["userId"] = member.user_id
        if assignee is member:
            value["assignee"] = True
        entities.append({"type": "person", "text": text, "offset": offset, "value": value})
    dates = language.find_dates(sentence, _today(options))
    entities += [_date_entity(mention) for mention in dates]
    due = next((m for m in dates if m.is_deadline), dates[0] if dates else None)
    return Insight(
        "follow_up" if language.is_follow_up(commitment.phrase) else "action_item",
        sentence,
        min(0.99, round(commitment.score + (0.05 if due else 0.0), 3)),
        speaker,
        commitment.definitive,
        speaker_json(assignee) if assignee else {},
        f"{due.value}T07:00:00.000Z" if due else None,
        entities,
        [{"type": "action_phrase", "text": commitment.phrase}],
    )


def _date_entity(m: language.Mention) -> JSON:
    if m.is_deadline:
        return {"type": "daterange", "text": m.phrase, "offset": m.lead, "end": m.value}
    return {"type": "date", "text": m.text, "offset": m.offset, "value": m.value}


def _assignee(
    subject: str, speaker: Speaker, members: Sequence[Speaker], named: Sequence[Speaker]
) -> Speaker | None:
    """Who is to act: the speaker for "I"/"we", the member for a name; for "you" and
    imperatives the member addressed by name, or the other one of exactly two members."""
    if subject in ("i", "we"):
        return speaker
    if subject not in ("you", ""):
        return next((m for m in members if language.fold(m.first_name) == subject), None)
    addressed = [member for member in named if member.id != speaker.id]
    if addressed:
        return addressed[0]
    others = [member for member in members if member.id != speaker.id]
    return others[0] if len(members) == 2 and len(others) == 1 else None


def _members_named(sentence: str, members: Sequence[Speaker]) -> list[tuple[Speaker, str, int]]:
    by_name: dict[str, Speaker] = {}
    for member in members:
        for name in (member.name, member.first_name):
            by_name.setdefault(name, member)
    return [
        (by_name[name], name, offset) for name, offset in language.find_names(sentence, by_name)
    ]


def _first_names(members: Iterable[Speaker]) -> list[str]:
    return [member.first_name for member in members if member.first_name]


def _today(options: Options) -> date:
    return _utc(options.reference_time).date()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# --- topics --------------------------------------------------------------------------------


def topics_for(
    messages: Sequence[JSON], ids: IdFactory, members: Iterable[Speaker] = ()
) -> list[JSON]:
    """The top ten topics of some §4.4 messages, as §4.5 items.

    Candidates are the noun phrases of :func:`.language.noun_phrases` (names excluded). Each is
    ranked by how often it occurs times how widely it is spread (1 + the share of the
    conversation between its first and last mention); ``score`` is relative to the best.
    ``sentiment`` is that of the messages it occurs in. Topics sharing a head noun ("pricing
    plan", "enterprise plan") get ``parentRefs`` to it when it is shared or is a topic itself.
    Ids are :meth:`IdFactory.stable` ids of the topic text.
    """
    excluded = {language.fold(part) for m in members for part in m.name.split()}
    excluded |= {language.fold(name) for name in language.COMMON_FIRST_NAMES}
    mentions: dict[str, list[int]] = {}
    for index, message in enumerate(messages):
        for phrase in language.noun_phrases(message["text"], excluded):
            mentions.setdefault(phrase, []).append(index)
    span = max(1, len(messages) - 1)
    weight = {p: len(at) * (1 + (at[-1] - at[0]) / span) for p, at in mentions.items()}
    ranked = sorted(mentions, key=lambda p: (-weight[p], mentions[p][0], p))[:_MAX_TOPICS]
    heads = Counter(phrase.split()[-1] for phrase in ranked)
    topics = []
    for phrase in ranked:
        indexes = list(dict.fromkeys(mentions[phrase]))
        polarity = sum(language.polarity(messages[i]["text"]) for i in indexes) / len(indexes)
        head = phrase.split()[-1]
        shared = head != phrase and (heads[head] > 1 or head in ranked)
        topics.append(
            {
                "id": ids.stable("topic:" + phrase),
                "text": phrase,
                "type": "topic",
                "score": round(weight[phrase] / weight[ranked[0]], 4),
                "messageIds": [messages[i]["id"] for i in indexes],
                "sentiment": _sentiment(round(polarity, 3)),
                "parentRefs": [{"type": "topic", "text": head}] if shared else [],
            }
        )
    return topics


def stream_topic_json(topic: JSON) -> JSON:
    """A §4.5 topic in the streaming ``topic_response`` item shape (§6.3 item 7); its
    ``rootWords`` hold the head noun."""
    return {
        "id": topic["id"],
        "messageReferences": [{"id": i, "relation": "text instance"} for i in topic["messageIds"]],
        "phrases": topic["text"],
        "rootWords": [{"text": topic["text"].split()[-1]}],
        "score": topic["score"],
        "type": "topic",
    }


# --- entities ------------------------------------------------------------------------------


def entities_for(
    messages: Sequence[JSON], members: Sequence[Speaker], options: Options
) -> list[JSON]:
    """The §4.9 entities (flat shape) of some messages, grouped by type and value.

    Found: ``date`` (``YYYY-MM-DD``); ``money`` (``"69.99 USD"``: the amount without thousands
    separators, then the ISO 4217 code); ``number`` (as digits); ``email``; ``person``
    (members' names, common first names and titled names such as "Dr. Smith", all
    case-sensitive; a member's first name has the full name as value); and ``custom`` (each
    custom entity's text, ignoring case; value as given, else the text). A number inside a
    date or an amount is not a number of its own, nor is a lone "one".
    """
    grouped: dict[tuple[str, str, str], JSON] = {}
    for message in messages:
        for mention, custom_type in _entity_mentions(message["text"], members, options):
            key = (mention.type, custom_type, mention.value)
            entity = grouped.get(key)
            if entity is None:
                entity = {"type": mention.type, "value": mention.value, "text": mention.text}
                if custom_type:
                    entity["customType"] = custom_type
                entity["messageRefs"] = []
                grouped[key] = entity
            entity["messageRefs"].append(
                {"id": message["id"], "text": message["text"], "offset": mention.offset}
            )
    return list(grouped.values())


def _entity_mentions(
    text: str, members: Sequence[Speaker], options: Options
) -> list[tuple[language.Mention, str]]:
    spans = [
        *language.find_emails(text),
        *language.find_money(text),
        *language.find_dates(text, _today(options)),
    ]
    spans += [
        number
        for number in language.find_numbers(text)
        if number.text.lower() != "one"  # far more often a pronoun than a number
        and not any(_overlap(number, other) for other in spans)
    ]
    full_names = {m.first_name: m.name for m in members if m.first_name}
    full_names.update({m.name: m.name for m in members if m.name})
    names = language.find_names(text, [*full_names, *language.COMMON_FIRST_NAMES])
    names += [
        (titled, at)
        for titled, at in language.find_titled_names(text)
        if not any(at <= other < at + len(titled) for _, other in names)
    ]
    spans += [language.Mention("person", n, at, full_names.get(n, n)) for n, at in names]
    found = [(mention, "") for mention in sorted(spans, key=lambda m: m.offset)]
    lowered = language.fold(text)
    for custom in options.custom_entities:
        wanted = language.fold(str(custom.get("text", "")))
        at = lowered.find(wanted) if wanted else -1
        while at >= 0:
            written = text[at : at + len(wanted)]
            value = str(custom.get("value") or custom["text"])
            found.append(
                (language.Mention("custom", written, at, value), str(custom["customType"]))
            )
            at = lowered.find(wanted, at + len(wanted))
    return found


def _overlap(a: language.Mention, b: language.Mention) -> bool:
    return a.offset < b.offset + len(b.text) and b.offset < a.offset + len(a.text)


# --- trackers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerHit:
    """One tracker vocabulary phrase found in one message (``offset`` -1: fuzzy match)."""

    tracker: str
    phrase: str
    message_id: str
    text: str
    offset: int


def match_trackers(
    sentence: str, message_id: str, trackers: Sequence[dict[str, Any]]
) -> list[TrackerHit]:
    """Where each tracker's vocabulary occurs in one sentence.

    A phrase found as whole words, ignoring case, matches at its character offset; otherwise,
    if all its content words occur in the sentence in order (as lemmas), it matches fuzzily
    with offset -1.
    """
    hits = []
    lowered = language.fold(sentence)
    for tracker in trackers:
        for phrase in dict.fromkeys(tracker.get("vocabulary", [])):
            at = _whole_words_at(lowered, language.fold(phrase))
            if at < 0 and not language.fuzzy_contains(sentence, phrase):
                continue
            hits.append(TrackerHit(tracker["name"], phrase, message_id, sentence, at))
    return hits


def _whole_words_at(text: str, phrase: str) -> int:
    at = text.find(phrase) if phrase.strip() else -1
    while at >= 0:
        before = text[at - 1] if at else " "
        after = text[at + len(phrase)] if at + len(phrase) < len(text) else " "
        if not (before.isalnum() or after.isalnum()):
            return at
        at = text.find(phrase, at + 1)
    return -1


def tracker_results(
    hits: Sequence[TrackerHit],
    trackers: Sequence[dict[str, Any]],
    insight_refs: dict[str, list[JSON]],
    ids: IdFactory,
) -> list[JSON]:
    """Group tracker hits into the §4.11 list (also the §6.3 item 8 ``trackers``).

    Args:
        hits: from :func:`match_trackers`.
        trackers: the tracker definitions, for their order.
        insight_refs: §4.6 insight items by message id; a hit in such a message also lists
            them under ``insightRefs``.
        ids: tracker ids are :meth:`IdFactory.stable` ids of the name.
    """
    results = []
    for tracker in trackers:
        matches = []
        for phrase in dict.fromkeys(tracker.get("vocabulary", [])):
            found = [h for h in hits if h.tracker == tracker["name"] and h.phrase == phrase]
            if not found:
                continue
            matches.append(
                {
                    "type": "vocabulary",
                    "value": phrase,
                    "messageRefs": [
                        {"id": h.message_id, "text": h.text, "offset": h.offset} for h in found
                    ],
                    "insightRefs": [
                        {"id": i["id"], "text": i["text"], "offset": h.offset, "type": i["type"]}
                        for h in found
                        for i in insight_refs.get(h.message_id, [])
                    ],
                }
            )
        if matches:
            results.append(
                {
                    "id": ids.stable("tracker:" + tracker["name"]),
                    "name": tracker["name"],
                    "matches": matches,
                }
            )
    return results


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
    members = []
    for key, speaker in speakers.items():
        seconds = _length(own[key])
        listening, talking = _shares(seconds, heard)
        spoken = sum(len(u.text.split()) for u in utterances if u.speaker.id == key)
        member = speaker_json(speaker)
        member["pace"] = {"wpm": round(spoken * 60 / seconds) if seconds else 0}
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
    return [(max(s, t), min(e, f)) for s, e in a for t, f in b if max(s, t) < min(e, f)]


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
    for chosen in (found["action_item"] + found["follow_up"], found["question"][:3]):
        if chosen:
            ordered = sorted(chosen, key=lambda item: _position(messages, item["messageIds"][0]))
            refs = [i for item in ordered for i in item["messageIds"]]
            items.append((" ".join(item["text"] for item in ordered), refs))
    return [
        {"id": ids.numeric(), "text": text, "messageRefs": [{"id": i} for i in dict.fromkeys(refs)]}
        for text, refs in items
    ]


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _position(messages: list[JSON], message_id: str) -> int:
    return next(i for i, message in enumerate(messages) if message["id"] == message_id)


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
