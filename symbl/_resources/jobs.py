"""The Async API (PROTOCOL.md §2): submit recorded audio, video or text as a job.

``symbl.Audio``, ``symbl.Video`` and ``symbl.Text`` submit a file, a URL or a text payload and
return a :class:`~symbl.conversations.Conversation`. With ``wait=True`` (the default) the call
returns once the job has completed; with ``wait=False`` it returns right after submission and a
background thread follows the job, firing ``on_complete`` / ``on_error`` callbacks.

Files are streamed from disk (a 1 GB recording is never held in memory), their Content-Type is
detected from the file when not given, and every option is checked before anything is sent.

Example:
    >>> import symbl
    >>> conversation = symbl.Audio.process_file(file_path="meeting.wav")
    >>> print(conversation.get_messages())
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Callable, Union

from symbl._arguments import aliases, checked_flag
from symbl._protocol import jobs
from symbl._protocol.checks import shown
from symbl._protocol.options import (
    MEDIA_OPTIONS,
    TEXT_OPTIONS,
    URL_OPTIONS,
    URL_QUERY_OPTIONS,
    check_url,
    normalize,
)
from symbl._protocol.request import Request
from symbl._transport.http import HttpClient
from symbl.errors import InvalidArgumentError, SymblError

from .base import EMPTY, CredentialsArgument, Resource, answered_id, checked_arguments, path_id
from .conversations import Conversation

logger = logging.getLogger("symbl")

FilePath = Union[str, "os.PathLike[str]"]
Payload = Union[Mapping[str, Any], str]
Progress = Callable[[int, int], object]

# Leading bytes of the formats whose Content-Type the service names (PROTOCOL.md §2.1).
_SNIFF_LENGTH = 12


class Jobs(Resource):
    """What submitting any job ends with: sending it, then a conversation that follows it.

    The checks and the request come from the public methods of the subclasses; this is the only
    I/O, so the asyncio client's resources override just these two methods.
    """

    def _submitted(
        self,
        client: HttpClient,
        request: Request,
        wait: bool,
        upload: Path | None = None,
        progress: Progress | None = None,
    ) -> Conversation:
        conversation = Conversation(
            *job_ids(self._send(client, request, upload, progress)), client=client
        )
        if wait:
            conversation.wait()
        else:
            conversation._poll_in_background()
        return conversation

    @staticmethod
    def _send(
        client: HttpClient,
        request: Request,
        upload: Path | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """Send a job-creating request (the file streamed from disk as its body) and return
        the service's answer."""
        if upload is None:
            return client.send(request)
        with upload.open("rb") as file:
            body = file if progress is None else _CountingReader(file, progress)
            return client.send(request, body=body)


class _MediaJobs(Jobs):
    """Files and URLs of one media kind; :class:`Audio` and :class:`Video` set the kind."""

    media = ""
    content_types: tuple[str, ...] = ()
    default_content_type: str | None = None

    def process_file(
        self,
        file_path: FilePath,
        credentials: CredentialsArgument = None,
        content_type: str | None = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
        *,
        progress: Progress | None = None,
    ) -> Conversation:
        """Submit a recording from disk as a new conversation.

        Args:
            file_path: the file to upload (streamed, never read whole).
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            content_type: the file's type; detected from the file when omitted.
            wait: return only once the job completed (True) or right away (False).
            parameters: options such as ``{'name': 'Sales call', 'detectEntities': True}``
                (camelCase or snake_case); they travel in the query string.
            progress: called as ``progress(bytes_sent, total_bytes)`` while uploading.

        Returns:
            The conversation; ``get_messages()`` and friends read its results.

        Raises:
            InvalidArgumentError: bad file, content type or option (nothing was sent).
            JobFailedError: ``wait=True`` and the service could not process the file.
        """
        return self._upload(None, file_path, credentials, content_type, wait, parameters, progress)

    @aliases(conversationId="conversation_id")
    def append_file(
        self,
        file_path: FilePath,
        conversation_id: str,
        credentials: CredentialsArgument = None,
        content_type: str | None = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
        *,
        progress: Progress | None = None,
    ) -> Conversation:
        """Add a recording from disk to an existing conversation.

        Arguments as :meth:`process_file`, plus ``conversation_id`` (or ``conversationId``),
        the conversation to extend.
        """
        conversation = path_id(conversation_id, "conversation_id")
        return self._upload(
            conversation, file_path, credentials, content_type, wait, parameters, progress
        )

    @aliases(url="payload")
    def process_url(
        self,
        payload: Payload,
        credentials: CredentialsArgument = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Conversation:
        """Submit a recording the service downloads from a URL, as a new conversation.

        Args:
            payload: ``{'url': 'https://...'}`` plus any options (a bare URL string works too,
                and ``url=`` for ``payload=``). The URL must be directly downloadable (no
                redirects or sharing pages).
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            wait: return only once the job completed (True) or right away (False).
            parameters: more options; merged into the request body (the two diarization
                options travel in the query string, as the service expects).
        """
        return self._submit_url(None, payload, credentials, wait, parameters)

    @aliases(url="payload", conversationId="conversation_id")
    def append_url(
        self,
        payload: Payload,
        conversation_id: str,
        credentials: CredentialsArgument = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Conversation:
        """Add a recording from a URL to an existing conversation.

        Arguments as :meth:`process_url`, plus ``conversation_id`` (or ``conversationId``),
        the conversation to extend.
        """
        conversation = path_id(conversation_id, "conversation_id")
        return self._submit_url(conversation, payload, credentials, wait, parameters)

    def _upload(
        self,
        conversation_id: str | None,
        file_path: FilePath,
        credentials: CredentialsArgument,
        content_type: str | None,
        wait: bool,
        parameters: Mapping[str, Any],
        progress: Progress | None,
    ) -> Conversation:
        where = f"{self._documented_name}.{'append_file' if conversation_id else 'process_file'}"
        path = _readable_file(file_path)
        chosen = self._content_type(content_type, path)
        with checked_arguments():
            options = normalize(parameters, MEDIA_OPTIONS, f"{where} parameters")
        request = jobs.file_submission(self.media, options, chosen, conversation_id)
        checked_flag("wait", wait)
        if progress is not None and not callable(progress):
            raise InvalidArgumentError(
                f"progress must be a function called as progress(bytes_sent, total), not "
                f"{shown(progress)}"
            )
        return self._submitted(self._client_for(credentials), request, wait, path, progress)

    def _submit_url(
        self,
        conversation_id: str | None,
        payload: Payload,
        credentials: CredentialsArgument,
        wait: bool,
        parameters: Mapping[str, Any],
    ) -> Conversation:
        where = f"{self._documented_name}.{'append_url' if conversation_id else 'process_url'}"
        if isinstance(payload, str):
            payload = {"url": payload}
        if not isinstance(payload, Mapping) or "url" not in payload:
            raise InvalidArgumentError(f"{where} payload must be {{'url': 'https://...'}}")
        fields = dict(payload)
        with checked_arguments():
            url = check_url(f"{where} payload['url']", fields.pop("url"))
            body = normalize(fields, URL_OPTIONS, f"{where} payload")
            extra = normalize(parameters, URL_OPTIONS, f"{where} parameters")
        # In the caller's order (a set's order would change from run to run).
        query = {name: value for name, value in extra.items() if name in URL_QUERY_OPTIONS}
        for name in query:
            del extra[name]
        _merge(body, extra, where)
        request = jobs.url_submission(self.media, url, body, query, conversation_id)
        checked_flag("wait", wait)
        return self._submitted(self._client_for(credentials), request, wait)

    def _content_type(self, given: str | None, path: Path) -> str | None:
        if given is None or given == "":
            return self.default_content_type or _sniff_audio(path)
        if given not in self.content_types:
            raise InvalidArgumentError(
                f"content_type {shown(given)} is not accepted for {self.media} files; use one of "
                f"{', '.join(self.content_types)}, or leave it out to detect it from the file"
            )
        return given


class Audio(_MediaJobs):
    """Audio recordings: files (wav, mp3, flac, ogg, m4a, ...) or URLs (``symbl.Audio``)."""

    media = "audio"
    content_types = ("audio/wav", "audio/wave", "audio/mpeg", "audio/mp3")


class Video(_MediaJobs):
    """Video recordings (mp4): files or URLs (``symbl.Video``). Content type ``video/mp4``."""

    media = "video"
    content_types = ("video/mp4",)
    default_content_type = "video/mp4"


class Text(Jobs):
    """Text conversations: chat logs, emails, transcripts (``symbl.Text``)."""

    def process(
        self,
        payload: Mapping[str, Any],
        credentials: CredentialsArgument = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
        *,
        content_type: str = "application/json",
    ) -> Conversation:
        """Submit a text conversation.

        Args:
            payload: ``{'messages': [{'payload': {'content': '...'}, 'from': {'name': ...,
                'userId': ...}, 'duration': {'startTime': ..., 'endTime': ...}}, ...]}`` plus
                any options (``name``, ``detectPhrases``, ``trackers``, ...).
            credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
            wait: return only once the job completed (True) or right away (False).
            parameters: more options, merged into the body.
            content_type: must be ``application/json`` (keyword only: the positions of the
                others are the old client's).

        Example:
            >>> conversation = symbl.Text.process(payload={"messages": [
            ...     {"payload": {"content": "Can we meet tomorrow?"}, "from": {"name": "Ann"}}]})
        """
        return self._submit(None, payload, credentials, content_type, wait, parameters)

    @aliases(conversationId="conversation_id")
    def append(
        self,
        payload: Mapping[str, Any],
        conversation_id: str,
        credentials: CredentialsArgument = None,
        wait: bool = True,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Conversation:
        """Add messages to the conversation ``conversation_id`` (or ``conversationId``);
        the other arguments as :meth:`process`."""
        conversation = path_id(conversation_id, "conversation_id")
        return self._submit(
            conversation, payload, credentials, "application/json", wait, parameters
        )

    def _submit(
        self,
        conversation_id: str | None,
        payload: Mapping[str, Any],
        credentials: CredentialsArgument,
        content_type: str,
        wait: bool,
        parameters: Mapping[str, Any],
    ) -> Conversation:
        where = f"Text.{'append' if conversation_id else 'process'}"
        if content_type != "application/json":
            raise InvalidArgumentError(f"{where} content_type must be 'application/json'")
        if not isinstance(payload, Mapping) or "messages" not in payload:
            raise InvalidArgumentError(
                f"{where} payload must be a dict with 'messages': "
                "{'messages': [{'payload': {'content': 'Hello'}}]}"
            )
        fields = dict(payload)
        messages = fields.pop("messages")
        with checked_arguments():
            body = normalize(fields, TEXT_OPTIONS, f"{where} payload")
            extra = normalize(parameters, TEXT_OPTIONS, f"{where} parameters")
            _merge(body, extra, where)
            request = jobs.text_submission(messages, body, conversation_id)
        checked_flag("wait", wait)
        return self._submitted(self._client_for(credentials), request, wait)


def _readable_file(file_path: Any) -> Path:
    given = os.fspath(file_path) if isinstance(file_path, os.PathLike) else file_path
    if not isinstance(given, str) or not given:
        raise InvalidArgumentError(f"file_path must be a path to a file, not {shown(file_path)}")
    path = Path(given)
    if not path.exists():
        raise InvalidArgumentError(f"file_path {str(path)!r} does not exist")
    if not path.is_file():
        raise InvalidArgumentError(f"file_path {str(path)!r} is not a regular file")
    if not os.access(path, os.R_OK):
        raise InvalidArgumentError(
            f"file_path {str(path)!r} is not readable (check its permissions)"
        )
    if path.stat().st_size == 0:
        raise InvalidArgumentError(f"file_path {str(path)!r} is empty")
    return path


class _CountingReader:
    """A file being uploaded, reporting ``progress(bytes_sent, total)`` as it is read.

    It offers what the HTTP stack looks at (``read``, ``seek``, ``tell``, ``__len__``), so the
    upload still streams with a Content-Length and can still be rewound for a retry.
    """

    def __init__(self, file: IO[bytes], progress: Progress) -> None:
        self._file = file
        self._progress = progress
        self._total = os.fstat(file.fileno()).st_size

    def __len__(self) -> int:
        return self._total

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._progress(self._file.tell(), self._total)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True


def _sniff_audio(path: Path) -> str | None:
    """The Content-Type of a WAV or MP3 file; None for other formats, which the service
    detects itself when no Content-Type is sent."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_LENGTH)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def _merge(body: dict[str, Any], extra: Mapping[str, Any], where: str) -> None:
    """Merge ``parameters`` into a body; the same option with two values is an error, so
    nothing the caller gave is dropped silently."""
    for name, value in extra.items():
        if name in body and body[name] != value:
            raise InvalidArgumentError(
                f"{where}: {name!r} is given in both payload and parameters, with different values"
            )
        body[name] = value


def job_ids(answer: Any) -> tuple[str, str]:
    """The conversation id and job id in the service's answer to a submission."""
    if not isinstance(answer, dict) or "conversationId" not in answer or "jobId" not in answer:
        raise SymblError(f"the service accepted the job but answered without ids: {shown(answer)}")
    conversation_id = answered_id(answer["conversationId"], "conversationId")
    job_id = answered_id(answer["jobId"], "jobId")
    logger.info("job %s started for conversation %s", job_id, conversation_id)
    return conversation_id, job_id
