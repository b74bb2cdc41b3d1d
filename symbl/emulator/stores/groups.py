"""Conversation groups (PROTOCOL.md §11.6): named criteria over conversations' metadata, per
app (no HTTP). Groups belong to the app that made them; other apps see none of them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from symbl._protocol.listing import Comparison, parse_filter

_FIRST_GROUP_ID = 4_000_000_000_000_000


class GroupNotFoundError(Exception):
    """No such group for this app (or it was deleted)."""


@dataclass
class StoredGroup:
    """A group: its name, description and criteria (parsed once, when set)."""

    id: str
    app_id: str
    name: str
    criteria: str
    description: str | None = None
    #: The criteria as comparisons that all must hold.
    comparisons: tuple[Comparison, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The group as the service shows it."""
        group = {"id": self.id, "name": self.name, "criteria": self.criteria}
        if self.description is not None:
            group["description"] = self.description
        return group


class GroupStore:
    """Every group, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredGroup] = {}
        self._numbers = itertools.count(_FIRST_GROUP_ID)

    def create(self, app_id: str, group: Mapping[str, Any]) -> StoredGroup:
        """A new group from a checked body (``name``, ``criteria``, maybe ``description``)."""
        made = StoredGroup(str(next(self._numbers)), app_id, "", "")
        self._by_id[made.id] = made
        return self._set(made, group)

    def get(self, app_id: str, group_id: str) -> StoredGroup:
        """The group, if it exists and belongs to ``app_id``."""
        group = self._by_id.get(group_id)
        if group is None or group.app_id != app_id:
            raise GroupNotFoundError(group_id)
        return group

    def of_app(self, app_id: str) -> list[StoredGroup]:
        """The app's groups, oldest first."""
        return [group for group in self._by_id.values() if group.app_id == app_id]

    def replace(self, app_id: str, group_id: str, group: Mapping[str, Any]) -> StoredGroup:
        """Replace a group whole from a checked body (a description left out is removed)."""
        return self._set(self.get(app_id, group_id), group)

    def delete(self, app_id: str, group_id: str) -> None:
        """Forget the group."""
        del self._by_id[self.get(app_id, group_id).id]

    @staticmethod
    def _set(stored: StoredGroup, group: Mapping[str, Any]) -> StoredGroup:
        stored.name = group["name"]
        stored.criteria = group["criteria"]
        stored.comparisons = parse_filter(stored.criteria, "criteria", metadata_only=True)
        stored.description = group.get("description")
        return stored
