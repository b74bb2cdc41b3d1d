"""What one input of a :class:`~symbl.Batch` goes through, wherever it runs (in this process
or on a Dask worker): the checks when it is added, its submission, what a failed submission
means, and its result as the journal records it."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, Union, cast

from symbl import errors
from symbl._transport.http import HttpClient
from symbl._transport.settings import SETTINGS
from symbl.errors import SymblError

from .conversations import Conversation
from .jobs import Audio, Jobs, Text, Video, job_ids
from .journal import Journal, Row

logger = logging.getLogger("symbl")

_MEDIA = {"audio": Audio, "video": Video, "text": Text}


@dataclass(frozen=True)
class BatchResult:
    """What became of one input.

    Attributes:
        id: the input's number in the journal, unique in it (for
            :meth:`Batch.retry_uncertain`, and to tell apart inputs of the same name).
        input: the file path, the URL, or the text payload's name (``text <hash>`` without one).
        kind: ``file``, ``url`` or ``text``.
        media: ``audio``, ``video`` or ``text``.
        status: ``completed``, ``failed``, or ``uncertain`` (a run stopped while submitting
            it: it may have reached the service; see :meth:`Batch.retry_uncertain`);
            ``in_progress`` from :meth:`Batch.in_progress`, or from :meth:`Batch.run` for a
            job still running ``job_timeout`` after the run began following it (its error a
            :class:`~symbl.WaitTimeoutError`; the next run follows it again).
        conversation_id: the conversation, once submitted.
        job_id: the async job, once submitted.
        error: why it failed or is uncertain (a :class:`~symbl.SymblError`), else None.
    """

    id: int
    input: str
    kind: str
    media: str
    status: str
    conversation_id: str | None
    job_id: str | None
    error: SymblError | None

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data: the error as its type name and message."""
        return {
            "id": self.id,
            "input": self.input,
            "kind": self.kind,
            "media": self.media,
            "status": self.status,
            "conversation_id": self.conversation_id,
            "job_id": self.job_id,
            "error_type": type(self.error).__name__ if self.error is not None else None,
            "error": message_of(self.error) if self.error is not None else None,
        }


# -- submitting: the checks and requests of symbl.Audio, symbl.Video and symbl.Text --------


class _NotSentError(Exception):
    """Where a checking resource would have sent its request."""


class Checking(Jobs):
    """Runs every check of a submission, and sends nothing."""

    def _submitted(self, *args: Any, **kwargs: Any) -> Conversation:
        raise _NotSentError


class Unfollowed(Jobs):
    """Submits and returns the conversation, without waiting for it or following it: the
    batch polls its jobs itself."""

    def _submitted(
        self,
        client: HttpClient,
        request: Any,
        wait: bool,
        upload: Path | None = None,
        progress: Any = None,
    ) -> Conversation:
        return Conversation(*job_ids(self._send(client, request, upload, progress)), client=client)


@cache
def _resource_class(media: str, mode: str) -> type[Any]:
    base, kind = _MEDIA[media], _MODES[mode]
    return type(f"{kind.__name__}{base.__name__}", (kind, base), {})


def resource(media: str, mode: str, client: HttpClient) -> Any:
    """``symbl.Audio``, ``symbl.Video`` or ``symbl.Text`` (by ``media``) bound to ``client``,
    that only checks (``mode`` "checking") or submits without following ("unfollowed")."""
    return _resource_class(media, mode)(client)


_MODES: dict[str, type[Jobs]] = {"checking": Checking, "unfollowed": Unfollowed}


def checked(submission: Callable[[], object]) -> None:
    """Run a submission through a checking resource: its checks raise, nothing is sent."""
    try:
        submission()
    except _NotSentError:
        return


def submit(client: HttpClient, row: Row) -> Conversation:
    """Submit one journal row; the conversation that follows its job, not yet polled."""
    jobs = resource(row.media, "unfollowed", client)
    if row.kind == "file":
        conversation = jobs.process_file(row.source, parameters=row.parameters, wait=False)
    elif row.kind == "url":
        payload = {"url": row.source}
        conversation = jobs.process_url(payload=payload, parameters=row.parameters, wait=False)
    else:
        payload = json.loads(row.source)
        conversation = jobs.process(payload=payload, parameters=row.parameters, wait=False)
    return cast(Conversation, conversation)


#: A submission's outcome: the conversation, or what to do with the input and why.
Submission = Union[Conversation, tuple[str, SymblError]]


def submitted(client: HttpClient, journal: Journal, row: Row) -> Submission:
    """Submit one journal row, whatever goes wrong with it: the conversation, or the verdict
    of :func:`after_refusal` and the typed error.

    A file that changed since it was added is not sent (``failed``); one that cannot be read
    while it is sent is ``failed`` too (the request was cut short: the service cannot have
    acted on it). Anything else that goes wrong leaves the input ``uncertain``, logged with its
    traceback.
    """
    try:
        if row.kind == "file":
            check_unchanged(journal, row)
        return submit(client, row)
    except SymblError as error:
        return after_refusal(error), error
    except OSError as exc:
        return "failed", errors.InvalidArgumentError(
            f"could not read {row.label} while sending it ({exc}); check that the file is still "
            "there and readable, then add it again"
        )
    except Exception as exc:
        logger.exception("submitting %s failed unexpectedly", row.label)
        return "uncertain", SymblError(
            f"submitting it failed unexpectedly ({type(exc).__name__}: {exc}); it may have "
            "reached the service"
        )


def submitting_client(client: HttpClient) -> HttpClient:
    """A client like ``client`` that does not send a submission again itself: a batch sends
    again what the service refused for the account's limit (429) or while unavailable (503),
    after lowering its own limit or waiting, and a client's own retries would upload the whole
    file again at once, unseen by the batch."""
    settings = {name: getattr(client, name) for name in SETTINGS}
    settings["max_retries"] = 0
    return type(client)(client.credentials, base_url=client.base_url, **settings)


# -- files ---------------------------------------------------------------------------------------

_HASH_BLOCK = 1 << 20


def content_hash(journal: Journal, path: Path) -> str:
    """The file's SHA-256, from the journal when the file has not changed since it was last
    hashed (same size and modification time).

    Raises:
        OSError: the file cannot be read.
    """
    where = str(path.resolve())
    stat = path.stat()
    known = journal.known_hash(where, stat.st_size, stat.st_mtime_ns)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
    journal.remember_hash(where, stat.st_size, stat.st_mtime_ns, digest.hexdigest())
    return digest.hexdigest()


def check_unchanged(journal: Journal, row: Row) -> None:
    """Refuse a file whose content is not what it was when it was added (one ``stat`` when it
    has not changed).

    Raises:
        InvalidArgumentError: it changed, or is gone.
        OSError: it cannot be read.
    """
    path = Path(row.source)
    if not path.is_file():
        raise errors.InvalidArgumentError(
            f"{row.label} is no longer there; it was not sent. Put it back, or add it again "
            "at its new path"
        )
    if row.sha256 is not None and content_hash(journal, path) != row.sha256:
        raise errors.InvalidArgumentError(
            f"{row.label} changed since it was added to the batch; it was not sent. Add it "
            "again to submit its new content"
        )


# -- what a failed submission means ------------------------------------------------------------

#: The service refused for now: submit it again later, the input has not failed.
LATER = "later"


def after_refusal(error: SymblError) -> str:
    """What to do with an input whose submission raised ``error``: submit it again ``later``
    (the account is full, the service is unavailable, or it could not be reached: it did not
    act), or record it as ``uncertain`` (no answer came: the service may have acted) or
    ``failed``."""
    if isinstance(error, errors.RateLimitError) or unavailable(error):
        return LATER
    if isinstance(error, (errors.APIConnectionError, errors.InternalServerError)):
        return "uncertain"
    return "failed"


def unavailable(error: SymblError) -> bool:
    """Whether the service answered 503 or could not be reached: it did not act."""
    if isinstance(error, errors.InternalServerError):
        return error.status_code == 503
    return isinstance(error, errors.APIConnectionError) and not error.may_have_acted


def error_fields(error: SymblError) -> dict[str, Any]:
    """How the journal records an error."""
    status = error.status_code if isinstance(error, errors.APIStatusError) else None
    return {"error_type": type(error).__name__, "error": message_of(error), "error_status": status}


def message_of(error: SymblError) -> str:
    """The error's own message (for a status error, what the server said)."""
    return error.message if isinstance(error, errors.APIStatusError) else str(error)


def result_of(row: Row) -> BatchResult:
    """The result of a journal row, its error rebuilt as the type it was."""
    return BatchResult(
        id=row.id,
        input=row.label,
        kind=row.kind,
        media=row.media,
        status=row.status,
        conversation_id=row.conversation_id,
        job_id=row.job_id,
        error=None if row.error_type is None else _restored(row),
    )


def _restored(row: Row) -> SymblError:
    kind = getattr(errors, row.error_type or "", None)
    message = row.error or ""
    if not isinstance(kind, type) or not issubclass(kind, SymblError):
        return SymblError(f"{row.error_type}: {message}")
    if issubclass(kind, errors.APIStatusError):
        return kind(message, status_code=row.error_status or 0)
    if issubclass(kind, errors.JobFailedError):
        return kind(
            message,
            job_id=row.job_id or "",
            conversation_id=row.conversation_id or "",
            status="failed",
        )
    try:
        return kind(message)
    except TypeError:  # an error type that needs more than its message
        return SymblError(f"{row.error_type}: {message}")
