"""The Conversation API (PROTOCOL.md §4): ``symbl.Conversations`` by id, and the
:class:`Conversation` object that async jobs and live connections return.

(The module name is private because the documented alias ``symbl.conversations`` is the
ready-to-use ``Conversations`` instance, and a public module of that name would collide.)

Every method sends its real request and returns the service's JSON as
:class:`~symbl._models.SymblObject` (attribute or item access); errors raise typed exceptions,
e.g. :class:`~symbl.errors.NotFoundError` for an unknown conversation.

Example:
    >>> import symbl
    >>> print(symbl.conversations.get_messages(conversation_id))
    >>> conversation = symbl.Conversation(conversation_id)
    >>> conversation.get_topics({"sentiment": True})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from symbl._protocol.options import boolean, query_value, wire_name
from symbl._transport.http import HttpClient
from symbl.errors import InvalidArgumentError

from .base import EMPTY, Resource, checked_arguments, path_id
from .polling import Job

_MESSAGE_FLAGS = frozenset({"verbose", "sentiment"})
_TOPIC_FLAGS = frozenset({"sentiment", "parentRefs", "refresh"})
_SUMMARY_FLAGS = frozenset({"refresh"})
_TRANSCRIPT_TYPES = ("text/markdown", "text/srt")
_SPEAKER_EVENT_TYPES = ("started_speaking", "stopped_speaking")
Credentials = Optional[Mapping[str, Any]]


class Conversations(Resource):
    """The Conversation API by conversation id (``symbl.Conversations``, alias
    ``symbl.conversations``).

    Every method takes ``credentials={'app_id': ..., 'app_secret': ...}`` to use another
    account than the one configured.
    """

    def get_conversation(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """The conversation's metadata: name, type, start and end time, members, metadata."""
        return self._get(conversation_id, "", credentials)

    def get_messages(
        self,
        conversation_id: str,
        credentials: Credentials = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """The transcript as messages (sentences with speaker and timing).

        Args:
            conversation_id: the conversation.
            credentials: another account's credentials.
            parameters: ``{'verbose': True}`` adds word timings, ``{'sentiment': True}`` adds
                sentiment per message.
        """
        query = _flags(parameters, _MESSAGE_FLAGS, "get_messages parameters")
        return self._get(conversation_id, "/messages", credentials, query)

    def get_topics(
        self,
        conversation_id: str,
        credentials: Credentials = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """The most relevant topics of the conversation.

        Args:
            conversation_id: the conversation.
            credentials: another account's credentials.
            parameters: ``sentiment``, ``parentRefs`` (topic hierarchy) and ``refresh``
                (booleans); ``customTopicVocabulary`` (a list of strings).
        """
        parameters = dict(_mapping(parameters, "get_topics parameters"))
        vocabulary = parameters.pop("customTopicVocabulary", None)
        vocabulary = parameters.pop("custom_topic_vocabulary", vocabulary)
        query = _flags(parameters, _TOPIC_FLAGS, "get_topics parameters")
        if vocabulary is not None:
            if not isinstance(vocabulary, (list, tuple)) or not all(
                isinstance(word, str) and word for word in vocabulary
            ):
                raise InvalidArgumentError("customTopicVocabulary must be a list of strings")
            query["customTopicVocabulary"] = query_value(list(vocabulary))
        return self._get(conversation_id, "/topics", credentials, query)

    def get_questions(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Questions asked during the conversation, answered or not."""
        return self._get(conversation_id, "/questions", credentials)

    def get_action_items(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Outcomes that need someone to act, with assignee and due date when stated."""
        return self._get(conversation_id, "/action-items", credentials)

    def get_follow_ups(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Action items that are follow-ups: emails, calls, meetings to set up."""
        return self._get(conversation_id, "/follow-ups", credentials)

    def get_insights(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Questions, action items and follow-ups together (the legacy insights endpoint)."""
        return self._get(conversation_id, "/insights", credentials)

    def get_members(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """The participants: one member per distinct speaker."""
        return self._get(conversation_id, "/members", credentials)

    def get_entities(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Entities found: people, dates, numbers, money, custom entities and more."""
        return self._get(conversation_id, "/entities", credentials)

    def get_trackers(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Tracker matches, as a list (``GET /trackers-detected``)."""
        return self._get(conversation_id, "/trackers-detected", credentials)

    def get_analytics(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Talk time, listen time, silence, pace and overlap, overall and per member."""
        return self._get(conversation_id, "/analytics", credentials)

    def get_summary(
        self,
        conversation_id: str,
        credentials: Credentials = None,
        parameters: Mapping[str, Any] = EMPTY,
    ) -> Any:
        """A short summary of the conversation; ``{'refresh': True}`` regenerates it."""
        query = _flags(parameters, _SUMMARY_FLAGS, "get_summary parameters")
        return self._get(conversation_id, "/summary", credentials, query)

    def get_call_score(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """The call score and its criteria (requested with ``features`` at submission)."""
        return self._get(conversation_id, "/callscore", credentials)

    def get_call_score_status(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Whether the call score is ready: ``{'jobId': ..., 'status': ...}``."""
        return self._get(conversation_id, "/callscore/status", credentials)

    def get_call_score_insights_url(
        self, conversation_id: str, credentials: Credentials = None
    ) -> Any:
        """The URL of the insights UI with the call score: ``{'url': ...}``."""
        cid = path_id(conversation_id, "conversation_id")
        return self._client_for(credentials).request(
            "GET",
            f"/v1/conversations/experiences/insights/details/{cid}",
            params={"includeCallScore": "true"},
        )

    def put_members(
        self,
        conversation_id: str,
        members_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: Credentials = None,
    ) -> Any:
        """Update a member's name or email (also for speakers found by diarization).

        Args:
            conversation_id: the conversation.
            members_id: the member to update.
            parameters: ``{'name': ..., 'email': ...}`` (``name`` is required; ``id`` may be
                given but must equal ``members_id``).
            credentials: another account's credentials.
        """
        member = path_id(members_id, "members_id")
        body = dict(_mapping(parameters, "put_members parameters"))
        unknown = set(body) - {"id", "name", "email"}
        if unknown:
            raise InvalidArgumentError(
                f"put_members parameters take id, name, email; not {sorted(unknown)}"
            )
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise InvalidArgumentError("put_members parameters need a non-empty 'name'")
        if "email" in body and not isinstance(body["email"], str):
            raise InvalidArgumentError("put_members 'email' must be a string")
        if str(body.setdefault("id", str(members_id))) != str(members_id):
            raise InvalidArgumentError(
                f"put_members 'id' {body['id']!r} differs from members_id {members_id!r}"
            )
        return self._client_for(credentials).request(
            "PUT", _path(conversation_id, f"/members/{member}"), json=body
        )

    def put_speakers_events(
        self,
        conversation_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: Credentials = None,
    ) -> Any:
        """Tell the service who spoke when, after the conversation was processed.

        Args:
            conversation_id: the conversation.
            parameters: ``{'speakerEvents': [{'type': 'started_speaking', 'user': {...},
                'offset': {'seconds': 0, 'nanos': 0}}, ...]}``.
            credentials: another account's credentials.
        """
        body = dict(_mapping(parameters, "put_speakers_events parameters"))
        if set(body) != {"speakerEvents"}:
            raise InvalidArgumentError(
                "put_speakers_events parameters must be {'speakerEvents': [...]}"
            )
        _check_speaker_events(body["speakerEvents"])
        return self._client_for(credentials).request(
            "PUT", _path(conversation_id, "/speakers"), json=body
        )

    def delete_conversation(self, conversation_id: str, credentials: Credentials = None) -> Any:
        """Delete the conversation and everything derived from it, for good."""
        return self._client_for(credentials).request("DELETE", _path(conversation_id, ""))

    def get_formatted_transcript(
        self,
        conversation_id: str,
        parameters: Mapping[str, Any] = EMPTY,
        credentials: Credentials = None,
    ) -> Any:
        """The transcript as Markdown or SRT subtitles.

        Args:
            conversation_id: the conversation.
            parameters: ``contentType`` (``text/markdown``, the default, or ``text/srt``),
                ``createParagraphs``, ``showSpeakerSeparation`` and ``phrases``
                (``{'highlightOnlyInsightKeyPhrases': True, 'highlightAllKeyPhrases': True}``).
            credentials: another account's credentials.
        """
        body = _transcript_request(parameters)
        return self._client_for(credentials).request(
            "POST", _path(conversation_id, "/transcript"), json=body, idempotent=True
        )

    def _get(
        self,
        conversation_id: str,
        suffix: str,
        credentials: Credentials,
        query: dict[str, str] | None = None,
    ) -> Any:
        return self._client_for(credentials).request(
            "GET", _path(conversation_id, suffix), params=query or None
        )


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

    def __init__(
        self,
        conversation_id: str,
        job_id: str | None = None,
        *,
        credentials: Credentials = None,
        client: HttpClient | None = None,
    ) -> None:
        path_id(conversation_id, "conversation_id")
        self._client = Resource(client)._client_for(credentials)
        self._api = Conversations(self._client)
        self._conversation_id = str(conversation_id).strip()
        self._job: Job | None = None
        if job_id is not None:
            path_id(job_id, "job_id")
            self._job = Job(self._client, str(job_id), self._conversation_id, self)

    def __repr__(self) -> str:
        if self._job is None:
            return f"<Conversation {self._conversation_id}>"
        status = self._job.status or "not polled yet"
        return f"<Conversation {self._conversation_id} job={self._job.job_id} status={status}>"

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

        Raises:
            JobFailedError: the job failed.
            WaitTimeoutError: the job did not end within ``timeout`` seconds (default: the
                client's ``job_timeout``); call ``wait`` again to keep waiting.
        """
        if self._job is not None:
            self._job.wait(timeout)
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

    # -- the Conversation API, for this conversation ---------------------------------------------

    def get_conversation(self) -> Any:
        """The conversation's metadata: name, start and end time, members, metadata."""
        return self._api.get_conversation(self._conversation_id)

    def get_messages(self, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """The transcript as messages; ``{'verbose': True, 'sentiment': True}`` for more."""
        return self._api.get_messages(self._conversation_id, parameters=parameters)

    def get_topics(self, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """The most relevant topics; ``{'sentiment': True}`` or ``{'parentRefs': True}``."""
        return self._api.get_topics(self._conversation_id, parameters=parameters)

    def get_questions(self) -> Any:
        """Questions asked during the conversation."""
        return self._api.get_questions(self._conversation_id)

    def get_action_items(self) -> Any:
        """Action items, with assignee and due date when stated."""
        return self._api.get_action_items(self._conversation_id)

    def get_follow_ups(self) -> Any:
        """Follow-ups: emails, calls, meetings to set up."""
        return self._api.get_follow_ups(self._conversation_id)

    def get_insights(self) -> Any:
        """Questions, action items and follow-ups together."""
        return self._api.get_insights(self._conversation_id)

    def get_members(self) -> Any:
        """The participants."""
        return self._api.get_members(self._conversation_id)

    def get_entities(self) -> Any:
        """Entities found in the conversation."""
        return self._api.get_entities(self._conversation_id)

    def get_trackers(self) -> Any:
        """Tracker matches, as a list."""
        return self._api.get_trackers(self._conversation_id)

    def get_analytics(self) -> Any:
        """Talk time, listen time, silence, pace and overlap."""
        return self._api.get_analytics(self._conversation_id)

    def get_summary(self, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """A short summary; ``{'refresh': True}`` regenerates it."""
        return self._api.get_summary(self._conversation_id, parameters=parameters)

    def get_call_score(self) -> Any:
        """The call score and its criteria."""
        return self._api.get_call_score(self._conversation_id)

    def get_call_score_status(self) -> Any:
        """Whether the call score is ready."""
        return self._api.get_call_score_status(self._conversation_id)

    def put_members(self, members_id: str, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """Update a member: ``put_members(member_id, {'name': ..., 'email': ...})``."""
        return self._api.put_members(self._conversation_id, members_id, parameters)

    def put_speakers_events(self, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """Send speaker events: ``{'speakerEvents': [...]}``."""
        return self._api.put_speakers_events(self._conversation_id, parameters)

    def delete_conversation(self) -> Any:
        """Delete this conversation for good."""
        return self._api.delete_conversation(self._conversation_id)

    def get_formatted_transcript(self, parameters: Mapping[str, Any] = EMPTY) -> Any:
        """The transcript as Markdown (default) or SRT: ``{'contentType': 'text/srt'}``."""
        return self._api.get_formatted_transcript(self._conversation_id, parameters)


def _path(conversation_id: Any, suffix: str) -> str:
    return f"/v1/conversations/{path_id(conversation_id, 'conversation_id')}{suffix}"


def _mapping(parameters: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(parameters, Mapping):
        raise InvalidArgumentError(f"{where} must be a dict, not {type(parameters).__name__}")
    return parameters


def _flags(parameters: Any, allowed: frozenset[str], where: str) -> dict[str, str]:
    """Boolean query parameters in wire form (``true``/``false``), names checked."""
    query: dict[str, str] = {}
    for given, value in _mapping(parameters, where).items():
        name = wire_name(str(given))
        if name not in allowed:
            raise InvalidArgumentError(
                f"{where} has an unknown option {given!r}; it takes {', '.join(sorted(allowed))}"
            )
        with checked_arguments():
            query[name] = query_value(boolean(name, value))
    return query


def _check_speaker_events(events: Any) -> None:
    if not isinstance(events, (list, tuple)) or not events:
        raise InvalidArgumentError("speakerEvents must be a non-empty list")
    for index, event in enumerate(events):
        where = f"speakerEvents[{index}]"
        if not isinstance(event, Mapping):
            raise InvalidArgumentError(f"{where} must be an object")
        if event.get("type") not in _SPEAKER_EVENT_TYPES:
            raise InvalidArgumentError(
                f"{where}.type must be one of {', '.join(_SPEAKER_EVENT_TYPES)}"
            )
        user = event.get("user")
        if not isinstance(user, Mapping) or not any(
            user.get(key) for key in ("id", "userId", "email", "name")
        ):
            raise InvalidArgumentError(
                f"{where}.user must identify the speaker (id, name or email)"
            )
        offset = event.get("offset")
        if not isinstance(offset, Mapping) or set(offset) - {"seconds", "nanos"}:
            raise InvalidArgumentError(f"{where}.offset must be {{'seconds': int, 'nanos': int}}")
        for key, part in offset.items():
            if isinstance(part, bool) or not isinstance(part, int) or part < 0:
                raise InvalidArgumentError(f"{where}.offset.{key} must be a whole number >= 0")


def _transcript_request(parameters: Any) -> dict[str, Any]:
    body = dict(_mapping(parameters, "get_formatted_transcript parameters"))
    body.setdefault("contentType", _TRANSCRIPT_TYPES[0])
    if body["contentType"] not in _TRANSCRIPT_TYPES:
        raise InvalidArgumentError(f"contentType must be one of {', '.join(_TRANSCRIPT_TYPES)}")
    allowed = {"contentType", "createParagraphs", "phrases", "showSpeakerSeparation"}
    if body["contentType"] == "text/srt":
        allowed = {"contentType", "showSpeakerSeparation"}
    unknown = set(body) - allowed
    if unknown:
        raise InvalidArgumentError(
            f"get_formatted_transcript for {body['contentType']} takes {sorted(allowed)}; "
            f"not {sorted(unknown)}"
        )
    for name in ("createParagraphs", "showSpeakerSeparation"):
        if name in body:
            with checked_arguments():
                body[name] = boolean(name, body[name])
    if "phrases" in body:
        phrases = dict(_mapping(body["phrases"], "phrases"))
        known = {"highlightOnlyInsightKeyPhrases", "highlightAllKeyPhrases"}
        if set(phrases) - known:
            raise InvalidArgumentError(
                f"phrases takes {sorted(known)}; not {sorted(set(phrases) - known)}"
            )
        with checked_arguments():
            body["phrases"] = {name: boolean(name, value) for name, value in phrases.items()}
    return body
