"""What both HTTP clients (``requests`` and ``aiohttp``) decide the same way.

The request loop of :class:`~symbl._transport.http.HttpClient` and of
:class:`~symbl._transport.async_http.AsyncHttpClient` differ only in how they send and sleep.
Which answers are retried, how long to wait, what a refusal is raised as, and what is logged are
stated here once, on plain values (status, headers, body bytes), so the two cannot drift.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from symbl import errors
from symbl._models.objects import SymblObject
from symbl._protocol.checks import shown

logger = logging.getLogger("symbl")

# Statuses where the server refused the request before acting on it: safe to retry any request.
_REJECTED_UNACTED = frozenset({429, 503})
# Statuses worth retrying when repeating the request cannot do anything twice.
_RETRYABLE_IF_IDEMPOTENT = frozenset({408, 500, 502, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_SECRET_QUERY_WORDS = ("token", "secret", "key", "password", "signature")
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-correlation-id")
# How a caller finds out whether a request that got no answer took effect.
_HOW_TO_CHECK = (
    "list the latest conversations, newest first, with client.request('GET', "
    "'/v1/conversations', params={'order': 'desc', 'limit': 5}), or, when it added to a "
    "conversation, read that conversation's messages"
)

# For a 404's hint: the path words after which an id names a thing, and the thing. A path names
# what it is about by its last such pair: /v1/conversations/{id}/bookmarks/{id} a bookmark.
_PATH_THINGS = {
    "conversations": "conversation",
    "details": "conversation",  # /v1/conversations/experiences/insights/details/{id}
    "audio": "conversation",  # /v1/process/audio/{id} and /v1/process/audio/url/{id} append
    "video": "conversation",
    "text": "conversation",
    "url": "conversation",
    "job": "job",
    "bookmarks": "bookmark",
    "tracker": "tracker",
    "trackers": "tracker",
    "group": "group",
    "groups": "group",
    "event": "call",  # /v1/event/{connectionId}
}
# Path words that follow a thing's word but are not ids.
_NOT_IDS = frozenset({"bulk", "experiences"})
# How the service's 404 messages name what is missing: "The conversationId is either invalid or
# does not exist." or "Bookmark not found".
_MESSAGE_THING = re.compile(r"\bThe (\w+?)Id is\b|^(\w+) not found\b", re.IGNORECASE)
# The things those messages name, by the word they use.
_MESSAGE_THINGS = {
    "conversation": "conversation",
    "job": "job",
    "connection": "call",
    "bookmark": "bookmark",
    "tracker": "tracker",
    "group": "group",
}
# Request body members that carry a thing's id (a call's stop names its call in the body).
_BODY_IDS = {"connectionId": "call"}
_TELEPHONY_PATH = "/v1/endpoint:connect"
# What a 404 says to check, by thing; {id} is the id with a space before it, or nothing.
_THING_NOT_FOUND = {
    "conversation": "Check the conversation id{id}; conversations are only visible to the "
    "app that created them",
    "job": "Check the job id{id}; jobs are only visible to the app that submitted them",
    "call": "Check the connection id{id}: it names a call only while the call lasts, so the "
    "call has ended (stopped, hung up, or silent for 30 minutes) or the id is wrong",
}
_OTHER_NOT_FOUND = "Check the {thing} id{id}; a {thing} is only visible to the app that made it"


@dataclass(frozen=True)
class RetrySettings:
    """The client settings the request loop follows."""

    max_retries: int
    retry_backoff: float
    max_retry_wait: float


class Attempts:
    """The attempts of one request, decided the same way by both request loops.

    A loop sends, then tells :meth:`answered` or :meth:`failed` what happened; it gets back
    the decoded answer, or a delay after which to send again (a fresh token and the body from
    its start), or the typed error is raised. Everything is logged at DEBUG, secrets hidden.

    Args:
        settings: the client's retry settings.
        method, url: what is sent (for messages and the log).
        idempotent: whether repeating the request is harmless.
        sent: the JSON body sent, if any (a 404's hint names the id it carries).
        rewindable: whether the body can be sent again (a file that cannot seek cannot).
        invalidate: drops a token the service refused (the client's ``invalidate_token``).
    """

    def __init__(
        self,
        settings: RetrySettings,
        method: str,
        url: str,
        idempotent: bool,
        rewindable: bool,
        invalidate: Callable[[str], None],
        *,
        sent: Any = None,
    ) -> None:
        self._settings = settings
        self._method = method
        self._url = url
        self._sent = sent
        self._idempotent = idempotent
        self._rewindable = rewindable
        self._invalidate = invalidate
        self._refreshed = False
        self._retries = 0
        self._started = time.monotonic()

    def started(self) -> None:
        """An attempt is being sent now (for the time the log shows)."""
        self._started = time.monotonic()

    def answered(
        self,
        status: int,
        reason: str | None,
        headers: Mapping[str, str],
        content: bytes,
        token: str | None,
    ) -> tuple[bool, Any]:
        """An answer came: ``(True, decoded answer)``, or ``(False, seconds to wait before
        sending again)``.

        Raises:
            APIStatusError: a refusal that is not retried.
            SymblError: a successful answer that is not JSON.
        """
        log_exchange(self._method, self._url, str(status), self._started, self._retries)
        if status == 401 and token is not None and not self._refreshed:
            # A cached token can be revoked or expire early: refresh once, send once more.
            self._invalidate(token)
            self._refreshed = True
            return False, 0.0
        if status < 400:
            return True, decode(content, status, self._method, self._url)
        delay = retry_delay(self._settings, self._retries, status, headers, self._idempotent)
        if delay is None or not self._rewindable:
            raise status_error(
                status, reason, headers, content, self._method, self._url, sent=self._sent
            )
        return False, self._retry(f"status {status}", delay)

    def failed(
        self, exc: BaseException, *, timed_out: bool, connecting: bool, unacted: bool
    ) -> float:
        """No answer came (``exc``): seconds to wait before sending again.

        Args:
            exc: what the HTTP library raised.
            timed_out: the time ran out (else the service could not be reached).
            connecting: it ran out while connecting.
            unacted: the request cannot have reached the server (refused, DNS, connect
                timeout), so even a request that is not idempotent may be sent again.

        Raises:
            APIConnectionError: it is not retried (APITimeoutError for a timeout).
        """
        cause = type(exc).__name__
        log_exchange(self._method, self._url, f"failed ({cause})", self._started, self._retries)
        # Such a request is never sent again (see retry_delay): the caller must find out.
        may_have_acted = not (self._idempotent or unacted)
        failure = connection_error(
            timed_out, connecting, cause, self._method, self._url, may_have_acted=may_have_acted
        )
        delay = retry_delay(self._settings, self._retries, None, {}, self._idempotent or unacted)
        if delay is None or not self._rewindable:
            raise failure from exc
        return self._retry(str(failure), delay)

    def _retry(self, reason: str, delay: float) -> float:
        logger.debug(
            "retrying after %s in %.2f s (retry %d of %d)",
            reason,
            delay,
            self._retries + 1,
            self._settings.max_retries,
        )
        self._retries += 1
        return delay


def check_positive(name: str, value: float) -> None:
    """Refuse a setting that is not a positive, finite number of seconds, at most
    ``threading.TIMEOUT_MAX`` (some 292 years: the longest wait the standard library takes)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= threading.TIMEOUT_MAX
    ):
        raise errors.InvalidArgumentError(
            f"{name} must be a positive, finite number of seconds, not {shown(value)}"
        )


def url_for(base_url: str, path: str, params: Mapping[str, Any] | None) -> str:
    """The full URL of a request; ``%20`` rather than ``+`` for spaces in the query, as in the
    service's own examples."""
    url = base_url + path
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    return url


def is_idempotent(method: str, idempotent: bool | None) -> bool:
    """Whether repeating the request is harmless: as stated, or by its method (POST is not)."""
    return method in _IDEMPOTENT_METHODS if idempotent is None else idempotent


def json_bytes(value: Any) -> bytes:
    """A JSON body; NaN and Infinity are refused (they are not JSON)."""
    try:
        return json.dumps(value, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise errors.InvalidArgumentError(
            f"the request body is not JSON-serialisable: {exc}"
        ) from exc


def retry_delay(
    settings: RetrySettings,
    attempt: int,
    status: int | None,
    headers: Mapping[str, str],
    idempotent: bool,
) -> float | None:
    """Seconds to wait before sending a failed request again, or None to give up.

    Args:
        settings: the client's retry settings.
        attempt: retries made so far.
        status: the answer's status, or None when no answer came (then ``idempotent`` must
            already say whether the server cannot have acted).
        headers: the answer's headers (``Retry-After``).
        idempotent: whether repeating the request is harmless.
    """
    if attempt >= settings.max_retries:
        return None
    if status is not None:
        retryable = status in _REJECTED_UNACTED or (
            idempotent and status in _RETRYABLE_IF_IDEMPOTENT
        )
        if not retryable:
            return None
        asked = retry_after_seconds(headers)
        if asked is not None:
            return asked if asked <= settings.max_retry_wait else None
    elif not idempotent:
        return None
    # Exponential backoff with jitter, so many clients do not retry in lock-step.
    ceiling = min(settings.max_retry_wait, settings.retry_backoff * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (a number or an HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def decode(content: bytes, status: int, method: str, url: str) -> Any:
    """A successful answer's JSON, objects as :class:`SymblObject`; None for an empty body."""
    if not content:
        return None
    try:
        return SymblObject.from_json(content)
    except ValueError as exc:
        text = content[:200].decode("utf-8", "replace")
        raise errors.SymblError(
            f"{method} {redact_url(url)} answered {status} with a body that is not JSON: {text!r}"
        ) from exc


def status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    content: bytes,
    method: str,
    url: str,
    *,
    sent: Any = None,
) -> errors.APIStatusError:
    """The typed error for a refusal (4xx, 5xx), with the service's message and request id;
    ``sent`` is the JSON body of the request, if any (for a 404's hint)."""
    text = content.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if text else text
    except ValueError:
        body = text
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = (body if isinstance(body, str) and body else reason) or "error"
        message = message[:500]
    lowered = {name.lower(): value for name, value in headers.items()}
    request_id = next((lowered[name] for name in _REQUEST_ID_HEADERS if name in lowered), None)
    error_class = errors.error_class_for(status)
    details: dict[str, Any] = {
        "status_code": status,
        "body": body,
        "request_id": request_id,
        "method": method,
        "url": redact_url(url),
    }
    if error_class is errors.RateLimitError:
        return errors.RateLimitError(message, retry_after=retry_after_seconds(headers), **details)
    if status == 404:
        details["hint"] = not_found_hint(url, message, sent)
    return error_class(message, **details)


def not_found_hint(url: str, message: str | None = None, sent: Any = None) -> str | None:
    """What a 404 to ``url`` says to check, naming what was not found: the conversation, job,
    call, bookmark, tracker or group.

    The service's ``message`` says which when it names one ("The conversationId is ...",
    "Bookmark not found"): an unknown conversation is reported as such even when the path goes
    on to a bookmark. Otherwise the path says, by its last thing (``/v1/job/{id}``: that job).
    The id is the one the path gives that thing, or the one in the JSON body ``sent`` (a call's
    stop). None when neither names a thing.
    """
    ids: dict[str, str] = {}
    if isinstance(sent, Mapping):
        for member, carried in _BODY_IDS.items():
            if isinstance(sent.get(member), str):
                ids[carried] = sent[member]
    path = urlsplit(url).path
    segments = [unquote(segment) for segment in path.split("/") if segment]
    last = "call" if path.endswith(_TELEPHONY_PATH) else None
    for word, following in zip(segments, segments[1:]):
        thing = _PATH_THINGS.get(word)
        if thing and following not in _PATH_THINGS and following not in _NOT_IDS:
            ids[thing], last = following, thing
    named = _named_in(message)
    thing = named or last
    if thing is None:
        return None
    identifier = ids.get(thing)
    template = _THING_NOT_FOUND.get(thing, _OTHER_NOT_FOUND)
    return template.format(thing=thing, id=f" {identifier}" if identifier else "")


def _named_in(message: str | None) -> str | None:
    """The thing a 404's message says is missing, or None."""
    match = _MESSAGE_THING.search(message or "")
    if match is None:
        return None
    return _MESSAGE_THINGS.get((match.group(1) or match.group(2)).lower())


def connection_error(
    timed_out: bool,
    connecting: bool,
    cause: str,
    method: str,
    url: str,
    *,
    may_have_acted: bool = False,
) -> errors.APIConnectionError:
    """The typed error for a request that got no answer.

    Args:
        timed_out: it ran out of time (else: the service could not be reached).
        connecting: the time ran out while connecting (else: while waiting for the answer).
        cause: the underlying exception's class name.
        may_have_acted: the request may have reached the service, and sending it twice is not
            harmless (it starts a job or a call): the message says so, and how to check.
    """
    where = f"{method} {redact_url(url)}"
    kind = "connect" if connecting else "read"
    if may_have_acted:
        happened = f"timed out ({kind} timeout)" if timed_out else f"failed ({cause})"
        error_class = errors.APITimeoutError if timed_out else errors.APIConnectionError
        return error_class(
            f"{where} {happened} after the request was sent: the service may have received "
            "it and acted on it (a job or a call it submits may have started) though no answer "
            "came. It was not sent again, so that nothing is done twice. Before sending it "
            f"again, check whether it took effect: {_HOW_TO_CHECK}",
            method=method,
            url=redact_url(url),
            may_have_acted=True,
        )
    if timed_out:
        return errors.APITimeoutError(
            f"{where} timed out ({kind} timeout). The service may be slow or unreachable; "
            "retry, or raise the client's timeout / connect_timeout",
            method=method,
            url=redact_url(url),
        )
    return errors.APIConnectionError(
        f"{where} failed: could not reach the service ({cause}). "
        "Check the network and the base URL",
        method=method,
        url=redact_url(url),
    )


def redact_url(url: str) -> str:
    """Hide the values of query parameters that look like secrets (tokens, keys, passwords)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (key, "***" if any(word in key.lower() for word in _SECRET_QUERY_WORDS) else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="*")))


def log_exchange(method: str, url: str, outcome: str, started: float, attempt: int) -> None:
    """Say at DEBUG how one attempt went (the URL with its secrets hidden)."""
    if logger.isEnabledFor(logging.DEBUG):
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            "%s %s -> %s in %.1f ms (retry %d)",
            method,
            redact_url(url),
            outcome,
            elapsed_ms,
            attempt,
        )
