"""Conversation groups (PROTOCOL.md §11.6): ``symbl.Groups``, and its asyncio twin.

A group selects conversations by their metadata (set with
``symbl.Conversations.update_conversation``): ``criteria`` is RSQL on
``conversation.metadata.<key>``. Each method returns what the service answers without its
envelope, as ``symbl.Trackers`` does: the group itself (of ``{"group": {...}}``), a list of
groups (of ``{"groups": [...]}``), and for ``delete`` the answer ``{"id", "type",
"deleted"}``, all as :class:`~symbl._models.objects.SymblObject`; ``conversations`` pages
through the group's conversations as ``symbl.Conversations.list`` does.

Example:
    >>> group = symbl.Groups.create("Calls made by John", "conversation.metadata.agentId==johndoe")
    >>> for conversation in symbl.Groups.conversations(group.id):
    ...     print(conversation.name)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from symbl._protocol import groups as wire

from .answers import async_listing, listed, member_of
from .base import CredentialsArgument, Resource, checked_arguments, path_id
from .coroutines import with_coroutines
from .listing import TimeArgument, paging


class Groups(Resource):
    """Conversation groups (``symbl.Groups``); every method takes ``credentials=`` to use
    another account than the configured one."""

    def create(
        self,
        name: str,
        criteria: str,
        description: str | None = None,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Create a group.

        Args:
            name: at most 128 letters, digits, spaces, ``-``, ``_`` and ``"``.
            criteria: RSQL on the conversations' metadata, e.g.
                ``"conversation.metadata.agentId==johndoe"``; comparisons joined by ``;`` or
                `` and `` (no OR), on at most 2 fields.
            description: at most 512 characters.
            credentials: another account's credentials.

        Returns:
            The group, with its ``id``.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
        """
        with checked_arguments():
            request = wire.creation(wire.group_body(name, criteria, description))
        return member_of(self._client_for(credentials), request, "group")

    def create_many(
        self, groups: Sequence[Mapping[str, Any]], credentials: CredentialsArgument = None
    ) -> Any:
        """Create several groups in one request.

        Args:
            groups: dicts of ``name``, ``criteria`` and maybe ``description`` (as
                :meth:`create` takes them); other members are sent as given.
            credentials: another account's credentials.

        Returns:
            The groups made, as a list.
        """
        with checked_arguments():
            request = wire.creations(groups)
        return member_of(self._client_for(credentials), request, "groups")

    def list(self, credentials: CredentialsArgument = None) -> Any:
        """Every group of the account, as a list."""
        return member_of(self._client_for(credentials), wire.listing(), "groups")

    def get(self, group_id: str, credentials: CredentialsArgument = None) -> Any:
        """One group; :class:`~symbl.errors.NotFoundError` when there is no such group."""
        return member_of(
            self._client_for(credentials), wire.reading(path_id(group_id, "group_id")), "group"
        )

    def update(
        self,
        group_id: str,
        name: str,
        criteria: str,
        description: str | None = None,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Replace a group: give it whole (a description left out is removed).

        Args:
            group_id: the group.
            name: its name (as :meth:`create` takes it).
            criteria: its criteria.
            description: its description.
            credentials: another account's credentials.

        Returns:
            The group as updated.
        """
        group = path_id(group_id, "group_id")
        with checked_arguments():
            request = wire.update(group, wire.group_body(name, criteria, description))
        return member_of(self._client_for(credentials), request, "group")

    def delete(self, group_id: str, credentials: CredentialsArgument = None) -> Any:
        """Delete a group (its conversations stay): ``{'id': ..., 'type': 'group',
        'deleted': True}``."""
        request = wire.deletion(path_id(group_id, "group_id"))
        return self._client_for(credentials).send(request)

    def conversations(
        self,
        group_id: str,
        limit: int = 20,
        offset: int = 0,
        filter: str | None = None,
        order: str | None = None,
        sort: str | None = None,
        start_time: TimeArgument = None,
        end_time: TimeArgument = None,
        credentials: CredentialsArgument = None,
        *,
        startTime: TimeArgument = None,  # noqa: N803 (the documented wire spelling)
        endTime: TimeArgument = None,  # noqa: N803
    ) -> Iterator[Any]:
        """The group's conversations, fetched a page at a time as you iterate; the other
        arguments are those of :meth:`symbl.Conversations.list`.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).
        """
        path = wire.group_conversations_path(path_id(group_id, "group_id"))
        times = (start_time, end_time, {"startTime": startTime, "endTime": endTime})
        plan = paging(path, limit, offset, filter, order, sort, *times)
        return listed(self._client_for(credentials), plan)


@with_coroutines(Groups, ("create", "create_many", "list", "get", "update", "delete"))
class AsyncGroups(Groups):
    """Conversation groups for ``symbl.AsyncClient`` (its ``Groups`` attribute): every method
    of ``symbl.Groups``, awaited, and ``conversations`` as an async iterator."""

    # The same method: its client pages asynchronously (only the type differs).
    conversations = async_listing(Groups.conversations)  # type: ignore[assignment]
