"""Every exception the SDK raises.

All of them derive from :class:`SymblError`, so ``except symbl.SymblError`` catches anything that
comes from this package. HTTP failures are :class:`APIStatusError` subclasses chosen by status code
and carry what the server said; network failures are :class:`APIConnectionError`.

Example:
    >>> import symbl
    >>> try:
    ...     symbl.Conversations.get_messages("0000")
    ... except symbl.NotFoundError as exc:
    ...     print(exc.status_code, exc.message)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AudioDeviceError",
    "AudioNotDeliveredError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InternalServerError",
    "InvalidArgumentError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamingError",
    "SymblError",
    "WaitTimeoutError",
]


class SymblError(Exception):
    """Base class of every error raised by the symbl package."""


class ConfigurationError(SymblError):
    """Credentials or settings are missing or invalid.

    The message names every place that was searched and what to put there.
    """


class InvalidArgumentError(SymblError, ValueError, TypeError):
    """An argument to a public method is invalid; raised before anything is sent.

    It is also a :class:`ValueError` and a :class:`TypeError`, so code written against either
    convention catches it.
    """


class APIConnectionError(SymblError):
    """The request could not reach the service, or the connection broke mid-way.

    Attributes:
        may_have_acted: the request (one that starts a job or a call) may have reached the
            service before the connection failed, so it may have taken effect.
    """

    def __init__(
        self, message: str, *, method: str = "", url: str = "", may_have_acted: bool = False
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.may_have_acted = may_have_acted


class APITimeoutError(APIConnectionError):
    """The service did not answer within the request timeout."""


class APIStatusError(SymblError):
    """The service answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        message: the server's own message (its ``message`` field when the body is JSON).
        body: the decoded JSON body, or the raw text when it is not JSON.
        request_id: the server's request id header, when it sent one.
        method: the HTTP method of the request.
        url: the URL of the request (never carries a token).
        hint: what to check or do, ending the text of the error; by default one for the
            status (a 404's names what was not found, from the request).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        hint: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.body = body
        self.request_id = request_id
        self.method = method
        self.url = url
        self.hint = _HINTS.get(status_code) if hint is None else hint
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.status_code} {self.message}"
        where = f"{self.method} {self.url}".strip()
        details = [where] if where else []
        if self.request_id:
            details.append(f"request id {self.request_id}")
        if details:
            text += f" ({', '.join(details)})"
        return f"{text}. {self.hint}" if self.hint else text


class BadRequestError(APIStatusError):
    """400: the service rejected the request's parameters or body."""


class AuthenticationError(APIStatusError):
    """401: the app id / app secret or the access token was rejected."""


class PermissionDeniedError(APIStatusError):
    """403: the account may not use this resource."""


class NotFoundError(APIStatusError):
    """404: the conversation, job or connection does not exist (or is not yours)."""


class RateLimitError(APIStatusError):
    """429: too many concurrent jobs or requests.

    Attributes:
        retry_after: seconds the server asked to wait (from ``Retry-After``), if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class InternalServerError(APIStatusError):
    """5xx: the service failed; retrying later may help."""


_HINTS = {
    400: "Check the parameter names and types against the API reference",
    401: "Check app_id and app_secret (credentials=, SYMBL_APP_ID / SYMBL_APP_SECRET, symbl.conf)",
    404: "Check the ids in the request",
    429: "Wait for running jobs or connections to finish, or retry later",
}

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[APIStatusError]:
    """Return the exception class that represents ``status_code``."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


class JobFailedError(SymblError):
    """An async job ended in the ``failed`` state.

    Attributes:
        job_id: the job that failed.
        conversation_id: the conversation the job belonged to.
        status: the last status the service reported.
    """

    def __init__(self, message: str, *, job_id: str, conversation_id: str, status: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.conversation_id = conversation_id
        self.status = status


class WaitTimeoutError(SymblError, TimeoutError):
    """Waiting for a job or a live event took longer than the timeout allowed.

    The job or connection itself is not cancelled; wait again or raise the timeout.
    """


class StreamingError(SymblError):
    """A websocket could not be opened, closed unexpectedly, or broke the protocol.

    Attributes:
        status_code: the HTTP status when the server refused the handshake, else None.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AudioNotDeliveredError(StreamingError):
    """Audio the SDK accepted could not be delivered: the connection broke and its replay
    buffer filled up, or reconnecting gave up. Nothing is dropped silently.

    Attributes:
        undelivered_bytes: how much accepted audio never reached the service.
        undelivered_seconds: the same, in seconds of audio at the connection's format.
    """

    def __init__(self, message: str, *, undelivered_bytes: int, undelivered_seconds: float) -> None:
        super().__init__(message)
        self.undelivered_bytes = undelivered_bytes
        self.undelivered_seconds = undelivered_seconds


class AudioDeviceError(SymblError):
    """Audio capture is impossible: no PortAudio, no input device, or the device is busy.

    The message says what to install or which device to choose.
    """


class MissingDependencyError(SymblError, ImportError):
    """A feature needs a package that is not installed; the message says which extra to
    install, e.g. ``pip install 'symbl[asyncio]'``."""
