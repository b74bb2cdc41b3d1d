"""What every resource (``symbl.Audio``, ``symbl.Conversations``, ...) shares: finding the
client to use, checking ids before they go into a URL, and turning the protocol core's
:class:`ProtocolError` into the :class:`~symbl.InvalidArgumentError` users catch."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Optional

from symbl._protocol.checks import shown
from symbl._protocol.errors import ProtocolError
from symbl._protocol.request import MAX_ID_LENGTH, check_id
from symbl._transport.http import HttpClient, client_for
from symbl.errors import InvalidArgumentError, SymblError

#: The documented default of every ``parameters={}`` argument, as a read-only mapping.
EMPTY: Mapping[str, Any] = MappingProxyType({})
#: What every ``credentials=`` argument takes: ``{'app_id': ..., 'app_secret': ...}``.
CredentialsArgument = Optional[Mapping[str, Any]]
# Ints with more digits than an id may have are refused before they are written out.
_LONGEST_INT_ID = 10**MAX_ID_LENGTH


class Resource:
    """One area of the API bound to a client, or (when ``client`` is None) to the shared one
    for the credentials each call finds."""

    def __init__(self, client: HttpClient | None = None) -> None:
        self._bound = client

    def __repr__(self) -> str:
        target = repr(self._bound) if self._bound is not None else "the default client"
        return f"<symbl.{type(self).__name__} using {target}>"

    @property
    def _documented_name(self) -> str:
        """The resource's name in the documentation and in messages: ``Audio`` for the
        asyncio client's ``AsyncAudio`` too, so both clients explain errors alike."""
        return type(self).__name__.removeprefix("Async")

    def _client_for(self, credentials: Mapping[str, Any] | None = None) -> HttpClient:
        if credentials is None:
            return self._bound if self._bound is not None else client_for()
        if self._bound is None:
            return client_for(credentials)
        return self._bound.with_credentials(credentials)


def path_id(value: Any, name: str) -> str:
    """Check an id that goes into a URL path and return it as text: the protocol core's rule
    (:func:`symbl._protocol.request.check_id`) after white space around it is dropped.

    Conversation ids are decimal strings, but the documentation's own sample passes an int, so
    ints from 0 up are accepted too.

    Raises:
        InvalidArgumentError: naming ``name``, what was given and what an id is.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _LONGEST_INT_ID:
        value = str(value)
    elif not isinstance(value, str):
        raise InvalidArgumentError(
            f"{name} must be a string (or an int from 0 up), not {shown(value)}"
        )
    with checked_arguments():
        return check_id(value.strip(), name)


@contextmanager
def checked_arguments(aliases: Mapping[str, str] | None = None) -> Iterator[None]:
    """Raise a :class:`ProtocolError` from the block as :class:`InvalidArgumentError`.

    Args:
        aliases: wire field paths and the argument names users gave them, e.g.
            ``{"endpoint.phoneNumber": "phone_number"}``: the message names the argument.
    """
    try:
        yield
    except ProtocolError as exc:
        raise InvalidArgumentError(_named(str(exc), exc.field, aliases or {})) from exc


def _named(message: str, field: str, aliases: Mapping[str, str]) -> str:
    for wire in sorted(aliases, key=len, reverse=True):
        if (field == wire or field.startswith((wire + ".", wire + "["))) and message.startswith(
            wire
        ):
            return aliases[wire] + message[len(wire) :]
    return message


def timezone_offset(name: Any) -> int:
    """Minutes east of UTC now in the IANA zone ``name`` (e.g. -480 for US/Pacific in winter),
    the sign convention of the service's ``timezoneOffset`` (PROTOCOL.md §5.1).

    Raises:
        InvalidArgumentError: ``name`` is not the name of an IANA time zone.
    """
    import zoneinfo
    from datetime import datetime

    if not isinstance(name, str):
        raise InvalidArgumentError(
            f"timezone must be an IANA time zone name such as 'Europe/Paris', not {shown(name)}"
        )
    try:
        offset = datetime.now(zoneinfo.ZoneInfo(name)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidArgumentError(
            f"timezone {shown(name)} is not an IANA time zone such as 'Europe/Paris'"
        ) from None
    return int(offset.total_seconds() // 60) if offset is not None else 0


def answered_id(value: Any, name: str) -> str:
    """An id the service answered with, checked by the rule for ids (it goes into paths).

    Raises:
        SymblError: not an id; the service's answer is at fault, not an argument.
    """
    try:
        return check_id(value, name)
    except ProtocolError:
        raise SymblError(
            f"the service answered with a {name} that is not an id: {shown(value)}"
        ) from None


def wait_seconds(name: str, value: Any) -> float | None:
    """A wait's ``timeout`` argument, checked: None (the method's default), or seconds from 0
    up. ``float('inf')`` means no limit: it becomes ``threading.TIMEOUT_MAX`` (some 292
    years), the longest wait the standard library takes, as does any longer number.

    Raises:
        InvalidArgumentError: not None nor a number, negative, or NaN.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"{name} must be a number of seconds from 0 up (float('inf') for no limit) or "
            f"None, not {shown(value)}"
        )
    return float(min(value, threading.TIMEOUT_MAX))


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a dict (or another mapping); else an error naming ``where``."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{where} must be a dict, not {type(value).__name__}")
    return value
