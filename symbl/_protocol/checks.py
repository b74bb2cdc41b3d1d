"""Small checks the message validators share; each failure is a :class:`ProtocolError`."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from .errors import ProtocolError


def field(prefix: str, name: str | int) -> str:
    """The path of a member: ``field("actions", 0)`` is ``actions[0]``, ``field("a", "b")``
    is ``a.b``."""
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


def is_number(value: Any) -> bool:
    """A finite int or float (JSON has no NaN or infinity; bool is not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require_object(value: Any, path: str, example: str) -> Mapping[str, Any]:
    """``value`` as a mapping, or a ProtocolError showing ``example``."""
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{path} must be an object like {example}, not {value!r}", path)
    return value


def no_unknown(
    value: Mapping[str, Any], known: Collection[str], path: str, root: str = "the message"
) -> None:
    """Refuse members of ``value`` outside ``known``, naming the first one; ``root`` is what
    to call ``value`` in the message when it is the message itself (``path`` is "")."""
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise ProtocolError(
            f"{path or root} has unknown keys {unknown}; it takes " + ", ".join(sorted(known)),
            field(path, unknown[0]),
        )


def non_empty_string(path: str, value: Any) -> str:
    """A string with something in it besides white space."""
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError(f"{path} must be a non-empty string, not {value!r}", path)
    return value
