"""The Streaming API on the wire (PROTOCOL.md §6): the client's messages and their checks.

The SDK builds ``start_request``, ``modify_request`` and ``stop_request`` here and checks them
with ``lenient=False``; the emulator checks what it receives with ``lenient=True``, which also
admits what the old official client sends (``"speaker": null``, ``"trackers": null``, any
``languageCode`` string, encodings in any case).

Fields of the ``start_request`` and of its ``config`` that §6.2 and §11.8 do not document are
sent as the caller put them, on both sides (the service adds options over time); the
documented ones are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import bookmarks
from .checks import check_json, field, is_number, no_unknown, require_object, shown
from .errors import ProtocolError
from .events import STREAMING_EVENTS as STREAMING_EVENTS  # what a stream receives (§6.3)
from .options import check_timezone_offset, is_language, passed_through
from .request import segment

INSIGHT_TYPES = ("question", "action_item", "follow_up", "topic")
ENCODINGS = ("LINEAR16", "FLAC", "MULAW", "Opus")
DEFAULT_SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
#: The documented limit on one binary audio frame (§6.2, §7).
MAX_FRAME_BYTES = 8192
#: The longest ``noConnectionTimeout`` and ``disconnectOnStopRequestTimeout``, in seconds.
MAX_SESSION_TIMEOUT = 1800
DEFAULT_CONFIDENCE_THRESHOLD = 0.5
DEFAULT_LANGUAGE = "en-US"
START_FIELDS = frozenset(
    {
        "type",
        "insightTypes",
        "customVocabulary",
        "config",
        "speaker",
        "trackers",
        "noConnectionTimeout",
        "disconnectOnStopRequest",
        "disconnectOnStopRequestTimeout",
        "enableAllTrackers",
        "actions",
    }
)
CONFIG_FIELDS = frozenset(
    {
        "confidenceThreshold",
        "languageCode",
        "timezoneOffset",
        "meetingTitle",
        "sentiment",
        "detectEntities",
        "trackers",
        "speechRecognition",
        "redaction",
    }
)
#: The documented members of ``config.redaction`` and ``config.trackers`` (§11.8), by type.
REDACTION_FIELDS = {"identifyContent": bool, "redactContent": bool, "redactionString": str}
CONFIG_TRACKER_FIELDS = {"enableAllTrackers": bool, "interimResults": bool}
SPEECH_RECOGNITION_FIELDS = frozenset({"encoding", "sampleRateHertz"})
MODIFY_FIELDS = frozenset({"type", "speechRecognition"})
#: The documented members of ``speaker``, by type.
SPEAKER_FIELDS = {"userId": str, "name": str}


#: Where a client streams audio (§6.1); the legacy path serves the same, and listeners of a
#: stream connect to the Subscribe API (§6.4).
STREAMING_PATH = "/v1/streaming/{connection_id}"
LEGACY_STREAMING_PATH = "/v1/realtime/insights/{connection_id}"
SUBSCRIBE_API_PATH = "/v1/subscribe/{connection_id}"


def streaming_path(connection_id: str) -> str:
    """The path a client streams audio to (with the SDK's ``source`` tag)."""
    return STREAMING_PATH.format(connection_id=segment(connection_id)) + "?source=python_sdk"


def subscribe_api_path(connection_id: str) -> str:
    """The path a read-only listener of a stream connects to (with the SDK's ``source`` tag)."""
    return SUBSCRIBE_API_PATH.format(connection_id=segment(connection_id)) + "?source=python_sdk"


@dataclass(frozen=True)
class StartRequest:
    """A checked ``start_request``, with its defaults filled in."""

    body: dict[str, Any]
    insight_types: frozenset[str]
    confidence_threshold: float
    trackers: list[dict[str, Any]]
    encoding: str
    sample_rate: int
    speaker: dict[str, Any] | None
    meeting_title: str | None
    disconnect_on_stop: bool
    disconnect_timeout: float
    no_connection_timeout: float


# --- builders -----------------------------------------------------------------------------------


def start_request(
    insight_types: Any,
    config: Any,
    speaker: Any = None,
    trackers: Any = None,
    **session: Any,
) -> dict[str, Any]:
    """The checked ``start_request``: ``config`` gets the documented defaults (confidence 0.5,
    en-US, LINEAR16 at 16 kHz); ``speaker``, ``trackers`` and the ``session`` fields
    (``noConnectionTimeout``, ``disconnectOnStopRequest``, ``disconnectOnStopRequestTimeout``,
    ``customVocabulary``, ``enableAllTrackers``, or any other) are sent only when given (not
    None). A field §6.2 and §11.8 do not document is sent as given, noted at DEBUG.

    Raises:
        ProtocolError: a field breaks §6.2.
    """
    config = require_object({} if config is None else config, "config", "{'languageCode': ...}")
    given = config.get("speechRecognition") or {}
    recognition = require_object(given, "config.speechRecognition", "{'encoding': 'LINEAR16'}")
    merged = {
        "confidenceThreshold": DEFAULT_CONFIDENCE_THRESHOLD,
        "languageCode": DEFAULT_LANGUAGE,
        **config,
        "speechRecognition": {
            "encoding": "LINEAR16",
            "sampleRateHertz": DEFAULT_SAMPLE_RATE,
            **recognition,
        },
    }
    body: dict[str, Any] = {
        "type": "start_request",
        "insightTypes": [] if insight_types is None else insight_types,
        "config": merged,
    }
    if speaker is not None:
        body["speaker"] = speaker
    if trackers is not None:
        body["trackers"] = trackers
    body.update({name: value for name, value in session.items() if value is not None})
    check_start_request(body)
    body["insightTypes"] = list(body["insightTypes"])
    for name in undocumented_fields(body):
        passed_through(name, "the start_request")
    return body


def modify_request(encoding: Any, sample_rate: Any) -> dict[str, Any]:
    """The checked ``modify_request`` that changes the audio format mid-stream.

    Raises:
        ProtocolError: an unknown encoding or a rate outside 8000-48000 Hz.
    """
    recognition = {"encoding": encoding, "sampleRateHertz": sample_rate}
    check_speech_recognition(recognition, "speechRecognition")
    return {"type": "modify_request", "speechRecognition": recognition}


def stop_request() -> dict[str, str]:
    """The ``stop_request`` (real JSON; the old client sent a Python repr)."""
    return {"type": "stop_request"}


# --- checkers -----------------------------------------------------------------------------------


def check_start_request(body: Any, *, lenient: bool = False) -> StartRequest:
    """Check a ``start_request`` against §6.2 and return it with its defaults.

    Raises:
        ProtocolError: naming the field at fault.
    """
    body = require_object(body, "the start_request", '{"type": "start_request", ...}')
    check_json(body, "")
    types = _nullable(body, "insightTypes", [], lenient)
    if not isinstance(types, (list, tuple)) or any(kind not in INSIGHT_TYPES for kind in types):
        raise ProtocolError(
            f"insightTypes must be a list of: {', '.join(INSIGHT_TYPES)}; got {shown(types)}",
            "insightTypes",
        )
    config = require_object(
        _nullable(body, "config", {}, lenient), "config", "{'languageCode': 'en-US', ...}"
    )
    threshold = _check_config(config, lenient)
    encoding, rate = check_speech_recognition(
        config.get("speechRecognition") or {}, "config.speechRecognition", lenient=lenient
    )
    speaker = _nullable(body, "speaker", None, lenient)
    if speaker is not None:
        _check_members(speaker, "speaker", SPEAKER_FIELDS)
    trackers = _nullable(body, "trackers", [], lenient)
    _check_trackers(trackers)
    vocabulary = body.get("customVocabulary") or []
    if not isinstance(vocabulary, list) or not all(isinstance(v, str) for v in vocabulary):
        raise ProtocolError("customVocabulary must be a list of strings", "customVocabulary")
    disconnect = body.get("disconnectOnStopRequest", True)
    for key in ("disconnectOnStopRequest", "enableAllTrackers"):
        if not isinstance(body.get(key, True), bool):
            raise ProtocolError(f"{key} must be true or false", key)
    timeouts = {}
    for key, default in (
        ("disconnectOnStopRequestTimeout", MAX_SESSION_TIMEOUT),
        ("noConnectionTimeout", 0),
    ):
        value = body.get(key, default)
        if not is_number(value) or not 0 <= value <= MAX_SESSION_TIMEOUT:
            raise ProtocolError(
                f"{key} must be a number of seconds from 0 to {MAX_SESSION_TIMEOUT}", key
            )
        timeouts[key] = float(value)
    return StartRequest(
        body=dict(body),
        insight_types=frozenset(types),
        confidence_threshold=float(threshold),
        trackers=[dict(tracker) for tracker in trackers],
        encoding=encoding,
        sample_rate=rate,
        speaker=dict(speaker) if speaker else None,
        meeting_title=config.get("meetingTitle"),
        disconnect_on_stop=disconnect,
        disconnect_timeout=timeouts["disconnectOnStopRequestTimeout"],
        no_connection_timeout=timeouts["noConnectionTimeout"],
    )


def undocumented_fields(body: Mapping[str, Any]) -> list[str]:
    """The paths of a ``start_request``'s fields that §6.2 and §11.8 do not document: at the
    top, in ``config``, in ``config.redaction``, ``config.trackers`` and
    ``config.speechRecognition``, and in ``speaker``."""
    config = body.get("config") or {}
    found = [name for name in body if name not in START_FIELDS]
    found += [field("config", name) for name in config if name not in CONFIG_FIELDS]
    for path, member, known in (
        ("config.redaction", config.get("redaction"), REDACTION_FIELDS),
        ("config.trackers", config.get("trackers"), CONFIG_TRACKER_FIELDS),
        ("config.speechRecognition", config.get("speechRecognition"), SPEECH_RECOGNITION_FIELDS),
        ("speaker", body.get("speaker"), SPEAKER_FIELDS),
    ):
        if isinstance(member, Mapping):
            found += [field(path, name) for name in member if name not in known]
    return found


def check_speech_recognition(value: Any, path: str, *, lenient: bool = False) -> tuple[str, int]:
    """``(encoding, sampleRateHertz)`` of a ``speechRecognition`` object, with the defaults
    LINEAR16 and 16000 Hz; leniently, encoding names in any case. Other members are not
    checked (the service adds them over time, e.g. ``audioChannelCount``).

    Raises:
        ProtocolError: not an object, an unknown encoding, or a rate outside 8000-48000 Hz.
    """
    value = require_object(value, path, "{'encoding': 'LINEAR16', 'sampleRateHertz': 16000}")
    encoding = value.get("encoding", "LINEAR16")
    known = {name.lower() if lenient else name: name for name in ENCODINGS}
    key = encoding.lower() if lenient and isinstance(encoding, str) else encoding
    if not isinstance(key, str) or key not in known:
        raise ProtocolError(
            f"{path}.encoding must be one of {', '.join(ENCODINGS)}, not {shown(encoding)}",
            f"{path}.encoding",
        )
    rate = value.get("sampleRateHertz", DEFAULT_SAMPLE_RATE)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int)
        or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE
    ):
        raise ProtocolError(
            f"{path}.sampleRateHertz must be a whole number from {MIN_SAMPLE_RATE} to "
            f"{MAX_SAMPLE_RATE}, not {shown(rate)}",
            f"{path}.sampleRateHertz",
        )
    return known[key], rate


def check_modify_request(
    body: Any,
    encoding: str = "LINEAR16",
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    lenient: bool = False,
) -> tuple[str, int]:
    """The ``(encoding, sampleRateHertz)`` a ``modify_request`` asks for (§6.2). A field it
    leaves out keeps the value in force, ``encoding`` and ``sample_rate``: the Web SDK sends
    only ``sampleRateHertz`` when the microphone changes.

    Raises:
        ProtocolError: no ``speechRecognition`` object, an unknown encoding, or a rate outside
            8000-48000 Hz.
    """
    body = require_object(body, "the modify_request", '{"type": "modify_request", ...}')
    if not lenient:
        no_unknown(body, MODIFY_FIELDS, "")
    recognition = require_object(
        body.get("speechRecognition"),
        "speechRecognition",
        "{'encoding': 'LINEAR16', 'sampleRateHertz': 16000}",
    )
    merged = {"encoding": encoding, "sampleRateHertz": sample_rate, **recognition}
    return check_speech_recognition(merged, "speechRecognition", lenient=lenient)


def _nullable(body: Mapping[str, Any], key: str, default: Any, lenient: bool) -> Any:
    """A member's value; ``null`` counts as absent only leniently (the old client sends it)."""
    value = body.get(key, default)
    if value is None and lenient:
        return default
    if value is None and key in body:
        raise ProtocolError(f"{key} must be left out rather than null", key)
    return value


def _check_config(config: Mapping[str, Any], lenient: bool) -> float:
    threshold = config.get("confidenceThreshold", DEFAULT_CONFIDENCE_THRESHOLD)
    if not is_number(threshold) or not 0.0 <= threshold <= 1.0:
        raise ProtocolError(
            f"config.confidenceThreshold must be a number from 0.0 to 1.0, not {shown(threshold)}",
            "config.confidenceThreshold",
        )
    for key, kind in (
        ("languageCode", str),
        ("meetingTitle", str),
        ("sentiment", bool),
        ("detectEntities", bool),
    ):
        if key in config and not isinstance(config[key], kind):
            raise ProtocolError(f"config.{key} must be a {kind.__name__}", f"config.{key}")
    for key, members in (("redaction", REDACTION_FIELDS), ("trackers", CONFIG_TRACKER_FIELDS)):
        if key in config:
            _check_members(config[key], f"config.{key}", members)
    language = config.get("languageCode", DEFAULT_LANGUAGE)
    if not lenient and not is_language(language):
        raise ProtocolError(
            f"config.languageCode {shown(language)} is not a supported language",
            "config.languageCode",
        )
    if "timezoneOffset" in config:
        check_timezone_offset("config.timezoneOffset", config["timezoneOffset"])
    return float(threshold)


def _check_members(value: Any, path: str, members: Mapping[str, type]) -> None:
    """An object whose documented members have their types (others pass, undocumented)."""
    example = "{" + ", ".join(f"'{name}': {kind.__name__}" for name, kind in members.items()) + "}"
    value = require_object(value, path, example)
    for name, kind in members.items():
        if name in value and not isinstance(value[name], kind):
            at = field(path, name)
            raise ProtocolError(f"{at} must be a {kind.__name__}, not {shown(value[name])}", at)


def _check_trackers(trackers: Any) -> None:
    if not isinstance(trackers, (list, tuple)):
        raise ProtocolError(
            "trackers must be a list of {'name': str, 'vocabulary': [str, ...]}", "trackers"
        )
    for index, tracker in enumerate(trackers):
        valid = (
            isinstance(tracker, Mapping)
            and set(tracker) == {"name", "vocabulary"}
            and isinstance(tracker["name"], str)
            and bool(tracker["name"].strip())
            and isinstance(tracker["vocabulary"], (list, tuple))
            and all(isinstance(word, str) and word for word in tracker["vocabulary"])
        )
        if not valid:
            where = field("trackers", index)
            raise ProtocolError(
                f"{where} must be {{'name': str, 'vocabulary': [str, ...]}}, not {shown(tracker)}",
                where,
            )


# --- bookmarks on a stream (§11.4) --------------------------------------------------------------

BOOKMARK_REQUEST = "bookmark_request"
BOOKMARK_RESPONSE = "bookmark_response"
BOOKMARK_OPERATIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class BookmarkRequest:
    """A checked ``bookmark_request``: what to do, to which bookmark (None to create one), and
    the bookmark's fields (none to delete)."""

    operation: str
    bookmark_id: str | None
    bookmark: dict[str, Any]


def bookmark_request(
    operation: str, bookmark_id: str | None = None, bookmark: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The checked ``bookmark_request`` frame: ``create`` with a bookmark, ``update`` with the
    bookmark's id and the whole new bookmark, ``delete`` with the id alone.

    Raises:
        ProtocolError: an unknown operation, a missing id, or a bookmark that breaks §11.4.
    """
    given = {**(bookmark or {}), "operation": operation}
    if bookmark_id is not None:
        given["id"] = bookmark_id
    checked = check_bookmark_request(given)
    frame: dict[str, Any] = dict(checked.bookmark)
    if checked.bookmark_id is not None:
        frame["id"] = checked.bookmark_id
    frame.update(type=BOOKMARK_REQUEST, operation=checked.operation)
    return frame


def check_bookmark_request(message: Any) -> BookmarkRequest:
    """Check a ``bookmark_request`` frame (§11.4).

    Raises:
        ProtocolError: an unknown operation, an id missing (update, delete) or given (create),
            a delete that carries a bookmark, or a bookmark that breaks §11.4.
    """
    message = require_object(message, "the bookmark_request", '{"type": "bookmark_request", ...}')
    operation = message.get("operation")
    if operation not in BOOKMARK_OPERATIONS:
        raise ProtocolError(
            f"operation must be one of {', '.join(BOOKMARK_OPERATIONS)}, not {shown(operation)}",
            "operation",
        )
    fields = {
        key: value for key, value in message.items() if key not in ("type", "operation", "id")
    }
    if operation == "create":
        if "id" in message:
            raise ProtocolError("a bookmark to create has no id yet; leave 'id' out", "id")
        return BookmarkRequest(operation, None, bookmarks.check_bookmark(fields, "the bookmark"))
    bookmark_id = message.get("id")
    if not isinstance(bookmark_id, str) or not bookmark_id:
        raise ProtocolError(
            f"{operation} needs the bookmark's 'id', not {shown(bookmark_id)}", "id"
        )
    if operation == "delete":
        if fields:
            raise ProtocolError(
                f"delete takes the bookmark's id alone; leave out {sorted(map(str, fields))}",
                str(next(iter(fields))),
            )
        return BookmarkRequest(operation, bookmark_id, {})
    return BookmarkRequest(operation, bookmark_id, bookmarks.check_bookmark(fields, "the bookmark"))
