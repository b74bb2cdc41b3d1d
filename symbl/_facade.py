"""What every documented facade (``symbl.Audio``, ``symbl.Conversations``, ...) shares: finding
the client to use, and checking ids before they go into a URL."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from ._client import Client, client_for
from .errors import InvalidArgumentError

#: The documented default of every ``parameters={}`` argument, as a read-only mapping.
EMPTY: Mapping[str, Any] = MappingProxyType({})
_UNSAFE_ID = re.compile(r"[\s/?#%]")


class Facade:
    """A facade bound to a client, or (when ``client`` is None) to the shared one for the
    credentials each call finds."""

    def __init__(self, client: Client | None = None) -> None:
        self._bound = client

    def __repr__(self) -> str:
        target = repr(self._bound) if self._bound is not None else "the default client"
        return f"<symbl.{type(self).__name__} using {target}>"

    def _client(self, credentials: Mapping[str, Any] | None = None) -> Client:
        if credentials is None:
            return self._bound if self._bound is not None else client_for()
        if self._bound is None:
            return client_for(credentials)
        return self._bound.with_credentials(credentials)


def path_id(value: Any, name: str) -> str:
    """Check an id that goes into a URL path and return it URL-safe.

    Conversation ids are decimal strings, but the documentation's own sample passes an int, so
    ints are accepted too.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidArgumentError(f"{name} must be a string (or int), not {type(value).__name__}")
    text = str(value).strip()
    if not text or _UNSAFE_ID.search(text):
        raise InvalidArgumentError(f"{name} {value!r} is not a valid id")
    return quote(text, safe="")
