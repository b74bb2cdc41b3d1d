"""``POST /oauth2/token:generate`` (PROTOCOL.md §1.1)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from symbl._protocol import auth
from symbl._protocol.errors import ProtocolError
from symbl.emulator.stores.tokens import InvalidAppCredentialsError

from .common import ApiError, json_response, read_object, state_of

routes = web.RouteTableDef()
# A token request is a few short strings.
_TOKEN_REQUEST_LIMIT = 16 << 10


@routes.post(auth.TOKEN_PATH)
async def generate_token(request: web.Request) -> web.Response:
    """Exchange an app id and secret for an access token."""
    try:
        app_id, app_secret = auth.check_token_request(
            await read_object(request, _TOKEN_REQUEST_LIMIT)
        )
    except ProtocolError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        token, expires_in = state_of(request).tokens.generate(app_id, app_secret)
    except InvalidAppCredentialsError:
        raise ApiError(
            401, "Unauthorized: appId and appSecret do not match any application."
        ) from None
    return json_response({"accessToken": token, "expiresIn": expires_in})


def app_credentials(body: dict[str, Any]) -> tuple[str, str]:
    """The ``appId`` and ``appSecret`` of a request body (a 400 when either is missing)."""
    app_id, app_secret = body.get("appId"), body.get("appSecret")
    if not (isinstance(app_id, str) and app_id and isinstance(app_secret, str) and app_secret):
        raise ApiError(400, '"appId" and "appSecret" are required strings.')
    return app_id, app_secret
