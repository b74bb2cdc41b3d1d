"""Small checks the message validators share; each failure is a :class:`ProtocolError`."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from .errors import ProtocolError


def field(prefix: str, name: str | int) -> str:
    """The path of a member: ``field("actions", 0)`` is ``actions[0]``, ``field("a", "b")``
    is ``a.b``."""
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


#: How much of a value an error message shows.
SHOWN_LENGTH = 80
#: How deeply JSON values may nest (deeper is refused rather than left to the encoder's stack).
MAX_JSON_DEPTH = 64
#: The largest integer (either way) a JSON number may be: what 64-bit parsers read.
MAX_JSON_INTEGER = 1 << 64


def shown(value: Any) -> str:
    """``repr(value)`` for an error message: cut to :data:`SHOWN_LENGTH` characters, and never
    failing (an int too long to print, or an object whose repr raises, is named by its type)."""
    try:
        text = repr(value)
    except Exception:  # ValueError past sys.get_int_max_str_digits(); any broken __repr__
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def key_names(keys: Iterable[Any]) -> list[str]:
    """Keys of a mapping as sorted names for a message: strings as they are, other keys by
    their (short) repr."""
    return sorted(key if isinstance(key, str) else shown(key) for key in keys)


def is_number(value: Any) -> bool:
    """A number JSON carries: a finite float, or an int within :data:`MAX_JSON_INTEGER` either
    way (JSON has no NaN or infinity, and parsers read larger integers inexactly or not at all;
    a bool is not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return -MAX_JSON_INTEGER <= value <= MAX_JSON_INTEGER
    return math.isfinite(value)


def require_object(value: Any, path: str, example: str) -> Mapping[str, Any]:
    """``value`` as a mapping, or a ProtocolError showing ``example``."""
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{path} must be an object like {example}, not {shown(value)}", path)
    return value


def no_unknown(
    value: Mapping[str, Any], known: Collection[str], path: str, root: str = "the message"
) -> None:
    """Refuse members of ``value`` outside ``known``, naming the first one; ``root`` is what
    to call ``value`` in the message when it is the message itself (``path`` is "")."""
    unknown = key_names(key for key in value if key not in known)
    if unknown:
        raise ProtocolError(
            f"{path or root} has unknown keys {unknown}; it takes " + ", ".join(sorted(known)),
            field(path, unknown[0]),
        )


def non_empty_string(path: str, value: Any) -> str:
    """A string with something in it besides white space."""
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError(f"{path} must be a non-empty string, not {shown(value)}", path)
    return value


def check_json(value: Any, path: str, depth: int = 0) -> None:
    """Refuse what JSON cannot carry, naming where it is: NaN and infinity (JSON has neither),
    keys that are not strings, values other than objects, arrays, strings, finite numbers,
    booleans and null, and nesting deeper than :data:`MAX_JSON_DEPTH`.

    Raises:
        ProtocolError: naming the member at fault (``data.session.users[0].x``).
    """
    where = path or "the message"
    if depth > MAX_JSON_DEPTH:
        raise ProtocolError(f"{where} nests deeper than {MAX_JSON_DEPTH} levels", path)
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, (int, float)):
        if not is_number(value):
            raise ProtocolError(
                f"{where} must be a finite number (an integer at most 2**64 either way), not "
                + shown(value),
                path,
            )
        return
    if isinstance(value, Mapping):
        for key, member in value.items():
            if not isinstance(key, str):
                raise ProtocolError(f"{where} has a key that is not a string: {shown(key)}", path)
            check_json(member, field(path, key), depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_json(item, field(path, index), depth + 1)
        return
    raise ProtocolError(
        f"{where} is not JSON: {shown(value)} ({type(value).__name__}); JSON carries objects, "
        "arrays, strings, finite numbers, true, false and null",
        path,
    )
