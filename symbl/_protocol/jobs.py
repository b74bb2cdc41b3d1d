"""The Async API on the wire (PROTOCOL.md §2, §3): submission paths, text payloads, job status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .checks import field
from .errors import ProtocolError
from .options import parse_timestamp

MEDIA_KINDS = ("audio", "video")
JOB_STATUSES = ("scheduled", "in_progress", "completed", "failed")
MESSAGE_FIELDS = frozenset({"payload", "from", "duration"})
DURATION_FIELDS = frozenset({"startTime", "endTime"})


def submission_path(kind: str, *, url: bool = False, conversation_id: str | None = None) -> str:
    """Where a job is submitted: ``/v1/process/{audio|video|text}[/url][/{conversationId}]``
    (with a conversation id, the request appends to that conversation)."""
    path = f"/v1/process/{kind}" + ("/url" if url else "")
    return path if conversation_id is None else f"{path}/{conversation_id}"


def job_path(job_id: str) -> str:
    """Where a job's status is read."""
    return f"/v1/job/{job_id}"


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """Check the ``messages`` of a text payload (§2.4) and return them as dicts.

    Raises:
        ProtocolError: naming the message and field at fault.
    """
    if not isinstance(messages, (list, tuple)) or not messages:
        raise ProtocolError("payload 'messages' must be a non-empty list", "messages")
    return [
        _check_message(message, field("messages", index)) for index, message in enumerate(messages)
    ]


def _check_message(message: Any, where: str) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise ProtocolError(f"{where} must be an object", where)
    unknown = set(message) - MESSAGE_FIELDS
    if unknown:
        raise ProtocolError(f"{where} takes payload, from, duration; not {sorted(unknown)}", where)
    content = message.get("payload")
    if (
        not isinstance(content, Mapping)
        or not isinstance(content.get("content"), str)
        or not content["content"].strip()
    ):
        raise ProtocolError(
            f"{where}.payload must be {{'content': '<non-empty text>'}}", f"{where}.payload"
        )
    if content.get("contentType", "text/plain") != "text/plain":
        raise ProtocolError(
            f"{where}.payload.contentType must be 'text/plain'", f"{where}.payload.contentType"
        )
    speaker = message.get("from", {})
    if not isinstance(speaker, Mapping) or not all(
        isinstance(value, str) for value in speaker.values()
    ):
        raise ProtocolError(
            f"{where}.from must be an object of strings, e.g. {{'name': 'Ann'}}", f"{where}.from"
        )
    duration = message.get("duration")
    if duration is not None:
        if not isinstance(duration, Mapping) or set(duration) - DURATION_FIELDS:
            raise ProtocolError(
                f"{where}.duration takes startTime and endTime", f"{where}.duration"
            )
        times = {
            key: parse_timestamp(value, f"{where}.duration.{key}")
            for key, value in duration.items()
        }
        if len(times) == 2 and times["endTime"] < times["startTime"]:
            raise ProtocolError(f"{where}.duration ends before it starts", f"{where}.duration")
    return dict(message)
