"""The two spellings of every name: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

import re

_SNAKE_PART = re.compile(r"_([a-z0-9])")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def camel_case(name: str) -> str:
    """``message_ids`` -> ``messageIds`` (the API's spelling of a snake_case name)."""
    return _SNAKE_PART.sub(lambda match: match.group(1).upper(), name)


def snake_case(name: str) -> str:
    """``messageIds`` -> ``message_ids``."""
    return _CAMEL_HUMP.sub(r"_\1", name).lower()
