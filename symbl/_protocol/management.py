"""What every Management API request has in common (PROTOCOL.md §11): it declares
``Content-Type: application/json``, GET and DELETE included, as the docs say the service asks.
Trackers (§11.5) and conversation groups (§11.6) build their requests here; the emulator checks
the declaration with :func:`declares_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .request import Request

MEDIA_TYPE = "application/json"


def management_request(
    method: str, path: str, *, json: Any = None, query: Mapping[str, str] | None = None
) -> Request:
    """A Management API request: ``method`` on ``path``, declaring JSON whether or not it has a
    body."""
    headers = {"Content-Type": MEDIA_TYPE}
    return Request(method, path, query=query or {}, json=json, headers=headers)


def declares_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header's value is ``application/json`` (parameters such as
    ``charset`` aside)."""
    return (content_type or "").split(";")[0].strip().lower() == MEDIA_TYPE
