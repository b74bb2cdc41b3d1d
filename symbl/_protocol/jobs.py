"""The Async API on the wire (PROTOCOL.md §2, §3): submission paths, text payloads, job status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .checks import check_json, field, key_names
from .errors import ProtocolError
from .options import parse_timestamp, to_query
from .request import Request, segment

MEDIA_KINDS = ("audio", "video")
JOB_STATUSES = ("scheduled", "in_progress", "completed", "failed")
#: How many async jobs in progress, and streaming connections, an account may have at once
#: (PROTOCOL.md §7): a paid plan's limit, and a trial's. One more is refused with 429.
PAID_PLAN_CONCURRENCY = 50
TRIAL_CONCURRENCY = 2
#: The service's message with that 429 for a job (the documentation's wording).
JOB_LIMIT_REACHED = (
    "Maximum number of concurrent jobs reached. Please wait for some requests to complete."
)
MESSAGE_FIELDS = frozenset({"payload", "from", "duration"})
DURATION_FIELDS = frozenset({"startTime", "endTime"})


#: Where jobs are submitted, by kind (``audio``, ``video``, ``text``); the URL forms add
#: :data:`URL_SUFFIX`, and an append adds ``/{conversation_id}`` (:data:`APPEND_SUFFIX`).
PROCESS_PATH = "/v1/process/{kind}"
URL_SUFFIX = "/url"
APPEND_SUFFIX = "/{conversation_id}"
JOB_PATH = "/v1/job/{job_id}"


def submission_path(kind: str, *, url: bool = False, conversation_id: str | None = None) -> str:
    """Where a job is submitted: ``/v1/process/{audio|video|text}[/url][/{conversationId}]``
    (with a conversation id, the request appends to that conversation)."""
    path = PROCESS_PATH.format(kind=kind) + (URL_SUFFIX if url else "")
    if conversation_id is None:
        return path
    return path + APPEND_SUFFIX.format(conversation_id=segment(conversation_id))


def job_path(job_id: str) -> str:
    """Where a job's status is read."""
    return JOB_PATH.format(job_id=segment(job_id))


def file_submission(
    kind: str,
    options: Mapping[str, Any],
    content_type: str | None,
    conversation_id: str | None = None,
) -> Request:
    """A recording uploaded as the body (§2.1): checked ``options`` go in the query. With a
    conversation id it is appended to that conversation. It creates a job, so it is never
    sent twice where the service may have acted on it."""
    headers = {"Content-Type": content_type} if content_type else {}
    path = submission_path(kind, conversation_id=conversation_id)
    return Request(
        "POST" if conversation_id is None else "PUT",
        path,
        query=to_query(options),
        headers=headers,
        idempotent=False,
    )


def url_submission(
    kind: str,
    url: str,
    body_options: Mapping[str, Any],
    query_options: Mapping[str, Any],
    conversation_id: str | None = None,
) -> Request:
    """A recording the service downloads (§2.1): the URL and checked options in the JSON body,
    the few query-string options (diarization, §2.2) in the query."""
    path = submission_path(kind, url=True, conversation_id=conversation_id)
    return Request(
        "POST" if conversation_id is None else "PUT",
        path,
        query=to_query(query_options),
        json={"url": url, **body_options},
        idempotent=False,
    )


def text_submission(
    messages: Any, options: Mapping[str, Any], conversation_id: str | None = None
) -> Request:
    """A text conversation (§2.4): checked options and the checked messages in the body.

    Raises:
        ProtocolError: a message that breaks §2.4.
    """
    body = {**options, "messages": check_messages(messages)}
    path = submission_path("text", conversation_id=conversation_id)
    return Request("POST" if conversation_id is None else "PUT", path, json=body, idempotent=False)


def job_status(job_id: str) -> Request:
    """``GET /v1/job/{jobId}`` (§3)."""
    return Request("GET", job_path(job_id))


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
        raise ProtocolError(
            f"{where} takes payload, from, duration; not {key_names(unknown)}", where
        )
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
    check_json(message, where)
    return dict(message)
