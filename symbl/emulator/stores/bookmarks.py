"""Bookmarks (PROTOCOL.md §11.4): marked parts of conversations and their summaries (no HTTP).

A bookmark belongs to a conversation: it is reached through the conversation store, so it is
gone with its conversation (another app's, or a deleted one, is a 404). A bookmark given as a
time span holds the messages that overlap the span *when it is read*: a bookmark made early in
a live stream fills up as the stream goes on. One given by message references holds those
messages; each must exist when the bookmark is made or replaced.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symbl._protocol import streaming
from symbl._protocol.bookmarks import MESSAGE_REFS, SPAN_FIELDS
from symbl._protocol.errors import ProtocolError
from symbl.emulator.engine.insights import IdFactory

from .conversations import ConversationStore, StoredConversation

JSON = dict[str, Any]
_FIRST_BOOKMARK_ID = 5_200_000_000_000_000
# How many of a bookmark's messages its summary quotes.
_SUMMARY_SENTENCES = 3


class BookmarkNotFoundError(Exception):
    """No such bookmark in this conversation."""


@dataclass
class _Bookmarks:
    """The bookmarks of one conversation, in creation order."""

    conversation: StoredConversation
    by_id: dict[str, JSON] = field(default_factory=dict)


class BookmarkStore:
    """Every conversation's bookmarks.

    Args:
        conversations: the store the conversations (and so their owners) come from.
    """

    def __init__(self, conversations: ConversationStore) -> None:
        self._conversations = conversations
        self._by_conversation: dict[str, _Bookmarks] = {}
        self._numbers = itertools.count(_FIRST_BOOKMARK_ID)

    def create(self, app_id: str, conversation_id: str, request: JSON) -> JSON:
        """Add a checked bookmark request; return the bookmark.

        Raises:
            ConversationNotFoundError: no such conversation for ``app_id``.
            ProtocolError: a message reference to no message of the conversation.
        """
        return self.create_many(app_id, conversation_id, [request])[0]

    def create_many(
        self, app_id: str, conversation_id: str, requests: Sequence[JSON]
    ) -> list[JSON]:
        """Add checked bookmark requests, all or none; return the bookmarks.

        Raises:
            ConversationNotFoundError: no such conversation for ``app_id``.
            ProtocolError: a message reference to no message of the conversation.
        """
        marks = self._of(app_id, conversation_id)
        for request in requests:
            _check_references(marks.conversation, request)
        made = []
        for request in requests:
            bookmark_id = str(next(self._numbers))
            marks.by_id[bookmark_id] = {"id": bookmark_id, **request}
            made.append(marks.by_id[bookmark_id])
        return _Messages(marks.conversation).shown(made)

    def all(self, app_id: str, conversation_id: str) -> list[JSON]:
        """The conversation's bookmarks, oldest first.

        Raises:
            ConversationNotFoundError: no such conversation for ``app_id``.
        """
        marks = self._of(app_id, conversation_id)
        return _Messages(marks.conversation).shown(list(marks.by_id.values()))

    def get(self, app_id: str, conversation_id: str, bookmark_id: str) -> JSON:
        """One bookmark.

        Raises:
            ConversationNotFoundError, BookmarkNotFoundError: no such conversation or bookmark.
        """
        marks, stored = self._find(app_id, conversation_id, bookmark_id)
        return _Messages(marks.conversation).shown([stored])[0]

    def replace(self, app_id: str, conversation_id: str, bookmark_id: str, request: JSON) -> JSON:
        """Replace a bookmark by a checked request (what it leaves out is gone).

        Raises:
            ConversationNotFoundError, BookmarkNotFoundError: no such conversation or bookmark.
            ProtocolError: a message reference to no message of the conversation.
        """
        marks, _ = self._find(app_id, conversation_id, bookmark_id)
        _check_references(marks.conversation, request)
        marks.by_id[bookmark_id] = {"id": bookmark_id, **request}
        return _Messages(marks.conversation).shown([marks.by_id[bookmark_id]])[0]

    def delete(self, app_id: str, conversation_id: str, bookmark_id: str) -> JSON:
        """Delete a bookmark; return it as it was.

        Raises:
            ConversationNotFoundError, BookmarkNotFoundError: no such conversation or bookmark.
        """
        marks, stored = self._find(app_id, conversation_id, bookmark_id)
        shown = _Messages(marks.conversation).shown([stored])[0]
        del marks.by_id[bookmark_id]
        return shown

    def summary(self, app_id: str, conversation_id: str, bookmark_id: str) -> list[JSON]:
        """The summary items of one bookmark.

        Raises:
            ConversationNotFoundError, BookmarkNotFoundError: no such conversation or bookmark.
        """
        marks, stored = self._find(app_id, conversation_id, bookmark_id)
        messages = _Messages(marks.conversation)
        return messages.summary(messages.shown([stored])[0])

    def summaries(self, app_id: str, conversation_id: str) -> list[JSON]:
        """``{"bookmarkId", "summary"}`` for every bookmark of the conversation.

        Raises:
            ConversationNotFoundError: no such conversation for ``app_id``.
        """
        marks = self._of(app_id, conversation_id)
        messages = _Messages(marks.conversation)
        return [
            {"bookmarkId": bookmark["id"], "summary": messages.summary(bookmark)}
            for bookmark in messages.shown(list(marks.by_id.values()))
        ]

    def answer(self, app_id: str, conversation_id: str, message: JSON) -> JSON:
        """The ``bookmark_response`` to a ``bookmark_request`` on a stream of the conversation
        (§11.4): the bookmark made, changed or deleted, with the operation.

        Raises:
            ProtocolError: a request that breaks §11.4, or refers to no message.
            BookmarkNotFoundError: an update or delete of no bookmark of the conversation.
        """
        request = streaming.check_bookmark_request(message)
        if request.bookmark_id is None:
            bookmark = self.create(app_id, conversation_id, request.bookmark)
        elif request.operation == "update":
            bookmark = self.replace(app_id, conversation_id, request.bookmark_id, request.bookmark)
        else:
            bookmark = self.delete(app_id, conversation_id, request.bookmark_id)
        return {"type": streaming.BOOKMARK_RESPONSE, "operation": request.operation, **bookmark}

    def _of(self, app_id: str, conversation_id: str) -> _Bookmarks:
        """The conversation's bookmarks; those of an earlier conversation with the same id (one
        deleted since) are dropped."""
        conversation = self._conversations.get(app_id, conversation_id)
        marks = self._by_conversation.get(conversation_id)
        if marks is None or marks.conversation is not conversation:
            marks = self._by_conversation[conversation_id] = _Bookmarks(conversation)
        return marks

    def _find(self, app_id: str, conversation_id: str, bookmark_id: str) -> tuple[_Bookmarks, JSON]:
        marks = self._of(app_id, conversation_id)
        stored = marks.by_id.get(bookmark_id)
        if stored is None:
            raise BookmarkNotFoundError(bookmark_id)
        return marks, stored


def _check_references(conversation: StoredConversation, request: JSON) -> None:
    refs = request.get(MESSAGE_REFS)
    if refs is None:
        return
    known = _Messages(conversation).by_id
    for index, ref in enumerate(refs):
        if ref["id"] not in known:
            raise ProtocolError(
                f"messageRefs[{index}].id {ref['id']!r} is not a message of conversation "
                f"{conversation.id}",
                f"messageRefs[{index}].id",
            )


class _Messages:
    """A conversation's messages, indexed once per request: by id, and by start time."""

    def __init__(self, conversation: StoredConversation) -> None:
        messages = conversation.analysis().messages
        self.by_id = {message["id"]: message for message in messages}
        self._in_time = sorted(messages, key=lambda message: message["timeOffset"])
        self._starts = [message["timeOffset"] for message in self._in_time]
        self._longest = max((message["duration"] for message in messages), default=0.0)

    def held(self, bookmark: JSON) -> list[JSON]:
        """The messages of a bookmark shown by :meth:`shown`."""
        return [self.by_id[ref["id"]] for ref in bookmark[MESSAGE_REFS] if ref["id"] in self.by_id]

    def overlapping(self, begin: float, end: float) -> list[JSON]:
        """The messages that overlap ``[begin, end)`` seconds (that hold the instant ``begin``
        when the span is empty), in time order."""
        # Only messages starting after ``begin - longest`` can reach into the span.
        low = bisect.bisect_left(self._starts, begin - self._longest)
        if end > begin:
            high = bisect.bisect_left(self._starts, end)
        else:
            high = bisect.bisect_right(self._starts, begin)
        return [
            message
            for message in self._in_time[low:high]
            if message["timeOffset"] + message["duration"] > begin
        ]

    def shown(self, bookmarks: list[JSON]) -> list[JSON]:
        """The bookmarks as the API shows them, both content forms filled in."""
        shown = []
        for bookmark in bookmarks:
            item = dict(bookmark)
            if MESSAGE_REFS in bookmark:
                held = self.held(bookmark)
                begin = min((message["timeOffset"] for message in held), default=0.0)
                end = max((m["timeOffset"] + m["duration"] for m in held), default=begin)
                item["beginTimeOffset"], item["duration"] = begin, round(end - begin, 2)
            else:
                begin, length = (float(bookmark[name]) for name in SPAN_FIELDS)
                overlapping = self.overlapping(begin, begin + length)
                item[MESSAGE_REFS] = [{"id": message["id"]} for message in overlapping]
            shown.append(item)
        return shown

    def summary(self, bookmark: JSON) -> list[JSON]:
        """The §11.4 summary of a shown bookmark: one item quoting its first messages (none
        while it holds no message)."""
        held = self.held(bookmark)
        if not held:
            return []
        return [
            {
                "id": IdFactory(f"{bookmark['id']}:summary").numeric(),
                "text": " ".join(message["text"] for message in held[:_SUMMARY_SENTENCES]),
                "messageRefs": [{"id": message["id"]} for message in held],
                "bookmarkReference": {"id": bookmark["id"]},
                "startTime": held[0]["startTime"],
                "endTime": held[-1]["endTime"],
            }
        ]
