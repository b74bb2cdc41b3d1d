"""The admin API under ``/_emulator/``: test controls that the real service does not have.

- ``POST /_emulator/reset``: forget everything, back to the start configuration.
- ``GET|DELETE /_emulator/requests``: the request log (``?path=`` prefix, ``?method=``).
- ``GET|PATCH /_emulator/settings``: behaviour knobs (``tokenLifetime``, ...).
- ``POST /_emulator/apps``: register ``{"appId", "appSecret"}``.
- ``POST /_emulator/tokens:revoke``: invalidate every issued token.
- ``GET|POST|DELETE /_emulator/faults``: list, add (a :class:`FaultRule` as JSON), clear faults.

No token is needed, nothing here is logged, and faults never apply here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .faults import FaultRule
from .http_common import ApiError, json_response, read_json, state_of

routes = web.RouteTableDef()
PREFIX = "/_emulator"


@routes.post(PREFIX + "/reset")
async def reset(request: web.Request) -> web.Response:
    """Return the emulator to its start state."""
    state_of(request).reset()
    return json_response({"message": "The emulator was reset."})


@routes.get(PREFIX + "/requests")
async def list_requests(request: web.Request) -> web.Response:
    """The request log, optionally filtered by path prefix and method."""
    entries = state_of(request).requests.entries(
        request.query.get("path", ""), request.query.get("method", "")
    )
    return json_response({"requests": [entry.to_json() for entry in entries]})


@routes.delete(PREFIX + "/requests")
async def clear_requests(request: web.Request) -> web.Response:
    """Empty the request log."""
    state_of(request).requests.clear()
    return json_response({"message": "The request log was cleared."})


@routes.get(PREFIX + "/settings")
async def get_settings(request: web.Request) -> web.Response:
    """The current behaviour settings."""
    return json_response(state_of(request).settings.to_json())


@routes.patch(PREFIX + "/settings")
async def update_settings(request: web.Request) -> web.Response:
    """Change some settings: ``{"tokenLifetime": 1.0}``."""
    state = state_of(request)
    try:
        state.settings.update(await _object_body(request))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    return json_response(state.settings.to_json())


@routes.post(PREFIX + "/apps")
async def add_app(request: web.Request) -> web.Response:
    """Register an app id and secret that may generate tokens."""
    body = await _object_body(request)
    app_id, app_secret = body.get("appId"), body.get("appSecret")
    if (
        not isinstance(app_id, str)
        or not app_id
        or not isinstance(app_secret, str)
        or not app_secret
    ):
        raise ApiError(400, '"appId" and "appSecret" are required strings.')
    state_of(request).tokens.add_app(app_id, app_secret)
    return json_response({"appId": app_id}, status=201)


@routes.post(PREFIX + "/tokens:revoke")
async def revoke_tokens(request: web.Request) -> web.Response:
    """Invalidate every token issued so far."""
    return json_response({"revoked": state_of(request).tokens.revoke_all()})


@routes.get(PREFIX + "/faults")
async def list_faults(request: web.Request) -> web.Response:
    """The active fault rules."""
    return json_response({"faults": [rule.to_json() for rule in state_of(request).faults.rules()]})


@routes.post(PREFIX + "/faults")
async def add_fault(request: web.Request) -> web.Response:
    """Add a fault rule, e.g. ``{"path": "/v1/job/*", "status": 503, "times": 2}``."""
    body = await _object_body(request)
    body.pop("id", None)
    try:
        rule = FaultRule(**body)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid fault rule: {exc}") from exc
    return json_response(state_of(request).faults.add(rule).to_json(), status=201)


@routes.delete(PREFIX + "/faults")
async def clear_faults(request: web.Request) -> web.Response:
    """Remove every fault rule."""
    state_of(request).faults.clear()
    return json_response({"message": "All faults were cleared."})


async def _object_body(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    return body
