"""Websocket frames both live APIs share: reading events, their lifecycle messages and client
messages, keep-alive text frames, and close codes (PROTOCOL.md §5.4, §6.2, §6.3)."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any, Callable

from .checks import shown
from .errors import ProtocolError

#: The application-level keep-alive of the JS client, and the service's answer.
PING = "__PING__"
PONG = "__PONG__"

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011
#: What a close frame without a code stands for (RFC 6455 §7.1.5); never sent itself.
CLOSE_NO_STATUS = 1005
#: Codes that end a connection normally: nothing went wrong.
NORMAL_CLOSE_CODES = frozenset({CLOSE_NORMAL})
#: Codes that end a connection abnormally but leave the session worth rejoining: the service is
#: going away or restarting, overloaded, failed inside, or the close carried no code.
RECONNECTABLE_CLOSE_CODES = frozenset({CLOSE_GOING_AWAY, CLOSE_NO_STATUS, 1006, 1011, 1012, 1013})
#: Codes RFC 6455 §7.4.1 reserves for reports, which no endpoint may put in a close frame.
RESERVED_CLOSE_CODES = frozenset({1004, CLOSE_NO_STATUS, 1006, 1015})
#: The range of codes a close frame may carry (1000-2999 by RFC, 3000-4999 registered/private).
SENDABLE_CLOSE_CODES = range(1000, 5000)
#: The longest reason a close frame may carry, in UTF-8 bytes (RFC 6455 §5.5: a control frame's
#: payload is at most 125 bytes, two of them the code).
MAX_CLOSE_REASON_BYTES = 123


def parse_close(payload: bytes) -> tuple[int, str]:
    """The ``(code, reason)`` of a close frame's payload; ``CLOSE_NO_STATUS`` without a code."""
    if len(payload) < 2:
        return CLOSE_NO_STATUS, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", errors="replace")


def is_sendable_close_code(code: object) -> bool:
    """Whether ``code`` may go in a close frame (an int in range, and not a reserved one)."""
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and code in SENDABLE_CLOSE_CODES
        and code not in RESERVED_CLOSE_CODES
    )


def check_close_reason(reason: object) -> str:
    """``reason`` if a close frame can carry it: a string of at most
    :data:`MAX_CLOSE_REASON_BYTES` bytes in UTF-8.

    Raises:
        ProtocolError: not a string, or too long.
    """
    if not isinstance(reason, str):
        raise ProtocolError(f"a close reason must be a string, not {shown(reason)}", "reason")
    if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
        raise ProtocolError(
            f"a close reason holds at most {MAX_CLOSE_REASON_BYTES} bytes of UTF-8", "reason"
        )
    return reason


def encode(message: Any) -> str:
    """A client message as the JSON text frame that carries it.

    Raises:
        ProtocolError: the message holds something JSON cannot carry (NaN and infinity
            included, which JSON does not have).
    """
    try:
        return json.dumps(message, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"the message is not JSON: {exc}") from None


def parse_event(
    frame: str | bytes, loads: Callable[[str], Any] = json.loads
) -> dict[str, Any] | None:
    """A frame the service sent, as an event dict with a string ``type``; None for the
    keep-alive answer.

    Args:
        frame: the frame's text (or bytes).
        loads: the JSON parser, e.g. one that builds the caller's own dict type as it goes.

    Raises:
        ProtocolError: the frame is not a JSON object with a string ``type``.
    """
    text = frame.decode("utf-8", errors="replace") if isinstance(frame, bytes) else frame
    if text == PONG:
        return None
    try:
        event = loads(text)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ProtocolError(f"a frame that is not a JSON event: {text[:200]!r}", "type")
    return event


def lifecycle(event: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The kind and the body of a lifecycle message, ``{"type": "message", "message":
    {"type": <kind>, ...}}`` (§6.3): ``(None, {})`` for any other event."""
    message = event.get("message") if event.get("type") == "message" else None
    if not isinstance(message, Mapping):
        return None, {}
    kind = message.get("type")
    return (kind if isinstance(kind, str) else None), message


def conversation_id_of(message: Mapping[str, Any]) -> str | None:
    """The conversation id a lifecycle message carries: in ``data.conversationId`` (§6.3),
    or, in the Web SDK's form, right in the message."""
    data = message.get("data")
    found = data.get("conversationId") if isinstance(data, Mapping) else None
    found = found or message.get("conversationId")
    return str(found) if found else None


def parse_client_message(text: str, *, lenient: bool = False) -> dict[str, Any]:
    """A text frame a client sent, as a dict with a string ``type``.

    Leniently, the old Python SDK's ``str(dict)`` form (``{'type': 'stop_request'}``,
    PROTOCOL.md §10.5) is read too, as a Python literal: never evaluated as code.

    Raises:
        ProtocolError: not JSON (nor, leniently, a literal dict), or no string ``type``.
    """
    try:
        message = json.loads(text)
    except ValueError:
        message = _literal(text) if lenient else None
        if message is None:
            raise ProtocolError("the message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a message must be a JSON object with a string "type"', "type")
    return message


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
