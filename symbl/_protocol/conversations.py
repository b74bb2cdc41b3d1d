"""The Conversation API on the wire (PROTOCOL.md §4): every request, and the checks of its
query flags and bodies.

The SDK builds each request here from Python values; the emulator checks what arrives with the
same functions (query strings arrive as text, hence the flags' ``"true"``/``"false"`` forms).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .checks import check_json, field, key_names, no_unknown, require_object, shown
from .errors import ProtocolError
from .names import camel_case
from .options import boolean, query_value
from .request import Request, segment

CONVERSATIONS_PATH = "/v1/conversations"
CONVERSATION_PATH = CONVERSATIONS_PATH + "/{conversation_id}"
INSIGHTS_UI_PATH = CONVERSATIONS_PATH + "/experiences/insights/details/{conversation_id}"
MEMBER_SUFFIX = "/members/{member_id}"
#: What each reading endpoint is called below a conversation's path (the rest take no options).
READINGS = {
    "conversation": "",
    "messages": "/messages",
    "topics": "/topics",
    "questions": "/questions",
    "action_items": "/action-items",
    "follow_ups": "/follow-ups",
    "insights": "/insights",
    "members": "/members",
    "entities": "/entities",
    "trackers": "/trackers-detected",
    "analytics": "/analytics",
    "summary": "/summary",
    "call_score": "/callscore",
    "call_score_status": "/callscore/status",
}
#: The boolean query flags each reading takes.
FLAGS = {
    "messages": ("verbose", "sentiment"),
    "topics": ("sentiment", "parentRefs", "refresh"),
    "summary": ("refresh",),
}
TOPIC_VOCABULARY = "customTopicVocabulary"
MEMBER_FIELDS = frozenset({"id", "name", "email"})
SPEAKER_EVENT_TYPES = ("started_speaking", "stopped_speaking")
OFFSET_FIELDS = frozenset({"seconds", "nanos"})
TRANSCRIPT_TYPES = ("text/markdown", "text/srt")
TRANSCRIPT_FIELDS = {
    "text/markdown": frozenset(
        {"contentType", "createParagraphs", "phrases", "showSpeakerSeparation"}
    ),
    "text/srt": frozenset({"contentType", "showSpeakerSeparation"}),
}
PHRASE_FIELDS = frozenset({"highlightOnlyInsightKeyPhrases", "highlightAllKeyPhrases"})


def conversation_path(conversation_id: str, suffix: str = "") -> str:
    """``/v1/conversations/{id}`` and what lies below it."""
    return CONVERSATION_PATH.format(conversation_id=segment(conversation_id)) + suffix


# --- requests -----------------------------------------------------------------------------------


def reading(
    conversation_id: str,
    name: str,
    flags: Mapping[str, Any] | None = None,
    where: str = "the query",
) -> Request:
    """``GET`` one of the :data:`READINGS`, with its boolean flags (and, for topics, a
    ``customTopicVocabulary`` list); flag names in camelCase or snake_case.

    Raises:
        ProtocolError: a flag this reading does not take, or a value that is not boolean.
    """
    query = {}
    for given, value in (flags or {}).items():
        if not isinstance(given, str):
            raise ProtocolError(f"{where} has a key that is not a string: {shown(given)}", where)
        flag = camel_case(given)
        if name == "topics" and flag == TOPIC_VOCABULARY:
            query[flag] = query_value(check_topic_vocabulary(value))
        else:
            query[flag] = query_value(check_flag(name, flag, value, where, spelt=str(given)))
    return Request("GET", conversation_path(conversation_id, READINGS[name]), query=query)


def insights_ui(conversation_id: str) -> Request:
    """The insights UI link with the call score (§4.15)."""
    path = INSIGHTS_UI_PATH.format(conversation_id=segment(conversation_id))
    return Request("GET", path, query={"includeCallScore": "true"})


def member_update(
    conversation_id: str, member_id: str, body: Any, where: str = "the member update"
) -> Request:
    """``PUT /{id}/members/{memberId}`` (§4.7); ``id`` defaults to the member id.

    Raises:
        ProtocolError: no name, unknown fields, or an ``id`` other than ``member_id``.
    """
    update = dict(require_object(body, where, "{'name': 'John', 'email': ...}"))
    update.setdefault("id", member_id)
    check_member_update(update, member_id, where)
    path = conversation_path(conversation_id, MEMBER_SUFFIX.format(member_id=segment(member_id)))
    return Request("PUT", path, json=update)


def speaker_events(conversation_id: str, body: Any, where: str = "the request") -> Request:
    """``PUT /{id}/speakers`` (§4.8).

    Raises:
        ProtocolError: not ``{"speakerEvents": [...]}`` of well-formed events.
    """
    checked = check_speaker_events(body, where)
    return Request("PUT", conversation_path(conversation_id, "/speakers"), json=checked)


def deletion(conversation_id: str) -> Request:
    """``DELETE /{id}`` (§4.3)."""
    return Request("DELETE", conversation_path(conversation_id))


def formatted_transcript(conversation_id: str, body: Any, where: str = "the request") -> Request:
    """``POST /{id}/transcript`` (§4.12), Markdown unless ``contentType`` says SRT.

    It changes nothing on the service, so it may be sent twice.

    Raises:
        ProtocolError: an unknown content type or a field that type does not take.
    """
    given = dict(require_object(body, where, "{'contentType': 'text/markdown'}"))
    given.setdefault("contentType", TRANSCRIPT_TYPES[0])
    checked = check_transcript_request(given, where)
    path = conversation_path(conversation_id, "/transcript")
    return Request("POST", path, json=checked, idempotent=True)


# --- checks -------------------------------------------------------------------------------------


def check_flag(
    reading_name: str, flag: str, value: Any, where: str = "the query", spelt: str = ""
) -> bool:
    """One boolean query flag of a reading, as a bool (``spelt``: the name as the caller wrote
    it, for the message).

    Raises:
        ProtocolError: the reading does not take ``flag``, or ``value`` is not boolean.
    """
    allowed = FLAGS.get(reading_name, ())
    if flag not in allowed:
        raise ProtocolError(
            f"{where} has an unknown option {spelt or flag!r}; it takes "
            + (", ".join(allowed) or "none"),
            flag,
        )
    return boolean(flag, value)


def check_topic_vocabulary(value: Any, *, lenient: bool = False) -> list[str]:
    """``customTopicVocabulary``: a list of words; leniently (a query string as received) also
    JSON or comma-separated text.

    Raises:
        ProtocolError: not a list of non-empty strings.
    """
    if lenient and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.split(",")
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not all(isinstance(word, str) and word for word in value)
    ):
        raise ProtocolError(f"{TOPIC_VOCABULARY} must be a list of strings", TOPIC_VOCABULARY)
    return list(value)


def check_member_update(
    body: Any, member_id: str, where: str = "the member update"
) -> dict[str, Any]:
    """A member update (§4.7).

    Raises:
        ProtocolError: no ``name``, unknown fields, or an ``id`` other than ``member_id``.
    """
    body = require_object(body, where, "{'name': 'John'}")
    unknown = key_names(key for key in body if key not in MEMBER_FIELDS)
    if unknown:
        raise ProtocolError(f"{where} can only take id, name, email; not {unknown}", unknown[0])
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise ProtocolError(f"{where} needs a non-empty 'name'", "name")
    if "email" in body and not isinstance(body["email"], str):
        raise ProtocolError(f"{where}: 'email' must be a string", "email")
    given = body.get("id", member_id)
    if not isinstance(given, str) or given != member_id:
        raise ProtocolError(f"'id' {shown(given)} differs from the member id {member_id!r}", "id")
    return dict(body)


def check_speaker_events(body: Any, where: str = "the request") -> dict[str, Any]:
    """``{"speakerEvents": [...]}`` (§4.8): each event's type, speaker and offset (events may
    carry more fields).

    Raises:
        ProtocolError: naming the event and field at fault.
    """
    body = require_object(body, where, "{'speakerEvents': [...]}")
    no_unknown(body, {"speakerEvents"}, "", where)
    events = body.get("speakerEvents")
    if not isinstance(events, (list, tuple)) or not events:
        raise ProtocolError("speakerEvents must be a non-empty list", "speakerEvents")
    for index, event in enumerate(events):
        _check_speaker_event(event, field("speakerEvents", index))
        check_json(event, field("speakerEvents", index))
    return {"speakerEvents": [dict(event) for event in events]}


def _check_speaker_event(event: Any, at: str) -> None:
    event = require_object(event, at, "{'type': ..., 'user': ..., 'offset': ...}")
    if event.get("type") not in SPEAKER_EVENT_TYPES:
        raise ProtocolError(
            f"{at}.type must be one of {', '.join(SPEAKER_EVENT_TYPES)}", f"{at}.type"
        )
    user = event.get("user")
    if not isinstance(user, Mapping) or not any(
        user.get(key) for key in ("id", "userId", "email", "name")
    ):
        raise ProtocolError(
            f"{at}.user must identify the speaker (id, name or email)", f"{at}.user"
        )
    offset = require_object(event.get("offset"), f"{at}.offset", "{'seconds': 0, 'nanos': 0}")
    no_unknown(offset, OFFSET_FIELDS, f"{at}.offset")
    for key, part in offset.items():
        if isinstance(part, bool) or not isinstance(part, int) or part < 0:
            raise ProtocolError(
                f"{at}.offset.{key} must be a whole number >= 0", f"{at}.offset.{key}"
            )


def check_transcript_request(body: Any, where: str = "the request") -> dict[str, Any]:
    """A formatted-transcript request (§4.12), booleans as bools.

    Raises:
        ProtocolError: an unknown content type or a field that type does not take.
    """
    request: dict[str, Any] = dict(require_object(body, where, "{'contentType': 'text/markdown'}"))
    content_type = request.get("contentType")
    if content_type not in TRANSCRIPT_TYPES:
        raise ProtocolError(
            f"contentType must be one of {', '.join(TRANSCRIPT_TYPES)}", "contentType"
        )
    no_unknown(request, TRANSCRIPT_FIELDS[content_type], "", where)
    for name in ("createParagraphs", "showSpeakerSeparation"):
        if name in request:
            request[name] = boolean(name, request[name])
    if "phrases" in request:
        phrases = require_object(request["phrases"], "phrases", "{'highlightAllKeyPhrases': 1}")
        no_unknown(phrases, PHRASE_FIELDS, "phrases")
        request["phrases"] = {name: boolean(name, value) for name, value in phrases.items()}
    return request
