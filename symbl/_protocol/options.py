"""Async API options: their names, types and wire form (PROTOCOL.md §2.2, §11.8).

One table serves the SDK, which checks a caller's ``parameters`` before sending anything, and
the emulator, which checks what arrives: a known option with a value the service would reject
with 400 is rejected here first, with a message naming the option and what it takes.

The service adds options over time, so an option the table does not know is not refused: it
goes out as given (name and value), with a DEBUG line on the ``symbl`` logger naming it.

Known names may be given in camelCase (the wire name) or snake_case; values are Python values
(``True``, lists, dicts). In a query string they become ``true``/``false``, decimal numbers and
compact JSON text; in a JSON body they stay as they are.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timezone
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

#: The range of ``timezoneOffset``, in minutes (UTC-12:00 to UTC+14:00, either sign convention).
MIN_TIMEZONE_OFFSET = -720
MAX_TIMEZONE_OFFSET = 840
CONVERSATION_TYPES = ("sales", "general")
SALES_STAGES = ("qualification", "discovery", "demo", "negotiation", "general")

Check = Callable[[str, Any], Any]
logger = logging.getLogger("symbl")


def passed_through(name: str, where: str) -> None:
    """Say at DEBUG that option ``name`` of ``where`` is not documented there and goes out as
    given. Only the name: the value may be a secret."""
    logger.debug("%s: %r is not documented here; sent as given", where, name)


def is_boolean(value: Any) -> bool:
    """Whether ``value`` is True, False, or the text "true" or "false" in any case."""
    # The service's own samples send "true" as a string, so the string forms count too.
    return isinstance(value, bool) or (
        isinstance(value, str) and value.lower() in ("true", "false")
    )


def boolean(name: str, value: Any) -> bool:
    """Check a boolean option (see :func:`is_boolean`) and return it as a bool."""
    if not is_boolean(value):
        raise ProtocolError(f"{name} must be True or False, not {shown(value)}", name)
    return value if isinstance(value, bool) else value.lower() == "true"


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


def check_timezone_offset(name: str, value: Any) -> int:
    """Check a ``timezoneOffset``: whole minutes from -720 to 840, returned unchanged (its sign
    convention is not settled, so it is never interpreted)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_TIMEZONE_OFFSET <= value <= MAX_TIMEZONE_OFFSET
    ):
        raise ProtocolError(
            f"{name} must be whole minutes from {MIN_TIMEZONE_OFFSET} to {MAX_TIMEZONE_OFFSET} "
            f"(e.g. 330 or -480), not {shown(value)}",
            name,
        )
    return value


def _timezone_offset(name: str, value: Any) -> int:
    # A query string carries the number as decimal text.
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,4}", value):
        value = int(value)
    return check_timezone_offset(name, value)


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


def _metadata(name: str, value: Any) -> dict[str, Any]:
    metadata = _object(name, value)
    if "salesStage" in metadata:
        _choice(*SALES_STAGES)(f"{name}.salesStage", metadata["salesStage"])
    if "prospectName" in metadata:
        non_empty_string(f"{name}.prospectName", metadata["prospectName"])
    return metadata


def _start_time(name: str, value: Any) -> str:
    """An ISO-8601 time as text, sent as given (without a zone it means UTC, as in the service's
    own sample), or a timezone-aware datetime, sent as :func:`utc_text`."""
    if isinstance(value, datetime):
        return utc_text(name, value)
    parse_timestamp(value, name, zone_required=False)
    return str(value)


def utc_text(name: str, value: datetime) -> str:
    """A timezone-aware datetime as the service writes times: UTC, with milliseconds
    (``2021-08-09T18:30:00.000Z``).

    Raises:
        ProtocolError: ``value`` has no timezone (which zone it means is not known).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ProtocolError(
            f"{name} {value!r} has no timezone; give an aware datetime, such as "
            "datetime.now(timezone.utc)",
            name,
        )
    text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


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
    "metadata": _metadata,
    "conversationType": _choice(*CONVERSATION_TYPES),
    "timezoneOffset": _timezone_offset,
    "startTime": _start_time,
}

#: Options documented for the URL endpoints, sent in the JSON body next to ``url``.
URL_OPTIONS = frozenset(OPTIONS)
#: Options documented for the file endpoints (audio and video, new and append), in the query.
MEDIA_OPTIONS = URL_OPTIONS - {"startTime"}
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
        "conversationType",
        "timezoneOffset",
        "startTime",
    }
)

_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?"
)


def normalize(
    parameters: Mapping[str, Any],
    allowed: frozenset[str],
    where: str,
    *,
    received: bool = False,
) -> dict[str, Any]:
    """Check options and return them under their wire names, with Python-typed values.

    Every known option (:data:`OPTIONS`) is checked, wherever it is given. An unknown one is
    kept as given, name and value, once its value is known to be JSON; one whose value is None
    is left out (None means not set). An option outside ``allowed`` is noted at DEBUG on the
    ``symbl`` logger (:func:`passed_through`).

    Args:
        parameters: the options as given (camelCase or snake_case names for known ones).
        allowed: the option names documented for this endpoint.
        where: what the options belong to, for messages (e.g. "Audio.process_file parameters").
        received: the options as the service receives them (the emulator's view): wire names
            only, so a snake_case name is one more unknown option, and nothing is logged.

    Raises:
        ProtocolError: not a mapping, a name that is not a non-empty string, a known option
            given twice or with a bad value, or a value JSON cannot carry.
    """
    if not isinstance(parameters, Mapping):
        raise ProtocolError(f"{where} must be a dict, not {type(parameters).__name__}", where)
    result: dict[str, Any] = {}
    for given, value in parameters.items():
        if not isinstance(given, str) or not given.strip():
            raise ProtocolError(
                f"{where} has an option name that is not a name: {shown(given)}", where
            )
        known = given if received else camel_case(given)
        name = known if known in OPTIONS else given
        if value is None and name not in OPTIONS and not received:
            continue
        if name in result:
            raise ProtocolError(f"{where} gives {name!r} twice (camelCase and snake_case)", name)
        result[name] = OPTIONS[name](name, value) if name in OPTIONS else value
        # What travels as JSON text (in a query) or in a JSON body must be JSON.
        check_json(result[name], name)
        if name not in allowed and not received:
            passed_through(given, where)
    if "channelMetadata" in result and not result.get("enableSeparateRecognitionPerChannel"):
        raise ProtocolError(
            f"{where}: channelMetadata needs enableSeparateRecognitionPerChannel=True",
            "channelMetadata",
        )
    return result


def parse_timestamp(value: Any, name: str, *, zone_required: bool = True) -> datetime:
    """Parse an ISO-8601 timestamp such as ``2020-07-21T16:02:19.01Z``; with ``zone_required``
    false, one without a zone (``2023-04-20T17:26:12``) is read as UTC.

    Python's own parser before 3.11 rejects fractions other than 3 or 6 digits, which the
    service's samples use, hence this one.
    """
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None or (zone_required and match.group(4) is None):
        example = "2020-07-21T16:02:19.010Z" if zone_required else "2023-04-20T17:26:12"
        zone = "with a timezone" if zone_required else "(UTC unless it names a timezone)"
        raise ProtocolError(
            f"{name} must be an ISO-8601 time {zone}, like {example}; got {shown(value)}",
            name,
        )
    date, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in (None, "Z", "z") else zone
    micro = (fraction or "")[1:7].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micro}{offset[:3]}:{offset[-2:]}")
    except ValueError as exc:
        raise ProtocolError(f"{name} is not a real time: {shown(value)}", name) from exc


def query_value(value: Any) -> str:
    """The query-string form of an option value: true/false, null, decimal, or compact JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def to_query(options: Mapping[str, Any]) -> dict[str, str]:
    """Every option in its query-string form."""
    return {name: query_value(value) for name, value in options.items()}
