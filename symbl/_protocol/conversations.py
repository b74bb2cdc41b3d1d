"""The Conversation API on the wire (PROTOCOL.md §4): every request, and the checks of its
query flags and bodies.

The SDK builds each request here from Python values; the emulator checks what arrives with the
same functions (query strings arrive as text, hence the flags' ``"true"``/``"false"`` forms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .checks import check_json, field, key_names, no_unknown, require_object, shown
from .errors import ProtocolError
from .names import camel_case
from .options import boolean, check_url, is_boolean, passed_through, query_value
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
TOPIC_VOCABULARY = "customTopicVocabulary"
#: The boolean query flags documented for each reading (others go out as given).
FLAGS = {
    "messages": ("verbose", "sentiment"),
    "topics": ("sentiment", "parentRefs", "refresh", TOPIC_VOCABULARY),
    "summary": ("refresh",),
}
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
    """``GET`` one of the :data:`READINGS` with its query flags.

    The documented :data:`FLAGS` (named in camelCase or snake_case) are booleans, sent as
    ``true``/``false``. Other values of ``customTopicVocabulary`` and flags the reading does
    not document go out as given (lists and objects as JSON text), noted at DEBUG: the service
    adds options over time.

    Raises:
        ProtocolError: a name that is not a string, a flag given twice, a documented flag
            whose value is not boolean, or a value JSON cannot carry.
    """
    documented = FLAGS.get(name, ())
    query: dict[str, str] = {}
    for given, value in (flags or {}).items():
        if not isinstance(given, str) or not given.strip():
            raise ProtocolError(
                f"{where} has a flag name that is not a name: {shown(given)}", where
            )
        flag = camel_case(given) if camel_case(given) in documented else given
        if flag in query:
            raise ProtocolError(f"{where} gives {flag!r} twice (camelCase and snake_case)", flag)
        if flag in documented and (flag != TOPIC_VOCABULARY or is_boolean(value)):
            query[flag] = query_value(boolean(flag, value))
        else:
            check_json(value, flag)
            query[flag] = query_value(value)
            passed_through(given, where)
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


# --- updating a conversation (§11.2) ------------------------------------------------------------

#: The fields a conversation update may carry.
UPDATE_FIELDS = frozenset({"metadata", "name"})
MAX_METADATA_VALUE_LENGTH = 128


def conversation_update(conversation_id: str, metadata: Any = None, name: Any = None) -> Request:
    """``PUT /{id}`` with exactly the fields given (``metadata`` replaces what is stored).

    Raises:
        ProtocolError: neither field given, or one as :func:`check_conversation_update` refuses.
    """
    body = {
        key: value for key, value in (("metadata", metadata), ("name", name)) if value is not None
    }
    checked = check_conversation_update(body)
    return Request("PUT", conversation_path(conversation_id), json=checked)


def check_conversation_update(body: Any, where: str = "the update") -> dict[str, Any]:
    """A conversation update: ``metadata`` (string values of at most 128 characters) and/or
    ``name``; ``id`` and ``type`` cannot be changed.

    Raises:
        ProtocolError: naming the field at fault.
    """
    update = require_object(body, where, "{'metadata': {'agentId': 'johndoe'}}")
    unknown = key_names(key for key in update if key not in UPDATE_FIELDS)
    if unknown:
        raise ProtocolError(
            f"{where} can change only metadata and name, not {', '.join(unknown)}", unknown[0]
        )
    if not update:
        raise ProtocolError(f"{where} needs metadata or a name (or both)", "metadata")
    if "name" in update and (not isinstance(update["name"], str) or not update["name"].strip()):
        raise ProtocolError(f"name must be a non-empty string, not {shown(update['name'])}", "name")
    if "metadata" in update:
        metadata = require_object(update["metadata"], "metadata", "{'agentId': 'johndoe'}")
        for key, value in metadata.items():
            at = field("metadata", key if isinstance(key, str) else shown(key))
            if not isinstance(key, str):
                raise ProtocolError(f"metadata has a key that is not a string: {shown(key)}", at)
            if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_LENGTH:
                raise ProtocolError(
                    f"{at} must be a string of at most {MAX_METADATA_VALUE_LENGTH} characters, "
                    f"not {shown(value)}",
                    at,
                )
    return {key: dict(value) if key == "metadata" else value for key, value in update.items()}


# --- the Summary UI (§4.14, §11.3) --------------------------------------------------------------

#: Each Summary UI, and the media URL it requires (if any).
SUMMARY_UIS = {
    "verbose-text-summary": None,
    "video-summary": "videoUrl",
    "audio-summary": "audioUrl",
}
SUMMARY_UI_COLORS = frozenset({"background", "topicsFilter", "insightsFilter"})
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def summary_ui(conversation_id: str, body: Any, where: str = "the request") -> Request:
    """``POST /{id}/experiences``: a Summary UI link (options the SDK does not know go as
    given).

    Raises:
        ProtocolError: as :func:`check_summary_ui`.
    """
    checked = check_summary_ui(body, where)
    return Request("POST", conversation_path(conversation_id, "/experiences"), json=checked)


def check_summary_ui(body: Any, where: str = "the request") -> dict[str, Any]:
    """A Summary UI request: ``name`` one of :data:`SUMMARY_UIS` with the media URL it needs;
    ``logo``, ``favicon`` (URLs), ``color`` (hex per part), ``font`` (``{'family': ...}``),
    ``summaryURLExpiresIn`` (seconds from 0; 0 = never), ``readOnly`` and
    ``enableCustomDomain`` (booleans; the latter not for ``audio-summary``). Other members, of
    the request and of ``color`` and ``font``, are kept as they are (noted at DEBUG).

    Raises:
        ProtocolError: naming the field at fault.
    """
    request = dict(require_object(body, where, "{'name': 'verbose-text-summary'}"))
    name = request.get("name")
    if not isinstance(name, str) or name not in SUMMARY_UIS:
        raise ProtocolError(
            f"name must be one of {', '.join(SUMMARY_UIS)}, not {shown(name)}", "name"
        )
    needed = SUMMARY_UIS[name]
    if needed is not None and needed not in request:
        raise ProtocolError(f"{name} needs {needed}: the conversation's media URL", needed)
    for url in ("videoUrl", "audioUrl", "logo", "favicon"):
        if url in request:
            check_url(url, request[url])
    if "color" in request:
        colors = require_object(request["color"], "color", "{'background': '#0A2136'}")
        for part, value in colors.items():
            if part not in SUMMARY_UI_COLORS:
                passed_through(f"color.{part}", where)
            elif not isinstance(value, str) or not _HEX_COLOR.fullmatch(value):
                raise ProtocolError(
                    f"color.{part} must be a hex color like '#0A2136', not {shown(value)}",
                    f"color.{part}",
                )
    if "font" in request:
        font = require_object(request["font"], "font", "{'family': 'roboto'}")
        for part in font:
            if part != "family":
                passed_through(f"font.{part}", where)
        if not isinstance(font.get("family"), str) or not font["family"].strip():
            raise ProtocolError("font.family must name a Google font, like 'roboto'", "font.family")
    expires = request.get("summaryURLExpiresIn", 0)
    if isinstance(expires, bool) or not isinstance(expires, int) or expires < 0:
        raise ProtocolError(
            f"summaryURLExpiresIn must be whole seconds from 0 (0 = never), not {shown(expires)}",
            "summaryURLExpiresIn",
        )
    for flag in ("readOnly", "enableCustomDomain"):
        if flag in request:
            request[flag] = boolean(flag, request[flag])
    if name == "audio-summary" and "enableCustomDomain" in request:
        raise ProtocolError(
            "enableCustomDomain is not available for audio-summary", "enableCustomDomain"
        )
    if "disableSummaryURLAuthentication" in request:
        raise ProtocolError(
            "disableSummaryURLAuthentication is not supported by the service",
            "disableSummaryURLAuthentication",
        )
    check_json(request, "")
    return request
