"""Authentication on the wire (PROTOCOL.md §1): generating a token and presenting it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ProtocolError
from .request import Request

TOKEN_PATH = "/oauth2/token:generate"
#: The header a token travels in on REST calls and websocket handshakes (never the URL).
TOKEN_HEADER = "x-api-key"


def token_request(app_id: str, app_secret: str) -> Request:
    """``POST /oauth2/token:generate`` for an application (§1.1)."""
    body = {"type": "application", "appId": app_id, "appSecret": app_secret}
    return Request("POST", TOKEN_PATH, json=body, idempotent=True, authenticated=False)


def check_token_request(body: Mapping[str, Any]) -> tuple[str, str]:
    """The ``appId`` and ``appSecret`` of a token request.

    Raises:
        ProtocolError: not an application grant, or either value missing.
    """
    if body.get("type") != "application":
        raise ProtocolError('type must be "application" (the only grant)', "type")
    app_id, app_secret = body.get("appId"), body.get("appSecret")
    if not (isinstance(app_id, str) and app_id and isinstance(app_secret, str) and app_secret):
        raise ProtocolError("appId and appSecret are required strings", "appId")
    return app_id, app_secret


def auth_headers(token: str) -> dict[str, str]:
    """The headers that present a token: ``x-api-key`` and ``Authorization: Bearer`` (§1.3)."""
    return {TOKEN_HEADER: token, "Authorization": f"Bearer {token}"}
