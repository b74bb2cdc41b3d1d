"""A REST request as plain data: what the builders return and the transports send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Request:
    """One REST call, without I/O.

    Attributes:
        method: the HTTP method.
        path: the path below the base URL, already URL-safe.
        query: query parameters in wire form (strings), in the order they are sent.
        json: the JSON body, or None (a file body is the transport's business). Left out of
            the repr: a token request's body holds the app secret.
        headers: headers beyond authentication and the defaults.
        idempotent: whether sending it twice is harmless; None lets the method decide
            (GET, HEAD, PUT, DELETE and OPTIONS are, POST is not). A request that creates a
            job never is.
        authenticated: whether it carries the access token (all but token generation do).
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    idempotent: bool | None = None
    authenticated: bool = True


def segment(value: str) -> str:
    """``value`` made safe as one segment of a URL path."""
    return quote(value, safe="")
