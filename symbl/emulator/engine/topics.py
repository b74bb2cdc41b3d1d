"""Running topic counts: which noun phrases rank as a conversation's topics, kept up to date
one message at a time (no JSON here; :func:`.insights.topics_for` shapes the result).

A phrase's weight is how often it occurs times how widely it is spread: ``count * (1 + (last
- first) / span)``, where ``first`` and ``last`` are the indexes of the messages that mention
it first and last and ``span`` is the index of the last message (at least 1). Every new message
changes ``span`` and so every weight, yet among phrases with the same count the order by weight
is the order by ``last - first`` whatever ``span`` is. So the phrases are kept in one sorted
bucket per count, and the best ones overall are found among the best few of the buckets with
the highest counts: a weight is at most twice its count, so the search stops at the first
bucket whose doubled count cannot reach the weights already found. Adding a message and
ranking cost the same however long the conversation has grown.

Example:
    >>> counts = TopicCounts(frozenset())
    >>> for text in ["The pricing plan is new.", "Is the contract ready?", "The pricing plan."]:
    ...     counts.add(str(len(counts.message_ids)), text)
    >>> counts.ranked()
    ['pricing plan', 'contract']
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from . import language

MAX_TOPICS = 10

#: A phrase's place in its bucket: the widest spread first, then the earliest, then by text.
_Place = tuple[int, int, str]


def excluded_words(member_names: Iterable[str]) -> frozenset[str]:
    """The words never taken for topics in a conversation among people with these names: each
    word of their names and every common first name, folded."""
    return _COMMON_NAMES.union(
        language.fold(part) for name in member_names for part in name.split()
    )


_COMMON_NAMES = frozenset(language.fold(name) for name in language.COMMON_FIRST_NAMES)


class TopicCounts:
    """Where each candidate topic (:func:`.language.noun_phrases`) occurs in the messages seen
    so far, and which phrases rank highest.

    Args:
        excluded: lower-case words that are never topics (see :func:`excluded_words`).
    """

    def __init__(self, excluded: frozenset[str]) -> None:
        self.excluded = excluded
        self.message_ids: list[str] = []
        self.texts: list[str] = []
        self._mentions: dict[str, list[int]] = {}
        self._buckets: dict[int, list[_Place]] = {}
        self._counts: list[int] = []  # the counts that have a bucket, ascending
        self._polarities: dict[int, float] = {}

    def add(self, message_id: str, text: str) -> None:
        """Count the candidate topics of the next message."""
        index = len(self.texts)
        self.message_ids.append(message_id)
        self.texts.append(text)
        for phrase in language.noun_phrases(text, self.excluded):
            at = self._mentions.setdefault(phrase, [])
            if at:
                self._leave(len(at), (at[0] - at[-1], at[0], phrase))
            at.append(index)
            self._enter(len(at), (at[0] - at[-1], at[0], phrase))

    def recounted(self, excluded: frozenset[str]) -> TopicCounts:
        """The same messages counted again without the words in ``excluded`` (a new member's
        name splits phrases that were counted whole)."""
        counts = TopicCounts(excluded)
        for message_id, text in zip(self.message_ids, self.texts):
            counts.add(message_id, text)
        return counts

    def ranked(self, limit: int = MAX_TOPICS) -> list[str]:
        """The ``limit`` phrases of the highest weight, best first (ties: the first mentioned,
        then alphabetical)."""
        span = max(1, len(self.texts) - 1)
        best: list[tuple[float, int, str]] = []
        for count in reversed(self._counts):
            if len(best) == limit and 2 * count < -best[-1][0]:
                break
            for _, first, phrase in self._buckets[count][:limit]:
                best.append((-self.weight(phrase, span), first, phrase))
            best = sorted(best)[:limit]
        return [phrase for _, _, phrase in best]

    def weight(self, phrase: str, span: int | None = None) -> float:
        """How often ``phrase`` occurs times how widely it is spread (see the module's notes);
        ``span`` is the index of the last message (at least 1) unless given."""
        at = self._mentions[phrase]
        if span is None:
            span = max(1, len(self.texts) - 1)
        return len(at) * (1 + (at[-1] - at[0]) / span)

    def mentions(self, phrase: str) -> list[int]:
        """The indexes of the messages that mention ``phrase``, once each, in order."""
        return list(dict.fromkeys(self._mentions[phrase]))

    def polarity(self, index: int) -> float:
        """The sentiment of message ``index`` (:func:`.language.polarity`); a message that
        several topics share is scored once."""
        score = self._polarities.get(index)
        if score is None:
            score = self._polarities[index] = language.polarity(self.texts[index])
        return score

    def _enter(self, count: int, place: _Place) -> None:
        bucket = self._buckets.get(count)
        if bucket is None:
            bucket = self._buckets[count] = []
            bisect.insort(self._counts, count)
        bisect.insort(bucket, place)

    def _leave(self, count: int, place: _Place) -> None:
        bucket = self._buckets[count]
        del bucket[bisect.bisect_left(bucket, place)]
        if not bucket:
            del self._buckets[count]
            del self._counts[bisect.bisect_left(self._counts, count)]
