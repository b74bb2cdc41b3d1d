"""Response objects: JSON objects you can read as attributes or as dict items.

Every JSON object the service returns becomes a :class:`SymblObject`, recursively. It *is* a
``dict`` (so ``resp['messages']``, ``json.dumps(resp)`` and ``==`` with plain dicts all work) and
it also answers attribute access in camelCase and snake_case (``msg.startTime``,
``msg.start_time``). ``to_dict()`` returns plain dicts and lists.

Every JSON array becomes a :class:`SymblList`, a ``list`` with a short repr. In Jupyter, lists
of records and responses made of them (``conversation.get_messages()``) show as HTML tables;
messages add a timeline of who spoke when and analytics a bar chart of talk time per speaker
(:mod:`symbl._models.charts`).

Example:
    >>> resp = SymblObject.from_json('{"messages": [{"startTime": "2021-01-01T00:00:00Z"}]}')
    >>> resp.messages[0].start_time == resp['messages'][0]['startTime']
    True
"""

from __future__ import annotations

import json
import keyword
import pprint
from typing import Any, SupportsIndex, overload

from symbl._protocol.names import camel_case, snake_case

from .charts import object_chart, records_chart
from .tables import is_records, object_html, records_table

_MAX_REPR_STRING = 60
_MAX_REPR_ITEMS = 4
_MAX_REPR_DEPTH = 3


class SymblObject(dict):  # type: ignore[type-arg]
    """A JSON object from the Symbl API with attribute access.

    Attribute lookup tries the exact key, then the camelCase form of a snake_case name, so
    ``obj.message_ids`` reads ``obj['messageIds']``. Keys that are Python keywords are reachable
    with a trailing or leading underscore: ``msg.from_`` (or ``msg._from``, as the old SDK spelt
    it) reads ``msg['from']``. Keys that collide with dict methods (``items``, ``keys``, ...) are
    read with item access.
    """

    __slots__ = ()

    @classmethod
    def from_json(cls, text: str | bytes) -> Any:
        """Parse JSON text: every object in it becomes a SymblObject, every array a SymblList."""

        def from_pairs(pairs: list[tuple[str, Any]]) -> SymblObject:
            # This runs for every object of every answer: keep it a plain loop over the pairs
            # (measured faster than building the dict first and scanning its values).
            for index, (key, value) in enumerate(pairs):
                if type(value) is list:
                    pairs[index] = (key, _symbl_list(value))
            return cls(pairs)

        value = json.loads(text, object_pairs_hook=from_pairs)
        return _symbl_list(value) if type(value) is list else value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = self._key_for(name)
        if key is None:
            known = ", ".join(sorted(snake_case(k) for k in self if isinstance(k, str)))
            raise AttributeError(
                f"this {type(self).__name__} has no field {name!r} (fields: {known or 'none'})"
            )
        return self[key]

    def _key_for(self, name: str) -> str | None:
        for candidate in (name, camel_case(name), name.strip("_")):
            if candidate in self:
                return candidate
        return None

    def __dir__(self) -> list[str]:
        fields = [snake_case(k) for k in self if isinstance(k, str) and k.isidentifier()]
        fields = [f"{name}_" if keyword.iskeyword(name) else name for name in fields]
        return sorted(set(super().__dir__()) | set(fields))

    def copy(self) -> SymblObject:
        """Return a shallow copy that is still a SymblObject."""
        return type(self)(self)

    def to_dict(self) -> dict[str, Any]:
        """Return the data as plain, JSON-ready dicts and lists (a deep copy)."""
        return _plain(self)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_short(self, 0)})"

    def __str__(self) -> str:
        return pprint.pformat(self.to_dict(), sort_dicts=False)

    def _repr_html_(self) -> str | None:
        """Jupyter: a response made of lists of records shows them as tables, after a chart
        for analytics (talk time) and messages (who spoke when)."""
        tables = object_html(self)
        return None if tables is None else _with_chart(object_chart(self), tables)


class SymblList(list):  # type: ignore[type-arg]
    """A JSON array from the Symbl API: a ``list`` with a short repr and, in Jupyter, a table.

    It compares equal to plain lists and serialises like one; slices stay SymblLists.
    ``to_list()`` returns plain lists and dicts.
    """

    __slots__ = ()

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> SymblList: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            return SymblList(super().__getitem__(index))
        return super().__getitem__(index)

    def copy(self) -> SymblList:
        """Return a shallow copy that is still a SymblList."""
        return SymblList(self)

    def to_list(self) -> list[Any]:
        """Return the data as plain, JSON-ready lists and dicts (a deep copy)."""
        return _plain(self)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        # Items are abbreviated as they are inside a SymblObject's repr (one level down).
        return f"{type(self).__name__}({_short(self, 1)})"

    def __str__(self) -> str:
        return pprint.pformat(self.to_list(), sort_dicts=False)

    def _repr_html_(self) -> str | None:
        """Jupyter: a list of records shows as a table, one row per record, after a chart for
        messages (who spoke when) and analytics members (talk time)."""
        if not self or not is_records(self):
            return None
        return _with_chart(records_chart(self), records_table(self))


def _with_chart(chart: str | None, tables: str) -> str:
    return tables if chart is None else f"<div>{chart}{tables}</div>"


def _symbl_list(items: list[Any]) -> SymblList:
    """``items`` as a SymblList, and so are any lists directly inside it (objects are done)."""
    made = SymblList(items)
    if list in map(type, items):
        for index, item in enumerate(items):
            if type(item) is list:
                made[index] = _symbl_list(item)
    return made


def to_symbl(value: Any) -> Any:
    """Convert plain JSON data into SymblObjects and SymblLists, recursively."""
    if isinstance(value, dict):
        return SymblObject((key, to_symbl(item)) for key, item in value.items())
    if isinstance(value, list):
        return SymblList(to_symbl(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _short(value: Any, depth: int) -> str:
    """A repr that stays short: long strings, long lists and deep nesting are abbreviated."""
    if isinstance(value, dict):
        if depth >= _MAX_REPR_DEPTH:
            return "{...}" if value else "{}"
        inner = ", ".join(f"{key!r}: {_short(item, depth + 1)}" for key, item in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        if depth >= _MAX_REPR_DEPTH:
            return "[...]" if value else "[]"
        items = [_short(item, depth + 1) for item in value[:_MAX_REPR_ITEMS]]
        if len(value) > _MAX_REPR_ITEMS:
            items.append(f"... +{len(value) - _MAX_REPR_ITEMS} more")
        return "[" + ", ".join(items) + "]"
    if isinstance(value, str) and len(value) > _MAX_REPR_STRING:
        return repr(value[: _MAX_REPR_STRING - 1] + "…")
    return repr(value)
