"""The trackers Management API on the wire (PROTOCOL.md §11.5): requests and the rules of a
tracker.

The SDK speaks the 2022 set (``/v1/manage/tracker`` for one, ``/v1/manage/trackers`` for
many, PUT to update); the emulator serves the later set too (``POST /v1/manage/trackers``
with an object, ``…/trackers/bulk``, PATCH with JSON Patch, ``DELETE /v1/manage/trackers/{id}``)
and checks what arrives with the same functions. Each request declares JSON, GET and DELETE
included, as every Management API request does (:mod:`symbl._protocol.management`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .checks import check_json, field, non_empty_string, require_object, shown
from .errors import ProtocolError
from .management import management_request
from .names import camel_case
from .request import Request, segment

TRACKER_PATH = "/v1/manage/tracker"
TRACKERS_PATH = "/v1/manage/trackers"
ONE_TRACKER_PATH = TRACKER_PATH + "/{tracker_id}"
#: The later revision's paths (served by the emulator, not used by the SDK).
LATER_BULK_PATH = TRACKERS_PATH + "/bulk"
LATER_ONE_TRACKER_PATH = TRACKERS_PATH + "/{tracker_id}"
#: At most this many trackers per account.
MAX_TRACKERS = 500
#: The largest request body, in bytes.
MAX_BODY_BYTES = 1 << 20
#: The only punctuation a vocabulary phrase may hold (one tutorial adds the hyphen).
PUNCTUATION = ".'-"
#: The fields of a tracker besides ``name`` and ``vocabulary`` whose type is known (the later
#: revision's); others are sent as given.
KNOWN_EXTRAS = {
    "description": str,
    "categories": list,
    "languages": list,
    "excludeVocabulary": list,
}
PATCH_OPERATIONS = ("add", "replace", "remove")
PATCH_PATHS = (
    "/name",
    "/description",
    "/categories",
    "/languages",
    "/vocabulary",
    "/excludeVocabulary",
)
EXAMPLE = "{'name': 'Promotion Mention', 'vocabulary': ['special promotion', 'discount']}"


def tracker_path(tracker_id: str) -> str:
    """``/v1/manage/tracker/{trackerId}``."""
    return ONE_TRACKER_PATH.format(tracker_id=segment(tracker_id))


# --- requests -----------------------------------------------------------------------------------


def creation(tracker: Any, where: str = "the tracker") -> Request:
    """``POST /v1/manage/tracker`` with one checked tracker.

    Raises:
        ProtocolError: the tracker breaks §11.5 (see :func:`check_tracker`).
    """
    return _sent("POST", TRACKER_PATH, check_tracker(tracker, where))


def bulk_creation(trackers: Any, where: str = "trackers") -> Request:
    """``POST /v1/manage/trackers`` with a JSON array of checked trackers.

    Raises:
        ProtocolError: not a non-empty list of at most :data:`MAX_TRACKERS`, duplicate names,
            or a tracker that breaks §11.5.
    """
    return _sent("POST", TRACKERS_PATH, check_trackers(trackers, where))


def listing(name: Any = None) -> Request:
    """``GET /v1/manage/trackers``, or only the tracker called ``name`` (exactly).

    Raises:
        ProtocolError: ``name`` is not a non-empty string.
    """
    query = {} if name is None else {"name": non_empty_string("name", name)}
    return management_request("GET", TRACKERS_PATH, query=query)


def reading(tracker_id: str) -> Request:
    """``GET /v1/manage/tracker/{trackerId}``."""
    return management_request("GET", tracker_path(tracker_id))


def update(tracker_id: str, tracker: Any, where: str = "the tracker") -> Request:
    """``PUT /v1/manage/tracker/{trackerId}``: the complete tracker, which replaces it.

    Raises:
        ProtocolError: the tracker breaks §11.5.
    """
    return _sent("PUT", tracker_path(tracker_id), check_tracker(tracker, where))


def deletion(tracker_id: str) -> Request:
    """``DELETE /v1/manage/tracker/{trackerId}``."""
    return management_request("DELETE", tracker_path(tracker_id))


def _sent(method: str, path: str, body: Any) -> Request:
    check_size(body)
    return management_request(method, path, json=body)


# --- checks -------------------------------------------------------------------------------------


def tracker_fields(name: Any, vocabulary: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    """A tracker from Python arguments, unchecked: the extra fields known in snake_case
    (``exclude_vocabulary``) in camelCase, any other as spelt."""
    body = {"name": name, "vocabulary": _listed(vocabulary)}
    for key, value in extra.items():
        body[camel_case(key) if camel_case(key) in KNOWN_EXTRAS else key] = _listed(value)
    return body


def check_tracker(body: Any, where: str = "the tracker", prefix: str = "") -> dict[str, Any]:
    """A tracker (§11.5): a name, a vocabulary, and the extra fields of known type checked.

    Raises:
        ProtocolError: naming the field at fault.
    """
    tracker = dict(require_object(body, prefix or where, EXAMPLE))
    check_json(tracker, prefix)
    if "name" not in tracker:
        raise ProtocolError(f"{where} needs a 'name', e.g. {EXAMPLE}", field(prefix, "name"))
    non_empty_string(field(prefix, "name"), tracker["name"])
    if "vocabulary" not in tracker:
        raise ProtocolError(
            f"{where} needs a 'vocabulary' of phrases, e.g. {EXAMPLE}", field(prefix, "vocabulary")
        )
    check_vocabulary(tracker["vocabulary"], field(prefix, "vocabulary"))
    for name, kind in KNOWN_EXTRAS.items():
        if name in tracker and not isinstance(tracker[name], kind):
            raise ProtocolError(
                f"{field(prefix, name)} must be a {'list of strings' if kind is list else 'string'}"
                f", not {shown(tracker[name])}",
                field(prefix, name),
            )
        if kind is list and name in tracker:
            for index, item in enumerate(tracker[name]):
                non_empty_string(field(field(prefix, name), index), item)
    return tracker


def check_trackers(body: Any, where: str = "trackers") -> list[dict[str, Any]]:
    """The body of a bulk creation: a non-empty list of trackers with distinct names.

    Raises:
        ProtocolError: naming the tracker and field at fault.
    """
    if not isinstance(body, (list, tuple)) or not body:
        raise ProtocolError(
            f"{where} must be a non-empty list of trackers like {EXAMPLE}, not {shown(body)}", ""
        )
    if len(body) > MAX_TRACKERS:
        raise ProtocolError(
            f"{where} holds {len(body)} trackers; an account has at most {MAX_TRACKERS}", ""
        )
    checked = [
        check_tracker(item, f"tracker {index} of {where}", field("", index))
        for index, item in enumerate(body)
    ]
    seen: set[str] = set()
    for index, tracker in enumerate(checked):
        if tracker["name"] in seen:
            raise ProtocolError(
                f"{where} names {tracker['name']!r} twice; tracker names are unique",
                field(field("", index), "name"),
            )
        seen.add(tracker["name"])
    return checked


def check_vocabulary(vocabulary: Any, path: str = "vocabulary") -> list[str]:
    """A vocabulary: a non-empty list of distinct phrases (compared without regard to case or
    repeated spaces), with no punctuation but ``.``, ``'`` and ``-``.

    Raises:
        ProtocolError: naming the phrase at fault.
    """
    if not isinstance(vocabulary, (list, tuple)) or not vocabulary:
        raise ProtocolError(
            f"{path} must be a non-empty list of phrases, not {shown(vocabulary)}", path
        )
    seen: dict[str, int] = {}
    for index, phrase in enumerate(vocabulary):
        at = field(path, index)
        non_empty_string(at, phrase)
        banned = next((c for c in phrase if _is_punctuation(c) and c not in PUNCTUATION), None)
        if banned is not None:
            raise ProtocolError(
                f"{at} {shown(phrase)} holds {banned!r}; phrases may hold no punctuation but "
                + " ".join(PUNCTUATION),
                at,
            )
        key = " ".join(phrase.casefold().split())
        if key in seen:
            raise ProtocolError(
                f"{at} {shown(phrase)} repeats {field(path, seen[key])}; phrases must differ", at
            )
        seen[key] = index
    return list(vocabulary)


def check_size(body: Any) -> None:
    """Refuse a body the service would refuse as too large (over :data:`MAX_BODY_BYTES`).

    Raises:
        ProtocolError: the body's JSON is too large.
    """
    size = len(json.dumps(body).encode("utf-8"))  # as the SDK's clients encode it
    if size > MAX_BODY_BYTES:
        raise ProtocolError(
            f"the request body is {size} bytes of JSON; the Management API takes at most "
            f"{MAX_BODY_BYTES} (send the trackers in several requests)",
            "",
        )


def check_patch(body: Any) -> list[dict[str, Any]]:
    """A later-revision PATCH body: a non-empty JSON Patch array of ``add``, ``replace`` and
    ``remove`` operations on the tracker's fields (:data:`PATCH_PATHS`).

    Raises:
        ProtocolError: naming the operation at fault.
    """
    if not isinstance(body, list) or not body:
        raise ProtocolError(
            "the body must be a JSON Patch array like [{'op': 'replace', 'path': '/name', "
            f"'value': 'Promotion'}}], not {shown(body)}",
            "",
        )
    for index, operation in enumerate(body):
        at = field("", index)
        operation = require_object(operation, at, "{'op': 'add', 'path': '/vocabulary', ...}")
        if operation.get("op") not in PATCH_OPERATIONS:
            raise ProtocolError(f"{at}.op must be one of {', '.join(PATCH_OPERATIONS)}", f"{at}.op")
        if operation.get("path") not in PATCH_PATHS:
            raise ProtocolError(f"{at}.path must be one of {', '.join(PATCH_PATHS)}", f"{at}.path")
        if operation["op"] != "remove" and "value" not in operation:
            raise ProtocolError(f"{at} needs a 'value'", f"{at}.value")
    return [dict(operation) for operation in body]


def _is_punctuation(character: str) -> bool:
    """Punctuation or a symbol (``!``, ``,``, ``%``, ``$``, ``&``, a curly quote ...): neither white
    space nor a letter, digit or combining mark of any script. Those are what may continue a
    Python identifier (the Unicode XID_Continue class), which also admits the underscore."""
    return not character.isspace() and (character == "_" or not ("a" + character).isidentifier())


def _listed(value: Any) -> Any:
    """A tuple as the list JSON makes of it; anything else as it is."""
    return list(value) if isinstance(value, tuple) else value
