"""Bookmarks (PROTOCOL.md §11.4): parts of a conversation marked with a label, by time span or
by message, and their summaries.

:class:`BookmarkMethods` is part of :class:`~symbl._resources.conversations.Conversations`
(``symbl.Conversations.create_bookmark(conversation_id, ...)``), and so of the
:class:`~symbl.Conversation` object for its own id (``conversation.create_bookmark(...)``) and
of the asyncio client's twins. Each method checks its arguments, sends its request (built by
:mod:`symbl._protocol.bookmarks`) and returns the service's JSON as
:class:`~symbl._models.objects.SymblObject`.

Example:
    >>> user = {"name": "John", "userId": "john@example.com", "email": "john@example.com"}
    >>> bookmark = symbl.Conversations.create_bookmark(
    ...     conversation_id, "Pricing", "Customer asks about the price", user,
    ...     begin_time_offset=300, duration=30)
    >>> symbl.Conversations.get_bookmark_summary(conversation_id, bookmark.id)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symbl._models.objects import SymblList, SymblObject
from symbl._protocol import bookmarks as wire
from symbl._protocol import streaming
from symbl._protocol.frames import encode

from .answers import shaped
from .base import CredentialsArgument, Resource, checked_arguments, path_id

#: Wire fields and the argument names users gave them, for error messages.
ARGUMENTS = {
    "beginTimeOffset": "begin_time_offset",
    "messageRefs": "message_refs",
}

#: The bookmark methods, for the asyncio client (their names do not all start with get_).
BOOKMARK_METHODS = (
    "create_bookmark",
    "create_bookmarks",
    "get_bookmarks",
    "get_bookmark",
    "update_bookmark",
    "delete_bookmark",
    "get_bookmark_summary",
    "get_bookmarks_summary",
)


class BookmarkMethods(Resource):
    """The bookmark endpoints of the Conversation API, by conversation id.

    A bookmark holds either a time span (``begin_time_offset`` and ``duration``, seconds from
    the start of the conversation) or the messages it marks (``message_refs``: message ids, as
    ``get_messages`` gives them); give exactly one of the two.
    """

    def create_bookmark(
        self,
        conversation_id: str,
        label: str,
        description: str,
        user: Mapping[str, Any],
        begin_time_offset: float | None = None,
        duration: float | None = None,
        message_refs: Sequence[str | Mapping[str, Any]] | None = None,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Mark a part of the conversation.

        Args:
            conversation_id: the conversation.
            label: a short name, e.g. ``'Pricing'``.
            description: what happens there (not empty).
            user: who made it: ``{'name': ..., 'userId': ..., 'email': ...}``.
            begin_time_offset: where it starts, in seconds from the start (with ``duration``).
            duration: how long it lasts, in seconds.
            message_refs: instead of a time span, the ids of the messages it holds (strings,
                or ``{'id': ...}`` as the service writes them).
            credentials: another account's credentials.

        Returns:
            The bookmark, with its ``id``.

        Raises:
            InvalidArgumentError: a missing or empty field, both or neither content forms, a
                negative offset or duration (nothing was sent).
        """
        body = wire.bookmark_fields(
            label, description, user, begin_time_offset, duration, message_refs
        )
        conversation = path_id(conversation_id, "conversation_id")
        with checked_arguments(ARGUMENTS):
            request = wire.creation(conversation, body, "the bookmark")
        return self._client_for(credentials).send(request)

    def create_bookmarks(
        self,
        conversation_id: str,
        bookmarks: Sequence[Mapping[str, Any]],
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Mark several parts of the conversation in one request.

        Args:
            conversation_id: the conversation.
            bookmarks: bookmarks as the service writes them: ``[{'label': ..., 'description':
                ..., 'user': {...}, 'beginTimeOffset': 300, 'duration': 30}, ...]`` or with
                ``messageRefs`` (snake_case names work too).
            credentials: another account's credentials.

        Returns:
            ``{'bookmarks': [...]}``, the bookmarks with their ids.
        """
        conversation = path_id(conversation_id, "conversation_id")
        with checked_arguments():
            request = wire.bulk_creation(conversation, bookmarks, "bookmarks")
        return self._client_for(credentials).send(request)

    def get_bookmarks(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Every bookmark of the conversation: ``{'bookmarks': [...]}``."""
        conversation = path_id(conversation_id, "conversation_id")
        return self._client_for(credentials).send(wire.listing(conversation))

    def get_bookmark(
        self, conversation_id: str, bookmark_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """One bookmark, by id.

        Args:
            conversation_id: the conversation.
            bookmark_id: the bookmark.
            credentials: another account's credentials.
        """
        request = wire.reading(*self._ids(conversation_id, bookmark_id))
        return shaped(self._client_for(credentials).send(request), _one_bookmark)

    def update_bookmark(
        self,
        conversation_id: str,
        bookmark_id: str,
        label: str,
        description: str,
        user: Mapping[str, Any],
        begin_time_offset: float | None = None,
        duration: float | None = None,
        message_refs: Sequence[str | Mapping[str, Any]] | None = None,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Replace a bookmark: every field is sent, and what is left out is removed.

        Args:
            conversation_id: the conversation.
            bookmark_id: the bookmark.
            label, description, user, begin_time_offset, duration, message_refs: as for
                :meth:`create_bookmark`.
            credentials: another account's credentials.

        Returns:
            The bookmark as it is now.
        """
        body = wire.bookmark_fields(
            label, description, user, begin_time_offset, duration, message_refs
        )
        conversation, bookmark = self._ids(conversation_id, bookmark_id)
        with checked_arguments(ARGUMENTS):
            request = wire.update(conversation, bookmark, body, "the bookmark")
        return self._client_for(credentials).send(request)

    def delete_bookmark(
        self, conversation_id: str, bookmark_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """Delete a bookmark. The service answers with no body: None is returned.

        Args:
            conversation_id: the conversation.
            bookmark_id: the bookmark.
            credentials: another account's credentials.
        """
        request = wire.deletion(*self._ids(conversation_id, bookmark_id))
        return self._client_for(credentials).send(request)

    def get_bookmark_summary(
        self, conversation_id: str, bookmark_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """A summary of what was said in a bookmark: ``{'summary': [{'id': ..., 'text': ...,
        'messageRefs': [...], 'bookmarkReference': {'id': ...}}]}`` (always a list).

        Args:
            conversation_id: the conversation.
            bookmark_id: the bookmark.
            credentials: another account's credentials.
        """
        request = wire.summary(*self._ids(conversation_id, bookmark_id))
        return shaped(self._client_for(credentials).send(request), _summary_list)

    def get_bookmarks_summary(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """The summary of every bookmark: ``{'bookmarksSummary': [{'bookmarkId': ...,
        'summary': [...]}, ...]}``."""
        conversation = path_id(conversation_id, "conversation_id")
        return self._client_for(credentials).send(wire.summaries(conversation))

    def _ids(self, conversation_id: Any, bookmark_id: Any) -> tuple[str, str]:
        return path_id(conversation_id, "conversation_id"), path_id(bookmark_id, "bookmark_id")


def stream_frame(
    operation: str, bookmark_id: Any = None, bookmark: Mapping[str, Any] | None = None
) -> str:
    """The checked ``bookmark_request`` a streaming connection sends (§11.4), as text.

    Raises:
        InvalidArgumentError: a bad id or bookmark (nothing is sent).
    """
    checked_id = None if bookmark_id is None else path_id(bookmark_id, "bookmark_id")
    with checked_arguments(ARGUMENTS):
        return encode(streaming.bookmark_request(operation, checked_id, bookmark))


def _one_bookmark(answer: Any) -> Any:
    """The bookmark itself: the guide documents the flat bookmark, the Go client decodes
    ``{"bookmarks": [bookmark]}`` (§11.4 (a)); both are taken."""
    if isinstance(answer, Mapping) and "id" not in answer:
        found = answer.get("bookmarks")
        if isinstance(found, list) and len(found) == 1:
            return found[0]
    return answer


def _summary_list(answer: Any) -> Any:
    """The answer with ``summary`` as a list: the guide calls it an object, the Go client and
    the emulator send a list (§11.4 (b)); an object becomes a one-item list."""
    if isinstance(answer, Mapping) and isinstance(answer.get("summary"), Mapping):
        return SymblObject({**answer, "summary": SymblList([answer["summary"]])})
    return answer
