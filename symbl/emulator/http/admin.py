"""The admin API under ``/_emulator/``: test controls that the real service does not have.

- ``POST /_emulator/reset``: forget everything, back to the start configuration.
- ``GET|DELETE /_emulator/requests``: the request log (``?path=`` prefix, ``?method=``).
- ``GET|PATCH /_emulator/settings``: behaviour knobs (``tokenLifetime``, ...).
- ``POST /_emulator/apps``: register ``{"appId", "appSecret"}``.
- ``POST /_emulator/tokens:revoke``: invalidate every issued token.
- ``GET|POST|DELETE /_emulator/faults``: list, add (a :class:`FaultRule` as JSON, names in
  camelCase or snake_case), clear faults. A rule with ``"websocket": "cut" | "freeze" |
  "close"`` breaks websockets open now or later, at once or at a chosen moment (counted from
  when the rule was armed on the socket):
  ``{"path": "/v1/streaming/*", "websocket": "cut", "afterBytes": 65536, "times": 1}``;
  ``{"path": "/session/subscribe/*", "websocket": "close", "code": 1011, "afterSeconds": 2}``;
  ``{"path": "/v1/streaming/*", "websocket": "freeze", "freezeSeconds": 5,
  "afterFrames": 10}`` (triggers: ``afterBytes``, ``afterFrames``, ``afterFramesSent``,
  ``afterSeconds``; none: at once).
- ``POST /_emulator/media``: register a transcript for media, by ``url`` or ``sha256``:
  ``{"url": "https://...", "transcript": [{"speaker": {...}, "text": ..., "start": 0, "end": 2}]}``.
- ``GET|POST /_emulator/conversations``: list every conversation (with where its words came
  from), or add a finished one from text messages, optionally with a chosen ``id``:
  ``{"id": "1234567890", "appId": ..., "name": ..., "messages": [...]}``.
- ``GET /_emulator/webhooks``: the job-status callbacks sent so far.
- ``GET|PUT|DELETE /_emulator/live-transcript``: the words new streaming sessions hear and new
  calls play: ``{"transcript": [{"speaker": {...}, "text": ..., "start": 0, "end": 2}]}``.
- ``GET /_emulator/streams``: every streaming session (what its clients sent);
  ``GET /_emulator/streams/{connectionId}/audio``: the audio it accepted, as bytes.
- ``GET /_emulator/calls``: every telephony call; ``POST /_emulator/calls/{connectionId}:hangup``:
  its remote party hangs up now.
- ``GET /_emulator/outbox``: the summary emails calls would have sent.
- ``POST /_emulator/websockets:drop``: cut live websockets without a close frame; optional
  body ``{"path": "/v1/streaming/"}`` (a path prefix); answers ``{"dropped": n}``.
- ``POST /_emulator/websockets:close``: close live websockets with a close frame; optional body
  ``{"path": "/session/subscribe/", "code": 1011, "reason": "..."}`` (a path prefix, by default
  every socket; code 1011 by default); answers ``{"closed": n}``.
- ``POST /_emulator/websockets:freeze``: freeze live websockets (the connection stays open,
  nothing is read or sent, pings go unanswered); optional body
  ``{"path": "/v1/streaming/", "seconds": 5}`` (by default every socket, until unfrozen);
  answers ``{"frozen": n}``.
- ``POST /_emulator/websockets:unfreeze``: end the freeze; optional body ``{"path": ...}``;
  answers ``{"unfrozen": n}``.

Every route needs the admin token in the ``X-Emulator-Admin-Token`` header (see
:mod:`.doors`); nothing here is logged, and faults never apply here. Bodies are JSON, up to
16 MiB.
"""

from __future__ import annotations

from aiohttp import web

from symbl._protocol.frames import CLOSE_INTERNAL_ERROR, is_sendable_close_code
from symbl._protocol.names import snake_case
from symbl.emulator.media import TranscriptLine, parse_transcript
from symbl.emulator.stores.faults import FaultRule
from symbl.emulator.stores.processing import RegisteredMedia, import_text

from .auth import app_credentials
from .common import ApiError, json_response, read_json, read_object, state_of

routes = web.RouteTableDef()
PREFIX = "/_emulator"
# Transcripts and conversations given whole can be long.
_LIMIT = 16 << 20


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
        state.settings.update(await read_object(request, _LIMIT))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    return json_response(state.settings.to_json())


@routes.post(PREFIX + "/apps")
async def add_app(request: web.Request) -> web.Response:
    """Register an app id and secret that may generate tokens."""
    app_id, app_secret = app_credentials(await read_object(request, _LIMIT))
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
    body = {snake_case(name): value for name, value in (await read_object(request, _LIMIT)).items()}
    body.pop("id", None)
    try:
        rule = FaultRule(**body)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid fault rule: {exc}") from exc
    return json_response(state_of(request).add_fault(rule).to_json(), status=201)


@routes.delete(PREFIX + "/faults")
async def clear_faults(request: web.Request) -> web.Response:
    """Remove every fault rule."""
    state_of(request).faults.clear()
    return json_response({"message": "All faults were cleared."})


@routes.post(PREFIX + "/media")
async def register_media(request: web.Request) -> web.Response:
    """Register the transcript the emulator uses for some media (by URL or SHA-256)."""
    body = await read_object(request, _LIMIT)
    keys = [key for key in ("url", "sha256") if isinstance(body.get(key), str) and body[key]]
    if len(keys) != 1 or set(body) - {"url", "sha256", "transcript", "duration"}:
        raise ApiError(
            400, 'Give exactly one of "url" or "sha256", a "transcript", and optionally "duration".'
        )
    try:
        transcript = parse_transcript({"transcript": body.get("transcript")})
    except ValueError as exc:
        raise ApiError(400, f"Invalid transcript: {exc}") from None
    duration = body.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0
    ):
        raise ApiError(400, '"duration" must be a number of seconds')
    library = state_of(request).media_library
    target = library.by_url if keys[0] == "url" else library.by_sha256
    target[body[keys[0]]] = RegisteredMedia(transcript, duration)
    return json_response({keys[0]: body[keys[0]], "lines": len(transcript)}, status=201)


@routes.get(PREFIX + "/conversations")
async def list_all_conversations(request: web.Request) -> web.Response:
    """Every conversation of every app, with where its words came from."""
    conversations = state_of(request).conversations.all()
    return json_response(
        {
            "conversations": [
                {**item.to_json(), "appId": item.app_id, "sources": item.sources}
                for item in conversations
            ]
        }
    )


@routes.post(PREFIX + "/conversations")
async def import_conversation(request: web.Request) -> web.Response:
    """Add a finished conversation from text messages, with a chosen id if given."""
    state = state_of(request)
    body = await read_object(request, _LIMIT)
    app_id = body.pop("appId", next(iter(state.tokens.apps)))
    conversation_id = body.pop("id", None)
    name = body.pop("name", None)
    if set(body) != {"messages"}:
        raise ApiError(400, 'The body takes "messages" and optionally "id", "appId" and "name".')
    try:
        conversation = import_text(
            state.conversations, app_id, body["messages"], conversation_id, name
        )
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return json_response(conversation.to_json(), status=201)


@routes.get(PREFIX + "/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    """Job-status callbacks sent so far, with their outcome."""
    return json_response({"webhooks": state_of(request).webhook_deliveries})


@routes.get(PREFIX + "/live-transcript")
async def get_live_transcript(request: web.Request) -> web.Response:
    """The live transcript new sessions and calls use."""
    lines = state_of(request).live_transcript
    return json_response({"transcript": [line.to_json() for line in lines]})


@routes.put(PREFIX + "/live-transcript")
async def set_live_transcript(request: web.Request) -> web.Response:
    """Set the live transcript: ``{"transcript": [...]}``."""
    try:
        lines = parse_transcript(await read_object(request, _LIMIT))
    except ValueError as exc:
        raise ApiError(400, f"Invalid transcript: {exc}") from None
    state_of(request).live_transcript = lines
    return json_response({"lines": len(lines)})


@routes.delete(PREFIX + "/live-transcript")
async def clear_live_transcript(request: web.Request) -> web.Response:
    """Forget the live transcript: new sessions hear nothing."""
    empty: tuple[TranscriptLine, ...] = ()
    state_of(request).live_transcript = empty
    return json_response({"lines": 0})


@routes.get(PREFIX + "/streams")
async def list_streams(request: web.Request) -> web.Response:
    """Every streaming session so far."""
    sessions = state_of(request).streams.sessions()
    return json_response({"streams": [session.to_json() for session in sessions]})


@routes.get(PREFIX + "/streams/{connection_id}/audio")
async def stream_audio(request: web.Request) -> web.Response:
    """The audio a streaming session accepted."""
    try:
        audio = state_of(request).streams.audio(request.match_info["connection_id"])
    except KeyError:
        raise ApiError(404, "No streaming session has this connection id.") from None
    except ValueError as exc:  # audio is not kept
        raise ApiError(409, str(exc)) from None
    return web.Response(body=audio, content_type="application/octet-stream")


@routes.get(PREFIX + "/calls")
async def list_calls(request: web.Request) -> web.Response:
    """Every telephony call so far."""
    return json_response({"calls": [call.to_json() for call in state_of(request).calls.calls()]})


@routes.post(PREFIX + "/calls/{connection_id}:hangup")
async def hang_up(request: web.Request) -> web.Response:
    """The remote party of a call hangs up."""
    connection_id = request.match_info["connection_id"]
    try:
        state_of(request).calls.hang_up(connection_id)
    except KeyError:
        raise ApiError(404, "No connected call has this connection id.") from None
    return json_response({"connectionId": connection_id, "state": "ended"})


@routes.get(PREFIX + "/outbox")
async def list_outbox(request: web.Request) -> web.Response:
    """Summary emails calls would have sent."""
    return json_response({"outbox": state_of(request).calls.outbox})


@routes.post(PREFIX + "/websockets:drop")
async def drop_websockets(request: web.Request) -> web.Response:
    """Cut live websockets (those under ``path``, if given) without a close frame."""
    body = await read_json(request, _LIMIT) if request.body_exists else {}
    prefix = body.get("path", "") if isinstance(body, dict) else None
    if not isinstance(prefix, str):
        raise ApiError(400, 'The body is optional: {"path": "<path prefix>"}.')
    return json_response({"dropped": state_of(request).sockets.drop(prefix)})


@routes.post(PREFIX + "/websockets:close")
async def close_websockets(request: web.Request) -> web.Response:
    """Close live websockets (those under ``path``, if given) with ``code`` and ``reason``."""
    usage = 'The body is optional: {"path": "<path prefix>", "code": 1011, "reason": "..."}.'
    body = await read_json(request, _LIMIT) if request.body_exists else {}
    if not isinstance(body, dict) or set(body) - {"path", "code", "reason"}:
        raise ApiError(400, usage)
    prefix = body.get("path", "")
    code = body.get("code", CLOSE_INTERNAL_ERROR)
    reason = body.get("reason", "")
    if not isinstance(prefix, str) or not isinstance(reason, str):
        raise ApiError(400, usage)
    if not is_sendable_close_code(code):
        raise ApiError(
            400, f"{code!r} is not a close code a server may send (1000-4999, not 1004-1006, 1015)."
        )
    return json_response({"closed": state_of(request).sockets.close(prefix, code, reason)})


@routes.post(PREFIX + "/websockets:freeze")
async def freeze_websockets(request: web.Request) -> web.Response:
    """Freeze live websockets (those under ``path``, if given), for ``seconds`` if given."""
    usage = 'The body is optional: {"path": "<path prefix>", "seconds": 5}.'
    body = await read_json(request, _LIMIT) if request.body_exists else {}
    if not isinstance(body, dict) or set(body) - {"path", "seconds"}:
        raise ApiError(400, usage)
    prefix, seconds = body.get("path", ""), body.get("seconds")
    if not isinstance(prefix, str) or not (
        seconds is None
        or (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0)
    ):
        raise ApiError(400, usage)
    return json_response({"frozen": state_of(request).sockets.freeze(prefix, seconds)})


@routes.post(PREFIX + "/websockets:unfreeze")
async def unfreeze_websockets(request: web.Request) -> web.Response:
    """End the freeze of live websockets (those under ``path``, if given)."""
    body = await read_json(request, _LIMIT) if request.body_exists else {}
    prefix = body.get("path", "") if isinstance(body, dict) and set(body) <= {"path"} else None
    if not isinstance(prefix, str):
        raise ApiError(400, 'The body is optional: {"path": "<path prefix>"}.')
    return json_response({"unfrozen": state_of(request).sockets.thaw(prefix)})
