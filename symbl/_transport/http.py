"""The one HTTP client every REST call goes through.

:class:`HttpClient` owns the settings, one ``requests.Session`` (keep-alive, connection pool)
and the account's token. :meth:`HttpClient.request` is the single request loop: it adds
authentication, the timeout, bounded retries with backoff, DEBUG logging with secrets redacted,
and maps every failure to a typed exception from :mod:`symbl.errors`. This is the only module
that imports ``requests``. :meth:`HttpClient.open_websocket` is likewise the one way a live
connection opens its websocket: URL, token header, timeouts and one token refresh after a 401.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import platform
import random
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Protocol, TypeVar, Union, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

from symbl import errors
from symbl._models.objects import SymblObject
from symbl._protocol import auth
from symbl._protocol.request import Request
from symbl._version import __version__

from .auth import GeneratedToken, forget_tokens, token_provider_for
from .credentials import (
    Credentials,
    resolve_base_url,
    resolve_credentials,
    resolve_credentials_and_base_url,
    websocket_base_url,
)
from .websocket import Frame, Lifecycle, WebSocketConnection

logger = logging.getLogger("symbl")

USER_AGENT = (
    f"symbl-python/{__version__} (Python {platform.python_version()}; "
    f"requests {requests.__version__})"
)

# Statuses where the server refused the request before acting on it: safe to retry any request.
_REJECTED_UNACTED = frozenset({429, 503})
# Statuses worth retrying when repeating the request cannot do anything twice.
_RETRYABLE_IF_IDEMPOTENT = frozenset({408, 500, 502, 504})
#: The keyword settings of HttpClient (besides credentials and base_url).
_SETTINGS = (
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
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_SECRET_QUERY_WORDS = ("token", "secret", "key", "password", "signature")
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-correlation-id")


class Readable(Protocol):
    """A body streamed by reading it: a binary file, or anything that reads like one."""

    def read(self, size: int = -1) -> bytes: ...

    def seek(self, offset: int, whence: int = 0) -> int: ...

    def tell(self) -> int: ...

    def seekable(self) -> bool: ...


Body = Union[bytes, Readable, None]
ClientT = TypeVar("ClientT", bound="HttpClient")


class HttpClient:
    """Settings, an HTTP session and a token for one Symbl account: what every resource sends
    its requests through. :class:`symbl.Client` adds the resources as attributes.

    Args:
        credentials: ``{'app_id': ..., 'app_secret': ...}``; found in the environment or a
            symbl.conf when omitted (see the configuration docs for the order).
        base_url: REST base URL; ``SYMBL_BASE_URL``, symbl.conf or ``https://api.symbl.ai``
            when omitted. Websocket URLs are derived from it.
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
            threads that call it at once.

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
        settings = {
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
        for name, value in settings.items():
            _check_positive(name, value)
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise errors.InvalidArgumentError(
                f"max_connections must be a whole number of at least 1, not {max_connections!r}"
            )
        if dead_peer_timeout <= heartbeat_interval:
            raise errors.InvalidArgumentError(
                "dead_peer_timeout must be longer than heartbeat_interval, so that a quiet "
                "connection is pinged before it counts as broken"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise errors.InvalidArgumentError("max_retries must be an int >= 0")
        self.credentials: Credentials = resolve_credentials(credentials)
        self.base_url: str = resolve_base_url(base_url)
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
        self._tokens = token_provider_for(self.base_url, self.credentials)
        self._derived: dict[Credentials, HttpClient] = {}
        self._session = _session_for(self.base_url, max_connections)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<symbl.{kind} app_id={self.credentials.app_id!r} base_url={self.base_url!r}>"

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled HTTP connections. The client must not be used afterwards."""
        self._session.close()

    def with_credentials(self: ClientT, credentials: Mapping[str, Any] | Credentials) -> ClientT:
        """A client with these settings and base URL but other credentials (cached)."""
        resolved = resolve_credentials(credentials)
        if resolved == self.credentials:
            return self
        with _clients_lock:
            derived = cast("ClientT | None", self._derived.get(resolved))
            if derived is None:
                settings = {name: getattr(self, name) for name in _SETTINGS}
                derived = type(self)(resolved, base_url=self.base_url, **settings)
                self._derived[resolved] = derived
            return derived

    # -- authentication -------------------------------------------------------------------------

    def access_token(self) -> str:
        """Return a valid access token, generating or refreshing it if needed."""
        return self._tokens.token(self._generate_token)

    def invalidate_token(self, token: str) -> None:
        """Drop ``token`` from the cache after the server rejected it."""
        self._tokens.invalidate(token)

    # -- websockets -----------------------------------------------------------------------------

    def open_websocket(
        self,
        path: str,
        *,
        name: str,
        on_frame: Callable[[Frame], None],
        on_wake: Callable[[], None],
        on_close: Callable[[errors.StreamingError | None], None],
        daemon: bool = False,
        lifecycle: Lifecycle | None = None,
        on_pong: Callable[[int], None] | None = None,
    ) -> WebSocketConnection:
        """Open a websocket to the service: the one way every live connection connects.

        The URL is the client's ``websocket_url`` + ``path``; the token goes in the
        ``x-api-key`` header, never in the URL; the handshake may take ``connect_timeout``
        seconds and each later send or receive ``timeout``. A handshake refused with 401 (a
        cached token the service no longer accepts) drops the token and is tried once more with
        a fresh one, as REST requests are; a second refusal is raised.

        Args:
            path: the socket's path, e.g. ``/v1/streaming/<connectionId>?source=python_sdk``.
            name: the reader thread's name.
            on_frame, on_wake, on_close, daemon, on_pong: as for :class:`WebSocketConnection`.
            lifecycle: the state machine the socket drives (its owner's); a new one if omitted.

        Returns:
            The open connection, its reader thread running.

        Raises:
            StreamingError: the handshake failed or was refused (``status_code`` is set).
            APIStatusError: a token could not be generated.
        """
        token = self.access_token()

        def refresh(refusal: errors.StreamingError) -> dict[str, str] | None:
            if refusal.status_code != 401:
                return None
            self.invalidate_token(token)
            return {auth.TOKEN_HEADER: self.access_token()}

        connection = WebSocketConnection(
            self.websocket_url + path,
            {auth.TOKEN_HEADER: token},
            name=name,
            on_frame=on_frame,
            on_wake=on_wake,
            on_close=on_close,
            connect_timeout=self.connect_timeout,
            io_timeout=self.timeout,
            heartbeat=self.heartbeat_interval,
            dead_peer_timeout=self.dead_peer_timeout,
            daemon=daemon,
            lifecycle=lifecycle,
            on_pong=on_pong,
        )
        connection.open(retry_with=refresh)
        return connection

    def _generate_token(self) -> GeneratedToken:
        answer = self.send(auth.token_request(self.credentials.app_id, self.credentials.app_secret))
        token = answer.get("accessToken") if isinstance(answer, dict) else None
        expires_in = answer.get("expiresIn") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires_in, (int, float)):
            raise errors.SymblError(
                f"{self.base_url}{auth.TOKEN_PATH} answered without accessToken/expiresIn; "
                "is base_url pointing at the Symbl API?"
            )
        return GeneratedToken(token, float(expires_in))

    # -- the request loop -----------------------------------------------------------------------

    def send(self, request: Request, *, body: Body = None, timeout: float | None = None) -> Any:
        """Send a request built by the protocol core; see :meth:`request`.

        Args:
            request: what to send.
            body: a raw body (bytes, or a binary file streamed from its position) instead of
                the request's JSON.
            timeout: read timeout for this call, overriding the client's.
        """
        return self.request(
            request.method,
            request.path,
            params=request.query or None,
            json=request.json,
            body=body,
            headers=request.headers,
            timeout=timeout,
            idempotent=request.idempotent,
            authenticated=request.authenticated,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
    ) -> Any:
        """Send one API request and return its decoded JSON answer.

        Args:
            method: HTTP method.
            path: path below the base URL, e.g. ``/v1/job/<id>``.
            params: query parameters (already in wire form: strings, numbers).
            json: a JSON-serialisable body; sent with ``Content-Type: application/json``.
            body: raw bytes, or a binary file object streamed from its current position.
            headers: extra headers.
            timeout: read timeout for this call, overriding the client's.
            idempotent: whether repeating the request is harmless; by default GET, HEAD, PUT,
                DELETE and OPTIONS are, POST is not. Non-idempotent requests are retried only
                when the server cannot have acted on them (connection refused, 429, 503).
            authenticated: send the access token (everything but token generation does).

        Returns:
            The JSON answer with objects as :class:`SymblObject`, or None for an empty body.

        Raises:
            APIStatusError: a non-2xx answer, as the subclass for its status.
            APITimeoutError: no answer within the timeout.
            APIConnectionError: the service could not be reached.
        """
        method = method.upper()
        url = self.base_url + path
        if params:
            # %20 rather than '+' for spaces, as in the service's own examples.
            url += "?" + urlencode(params, quote_via=quote)
        send_headers = dict(headers or {})
        data: Body = body
        if json is not None:
            data = _json_bytes(json)
            send_headers.setdefault("Content-Type", "application/json")
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        rewind_to = _stream_position(data)
        read_timeout = self.timeout if timeout is None else timeout
        refreshed = False
        attempt = 0
        while True:
            token = self.access_token() if authenticated else None
            if token is not None:
                send_headers.update(auth.auth_headers(token))
            if attempt or refreshed:
                _rewind(data, rewind_to)
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    headers=send_headers,
                    timeout=(self.connect_timeout, read_timeout),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = _connection_error(exc, method, url)
                unacted = _server_cannot_have_acted(exc)
                retry = attempt < self.max_retries and (idempotent or unacted)
                _log(method, url, f"failed ({type(exc).__name__})", started, attempt)
                if not retry or rewind_to is None:
                    raise failure from exc
                self._wait_before_retry(attempt, None, str(failure))
                attempt += 1
                continue
            _log(method, url, str(response.status_code), started, attempt)
            status = response.status_code
            if status == 401 and token is not None and not refreshed:
                # A cached token can be revoked or expire early: refresh once, send once more.
                self.invalidate_token(token)
                refreshed = True
                continue
            if status < 400:
                return _decode(response, method, url)
            retryable = status in _REJECTED_UNACTED or (
                idempotent and status in _RETRYABLE_IF_IDEMPOTENT
            )
            retry_after = _retry_after_seconds(response)
            too_long = retry_after is not None and retry_after > self.max_retry_wait
            if not retryable or attempt >= self.max_retries or rewind_to is None or too_long:
                raise _status_error(response, method, url, retry_after)
            self._wait_before_retry(attempt, retry_after, f"status {status}")
            attempt += 1

    def _wait_before_retry(self, attempt: int, retry_after: float | None, reason: str) -> None:
        if retry_after is None:
            # Exponential backoff with jitter, so many clients do not retry in lock-step.
            ceiling = min(self.max_retry_wait, self.retry_backoff * (2**attempt))
            delay = random.uniform(ceiling / 2, ceiling)
        else:
            delay = retry_after
        logger.debug(
            "retrying after %s in %.2f s (retry %d of %d)",
            reason,
            delay,
            attempt + 1,
            self.max_retries,
        )
        time.sleep(delay)


# -- default clients --------------------------------------------------------------------------

_clients: dict[tuple[str, Credentials], HttpClient] = {}
_clients_lock = threading.Lock()
# What the shared clients are: symbl.Client once the package is imported (that class binds
# the resources, which sit above this layer, so it tells this module about itself).
_shared_client_class: type[HttpClient] = HttpClient


def make_shared_clients(client_class: type[HttpClient]) -> None:
    """Make the shared clients instances of ``client_class`` from now on."""
    global _shared_client_class
    _shared_client_class = client_class


def client_for(credentials: Mapping[str, Any] | None = None) -> HttpClient:
    """Return the shared client for these credentials (or the ones found in the environment).

    Credentials and the base URL are looked up on every call, in one pass (each symbl.conf is
    looked at once, and parsed again only when it changed), so a changed environment or
    symbl.conf takes effect at once; clients (and their connections and tokens) are reused per
    (base URL, account).
    """
    resolved, base_url = resolve_credentials_and_base_url(credentials)
    key = (base_url, resolved)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _shared_client_class(resolved, base_url=base_url)
        return client


def reset_shared_clients() -> None:
    """Close and forget the shared clients and their cached tokens.

    For test harnesses whose emulator forgot every token (after a reset): the next call makes
    a fresh client and token instead of first meeting a 401.
    """
    with _clients_lock:
        for shared in _clients.values():
            shared.close()
        _clients.clear()
    forget_tokens()


# -- helpers ------------------------------------------------------------------------------------


def _session_for(base_url: str, max_connections: int) -> requests.Session:
    """A session for one base URL, with the environment's proxy and CA-bundle settings read
    once, here.

    With ``trust_env`` on, requests reads them again on every request (a scan of the whole
    environment each time) and reads ``~/.netrc``, whose Basic credentials would replace the
    token. Every request of a client goes to the same host, so reading them once is enough;
    a changed environment is seen by clients made afterwards.
    """
    session = requests.Session()
    # One pool per scheme, as large as the threads that share the client (the default of 10
    # makes an eleventh thread open and drop a connection of its own on every call).
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max_connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def _check_positive(name: str, value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise errors.InvalidArgumentError(
            f"{name} must be a positive, finite number of seconds, not {value!r}"
        )


def _json_bytes(value: Any) -> bytes:
    try:
        return json.dumps(value, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise errors.InvalidArgumentError(
            f"the request body is not JSON-serialisable: {exc}"
        ) from exc


def _stream_position(data: Body) -> int | None:
    """Where a file body starts, so a retry can send it again; None if it cannot be rewound."""
    if data is None or isinstance(data, (bytes, bytearray)):
        return 0
    try:
        return data.tell() if data.seekable() else None
    except OSError:
        return None


def _rewind(data: Body, position: int | None) -> None:
    if position is not None and data is not None and not isinstance(data, bytes):
        data.seek(position)


def _server_cannot_have_acted(exc: requests.RequestException) -> bool:
    """True when the request never reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError)
    return False


def _connection_error(exc: requests.RequestException, method: str, url: str) -> errors.SymblError:
    where = f"{method} {redact_url(url)}"
    if isinstance(exc, requests.Timeout):
        kind = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
        return errors.APITimeoutError(
            f"{where} timed out ({kind} timeout). The service may be slow or unreachable; "
            "retry, or raise the client's timeout / connect_timeout",
            method=method,
            url=redact_url(url),
        )
    return errors.APIConnectionError(
        f"{where} failed: could not reach the service ({type(exc).__name__}). "
        "Check the network and the base URL",
        method=method,
        url=redact_url(url),
    )


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
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


def _decode(response: requests.Response, method: str, url: str) -> Any:
    if not response.content:
        return None
    try:
        return SymblObject.from_json(response.content)
    except ValueError as exc:
        raise errors.SymblError(
            f"{method} {redact_url(url)} answered {response.status_code} with a body that is not "
            f"JSON: {response.text[:200]!r}"
        ) from exc


def _status_error(
    response: requests.Response, method: str, url: str, retry_after: float | None
) -> errors.APIStatusError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = (body if isinstance(body, str) and body else response.reason) or "error"
        message = message[:500]
    request_id = next(
        (response.headers[name] for name in _REQUEST_ID_HEADERS if name in response.headers), None
    )
    error_class = errors.error_class_for(response.status_code)
    details: dict[str, Any] = {
        "status_code": response.status_code,
        "body": body,
        "request_id": request_id,
        "method": method,
        "url": redact_url(url),
    }
    if error_class is errors.RateLimitError:
        return errors.RateLimitError(message, retry_after=retry_after, **details)
    return error_class(message, **details)


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


def _log(method: str, url: str, outcome: str, started: float, attempt: int) -> None:
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
