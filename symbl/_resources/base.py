"""What every resource (``symbl.Audio``, ``symbl.Conversations``, ...) shares: finding the
client to use, checking ids before they go into a URL, and turning the protocol core's
:class:`ProtocolError` into the :class:`~symbl.InvalidArgumentError` users catch."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Optional

from symbl._protocol.errors import ProtocolError
from symbl._transport.http import HttpClient, client_for
from symbl.errors import InvalidArgumentError

#: The documented default of every ``parameters={}`` argument, as a read-only mapping.
EMPTY: Mapping[str, Any] = MappingProxyType({})
#: What every ``credentials=`` argument takes: ``{'app_id': ..., 'app_secret': ...}``.
CredentialsArgument = Optional[Mapping[str, Any]]
_UNSAFE_ID = re.compile(r"[\s/?#%]")


class Resource:
    """One area of the API bound to a client, or (when ``client`` is None) to the shared one
    for the credentials each call finds."""

    def __init__(self, client: HttpClient | None = None) -> None:
        self._bound = client

    def __repr__(self) -> str:
        target = repr(self._bound) if self._bound is not None else "the default client"
        return f"<symbl.{type(self).__name__} using {target}>"

    def _client_for(self, credentials: Mapping[str, Any] | None = None) -> HttpClient:
        if credentials is None:
            return self._bound if self._bound is not None else client_for()
        if self._bound is None:
            return client_for(credentials)
        return self._bound.with_credentials(credentials)


def path_id(value: Any, name: str) -> str:
    """Check an id that goes into a URL path and return it as text (the protocol core makes
    it URL-safe where it goes into a path).

    Conversation ids are decimal strings, but the documentation's own sample passes an int, so
    ints are accepted too.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidArgumentError(f"{name} must be a string (or int), not {type(value).__name__}")
    text = str(value).strip()
    if not text or _UNSAFE_ID.search(text):
        raise InvalidArgumentError(f"{name} {value!r} is not a valid id")
    return text


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


def timezone_offset(name: str) -> int:
    """Minutes east of UTC now in the IANA zone ``name`` (e.g. -480 for US/Pacific in winter),
    the sign convention of the service's ``timezoneOffset`` (PROTOCOL.md §5.1)."""
    import zoneinfo
    from datetime import datetime

    try:
        offset = datetime.now(zoneinfo.ZoneInfo(name)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidArgumentError(
            f"timezone {name!r} is not an IANA time zone such as 'Europe/Paris'"
        ) from None
    return int(offset.total_seconds() // 60) if offset is not None else 0


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a dict (or another mapping); else an error naming ``where``."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{where} must be a dict, not {type(value).__name__}")
    return value
