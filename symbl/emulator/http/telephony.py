"""The Telephony API (PROTOCOL.md §5) over HTTP and websockets.

- ``POST /v1/endpoint:connect``: ``operation: start`` (201, the connection) or
  ``operation: stop`` (200, the connection plus ``summaryInfo``); unknown fields are 400s,
  unknown or stopped connection ids 404s.
- ``POST /v1/event/{connectionId}`` (the ``eventUrl``) and the websocket
  ``/events/{connectionId}`` (the ``resultWebSocketUrl``): speaker events, recorded on the call.
- ``/session/subscribe/{connectionId}``: the live results of a call that has not ended (the
  upgrade is refused with 404 otherwise). Clients normally send nothing; a stop message
  (JSON or the old client's repr) closes that socket only, and the call goes on.

The URLs in answers are the emulator's own, from the request's host (``ws://`` for ``http://``).
"""

from __future__ import annotations

from aiohttp import web

from symbl._protocol import telephony
from symbl.emulator.stores.live import JSON, error_message
from symbl.emulator.stores.telephony import (
    Call,
    CallNotFoundError,
    CallStore,
    received_speaker_event,
)

from .common import ApiError, app_id_of, json_response, parse_json, read_json, state_of
from .streaming import CONNECTION_NOT_FOUND, WebSocketSink, read_message, serve_websocket

routes = web.RouteTableDef()


@routes.post(telephony.CONNECT_PATH)
async def connect(request: web.Request) -> web.Response:
    """Start or stop a call."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    calls = state_of(request).calls
    operation = body.get("operation")
    if operation == "start":
        try:
            call = calls.start(app_id_of(request), telephony.check_start(body, lenient=True))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return json_response(_connection(request, call), status=201)
    if operation == "stop":
        try:
            telephony.check_stop(body, lenient=True)
            call, summary = calls.stop(app_id_of(request), body)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        except CallNotFoundError:
            raise ApiError(404, CONNECTION_NOT_FOUND) from None
        return json_response({**_connection(request, call), "summaryInfo": summary})
    raise ApiError(400, '"operation" must be "start" or "stop"')


@routes.post("/v1/event/{connection_id}")
async def push_event(request: web.Request) -> web.Response:
    """A speaker event for a call."""
    calls = state_of(request).calls
    call = _call(calls, request)
    try:
        event = received_speaker_event(await read_json(request))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    calls.speaker_event(call, event)
    return json_response({})


@routes.get(telephony.EVENT_SOCKET_PATH)
async def event_socket(request: web.Request) -> web.StreamResponse:
    """Speaker events as JSON text frames, one per frame."""
    calls = state_of(request).calls
    call = _call(calls, request)

    def attach(sink: WebSocketSink) -> WebSocketSink:
        calls.join_events(call, sink)
        return sink

    def on_message(sink: WebSocketSink, _: WebSocketSink, data: str | bytes) -> None:
        try:
            event = received_speaker_event(parse_json(data), lenient=True)
        except ValueError as exc:
            sink.send(error_message("Invalid speaker event", str(exc)))
            return
        calls.speaker_event(call, event)

    return await serve_websocket(request, attach, on_message, lambda s: calls.leave(call, s))


@routes.get(telephony.SUBSCRIBE_PATH)
async def subscribe(request: web.Request) -> web.StreamResponse:
    """The live results of a call."""
    calls = state_of(request).calls
    call = _call(calls, request)

    def attach(sink: WebSocketSink) -> WebSocketSink:
        calls.subscribe(call, sink)
        return sink

    def on_message(sink: WebSocketSink, _: WebSocketSink, data: str | bytes) -> None:
        try:
            kind = read_message(data).get("type") if isinstance(data, str) else None
        except ValueError:
            return  # nothing else is expected from a subscriber; ignore it
        if kind == "stop_request":
            sink.close()

    return await serve_websocket(request, attach, on_message, lambda s: calls.leave(call, s))


def _call(calls: CallStore, request: web.Request) -> Call:
    try:
        return calls.find(app_id_of(request), request.match_info["connection_id"])
    except CallNotFoundError:
        raise ApiError(404, CONNECTION_NOT_FOUND) from None


def _connection(request: web.Request, call: Call) -> JSON:
    """The connection object, with URLs on this emulator."""
    scheme = "wss" if request.scheme == "https" else "ws"
    return {
        "eventUrl": f"{request.scheme}://{request.host}" + telephony.event_path(call.connection_id),
        "resultWebSocketUrl": f"{scheme}://{request.host}"
        + telephony.EVENT_SOCKET_PATH.format(connection_id=call.connection_id),
        "conversationId": call.conversation_id,
        "connectionId": call.connection_id,
    }
