"""Checks of plain Python arguments that every layer shares (the wire's own checks are in
:mod:`symbl._protocol`)."""

from __future__ import annotations

from typing import Any

from ._protocol.checks import shown
from .errors import InvalidArgumentError


def checked_flag(name: str, value: Any) -> bool:
    """``value`` if it is True or False; anything else (``"yes"``, 1, None) is refused."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {shown(value)}")
    return value
