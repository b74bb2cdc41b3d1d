"""Trackers of the Management API (PROTOCOL.md §11.5), per account (no HTTP).

Names are unique per account (case-sensitive), an account holds at most
:data:`~symbl._protocol.trackers.MAX_TRACKERS`, and it may have one create or update under way
at a time: :meth:`TrackerStore.writing` marks it busy while a handler reads and applies one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from symbl._protocol.trackers import MAX_TRACKERS, check_tracker

JSON = dict[str, Any]
_FIRST_TRACKER_ID = 4_400_000_000_000_000


class TrackerNotFoundError(Exception):
    """No such tracker in this account."""


class TrackerNameTakenError(Exception):
    """Another tracker of the account has this name."""


class TrackerLimitError(Exception):
    """The account would hold more trackers than allowed."""


class TrackerBusyError(Exception):
    """Another create or update of the account is under way."""


@dataclass
class _Account:
    by_id: dict[str, JSON] = field(default_factory=dict)
    id_by_name: dict[str, str] = field(default_factory=dict)
    writing: bool = False


class TrackerStore:
    """Every account's trackers, by id and by name."""

    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}
        self._numbers = itertools.count(_FIRST_TRACKER_ID)

    @contextmanager
    def writing(self, app_id: str) -> Iterator[None]:
        """Mark the account busy with a create or update for the block.

        Raises:
            TrackerBusyError: it already is.
        """
        account = self._account(app_id)
        if account.writing:
            raise TrackerBusyError(app_id)
        account.writing = True
        try:
            yield
        finally:
            account.writing = False

    def create(self, app_id: str, trackers: Sequence[JSON]) -> list[JSON]:
        """Add checked trackers, all or none; return them with their ids.

        Raises:
            TrackerNameTakenError: a name the account (or the batch) already has.
            TrackerLimitError: more than the account may hold.
        """
        account = self._account(app_id)
        names: set[str] = set()
        for tracker in trackers:
            if tracker["name"] in account.id_by_name or tracker["name"] in names:
                raise TrackerNameTakenError(tracker["name"])
            names.add(tracker["name"])
        if len(account.by_id) + len(trackers) > MAX_TRACKERS:
            raise TrackerLimitError(len(account.by_id))
        made = []
        for tracker in trackers:
            tracker_id = str(next(self._numbers))
            account.by_id[tracker_id] = {"id": tracker_id, **tracker}
            account.id_by_name[tracker["name"]] = tracker_id
            made.append(dict(account.by_id[tracker_id]))
        return made

    def all(self, app_id: str, name: str | None = None) -> list[JSON]:
        """The account's trackers, oldest first; only the one called ``name`` if given."""
        account = self._account(app_id)
        if name is None:
            return [dict(tracker) for tracker in account.by_id.values()]
        found = account.id_by_name.get(name)
        return [] if found is None else [dict(account.by_id[found])]

    def get(self, app_id: str, tracker_id: str) -> JSON:
        """One tracker.

        Raises:
            TrackerNotFoundError: no such tracker in the account.
        """
        return dict(self._find(app_id, tracker_id))

    def replace(self, app_id: str, tracker_id: str, tracker: JSON) -> JSON:
        """Replace a tracker by a checked one.

        Raises:
            TrackerNotFoundError: no such tracker in the account.
            TrackerNameTakenError: another tracker has the new name.
        """
        account = self._account(app_id)
        old = self._find(app_id, tracker_id)
        holder = account.id_by_name.get(tracker["name"], tracker_id)
        if holder != tracker_id:
            raise TrackerNameTakenError(tracker["name"])
        del account.id_by_name[old["name"]]
        account.by_id[tracker_id] = {"id": tracker_id, **tracker}
        account.id_by_name[tracker["name"]] = tracker_id
        return dict(account.by_id[tracker_id])

    def patch(self, app_id: str, tracker_id: str, operations: Sequence[JSON]) -> JSON:
        """Apply checked JSON Patch operations (the later revision): ``replace`` sets a field,
        ``remove`` drops it, ``add`` appends to a list field (sets any other).

        Raises:
            TrackerNotFoundError: no such tracker in the account.
            TrackerNameTakenError: another tracker has the new name.
            ProtocolError: the patched tracker breaks §11.5.
        """
        changed = {
            key: value for key, value in self._find(app_id, tracker_id).items() if key != "id"
        }
        for operation in operations:
            name = operation["path"].lstrip("/")
            if operation["op"] == "remove":
                changed.pop(name, None)
            elif operation["op"] == "add" and isinstance(changed.get(name), list):
                added = operation["value"]
                changed[name] = changed[name] + (added if isinstance(added, list) else [added])
            else:
                changed[name] = operation["value"]
        return self.replace(app_id, tracker_id, check_tracker(changed, "the patched tracker"))

    def delete(self, app_id: str, tracker_id: str) -> None:
        """Delete a tracker.

        Raises:
            TrackerNotFoundError: no such tracker in the account.
        """
        account = self._account(app_id)
        tracker = self._find(app_id, tracker_id)
        del account.by_id[tracker_id]
        del account.id_by_name[tracker["name"]]

    def _account(self, app_id: str) -> _Account:
        return self._accounts.setdefault(app_id, _Account())

    def _find(self, app_id: str, tracker_id: str) -> JSON:
        tracker = self._account(app_id).by_id.get(tracker_id)
        if tracker is None:
            raise TrackerNotFoundError(tracker_id)
        return tracker
