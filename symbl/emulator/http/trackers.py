"""The trackers Management API (PROTOCOL.md §11.5) over HTTP: the 2022 set and the later one.

``POST /v1/manage/trackers`` is told apart by its body: an array creates many (2022), an
object one (later). Every request needs ``Content-Type: application/json``, GET and DELETE
included (415 otherwise); a create or update while another of the account is under way is
refused with 429; bodies over 1 MB with 413.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from aiohttp import web

from symbl._protocol import trackers as wire
from symbl._protocol.management import declares_json
from symbl.emulator.stores.trackers import (
    TrackerBusyError,
    TrackerLimitError,
    TrackerNameTakenError,
    TrackerNotFoundError,
    TrackerStore,
)

from .common import ApiError, app_id_of, json_response, protocol_errors_as_400, read_json, state_of

routes = web.RouteTableDef()

TRACKER_NOT_FOUND = "The trackerId is either invalid or does not exist."
BUSY = (
    "This API has a limit of maximum of 1 number of concurrent create or update requests per "
    "account. Retry once the previous request has finished."
)


@contextmanager
def _answers() -> Iterator[None]:
    """The store's refusals as the service's statuses."""
    try:
        with protocol_errors_as_400():
            yield
    except TrackerNotFoundError:
        raise ApiError(404, TRACKER_NOT_FOUND) from None
    except TrackerNameTakenError as exc:
        raise ApiError(409, f"A tracker with the name {exc} already exists.") from None
    except TrackerLimitError:
        raise ApiError(
            400, f"An account holds at most {wire.MAX_TRACKERS} trackers; delete some first."
        ) from None
    except TrackerBusyError:
        raise ApiError(429, BUSY, statusCode=429) from None


@contextmanager
def _writing(request: web.Request) -> Iterator[tuple[TrackerStore, str]]:
    """The store and the app for a create or update: one at a time per account, the store's
    refusals as the service's statuses."""
    store, app_id = state_of(request).trackers, app_id_of(request)
    with _answers(), store.writing(app_id):
        yield store, app_id


def json_declared(request: web.Request) -> None:
    """The Management API's rule for requests without a body (trackers and groups alike): they
    declare JSON too.

    Raises:
        ApiError: 415 when they do not.
    """
    if not declares_json(request.headers.get("Content-Type")):
        raise ApiError(415, "Content-Type must be application/json.")


async def _body(request: web.Request) -> Any:
    return await read_json(request, limit=wire.MAX_BODY_BYTES)


def _tracker_id(request: web.Request) -> str:
    return request.match_info["tracker_id"]


@routes.post(wire.TRACKER_PATH)
async def create_tracker(request: web.Request) -> web.Response:
    """One tracker (2022)."""
    with _writing(request) as (store, app_id):
        (made,) = store.create(app_id, [wire.check_tracker(await _body(request))])
    return json_response({"tracker": made}, status=201)


@routes.post(wire.TRACKERS_PATH)
async def create_trackers(request: web.Request) -> web.Response:
    """Many trackers from an array (2022), or one from an object (later)."""
    with _writing(request) as (store, app_id):
        body = await _body(request)
        if isinstance(body, dict):
            (made,) = store.create(app_id, [wire.check_tracker(body)])
            return json_response({"tracker": made}, status=201)
        many = store.create(app_id, wire.check_trackers(body, "the request body"))
    return json_response({"trackers": many}, status=201)


@routes.post(wire.LATER_BULK_PATH)
async def create_trackers_bulk(request: web.Request) -> web.Response:
    """Many trackers (later)."""
    with _writing(request) as (store, app_id):
        many = store.create(app_id, wire.check_trackers(await _body(request), "the request body"))
    return json_response({"trackers": many}, status=201)


@routes.get(wire.TRACKERS_PATH)
async def list_trackers(request: web.Request) -> web.Response:
    """Every tracker of the account, or the one called ``?name=``."""
    json_declared(request)
    name = request.query.get("name")
    return json_response({"trackers": state_of(request).trackers.all(app_id_of(request), name)})


@routes.get(wire.ONE_TRACKER_PATH)
async def get_tracker(request: web.Request) -> web.Response:
    """One tracker."""
    json_declared(request)
    with _answers():
        found = state_of(request).trackers.get(app_id_of(request), _tracker_id(request))
    return json_response({"tracker": found})


@routes.put(wire.ONE_TRACKER_PATH)
async def update_tracker(request: web.Request) -> web.Response:
    """Replace a tracker (2022)."""
    return await _changed(request, wire.check_tracker, TrackerStore.replace)


@routes.patch(wire.LATER_ONE_TRACKER_PATH)
async def patch_tracker(request: web.Request) -> web.Response:
    """Change a tracker with JSON Patch (later)."""
    return await _changed(request, wire.check_patch, TrackerStore.patch)


async def _changed(
    request: web.Request,
    check: Callable[[Any], Any],
    change: Callable[[TrackerStore, str, str, Any], dict[str, Any]],
) -> web.Response:
    """The tracker of the path, changed by ``change`` with the body ``check`` let through."""
    with _writing(request) as (store, app_id):
        given = check(await _body(request))
        changed = change(store, app_id, _tracker_id(request), given)
    return json_response({"tracker": changed})


@routes.delete(wire.ONE_TRACKER_PATH)
@routes.delete(wire.LATER_ONE_TRACKER_PATH)
async def delete_tracker(request: web.Request) -> web.Response:
    """Delete a tracker (both revisions' paths)."""
    json_declared(request)
    tracker_id = _tracker_id(request)
    with _answers():
        state_of(request).trackers.delete(app_id_of(request), tracker_id)
    return json_response({"id": tracker_id, "type": "tracker", "deleted": True})
