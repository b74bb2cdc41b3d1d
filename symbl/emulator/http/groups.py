"""Conversation groups (PROTOCOL.md §11.6) over HTTP, and the listing of a group's
conversations (paged and filtered as §11.1). Requests under ``/v1/manage/`` declare
``Content-Type: application/json``, GET and DELETE included (415 otherwise), as trackers do."""

from __future__ import annotations

from datetime import datetime, timezone

from aiohttp import web

from symbl._protocol import groups as wire
from symbl._protocol.listing import parse_list_query
from symbl.emulator.stores.groups import GroupNotFoundError, StoredGroup

from .common import ApiError, app_id_of, json_response, protocol_errors_as_400, read_json, state_of
from .trackers import json_declared

routes = web.RouteTableDef()

GROUP_NOT_FOUND = "The groupId is either invalid or does not exist."


def _group(request: web.Request) -> StoredGroup:
    try:
        return state_of(request).groups.get(app_id_of(request), request.match_info["group_id"])
    except GroupNotFoundError:
        raise ApiError(404, GROUP_NOT_FOUND) from None


@routes.post(wire.GROUP_PATH)
async def create_group(request: web.Request) -> web.Response:
    """Create one group."""
    with protocol_errors_as_400():
        body = wire.check_group(await read_json(request))
    group = state_of(request).groups.create(app_id_of(request), body)
    return json_response({"group": group.to_json()}, status=201)


@routes.post(wire.GROUPS_PATH)
async def create_groups(request: web.Request) -> web.Response:
    """Create several groups at once (all or none)."""
    with protocol_errors_as_400():
        bodies = wire.check_groups(await read_json(request))
    store, app_id = state_of(request).groups, app_id_of(request)
    made = [store.create(app_id, body).to_json() for body in bodies]
    return json_response({"groups": made}, status=201)


@routes.get(wire.GROUPS_PATH)
async def list_groups(request: web.Request) -> web.Response:
    """The app's groups."""
    json_declared(request)
    groups = state_of(request).groups.of_app(app_id_of(request))
    return json_response({"groups": [group.to_json() for group in groups]})


@routes.get(wire.ONE_GROUP_PATH)
async def get_group(request: web.Request) -> web.Response:
    """One group."""
    json_declared(request)
    return json_response({"group": _group(request).to_json()})


@routes.put(wire.ONE_GROUP_PATH)
async def update_group(request: web.Request) -> web.Response:
    """Replace a group whole."""
    group = _group(request)
    with protocol_errors_as_400():
        body = wire.check_group(await read_json(request), group_id=group.id)
    state_of(request).groups.replace(app_id_of(request), group.id, body)
    return json_response({"group": group.to_json()})


@routes.delete(wire.ONE_GROUP_PATH)
async def delete_group(request: web.Request) -> web.Response:
    """Delete a group (its conversations stay)."""
    json_declared(request)
    group = _group(request)
    state_of(request).groups.delete(app_id_of(request), group.id)
    return json_response({"id": group.id, "type": "group", "deleted": True})


@routes.get(wire.GROUP_CONVERSATIONS_PATH)
async def group_conversations(request: web.Request) -> web.Response:
    """The conversations whose metadata satisfy the group's criteria, paged as a listing."""
    group = _group(request)
    now = datetime.now(timezone.utc)
    with protocol_errors_as_400():
        query = parse_list_query(request.query, now)
    state = state_of(request)
    found = state.conversations.listing(app_id_of(request), query, now, group.comparisons)
    return json_response({"conversations": [item.to_json() for item in found]})
