"""The trackers Management API (PROTOCOL.md §11.5): trackers kept by the account, which the
service detects in every conversation (with ``enableAllTrackers``).

``symbl.Trackers`` (and ``client.Trackers`` of :class:`symbl.Client`; awaited on
:class:`symbl.AsyncClient`) creates, lists, reads, replaces and deletes them. Each method
checks its arguments against the service's rules before anything is sent (a name, a non-empty
vocabulary of distinct phrases with no punctuation but ``.``, ``'`` and ``-``, at most 500
trackers, 1 MB per request) and returns what the service answers without its envelope, as
``symbl.Groups`` does: the tracker itself (of ``{"tracker": {...}}``), a list of trackers (of
``{"trackers": [...]}``), and for ``delete`` the answer ``{"id", "type", "deleted"}``, all as
:class:`~symbl._models.objects.SymblObject`.

Example:
    >>> made = symbl.Trackers.create("Promotion Mention", ["special promotion", "discount"])
    >>> symbl.Trackers.list(name="Promotion Mention")[0].id == made.id
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symbl._protocol import trackers as wire

from .answers import member_of
from .base import CredentialsArgument, Resource, checked_arguments, path_id
from .coroutines import with_coroutines


class Trackers(Resource):
    """The trackers of the account (``symbl.Trackers``).

    Every method takes ``credentials={'app_id': ..., 'app_secret': ...}`` to use another
    account than the one configured. The service lets an account run one create or update at a
    time; one refused for that (429) is retried after a short wait, as the client's retry
    settings say, then raised as :class:`~symbl.RateLimitError`.
    """

    def create(
        self,
        name: str,
        vocabulary: Sequence[str],
        credentials: CredentialsArgument = None,
        **extra: Any,
    ) -> Any:
        """Create a tracker.

        Args:
            name: its name, unique in the account (case-sensitive).
            vocabulary: the phrases it detects: distinct, and with no punctuation but ``.``,
                ``'`` and ``-``.
            credentials: another account's credentials.
            **extra: more fields, sent as given: ``description``, ``categories``,
                ``languages``, ``exclude_vocabulary`` (checked), or any other.

        Returns:
            The tracker: ``{'id': ..., 'name': ..., 'vocabulary': [...]}``.

        Raises:
            InvalidArgumentError: a rule is broken (nothing was sent).
            APIStatusError: 409 when the name is taken.
        """
        with checked_arguments():
            request = wire.creation(wire.tracker_fields(name, vocabulary, extra))
        return member_of(self._client_for(credentials), request, "tracker")

    def create_many(
        self, trackers: Sequence[Mapping[str, Any]], credentials: CredentialsArgument = None
    ) -> Any:
        """Create several trackers in one request, all or none.

        Args:
            trackers: ``[{'name': ..., 'vocabulary': [...]}, ...]``, with distinct names.
            credentials: another account's credentials.

        Returns:
            The trackers, with their ids, as a list.
        """
        with checked_arguments():
            request = wire.bulk_creation(trackers)
        return member_of(self._client_for(credentials), request, "trackers")

    def list(self, name: str | None = None, credentials: CredentialsArgument = None) -> Any:
        """The account's trackers, as a list.

        Args:
            name: only the tracker with exactly this name (none if there is none).
            credentials: another account's credentials.
        """
        with checked_arguments():
            request = wire.listing(name)
        return member_of(self._client_for(credentials), request, "trackers")

    def get(self, tracker_id: str, credentials: CredentialsArgument = None) -> Any:
        """One tracker.

        Raises:
            NotFoundError: no such tracker in the account.
        """
        request = wire.reading(path_id(tracker_id, "tracker_id"))
        return member_of(self._client_for(credentials), request, "tracker")

    def update(
        self,
        tracker_id: str,
        name: str,
        vocabulary: Sequence[str],
        credentials: CredentialsArgument = None,
        **extra: Any,
    ) -> Any:
        """Replace a tracker with the one given (a field left out is removed).

        Args:
            tracker_id: the tracker.
            name, vocabulary, **extra: as for :meth:`create`.
            credentials: another account's credentials.

        Returns:
            The tracker as it is now.
        """
        tracker = path_id(tracker_id, "tracker_id")
        with checked_arguments():
            request = wire.update(tracker, wire.tracker_fields(name, vocabulary, extra))
        return member_of(self._client_for(credentials), request, "tracker")

    def delete(self, tracker_id: str, credentials: CredentialsArgument = None) -> Any:
        """Delete a tracker: ``{'id': ..., 'type': 'tracker', 'deleted': True}``.

        Raises:
            NotFoundError: no such tracker in the account.
        """
        request = wire.deletion(path_id(tracker_id, "tracker_id"))
        return self._client_for(credentials).send(request)


@with_coroutines(Trackers, ("create", "create_many", "list", "get", "update", "delete"))
class AsyncTrackers(Trackers):
    """The trackers of the account for ``symbl.AsyncClient`` (its ``Trackers`` attribute):
    every method of ``symbl.Trackers``, awaited."""
