"""Async API options: their names, types and wire form (PROTOCOL.md §2.2).

One table serves the SDK, which checks a caller's ``parameters`` before sending anything, and
the emulator, which checks what arrives: a request the service would reject with 400 is
rejected here first, with a message naming the option and what it takes.

Names may be given in camelCase (the wire name) or snake_case; values are Python values
(``True``, lists, dicts). In a query string they become ``true``/``false``, decimal numbers and
compact JSON text; in a JSON body they stay as they are.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

from .checks import check_json, key_names, non_empty_string, shown
from .errors import ProtocolError
from .names import camel_case

LANGUAGE_CODES = frozenset(
    [
        "en-US",
        "en-GB",
        "en-AU",
        "en-IE",
        "en-IN",
        "en-ZA",
        "ru-RU",
        "fr-CA",
        "fr-FR",
        "de-DE",
        "it-IT",
        "nl-NL",
        "ja-JP",
        "es-US",
        "es-ES",
        "ar-SA",
        "hi-IN",
        "pt-BR",
        "pt-PT",
        "fa-IR",
    ]
)

Check = Callable[[str, Any], Any]


def boolean(name: str, value: Any) -> bool:
    """Check a boolean option; the strings "true" and "false" count as booleans."""
    # The service's own samples send "true" as a string, so the string forms are accepted too.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ProtocolError(f"{name} must be True or False, not {shown(value)}", name)


def _number(low: float, high: float) -> Check:
    def check(name: str, value: Any) -> float:
        if isinstance(value, str) and value.isascii():
            with contextlib.suppress(ValueError):
                value = float(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not low <= value <= high
        ):
            raise ProtocolError(
                f"{name} must be a number from {low} to {high}, not {shown(value)}",
                name,
            )
        return value

    return check


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError(
            f"{name} must be a whole number of at least 1, not {shown(value)}", name
        )
    return value


def _choice(*allowed: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in allowed:
            raise ProtocolError(
                f"{name} must be one of {', '.join(allowed)}; got {shown(value)}", name
            )
        return str(value)

    return check


def is_language(value: Any) -> bool:
    """Whether ``value`` is one of the supported language codes."""
    return isinstance(value, str) and value in LANGUAGE_CODES


def _language(name: str, value: Any) -> str:
    if not is_language(value):
        raise ProtocolError(
            f"{name} {shown(value)} is not a supported language; use one of "
            + ", ".join(sorted(LANGUAGE_CODES)),
            name,
        )
    return str(value)


def check_url(name: str, value: Any) -> str:
    """Check an absolute http(s) URL."""
    parts = urlsplit(non_empty_string(name, value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProtocolError(f"{name} must be an absolute http(s) URL, not {shown(value)}", name)
    return str(value)


def non_empty_strings(name: str, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ProtocolError(f"{name} must be a non-empty list of strings, not {shown(value)}", name)
    return [non_empty_string(f"{name}[{index}]", item) for index, item in enumerate(value)]


def _records(
    name: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """A non-empty list of objects, each with ``required`` keys and maybe ``optional`` ones."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ProtocolError(f"{name} must be a non-empty list of objects", name)
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            raise ProtocolError(f"{where} must be an object, not {shown(item)}", where)
        missing = [key for key in required if key not in item]
        unknown = key_names(key for key in item if key not in required + optional)
        if missing or unknown:
            raise ProtocolError(
                f"{where} needs the keys {', '.join(required)}"
                + (f" (and may have {', '.join(optional)})" if optional else "")
                + f"; missing {missing}, unknown {unknown}",
                where,
            )
    return [dict(item) for item in value]


def _trackers(name: str, value: Any) -> list[dict[str, Any]]:
    trackers = _records(name, value, ("name", "vocabulary"))
    for index, tracker in enumerate(trackers):
        non_empty_string(f"{name}[{index}].name", tracker["name"])
        non_empty_strings(f"{name}[{index}].vocabulary", tracker["vocabulary"])
    return trackers


def _entities(name: str, value: Any) -> list[dict[str, Any]]:
    entities = _records(name, value, ("customType", "text"), ("value", "type"))
    for index, entity in enumerate(entities):
        non_empty_string(f"{name}[{index}].customType", entity["customType"])
        non_empty_string(f"{name}[{index}].text", entity["text"])
    return entities


def _channels(name: str, value: Any) -> list[dict[str, Any]]:
    channels = _records(name, value, ("channel", "speaker"))
    for index, channel in enumerate(channels):
        _positive_int(f"{name}[{index}].channel", channel["channel"])
        if not isinstance(channel["speaker"], Mapping) or "name" not in channel["speaker"]:
            raise ProtocolError(
                f"{name}[{index}].speaker must be an object with a name", f"{name}[{index}].speaker"
            )
    return channels


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{name} must be an object (a dict), not {shown(value)}", name)
    return dict(value)


def _features(name: str, value: Any) -> dict[str, Any]:
    features = _object(name, value)
    if set(features) != {"featureList"}:
        raise ProtocolError(
            f'{name} must look like {{"featureList": ["insights", "callScore"]}}',
            name,
        )
    non_empty_strings(f"{name}.featureList", features["featureList"])
    return features


OPTIONS: dict[str, Check] = {
    "name": non_empty_string,
    "webhookUrl": check_url,
    "customVocabulary": non_empty_strings,
    "confidenceThreshold": _number(0.5, 1.0),
    "detectPhrases": boolean,
    "entities": _entities,
    "detectEntities": boolean,
    "languageCode": _language,
    "mode": _choice("phone", "default"),
    "enableSeparateRecognitionPerChannel": boolean,
    "channelMetadata": _channels,
    "trackers": _trackers,
    "enableAllTrackers": boolean,
    "enableSummary": boolean,
    "enableSpeakerDiarization": boolean,
    "diarizationSpeakerCount": _positive_int,
    "features": _features,
    "metadata": _object,
}

#: Options of the file endpoints (audio and video, new and append), sent in the query.
MEDIA_OPTIONS = frozenset(OPTIONS)
#: Options of the URL endpoints, sent in the JSON body next to ``url``.
URL_OPTIONS = MEDIA_OPTIONS
#: The two URL-endpoint options that travel in the query string.
URL_QUERY_OPTIONS = frozenset({"enableSpeakerDiarization", "diarizationSpeakerCount"})
#: Options of the text endpoints, sent in the JSON body next to ``messages``.
TEXT_OPTIONS = frozenset(
    {
        "name",
        "webhookUrl",
        "confidenceThreshold",
        "detectPhrases",
        "entities",
        "detectEntities",
        "trackers",
        "enableAllTrackers",
        "enableSummary",
        "features",
        "metadata",
    }
)

_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})"
)


def normalize(parameters: Mapping[str, Any], allowed: frozenset[str], where: str) -> dict[str, Any]:
    """Check options and return them under their wire names, with Python-typed values.

    Args:
        parameters: the options as given (camelCase or snake_case names).
        allowed: the option names this endpoint takes.
        where: what the options belong to, for messages (e.g. "Audio.process_file parameters").

    Raises:
        ProtocolError: not a mapping, an unknown or repeated option, or a bad value.
    """
    if not isinstance(parameters, Mapping):
        raise ProtocolError(f"{where} must be a dict, not {type(parameters).__name__}", where)
    result: dict[str, Any] = {}
    for given, value in parameters.items():
        if not isinstance(given, str):
            raise ProtocolError(f"{where} has a non-string key {shown(given)}", where)
        name = camel_case(given)
        if name not in allowed:
            raise ProtocolError(
                f"{where} has an unknown option {given!r}; this endpoint takes: "
                + ", ".join(sorted(allowed)),
                given,
            )
        if name in result:
            raise ProtocolError(f"{where} gives {name!r} twice (camelCase and snake_case)", name)
        result[name] = OPTIONS[name](name, value)
        # What travels as JSON text (in a query) or in a JSON body must be JSON.
        check_json(result[name], name)
    if "channelMetadata" in result and not result.get("enableSeparateRecognitionPerChannel"):
        raise ProtocolError(
            f"{where}: channelMetadata needs enableSeparateRecognitionPerChannel=True",
            "channelMetadata",
        )
    return result


def parse_timestamp(value: Any, name: str) -> datetime:
    """Parse an ISO-8601 timestamp such as ``2020-07-21T16:02:19.01Z`` (timezone required).

    Python's own parser before 3.11 rejects fractions other than 3 or 6 digits, which the
    service's samples use, hence this one.
    """
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ProtocolError(
            f"{name} must be an ISO-8601 time with a timezone, like 2020-07-21T16:02:19.010Z; "
            f"got {shown(value)}",
            name,
        )
    date, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    micro = (fraction or "")[1:7].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micro}{offset[:3]}:{offset[-2:]}")
    except ValueError as exc:
        raise ProtocolError(f"{name} is not a real time: {shown(value)}", name) from exc


def query_value(value: Any) -> str:
    """The query-string form of an option value: true/false, decimal, or compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def to_query(options: Mapping[str, Any]) -> dict[str, str]:
    """Every option in its query-string form."""
    return {name: query_value(value) for name, value in options.items()}
