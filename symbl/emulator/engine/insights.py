"""The emulator's insight engine: timed, speaker-attributed utterances in, Conversation API
JSON out (no HTTP here).

These are the per-sentence pieces: :mod:`.reports` assembles them into everything the
Conversation API returns about a finished conversation, and the live connections use them
sentence by sentence: :func:`time_sentences`,
:func:`message_json`, :func:`classify`, :func:`match_trackers`, :func:`tracker_results` and
:func:`topic_items` (over running :class:`.topics.TopicCounts`, so that a line costs the same
however long the session), plus the streaming shapes :func:`stream_message_json`,
:meth:`Insight.to_stream_json` and :func:`stream_topic_json`. The English rules themselves live
in :mod:`.language`. Same input, same output: ids come from an :class:`IdFactory` seeded with
the conversation id, and "now" is :attr:`Options.reference_time`. Nothing here keeps state
between calls but caches of pure functions, so a conversation can be analysed in any thread.

Example:
    >>> found = classify("Can you call me?", Speaker("m-1", "Ann"), [], Options())
    >>> [insight.type for insight in found]
    ['question', 'follow_up']
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import language
from .topics import TopicCounts, excluded_words

JSON = dict[str, Any]

_DEFAULT_REFERENCE = datetime(2021, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Speaker:
    """A participant. ``id`` is the member id, stable within a conversation."""

    id: str
    name: str
    user_id: str = ""
    email: str = ""

    @functools.cached_property
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
    # A word ends where the next one starts: each boundary is formatted once.
    bounds = [iso_time(reference_time, start + i * step) for i in range(len(words) + 1)]
    return [
        {
            "word": word,
            "startTime": bounds[i],
            "endTime": bounds[i + 1],
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
    micros = _epoch_micros(reference_time) + round(offset * 1000) * 1000
    seconds, micros = divmod(micros, 1_000_000)
    return f"{_second_text(seconds)}.{micros // 1000:03d}Z"


# Every word of every message has two times, and they fall in few seconds and fewer reference
# times: formatting each second once is most of the work saved.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@functools.lru_cache(maxsize=16)
def _epoch_micros(reference_time: datetime) -> int:
    return (_utc(reference_time) - _EPOCH) // timedelta(microseconds=1)


@functools.lru_cache(maxsize=4096)
def _second_text(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


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
    counts = TopicCounts(excluded_words(member.name for member in members))
    for message in messages:
        counts.add(message["id"], message["text"])
    return topic_items(counts, ids)


def topic_items(counts: TopicCounts, ids: IdFactory, known: Collection[str] = ()) -> list[JSON]:
    """The top ten topics of the messages ``counts`` has seen, as in :func:`topics_for`, but
    for those whose id is in ``known`` (a live conversation sends each topic once)."""
    ranked = counts.ranked()
    heads = Counter(phrase.split()[-1] for phrase in ranked)
    topics = []
    for phrase in ranked:
        topic_id = ids.stable("topic:" + phrase)
        if topic_id in known:
            continue
        indexes = counts.mentions(phrase)
        polarity = sum(counts.polarity(i) for i in indexes) / len(indexes)
        head = phrase.split()[-1]
        shared = head != phrase and (heads[head] > 1 or head in ranked)
        topics.append(
            {
                "id": topic_id,
                "text": phrase,
                "type": "topic",
                "score": round(counts.weight(phrase) / counts.weight(ranked[0]), 4),
                "messageIds": [counts.message_ids[i] for i in indexes],
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
    full_names = {m.first_name: m.name for m in members if m.first_name}
    full_names.update({m.name: m.name for m in members if m.name})
    names = (*full_names, *language.COMMON_FIRST_NAMES)
    grouped: dict[tuple[str, str, str], JSON] = {}
    for message in messages:
        for mention, custom_type in _entity_mentions(message["text"], full_names, names, options):
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
    text: str, full_names: dict[str, str], names: tuple[str, ...], options: Options
) -> list[tuple[language.Mention, str]]:
    """What :func:`entities_for` finds in one text; ``names`` are the people's names to look
    for, ``full_names`` the full name of each member's names."""
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
    people = language.find_names(text, names)
    people += [
        (titled, at)
        for titled, at in language.find_titled_names(text)
        if not any(at <= other < at + len(titled) for _, other in people)
    ]
    spans += [language.Mention("person", n, at, full_names.get(n, n)) for n, at in people]
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
    if not trackers:
        return []
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
    grouped: dict[tuple[str, str], list[TrackerHit]] = {}
    for hit in hits:
        grouped.setdefault((hit.tracker, hit.phrase), []).append(hit)
    results = []
    for tracker in trackers:
        matches = []
        for phrase in dict.fromkeys(tracker.get("vocabulary", [])):
            found = grouped.get((tracker["name"], phrase), [])
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
