"""The Conversation API (PROTOCOL.md §4): ``symbl.Conversations`` by id, and the
:class:`Conversation` object that async jobs and live connections return.

Every method sends its real request (built by :mod:`symbl._protocol.conversations`) and returns
the service's JSON as :class:`~symbl._models.objects.SymblObject` (attribute or item access);
errors raise typed exceptions, e.g. :class:`~symbl.errors.NotFoundError` for an unknown
conversation. Each endpoint is written once, on :class:`Conversations`; :class:`Conversation`
offers the same methods for its own id.

Example:
    >>> import symbl
    >>> print(symbl.conversations.get_messages(conversation_id))
    >>> conversation = symbl.Conversation(conversation_id)
    >>> conversation.get_topics({"sentiment": True})
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, Union, overload

from symbl._models.exports import check_format, export_messages
from symbl._protocol import conversations as wire
from symbl._protocol.checks import shown
from symbl._transport.http import HttpClient
from symbl._transport.settings import ClientSettings
from symbl.errors import InvalidArgumentError, SymblError

from .answers import listed, shaped
from .base import (
    EMPTY,
    CredentialsArgument,
    Resource,
    checked_arguments,
    mapping,
    path_id,
    wait_seconds,
)
from .bookmarks import BOOKMARK_METHODS, BookmarkMethods
from .listing import TimeArgument, paging
from .polling import Job

# The docstring lines of the two arguments a Conversation fills in itself.
_ARGUMENT_LINE = re.compile(r"\n *(conversation_id|credentials): [^\n]*")
#: The argument names of the Summary UI's wire fields, for error messages.
_SUMMARY_UI_ARGUMENTS = {
    "videoUrl": "video_url",
    "audioUrl": "audio_url",
    "summaryURLExpiresIn": "summary_url_expires_in",
    "readOnly": "read_only",
    "enableCustomDomain": "enable_custom_domain",
}
#: Where ``Conversation.export`` may write.
ExportPath = Union[str, "os.PathLike[str]"]


class Conversations(BookmarkMethods, Resource):
    """The Conversation API by conversation id (``symbl.Conversations``, alias
    ``symbl.conversations``).

    Every method takes ``credentials={'app_id': ..., 'app_secret': ...}`` to use another
    account than the one configured.
    """

    def get_conversation(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """The conversation's metadata: name, type, start and end time, members, metadata."""
        return self._read(conversation_id, "conversation", credentials)

    def get_messages(
        self,
        conversation_id: str,
        credentials: CredentialsArgument = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """The transcript as messages (sentences with speaker and timing).

        Args:
            conversation_id: the conversation.
            credentials: another account's credentials.
            parameters: ``{'verbose': True}`` adds word timings, ``{'sentiment': True}`` adds
                sentiment per message.
        """
        return self._read(conversation_id, "messages", credentials, parameters)

    def get_topics(
        self,
        conversation_id: str,
        credentials: CredentialsArgument = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """The most relevant topics of the conversation.

        Args:
            conversation_id: the conversation.
            credentials: another account's credentials.
            parameters: ``sentiment``, ``parentRefs`` (topic hierarchy) and ``refresh``
                (booleans); ``customTopicVocabulary=True`` applies the ``customVocabulary``
                given at submission. Other flags are sent as given.
        """
        return self._read(conversation_id, "topics", credentials, parameters)

    def get_questions(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Questions asked during the conversation, answered or not."""
        return self._read(conversation_id, "questions", credentials)

    def get_action_items(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """Outcomes that need someone to act, with assignee and due date when stated."""
        return self._read(conversation_id, "action_items", credentials)

    def get_follow_ups(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Action items that are follow-ups: emails, calls, meetings to set up."""
        return self._read(conversation_id, "follow_ups", credentials)

    def get_insights(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Questions, action items and follow-ups together (the legacy insights endpoint)."""
        return self._read(conversation_id, "insights", credentials)

    def get_members(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """The participants: one member per distinct speaker."""
        return self._read(conversation_id, "members", credentials)

    def get_entities(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Entities found: people, dates, numbers, money, custom entities and more."""
        return self._read(conversation_id, "entities", credentials)

    def get_trackers(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Tracker matches, as a list (``GET /trackers-detected``)."""
        return self._read(conversation_id, "trackers", credentials)

    def get_analytics(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """Talk time, listen time, silence, pace and overlap, overall and per member."""
        return self._read(conversation_id, "analytics", credentials)

    def get_summary(
        self,
        conversation_id: str,
        credentials: CredentialsArgument = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """A short summary of the conversation; ``{'refresh': True}`` regenerates it."""
        return self._read(conversation_id, "summary", credentials, parameters)

    def get_call_score(self, conversation_id: str, credentials: CredentialsArgument = None) -> Any:
        """The call score and its criteria (requested with ``features`` at submission)."""
        return self._read(conversation_id, "call_score", credentials)

    def get_call_score_status(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """Whether the call score is ready: ``{'jobId': ..., 'status': ...}``."""
        return self._read(conversation_id, "call_score_status", credentials)

    def get_call_score_insights_url(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """The URL of the insights UI with the call score: ``{'url': ...}``."""
        request = wire.insights_ui(path_id(conversation_id, "conversation_id"))
        return self._client_for(credentials).send(request)

    def put_members(
        self,
        conversation_id: str,
        members_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Update a member's name or email (also for speakers found by diarization).

        Args:
            conversation_id: the conversation.
            members_id: the member to update.
            parameters: ``{'name': ..., 'email': ...}`` (``name`` is required; ``id`` may be
                given but must equal ``members_id``).
            credentials: another account's credentials.
        """
        conversation = path_id(conversation_id, "conversation_id")
        member = path_id(members_id, "members_id")
        with checked_arguments():
            request = wire.member_update(conversation, member, parameters, "put_members parameters")
        return self._client_for(credentials).send(request)

    def put_speakers_events(
        self,
        conversation_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Tell the service who spoke when, after the conversation was processed.

        Args:
            conversation_id: the conversation.
            parameters: ``{'speakerEvents': [{'type': 'started_speaking', 'user': {...},
                'offset': {'seconds': 0, 'nanos': 0}}, ...]}``.
            credentials: another account's credentials.
        """
        conversation = path_id(conversation_id, "conversation_id")
        with checked_arguments():
            where = "put_speakers_events parameters"
            request = wire.speaker_events(conversation, parameters, where)
        return self._client_for(credentials).send(request)

    def delete_conversation(
        self, conversation_id: str, credentials: CredentialsArgument = None
    ) -> Any:
        """Delete the conversation and everything derived from it, for good."""
        request = wire.deletion(path_id(conversation_id, "conversation_id"))
        return self._client_for(credentials).send(request)

    def get_formatted_transcript(
        self,
        conversation_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """The transcript as Markdown or SRT subtitles.

        Args:
            conversation_id: the conversation.
            parameters: ``contentType`` (``text/markdown``, the default, or ``text/srt``),
                ``createParagraphs``, ``showSpeakerSeparation`` and ``phrases``
                (``{'highlightOnlyInsightKeyPhrases': True, 'highlightAllKeyPhrases': True}``).
            credentials: another account's credentials.
        """
        conversation = path_id(conversation_id, "conversation_id")
        with checked_arguments():
            where = "get_formatted_transcript parameters"
            request = wire.formatted_transcript(conversation, parameters, where)
        return self._client_for(credentials).send(request)

    def list(
        self,
        limit: int = 20,
        offset: int = 0,
        filter: str | None = None,
        order: str | None = None,
        sort: str | None = None,
        start_time: TimeArgument = None,
        end_time: TimeArgument = None,
        credentials: CredentialsArgument = None,
        *,
        startTime: TimeArgument = None,  # noqa: N803 (the documented wire spelling)
        endTime: TimeArgument = None,  # noqa: N803
    ) -> Iterator[Any]:
        """The account's conversations, oldest first by default, fetched a page at a time as
        you iterate (``GET /v1/conversations``).

        Each item is the conversation's metadata (``id``, ``type``, ``name``, ``startTime``,
        ``endTime``, ``members``, ``metadata``); ``symbl.Conversation(item.id)`` reads the rest.
        Nothing is sent until the first item is asked for, and the next page only once the
        items before it are used up; the iteration ends after the first page shorter than
        ``limit``. Without ``filter``, the service lists only the last 7 days unless
        ``start_time`` says otherwise.

        Args:
            limit: the page size, 0 to 65536 (how many conversations each request asks for,
                not a cap on the total: stop iterating, or use ``itertools.islice``, for that).
            offset: how many conversations to skip first.
            filter: RSQL, e.g. ``"conversation.metadata.agentId==johndoe"``; comparisons joined
                by ``;`` or `` and `` (no OR), on at most 2 fields.
            order: ``"asc"`` or ``"desc"`` (by start time, or by ``sort``).
            sort: the field to sort by, e.g. ``"conversation.name"``.
            start_time: conversations that started at or after this time: a timezone-aware
                ``datetime`` or ISO-8601 text (also spelt ``startTime``).
            end_time: conversations that started before this time (also spelt ``endTime``).
            credentials: another account's credentials.

        Raises:
            InvalidArgumentError: a bad argument (nothing was sent).

        Example:
            >>> for conversation in symbl.Conversations.list(filter="conversation.type==meeting"):
            ...     print(conversation.id, conversation.name)
        """
        times = (start_time, end_time, {"startTime": startTime, "endTime": endTime})
        plan = paging(wire.CONVERSATIONS_PATH, limit, offset, filter, order, sort, *times)
        return listed(self._client_for(credentials), plan)

    def update_conversation(
        self,
        conversation_id: str,
        metadata: Mapping[str, str] | None = None,
        name: str | None = None,
        credentials: CredentialsArgument = None,
    ) -> Any:
        """Set the conversation's metadata (replacing what it had) and/or its name; sends
        only what is given.

        Args:
            conversation_id: the conversation.
            metadata: string keys and values (each value at most 128 characters), e.g.
                ``{'agentId': 'johndoe'}``; groups and ``list(filter=...)`` select on them.
            name: a new name.
            credentials: another account's credentials.

        Returns:
            The conversation's id and its metadata (and name, when given).
        """
        conversation = path_id(conversation_id, "conversation_id")
        with checked_arguments():
            request = wire.conversation_update(conversation, metadata, name)
        return self._client_for(credentials).send(request)

    def create_summary_ui(
        self,
        conversation_id: str,
        name: str = "verbose-text-summary",
        video_url: str | None = None,
        audio_url: str | None = None,
        credentials: CredentialsArgument = None,
        *,
        logo: str | None = None,
        favicon: str | None = None,
        color: Mapping[str, str] | None = None,
        font: Mapping[str, str] | None = None,
        summary_url_expires_in: int | None = None,
        read_only: bool | None = None,
        enable_custom_domain: bool | None = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> str:
        """A link to a Summary UI of the conversation, to share (``POST …/experiences``).

        Args:
            conversation_id: the conversation.
            name: ``"verbose-text-summary"`` (the text summary), ``"video-summary"`` (needs
                ``video_url``) or ``"audio-summary"`` (trackers and analytics; needs
                ``audio_url``).
            video_url: the conversation's video, for ``video-summary``.
            audio_url: the audio URL the conversation was submitted with, for
                ``audio-summary``.
            credentials: another account's credentials.
            logo: a public URL of your logo.
            favicon: a public URL of your favicon.
            color: hex colors: ``{'background': '#0A2136', 'topicsFilter': ...,
                'insightsFilter': ...}``.
            font: ``{'family': 'roboto'}`` (a Google Fonts name).
            summary_url_expires_in: seconds the link lives; 0 = never (service default 30
                days).
            read_only: whether viewers cannot edit the summary.
            enable_custom_domain: whether the link uses your custom domain (not for
                ``audio-summary``).
            parameters: further options, sent as given under their wire names.

        Returns:
            The URL of the Summary UI.
        """
        conversation = path_id(conversation_id, "conversation_id")
        given = {
            "name": name,
            "videoUrl": video_url,
            "audioUrl": audio_url,
            "logo": logo,
            "favicon": favicon,
            "color": color,
            "font": font,
            "summaryURLExpiresIn": summary_url_expires_in,
            "readOnly": read_only,
            "enableCustomDomain": enable_custom_domain,
        }
        body = {key: value for key, value in given.items() if value is not None}
        extra = mapping(parameters, "create_summary_ui parameters")
        twice = sorted(str(key) for key in extra if key in body)
        if twice:
            raise InvalidArgumentError(
                f"{', '.join(twice)} given both as an argument and in parameters"
            )
        with checked_arguments(_SUMMARY_UI_ARGUMENTS):
            request = wire.summary_ui(conversation, {**body, **extra})
        return shaped(self._client_for(credentials).send(request), _summary_url)

    def _read(
        self,
        conversation_id: str,
        name: str,
        credentials: CredentialsArgument,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        conversation = path_id(conversation_id, "conversation_id")
        where = f"get_{name} parameters"
        with checked_arguments():
            request = wire.reading(conversation, name, mapping(parameters, where), where)
        return self._client_for(credentials).send(request)


def _summary_url(answer: Any) -> str:
    url = answer.get("url") if isinstance(answer, Mapping) else None
    if not isinstance(url, str) or not url:
        raise SymblError(f"the service answered without a Summary UI url: {shown(answer)}")
    return url


def export_target(path: Any) -> Path | None:
    """The file ``Conversation.export`` is to write, checked before anything is sent."""
    if path is None:
        return None
    given = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(given, str) or not given:
        raise InvalidArgumentError(f"path must be the path of a file, not {shown(path)}")
    target = Path(given)
    if target.is_dir():
        raise InvalidArgumentError(f"path {given!r} is a folder; name a file in it")
    if not target.parent.is_dir():
        raise InvalidArgumentError(
            f"path {given!r} is in a folder that does not exist ({str(target.parent)!r})"
        )
    if not os.access(target if target.exists() else target.parent, os.W_OK):
        raise InvalidArgumentError(f"path {given!r} cannot be written (check its permissions)")
    return target


def delivered_export(answer: Any, format: str, target: Path | None) -> str | None:
    """The messages of ``answer`` in ``format``: returned, or written to ``target``."""
    text = export_messages(answer.get("messages") or [], format)
    if target is None:
        return text
    # newline="": the file holds exactly the text returned otherwise, "\n" on every system.
    with open(target, "w", encoding="utf-8", newline="") as file:
        file.write(text)
    return None


def _for_this_conversation(method: Callable[..., Any]) -> Callable[..., Any]:
    """``Conversations.<method>`` as a method of :class:`Conversation`: the conversation id is
    its own and its client carries the credentials, so both arguments go, and the others keep
    their names and order (``conversation.get_messages({'verbose': True})``)."""
    name = method.__name__
    kept = [
        parameter
        for parameter in inspect.signature(method).parameters.values()
        if parameter.name not in ("self", "conversation_id", "credentials")
    ]
    names = [parameter.name for parameter in kept]

    def for_this_conversation(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > len(kept):
            raise TypeError(f"{name}() takes {len(kept)} arguments but {len(args)} were given")
        for keyword in kwargs:
            if keyword not in names:
                raise TypeError(f"{name}() got an unexpected keyword argument {keyword!r}")
        return self._call(name, **dict(zip(names, args)), **kwargs)

    for_this_conversation.__name__ = name
    for_this_conversation.__qualname__ = f"Conversation.{name}"
    for_this_conversation.__doc__ = _ARGUMENT_LINE.sub("", method.__doc__ or "")
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    for_this_conversation.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [self_parameter, *kept], return_annotation=Any
    )
    return for_this_conversation


class Conversation:
    """One conversation, and the async job that produced it if there is one.

    Returned by ``symbl.Audio``, ``symbl.Video`` and ``symbl.Text`` calls, and as
    ``connection.conversation`` of live connections. Build one yourself to come back to a
    conversation later, even from another process: ``symbl.Conversation(conversation_id,
    job_id=job_id).wait()``.

    Args:
        conversation_id: the conversation.
        job_id: the async job to follow, if any.
        credentials: the account it belongs to, when not the configured one.
        client: a :class:`~symbl.Client` to use instead.
    """

    _api_class: type[Conversations] = Conversations
    _job_class: type[Job] = Job

    def __init__(
        self,
        conversation_id: str,
        job_id: str | None = None,
        *,
        credentials: CredentialsArgument = None,
        client: HttpClient | None = None,
    ) -> None:
        self._conversation_id = path_id(conversation_id, "conversation_id")
        job = None if job_id is None else path_id(job_id, "job_id")
        if client is not None and not isinstance(client, ClientSettings):
            raise InvalidArgumentError(
                f"client must be a symbl.Client, not {type(client).__name__}"
            )
        self._client = Resource(client)._client_for(credentials)
        self._api = self._api_class(self._client)
        self._job: Job | None = None
        if job is not None:
            self._job = self._job_class(self._client, job, self._conversation_id, self)

    def __repr__(self) -> str:
        kind = type(self).__name__
        if self._job is None:
            return f"<{kind} {self._conversation_id}>"
        status = self._job.status or "not polled yet"
        return f"<{kind} {self._conversation_id} job={self._job.job_id} status={status}>"

    # -- identity and job ------------------------------------------------------------------------

    def get_conversation_id(self) -> str:
        """The conversation id."""
        return self._conversation_id

    def get_job_id(self) -> str | None:
        """The id of the async job behind this object, or None (e.g. for live connections)."""
        return self._job.job_id if self._job is not None else None

    def get_job_status(self) -> str | None:
        """The job's status now: ``scheduled``, ``in_progress``, ``completed`` or ``failed``
        (None when there is no job). Asks the service unless the job has already ended."""
        return self._job.fetch_status() if self._job is not None else None

    def wait(self, timeout: float | None = None) -> Conversation:
        """Block until the job ends; return this conversation (at once when there is no job).

        Args:
            timeout: seconds to wait at most; the client's ``job_timeout`` when None, no limit
                when ``float('inf')``.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
            JobFailedError: the job failed.
            WaitTimeoutError: the job did not end within ``timeout`` seconds; call ``wait``
                again to keep waiting.
        """
        limit = wait_seconds("timeout", timeout)
        if self._job is not None:
            self._job.wait(limit)
        return self

    def on_complete(self, callback: Callable[[Conversation], object]) -> Conversation:
        """Call ``callback(conversation)`` once when the job completes (at once if it has).

        A job nobody follows yet (a Conversation rebuilt from ids) is then followed in the
        background, so the callback fires without a call to :meth:`wait`.
        """
        job = self._require_job("on_complete")
        job.add_callback("complete", callback)
        job.start_polling()
        return self

    def on_error(self, callback: Callable[[Conversation], object]) -> Conversation:
        """Call ``callback(conversation)`` once if the job fails (at once if it has);
        ``conversation.error`` then says why. Starts following the job, as :meth:`on_complete`."""
        job = self._require_job("on_error")
        job.add_callback("error", callback)
        job.start_polling()
        return self

    @property
    def status(self) -> str | None:
        """The last job status seen, without asking the service (None before the first poll,
        or when there is no job). ``get_job_status()`` asks the service."""
        return self._job.status if self._job is not None else None

    @property
    def error(self) -> Exception | None:
        """Why the job ended badly, or None."""
        return self._job.error if self._job is not None else None

    @property
    def client(self) -> HttpClient:
        """The client this conversation uses."""
        return self._client

    @overload
    def export(self, format: str, path: None = None) -> str: ...

    @overload
    def export(self, format: str, path: ExportPath) -> None: ...

    def export(self, format: str, path: ExportPath | None = None) -> str | None:
        """The transcript as a file's text, made here from the messages: SRT or WebVTT
        subtitles, plain text, Markdown or JSON Lines, with speakers and times counted from the
        start of the conversation (docs/exports.md).

        Args:
            format: ``srt``, ``vtt``, ``txt``, ``markdown`` or ``jsonl``.
            path: a file to write the text to (UTF-8); when None the text is returned.

        Returns:
            The text, or None once it is written to ``path``.

        Raises:
            InvalidArgumentError: an unknown format, or a ``path`` that cannot be written,
                before anything is sent.

        Example:
            >>> conversation.export("vtt", "meeting.vtt")
            >>> print(conversation.export("txt"))
        """
        chosen, target = check_format(format), export_target(path)
        return delivered_export(self.get_messages(), chosen, target)

    def _require_job(self, method: str) -> Job:
        if self._job is None:
            raise InvalidArgumentError(
                f"{method} needs a job, and conversation {self._conversation_id} has none; "
                "build it with symbl.Conversation(conversation_id, job_id=...)"
            )
        return self._job

    def _poll_in_background(self) -> None:
        if self._job is not None:
            self._job.start_polling()

    def _call(self, method: str, **arguments: Any) -> Any:
        return getattr(self._api, method)(self._conversation_id, **arguments)

    # -- the Conversation API, for this conversation: each endpoint as Conversations states it ---
    # (API_METHODS lists them for the asyncio client.)

    get_conversation = _for_this_conversation(Conversations.get_conversation)
    get_messages = _for_this_conversation(Conversations.get_messages)
    get_topics = _for_this_conversation(Conversations.get_topics)
    get_questions = _for_this_conversation(Conversations.get_questions)
    get_action_items = _for_this_conversation(Conversations.get_action_items)
    get_follow_ups = _for_this_conversation(Conversations.get_follow_ups)
    get_insights = _for_this_conversation(Conversations.get_insights)
    get_members = _for_this_conversation(Conversations.get_members)
    get_entities = _for_this_conversation(Conversations.get_entities)
    get_trackers = _for_this_conversation(Conversations.get_trackers)
    get_analytics = _for_this_conversation(Conversations.get_analytics)
    get_summary = _for_this_conversation(Conversations.get_summary)
    get_call_score = _for_this_conversation(Conversations.get_call_score)
    get_call_score_status = _for_this_conversation(Conversations.get_call_score_status)
    put_members = _for_this_conversation(Conversations.put_members)
    put_speakers_events = _for_this_conversation(Conversations.put_speakers_events)
    delete_conversation = _for_this_conversation(Conversations.delete_conversation)
    get_formatted_transcript = _for_this_conversation(Conversations.get_formatted_transcript)
    update_conversation = _for_this_conversation(Conversations.update_conversation)
    create_summary_ui = _for_this_conversation(Conversations.create_summary_ui)

    create_bookmark = _for_this_conversation(Conversations.create_bookmark)
    create_bookmarks = _for_this_conversation(Conversations.create_bookmarks)
    get_bookmarks = _for_this_conversation(Conversations.get_bookmarks)
    get_bookmark = _for_this_conversation(Conversations.get_bookmark)
    update_bookmark = _for_this_conversation(Conversations.update_bookmark)
    delete_bookmark = _for_this_conversation(Conversations.delete_bookmark)
    get_bookmark_summary = _for_this_conversation(Conversations.get_bookmark_summary)
    get_bookmarks_summary = _for_this_conversation(Conversations.get_bookmarks_summary)


#: The Conversation API methods, on :class:`Conversations` and :class:`Conversation` alike.
API_METHODS = (
    *(name for name in vars(Conversations) if name.startswith(("get_", "put_", "delete_"))),
    *BOOKMARK_METHODS,
)
