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
import re
from collections.abc import Mapping
from typing import Any, Callable

from symbl._protocol import conversations as wire
from symbl._transport.http import HttpClient
from symbl._transport.settings import ClientSettings
from symbl.errors import InvalidArgumentError

from .base import (
    EMPTY,
    CredentialsArgument,
    Resource,
    checked_arguments,
    mapping,
    path_id,
    wait_seconds,
)
from .polling import Job

# The docstring lines of the two arguments a Conversation fills in itself.
_ARGUMENT_LINE = re.compile(r"\n *(conversation_id|credentials): [^\n]*")


class Conversations(Resource):
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
                (booleans); ``customTopicVocabulary`` (a list of strings).
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


#: The Conversation API methods, on :class:`Conversations` and :class:`Conversation` alike.
API_METHODS = tuple(
    name for name in vars(Conversations) if name.startswith(("get_", "put_", "delete_"))
)
