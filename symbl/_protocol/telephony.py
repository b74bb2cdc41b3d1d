"""The Telephony API on the wire (PROTOCOL.md §5): start and stop bodies, speaker events, the
live events of a call.

Builders return the JSON body the SDK sends; checkers validate a body as it travels. The SDK
checks what it built with ``lenient=False``; the emulator checks what it received with
``lenient=True``, which also admits what the old official client sends (``"actions": {}``,
``"dtmf": null``, languages as ``{"code": ...}``, the JS client's ``"stopped"`` marker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .checks import (
    check_json,
    field,
    is_number,
    no_unknown,
    non_empty_string,
    require_object,
    shown,
)
from .errors import ProtocolError
from .events import TELEPHONY_EVENTS as TELEPHONY_EVENTS  # what a call's socket emits
from .options import LANGUAGE_CODES, is_language, parse_timestamp
from .request import Request, check_id, segment

CONNECT_PATH = "/v1/endpoint:connect"
#: A call's live results socket (§5.4), its speaker-event URL and its event socket (§5.3).
SUBSCRIBE_PATH = "/session/subscribe/{connection_id}"
EVENT_PATH = "/v1/event/{connection_id}"
EVENT_SOCKET_PATH = "/events/{connection_id}"
SPEAKER_EVENT_TYPES = ("started_speaking", "stopped_speaking", "joined", "left")
ACTION_NAMES = ("sendSummaryEmail",)
# ASCII digits only: other scripts' digits are not dialled.
PHONE_NUMBER = re.compile(r"\+?[0-9]{7,15}")
DTMF = re.compile(r"[0-9*#A-D,]*")
SIP_URI = re.compile(r"sips?:[^\s@]+(@[^\s@]+)?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
START_FIELDS = frozenset(
    {"operation", "endpoint", "actions", "data", "languages", "timezone", "pushSpeakerEvents"}
)
STOP_FIELDS = frozenset({"operation", "connectionId", "actions", "data"})
ENDPOINT_FIELDS = {
    "pstn": frozenset({"type", "phoneNumber", "dtmf"}),
    "sip": frozenset({"type", "uri", "providerName", "transportConfig", "audioConfig"}),
}
AUDIO_CONFIG_FIELDS = frozenset({"encoding", "sampleRate", "sampleSize", "payloadType"})
SPEAKER_EVENT_FIELDS = frozenset({"topic", "type", "user", "timestamp"})
ACTION_FIELDS = frozenset({"invokeOn", "name", "parameters"})


def subscribe_path(connection_id: str) -> str:
    """The path of a call's live results socket."""
    return SUBSCRIBE_PATH.format(connection_id=segment(connection_id))


def event_path(connection_id: str) -> str:
    """The path speaker events of a call are posted to (its ``eventUrl``)."""
    return EVENT_PATH.format(connection_id=segment(connection_id))


# --- builders -----------------------------------------------------------------------------------


def start(
    endpoint: Mapping[str, Any],
    actions: Any = None,
    data: Any = None,
    languages: Any = None,
    timezone: Any = None,
) -> Request:
    """The checked start request of a call; options left as None are not sent (``actions``
    always is, as a list).

    Raises:
        ProtocolError: a field breaks §5.1.
    """
    body: dict[str, Any] = {
        "operation": "start",
        "endpoint": dict(endpoint),
        "actions": [] if actions is None else actions,
    }
    for name, value in (("data", data), ("languages", languages), ("timezone", timezone)):
        if value is not None:
            body[name] = value
    check_start(body)
    return Request("POST", CONNECT_PATH, json=body)


def stop(
    connection_id: str, extra: Mapping[str, Any] | None = None, where: str = "the stop request"
) -> Request:
    """The checked stop request of a call; ``extra`` may add ``actions`` or ``data`` but never
    replaces the operation or the connection id.

    Raises:
        ProtocolError: a field breaks §5.2.
    """
    body = {**(extra or {}), "operation": "stop", "connectionId": connection_id}
    check_stop(body, where=where)
    # Stopping twice is harmless, and a call left running is billed: a stop is worth resending.
    return Request("POST", CONNECT_PATH, json=body, idempotent=True)


def speaker_event(path: str, event_type: Any, user: Any, timestamp: Any) -> Request:
    """The checked speaker event (§5.3), posted to ``path`` (the call's ``eventUrl`` path).

    Raises:
        ProtocolError: a field breaks §5.3.
    """
    body = {"topic": "speaker", "type": event_type, "user": user, "timestamp": timestamp}
    check_speaker_event(body)
    return Request("POST", path, json=body)


# --- checkers -----------------------------------------------------------------------------------


def check_start(body: Any, *, lenient: bool = False) -> dict[str, Any]:
    """Check a start request (§5.1) and return it.

    Raises:
        ProtocolError: naming the field at fault.
    """
    body = require_object(body, "the start request", '{"operation": "start", ...}')
    no_unknown(body, START_FIELDS, "")
    check_json(body, "")
    endpoint = body.get("endpoint")
    kind = endpoint.get("type") if isinstance(endpoint, Mapping) else None
    if not isinstance(kind, str) or kind not in ENDPOINT_FIELDS:
        raise ProtocolError('endpoint must be an object whose type is "pstn" or "sip"', "endpoint")
    no_unknown(endpoint, ENDPOINT_FIELDS[kind], "endpoint")
    if kind == "pstn":
        _check_pstn(endpoint, lenient)
    else:
        _check_sip(endpoint)
    check_actions(body.get("actions"), lenient=lenient)
    _check_data(body.get("data"))
    _check_languages(body.get("languages"), lenient)
    if "timezone" in body:
        non_empty_string("timezone", body["timezone"])
    if not isinstance(body.get("pushSpeakerEvents", False), bool):
        raise ProtocolError("pushSpeakerEvents must be true or false", "pushSpeakerEvents")
    return dict(body)


def check_stop(body: Any, *, lenient: bool = False, where: str = "the stop request") -> str:
    """Check a stop request (§5.2) and return its connection id.

    Raises:
        ProtocolError: naming the field at fault.
    """
    body = require_object(body, where, '{"operation": "stop", ...}')
    no_unknown(body, STOP_FIELDS, "", where)
    check_json(body, "")
    if body.get("connectionId") is None:
        raise ProtocolError("connectionId is required to stop a call", "connectionId")
    # It goes into the paths of the call's sockets and events: the rule of every id.
    connection_id = check_id(body["connectionId"], "connectionId")
    check_actions(body.get("actions"), lenient=lenient)
    _check_data(body.get("data"))
    return connection_id


def check_actions(value: Any, *, lenient: bool = False) -> list[dict[str, Any]]:
    """The ``actions`` list; leniently, ``null`` and ``{}`` (as the old client sends) mean none.

    Raises:
        ProtocolError: not a list of ``sendSummaryEmail`` actions with email addresses.
    """
    if value is None or (lenient and value == {}):
        return []
    if not isinstance(value, (list, tuple)):
        raise ProtocolError(f"actions must be a list of actions, not {shown(value)}", "actions")
    for index, action in enumerate(value):
        where = field("actions", index)
        action = require_object(action, where, '{"invokeOn": "stop", "name": ..., ...}')
        no_unknown(action, ACTION_FIELDS, where)
        if action.get("invokeOn") not in ("start", "stop"):
            raise ProtocolError(f"{where}.invokeOn must be 'start' or 'stop'", f"{where}.invokeOn")
        if action.get("name") not in ACTION_NAMES:
            raise ProtocolError(
                f"{where}.name must be 'sendSummaryEmail' (the only action)", f"{where}.name"
            )
        parameters = action.get("parameters")
        emails = parameters.get("emails") if isinstance(parameters, Mapping) else None
        if not (
            isinstance(emails, (list, tuple))
            and emails
            and all(isinstance(email, str) and EMAIL.fullmatch(email) for email in emails)
        ):
            raise ProtocolError(
                f"{where}.parameters.emails must be a non-empty list of email addresses",
                f"{where}.parameters.emails",
            )
    return [dict(action) for action in value]


def check_speaker_event(body: Any, *, lenient: bool = False) -> dict[str, Any]:
    """Check a speaker event (§5.3) and return it; the timestamp may be left out.

    With ``lenient`` (the events socket) the JS client's end marker
    ``{"topic": "speaker", "type": "stopped"}`` is accepted too.

    Raises:
        ProtocolError: naming the field at fault.
    """
    body = require_object(body, "a speaker event", '{"topic": "speaker", "type": ..., ...}')
    no_unknown(body, SPEAKER_EVENT_FIELDS, "")
    check_json(body, "")
    if body.get("topic") != "speaker":
        raise ProtocolError('topic must be "speaker"', "topic")
    marker = lenient and body.get("type") == "stopped"
    if body.get("type") not in SPEAKER_EVENT_TYPES and not marker:
        raise ProtocolError(
            f"type must be one of {', '.join(SPEAKER_EVENT_TYPES)}, not {shown(body.get('type'))}",
            "type",
        )
    user = body.get("user")
    if not marker and not (
        isinstance(user, Mapping)
        and all(isinstance(user.get(key), str) and user[key] for key in ("userId", "name"))
    ):
        raise ProtocolError(
            "user must be {'userId': ..., 'name': ...}, both non-empty strings", "user"
        )
    if body.get("timestamp") is not None:
        parse_timestamp(body["timestamp"], "timestamp")
    return dict(body)


def _check_pstn(endpoint: Mapping[str, Any], lenient: bool) -> None:
    number = endpoint.get("phoneNumber")
    if not isinstance(number, str) or not PHONE_NUMBER.fullmatch(number):
        raise ProtocolError(
            f"endpoint.phoneNumber {shown(number)} is not a phone number; give it with the "
            "country code, like '+14155550100' (7 to 15 digits 0-9, a leading + allowed)",
            "endpoint.phoneNumber",
        )
    dtmf = endpoint.get("dtmf", "")
    if dtmf is None and lenient:
        return
    if not isinstance(dtmf, str) or not DTMF.fullmatch(dtmf):
        raise ProtocolError(
            f"endpoint.dtmf {shown(dtmf)} may only hold 0-9, *, #, A-D and ',' (a 500 ms pause)",
            "endpoint.dtmf",
        )


def _check_sip(endpoint: Mapping[str, Any]) -> None:
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not SIP_URI.fullmatch(uri):
        raise ProtocolError(
            f"endpoint.uri {shown(uri)} is not a SIP URI like 'sip:8002@sip.example.com'",
            "endpoint.uri",
        )
    for key in ("providerName", "transportConfig"):
        if key in endpoint and not isinstance(endpoint[key], str):
            raise ProtocolError(f"endpoint.{key} must be a string", f"endpoint.{key}")
    audio = endpoint.get("audioConfig")
    if audio is None:
        return
    audio = require_object(audio, "endpoint.audioConfig", '{"encoding": "OPUS", ...}')
    no_unknown(audio, AUDIO_CONFIG_FIELDS, "endpoint.audioConfig")
    if "encoding" in audio and not isinstance(audio["encoding"], str):
        raise ProtocolError(
            "endpoint.audioConfig.encoding must be a string such as 'OPUS'",
            "endpoint.audioConfig.encoding",
        )
    for key in ("sampleRate", "sampleSize", "payloadType"):
        value = audio.get(key, 1)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            continue  # the documented "sampleSize": "16"
        if not is_number(value) or value <= 0:
            path = f"endpoint.audioConfig.{key}"
            raise ProtocolError(f"{path} must be a positive number, not {shown(value)}", path)


def _check_data(data: Any) -> None:
    if data is None:
        return
    example = "{'session': {'name': 'My Meeting'}}"
    session = require_object(data, "data", example).get("session")
    if session is None:
        return
    name = require_object(session, "data.session", "{'name': 'My Meeting'}").get("name", "")
    if not isinstance(name, str):
        raise ProtocolError("data.session.name must be a string", "data.session.name")


def _check_languages(languages: Any, lenient: bool) -> None:
    if languages is None:
        return
    listed = isinstance(languages, (list, tuple))
    if not listed or (not languages and not lenient):
        raise ProtocolError(
            f"languages must be a list of supported language codes, e.g. ['en-US'], "
            f"not {shown(languages)}",
            "languages",
        )
    for index, item in enumerate(languages):
        code = item.get("code") if lenient and isinstance(item, Mapping) else item
        if not is_language(code):
            raise ProtocolError(
                f"languages[{index}] {shown(code)} is not a supported language; use one of "
                + ", ".join(sorted(LANGUAGE_CODES)),
                field("languages", index),
            )
