"""A REST request as plain data: what the builders return and the transports send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .checks import shown
from .errors import ProtocolError

#: The longest id that goes into a URL path; the service's own are far shorter (a UUID is 36).
MAX_ID_LENGTH = 256
# Characters that would end the path (? #), start an escape (%) or a new segment (/, and \
# which some servers and proxies read as /).
_PATH_UNSAFE = frozenset("/\\?#%")


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


def check_id(value: Any, name: str) -> str:
    """``value`` if it is an id that can go into a URL path as one segment (a conversation,
    job, member or connection id): a non-empty string of at most :data:`MAX_ID_LENGTH`
    characters, neither ``.`` nor ``..`` (which a path resolves as directories), with no white
    space, control or other invisible characters, and none of ``/ \\ ? # %``.

    Raises:
        ProtocolError: naming ``name`` and what is wrong.
    """
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{name} must be a non-empty string, not {shown(value)}", name)
    if len(value) > MAX_ID_LENGTH:
        raise ProtocolError(
            f"{name} is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}", name
        )
    if value in (".", ".."):
        raise ProtocolError(
            f"{name} {value!r} is not an id: in a URL path it means a directory", name
        )
    unsafe = next(
        (c for c in value if c in _PATH_UNSAFE or c.isspace() or not c.isprintable()), None
    )
    if unsafe is not None:
        raise ProtocolError(
            f"{name} {shown(value)} is not an id: it holds {unsafe!r}; ids have no white space, "
            "control characters or / \\ ? # %",
            name,
        )
    return value


def segment(value: str) -> str:
    """``value``, an id (see :func:`check_id`), made safe as one segment of a URL path.

    Raises:
        ProtocolError: ``value`` is not an id.
    """
    return quote(check_id(value, "the id"), safe="")
