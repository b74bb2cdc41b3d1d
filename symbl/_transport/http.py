"""The synchronous HTTP client every REST call of ``symbl.Client`` goes through.

:class:`HttpClient` is the account's settings and token
(:class:`~symbl._transport.settings.ClientSettings`) plus one ``requests.Session`` (keep-alive,
connection pool). :meth:`HttpClient.send` is its single request loop: authentication, the
timeout, bounded retries, DEBUG logging with secrets redacted, and every failure mapped to a
typed exception, deciding each of those as :mod:`symbl._transport.policy` says (the asyncio
client follows the same policy). This is the only module that imports ``requests``.
:meth:`HttpClient.open_websocket` is likewise the one way a live connection opens its
websocket: URL, token header, timeouts and one token refresh after a 401.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Protocol, TypeVar, Union

import requests
from urllib3.exceptions import NewConnectionError

from symbl import errors
from symbl._protocol import auth
from symbl._protocol.request import Request
from symbl._version import __version__

from .auth import GeneratedToken, forget_tokens, generated_token
from .credentials import Credentials, resolve_credentials_and_base_url
from .policy import Attempts, is_idempotent, json_bytes, url_for
from .settings import ClientSettings, request_for
from .websocket import Frame, Lifecycle, WebSocketConnection

USER_AGENT = (
    f"symbl-python/{__version__} (Python {platform.python_version()}; "
    f"requests {requests.__version__})"
)


class Readable(Protocol):
    """A body streamed by reading it: a binary file, or anything that reads like one."""

    def read(self, size: int = -1) -> bytes: ...

    def seek(self, offset: int, whence: int = 0) -> int: ...

    def tell(self) -> int: ...

    def seekable(self) -> bool: ...


Body = Union[bytes, Readable, None]
ClientT = TypeVar("ClientT", bound="HttpClient")


class HttpClient(ClientSettings):
    """Settings, an HTTP session and a token for one Symbl account: what every resource sends
    its requests through. :class:`symbl.Client` adds the resources as attributes. The
    arguments are those of :class:`~symbl._transport.settings.ClientSettings`.
    """

    def _prepare_io(self) -> None:
        self._session = _session_for(self.base_url, self.max_connections)

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled HTTP connections. The client must not be used afterwards."""
        self._session.close()

    # -- authentication -------------------------------------------------------------------------

    def access_token(self) -> str:
        """Return a valid access token, generating or refreshing it if needed."""
        return self._tokens.token(self._generate_token)

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
        request = auth.token_request(self.credentials.app_id, self.credentials.app_secret)
        return generated_token(self.send(request), self.base_url)

    # -- the request loop -----------------------------------------------------------------------

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
    ) -> Any:
        """Send a request to an endpoint the SDK has no method for (see :meth:`send`).

        Args:
            method: HTTP method.
            path: path below the base URL, e.g. ``/v1/conversations``.
            params: query parameters (already in wire form: strings, numbers).
            json: a JSON-serialisable body; sent with ``Content-Type: application/json``.
            body: raw bytes, or a binary file object streamed from its current position.
            headers: extra headers.
            timeout: read timeout for this call, overriding the client's.
            idempotent: whether repeating the request is harmless (see :meth:`send`).
        """
        request = request_for(
            method, path, params, json, headers, idempotent, body=body, timeout=timeout
        )
        return self.send(request, body=body, timeout=timeout)

    def send(self, request: Request, *, body: Body = None, timeout: float | None = None) -> Any:
        """Send one API request built by the protocol core and return its decoded JSON answer.

        It adds authentication, the timeout, bounded retries with backoff (``Retry-After``
        honoured; a request that is not idempotent is resent only when the server cannot have
        acted on it: connection refused, 429, 503), one token refresh after a 401, DEBUG
        logging with secrets redacted, and maps every failure to a typed exception.

        Args:
            request: what to send.
            body: a raw body (bytes, or a binary file streamed from its position) instead of
                the request's JSON.
            timeout: read timeout for this call, overriding the client's.

        Returns:
            The JSON answer with objects as :class:`SymblObject`, or None for an empty body.

        Raises:
            APIStatusError: a non-2xx answer, as the subclass for its status.
            APITimeoutError: no answer within the timeout.
            APIConnectionError: the service could not be reached.
        """
        url = url_for(self.base_url, request.path, request.query)
        headers = dict(request.headers)
        data: Body = body
        if request.json is not None:
            data = json_bytes(request.json)
            headers.setdefault("Content-Type", "application/json")
        rewind_to = stream_position(data)
        attempts = Attempts(
            self._retries,
            request.method,
            url,
            is_idempotent(request.method, request.idempotent),
            rewind_to is not None,
            self.invalidate_token,
            sent=request.json,
        )
        limits = (self.connect_timeout, self.timeout if timeout is None else timeout)
        while True:
            token = self.access_token() if request.authenticated else None
            if token is not None:
                headers.update(auth.auth_headers(token))
            rewind(data, rewind_to)
            attempts.started()
            try:
                response = self._session.request(
                    request.method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=limits,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                delay = attempts.failed(
                    exc,
                    timed_out=isinstance(exc, requests.Timeout),
                    connecting=isinstance(exc, requests.ConnectTimeout),
                    unacted=_server_cannot_have_acted(exc),
                )
            else:
                done, outcome = attempts.answered(
                    response.status_code,
                    response.reason,
                    response.headers,
                    response.content,
                    token,
                )
                if done:
                    return outcome
                delay = outcome
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


def stream_position(data: Body) -> int | None:
    """Where a file body starts, so a retry can send it again; None if it cannot be rewound."""
    if data is None or isinstance(data, (bytes, bytearray)):
        return 0
    try:
        return data.tell() if data.seekable() else None
    except OSError:
        return None


def rewind(data: Body, position: int | None) -> None:
    """Put a file body back where it started (see :func:`stream_position`), for a retry."""
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
