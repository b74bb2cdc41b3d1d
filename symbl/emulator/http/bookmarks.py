"""Bookmarks (PROTOCOL.md §11.4) over HTTP; the streaming ``bookmark_request`` is answered by
the streaming store with the same store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from symbl._protocol import bookmarks as wire
from symbl._protocol.conversations import CONVERSATION_PATH as CONVERSATION
from symbl.emulator.stores.bookmarks import BookmarkNotFoundError
from symbl.emulator.stores.conversations import ConversationNotFoundError

from .common import ApiError, app_id_of, json_response, protocol_errors_as_400, read_json, state_of
from .jobs import CONVERSATION_NOT_FOUND

routes = web.RouteTableDef()

ALL = CONVERSATION + wire.BOOKMARKS_SUFFIX
ONE = CONVERSATION + wire.BOOKMARK_SUFFIX
BOOKMARK_NOT_FOUND = "The bookmarkId is either invalid or does not exist."


@contextmanager
def _answers() -> Iterator[None]:
    """Unknown conversations and bookmarks as 404, broken requests as 400."""
    try:
        with protocol_errors_as_400():
            yield
    except ConversationNotFoundError:
        raise ApiError(404, CONVERSATION_NOT_FOUND) from None
    except BookmarkNotFoundError:
        raise ApiError(404, BOOKMARK_NOT_FOUND) from None


def _ids(request: web.Request) -> tuple[str, str]:
    return app_id_of(request), request.match_info["conversation_id"]


@routes.post(ALL)
async def create_bookmark(request: web.Request) -> web.Response:
    """One bookmark."""
    with _answers():
        body = wire.check_bookmark(await read_json(request))
        made = state_of(request).bookmarks.create(*_ids(request), body)
    return json_response(made, status=201)


@routes.post(CONVERSATION + wire.BULK_SUFFIX)
async def create_bookmarks(request: web.Request) -> web.Response:
    """Several bookmarks: a JSON array (or ``{"bookmarks": [...]}``), all or none."""
    with _answers():
        body = wire.check_bulk(await read_json(request), "the request body", lenient=True)
        made = state_of(request).bookmarks.create_many(*_ids(request), body)
    return json_response({"bookmarks": made}, status=201)


@routes.get(ALL)
async def get_bookmarks(request: web.Request) -> web.Response:
    """Every bookmark of the conversation."""
    with _answers():
        return json_response({"bookmarks": state_of(request).bookmarks.all(*_ids(request))})


@routes.get(ONE)
async def get_bookmark(request: web.Request) -> web.Response:
    """One bookmark, flat (§11.4 (a))."""
    with _answers():
        found = state_of(request).bookmarks.get(*_ids(request), request.match_info["bookmark_id"])
    return json_response(found)


@routes.put(ONE)
async def update_bookmark(request: web.Request) -> web.Response:
    """Replace a bookmark."""
    with _answers():
        body = wire.check_bookmark(await read_json(request))
        bookmark_id = request.match_info["bookmark_id"]
        return json_response(state_of(request).bookmarks.replace(*_ids(request), bookmark_id, body))


@routes.delete(ONE)
async def delete_bookmark(request: web.Request) -> web.Response:
    """Delete a bookmark: 204, no body."""
    with _answers():
        state_of(request).bookmarks.delete(*_ids(request), request.match_info["bookmark_id"])
    return web.Response(status=204)


@routes.get(CONVERSATION + wire.SUMMARY_SUFFIX)
async def get_bookmark_summary(request: web.Request) -> web.Response:
    """The summary of one bookmark, as a list (§11.4 (b))."""
    with _answers():
        bookmark_id = request.match_info["bookmark_id"]
        items = state_of(request).bookmarks.summary(*_ids(request), bookmark_id)
    return json_response({"summary": items})


@routes.get(CONVERSATION + wire.SUMMARIES_SUFFIX)
async def get_bookmarks_summary(request: web.Request) -> web.Response:
    """The summaries of every bookmark of the conversation."""
    with _answers():
        summaries = state_of(request).bookmarks.summaries(*_ids(request))
    return json_response({"bookmarksSummary": summaries})
