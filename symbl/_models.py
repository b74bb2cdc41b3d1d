"""Response objects: JSON objects you can read as attributes or as dict items.

Every JSON object the service returns becomes a :class:`SymblObject`, recursively. It *is* a
``dict`` (so ``resp['messages']``, ``json.dumps(resp)`` and ``==`` with plain dicts all work) and
it also answers attribute access in camelCase and snake_case (``msg.startTime``,
``msg.start_time``). ``to_dict()`` returns plain dicts and lists.

Example:
    >>> resp = SymblObject.from_json('{"messages": [{"startTime": "2021-01-01T00:00:00Z"}]}')
    >>> resp.messages[0].start_time == resp['messages'][0]['startTime']
    True
"""

from __future__ import annotations

import json
import keyword
import pprint
import re
from typing import Any

_MAX_REPR_STRING = 60
_MAX_REPR_ITEMS = 4
_MAX_REPR_DEPTH = 3
_SNAKE_PART = re.compile(r"_([a-z0-9])")


def _camel_case(name: str) -> str:
    return _SNAKE_PART.sub(lambda match: match.group(1).upper(), name)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


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
        """Parse JSON text, turning every object in it into a SymblObject."""
        return json.loads(text, object_pairs_hook=cls)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = self._key_for(name)
        if key is None:
            known = ", ".join(sorted(_snake_case(k) for k in self if isinstance(k, str)))
            raise AttributeError(
                f"this {type(self).__name__} has no field {name!r} (fields: {known or 'none'})"
            )
        return self[key]

    def _key_for(self, name: str) -> str | None:
        for candidate in (name, _camel_case(name), name.strip("_")):
            if candidate in self:
                return candidate
        return None

    def __dir__(self) -> list[str]:
        fields = [_snake_case(k) for k in self if isinstance(k, str) and k.isidentifier()]
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


def to_symbl(value: Any) -> Any:
    """Convert plain JSON data (dicts, lists, scalars) into SymblObjects, recursively."""
    if isinstance(value, dict):
        return SymblObject((key, to_symbl(item)) for key, item in value.items())
    if isinstance(value, list):
        return [to_symbl(item) for item in value]
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
