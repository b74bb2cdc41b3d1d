"""What both clients (:class:`~symbl._transport.http.HttpClient` and
:class:`~symbl._transport.async_http.AsyncHttpClient`) are before they do any I/O: one account,
its base URLs, its shared token, and the settings, all checked once, here."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from symbl import errors
from symbl._protocol.checks import is_number, shown
from symbl._protocol.options import query_value
from symbl._protocol.request import Request

from .auth import token_provider_for
from .credentials import (
    Credentials,
    resolve_credentials,
    resolve_credentials_and_base_url,
    websocket_base_url,
)
from .policy import RetrySettings, check_positive

#: The keyword settings of both clients (besides credentials and base_url).
SETTINGS = (
    "timeout",
    "connect_timeout",
    "max_retries",
    "retry_backoff",
    "max_retry_wait",
    "poll_interval",
    "max_poll_interval",
    "job_timeout",
    "heartbeat_interval",
    "dead_peer_timeout",
    "max_connections",
)
_derived_lock = threading.Lock()
SettingsT = TypeVar("SettingsT", bound="ClientSettings")


class ClientSettings:
    """Settings and a token for one Symbl account.

    Args:
        credentials: ``{'app_id': ..., 'app_secret': ...}``; found in the environment, a
            symbl.conf, or the credentials given earlier in this process when omitted (see the
            configuration docs for the order).
        base_url: REST base URL; ``SYMBL_BASE_URL``, symbl.conf, the base URL remembered with
            remembered credentials, or ``https://api.symbl.ai`` when omitted. Websocket URLs
            are derived from it.
        timeout: seconds to wait for each response (read timeout).
        connect_timeout: seconds to wait for a TCP/TLS connection.
        max_retries: retries after the first attempt, for failures that are safe to retry.
        retry_backoff: first backoff delay in seconds; doubles per retry, with jitter.
        max_retry_wait: longest single wait between retries, including a ``Retry-After``
            the server asks for; a longer ``Retry-After`` is raised as :class:`RateLimitError`.
        poll_interval: seconds between the first job polls (the very first goes out at once).
        max_poll_interval: the cap the poll interval grows to.
        job_timeout: longest wait for an async job to end before :class:`WaitTimeoutError`.
        heartbeat_interval: seconds a live connection may stay quiet before it pings the
            service.
        dead_peer_timeout: seconds without a word from the service (not even an answer to a
            ping) after which a live connection counts as broken: it reconnects, or reports
            the error. Must exceed ``heartbeat_interval``.
        max_connections: the most connections kept open to the service for reuse: as many as
            threads (or tasks) that call it at once.
    """

    def __init__(
        self,
        credentials: Mapping[str, Any] | Credentials | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 5.0,
        job_timeout: float = 7200.0,
        heartbeat_interval: float = 2.5,
        dead_peer_timeout: float = 7.5,
        max_connections: int = 32,
    ) -> None:
        seconds = {
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "retry_backoff": retry_backoff,
            "max_retry_wait": max_retry_wait,
            "poll_interval": poll_interval,
            "max_poll_interval": max_poll_interval,
            "job_timeout": job_timeout,
            "heartbeat_interval": heartbeat_interval,
            "dead_peer_timeout": dead_peer_timeout,
        }
        for name, value in seconds.items():
            check_positive(name, value)
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise errors.InvalidArgumentError(
                "max_connections must be a whole number of at least 1, not "
                + shown(max_connections)
            )
        if dead_peer_timeout <= heartbeat_interval:
            raise errors.InvalidArgumentError(
                "dead_peer_timeout must be longer than heartbeat_interval, so that a quiet "
                "connection is pinged before it counts as broken"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise errors.InvalidArgumentError("max_retries must be an int >= 0")
        self.credentials, self.base_url = resolve_credentials_and_base_url(credentials, base_url)
        self.websocket_url: str = websocket_base_url(self.base_url)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.max_retry_wait = max_retry_wait
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.job_timeout = job_timeout
        self.heartbeat_interval = heartbeat_interval
        self.dead_peer_timeout = dead_peer_timeout
        self.max_connections = max_connections
        self._retries = RetrySettings(max_retries, retry_backoff, max_retry_wait)
        self._tokens = token_provider_for(self.base_url, self.credentials)
        self._derived: dict[Credentials, ClientSettings] = {}
        self._prepare_io()

    def _prepare_io(self) -> None:
        """Set up what the client sends with (a session); subclasses do."""

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<symbl.{kind} app_id={self.credentials.app_id!r} base_url={self.base_url!r}>"

    def with_credentials(
        self: SettingsT, credentials: Mapping[str, Any] | Credentials
    ) -> SettingsT:
        """A client with these settings and base URL but other credentials (cached)."""
        resolved = resolve_credentials(credentials)
        if resolved == self.credentials:
            return self
        with _derived_lock:
            derived = cast("SettingsT | None", self._derived.get(resolved))
            if derived is None:
                settings = {name: getattr(self, name) for name in SETTINGS}
                derived = type(self)(resolved, base_url=self.base_url, **settings)
                self._derived[resolved] = derived
            return derived

    def invalidate_token(self, token: str) -> None:
        """Drop ``token`` from the cache after the server rejected it."""
        self._tokens.invalidate(token)


def request_for(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    json: Any,
    headers: Mapping[str, str] | None,
    idempotent: bool | None,
    *,
    body: Any = None,
    timeout: Any = None,
) -> Request:
    """A request to an endpoint given by path (``client.request(...)``), checked as far as a
    path can be: the method must be a word and the path start with ``/``; query values are
    strings, finite numbers or booleans (sent as ``true``/``false``), headers strings; a
    ``body`` (sent instead of the JSON) is bytes or a binary file, a ``timeout`` seconds as
    the client's settings are.

    Raises:
        InvalidArgumentError: naming the argument at fault.
    """
    if not isinstance(method, str) or not method.isascii() or not method.isalpha():
        raise errors.InvalidArgumentError(
            f"method must be an HTTP method such as 'GET', not {shown(method)}"
        )
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.InvalidArgumentError(
            f"path must start with '/', e.g. '/v1/conversations', not {shown(path)}"
        )
    if idempotent is not None and not isinstance(idempotent, bool):
        raise errors.InvalidArgumentError(
            f"idempotent must be True, False or None, not {shown(idempotent)}"
        )
    if body is not None and not isinstance(body, (bytes, bytearray)) and not hasattr(body, "read"):
        raise errors.InvalidArgumentError(
            f"body must be bytes or a file opened in binary mode, not {shown(body)}"
        )
    if timeout is not None:
        check_positive("timeout", timeout)
    query = {
        name: query_value(value) for name, value in _strings("params", params, scalars=True).items()
    }
    return Request(method.upper(), path, query, json, _strings("headers", headers), idempotent)


def _strings(name: str, given: Any, *, scalars: bool = False) -> dict[str, Any]:
    """``given`` (None or a mapping) as a dict with string keys and string values (or, with
    ``scalars``, finite numbers and booleans too)."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise errors.InvalidArgumentError(f"{name} must be a dict, not {shown(given)}")
    for key, value in given.items():
        fits = isinstance(value, str) or (scalars and (isinstance(value, bool) or is_number(value)))
        if not isinstance(key, str) or not fits:
            kinds = "strings, finite numbers or booleans" if scalars else "strings"
            raise errors.InvalidArgumentError(
                f"{name} must map strings to {kinds}; not {shown(key)}: {shown(value)}"
            )
    return dict(given)
