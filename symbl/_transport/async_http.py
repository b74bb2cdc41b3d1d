"""The asyncio HTTP client every REST call of ``symbl.AsyncClient`` goes through, and the one
way its live connections open their websockets. This is the only module that imports
``aiohttp``, and only when an :class:`AsyncHttpClient` is first used.

It makes the decisions of the synchronous client (:mod:`symbl._transport.policy`): the same
retries and waits, the same token refresh after a 401, the same errors, the same bytes on the
wire. It starts no thread: proxy and CA settings are read once per client (aiohttp's
``trust_env`` would read ``.netrc`` in an executor thread on every request), and files are read
in blocks on the event loop as they are uploaded. One thing is left to asyncio: a base URL
with a host name (not an IP address) is resolved by the loop's ``getaddrinfo``, in the loop's
default executor (one thread of asyncio's, reused; aiohttp keeps each answer for 10 s).

Websockets go through a session of their own: a socket holds its connection for as long as it
is open, so it must not take a place of the REST pool (``max_connections``).

One difference from ``requests`` is aiohttp's: an idempotent request (GET, PUT, DELETE) whose
reused keep-alive connection was closed before any answer came is sent again at once on a new
connection (RFC 9112 §9.3.1), within one attempt of the client's retry policy.
"""

from __future__ import annotations

import asyncio
import os
import platform
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Coroutine, Sized
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from symbl import errors
from symbl._protocol import auth
from symbl._protocol.request import Request
from symbl._version import __version__

from .auth import generated_token
from .http import Body, HttpClient, Readable, rewind, stream_position
from .policy import Attempts, is_idempotent, json_bytes, url_for
from .settings import ClientSettings

if TYPE_CHECKING:
    import aiohttp

#: The install command the error for a missing aiohttp gives.
INSTALL_HINT = "pip install 'symbl[asyncio]'"
# Blocks in which a file body is read as it is uploaded.
_UPLOAD_BLOCK = 256 * 1024
ClientT = TypeVar("ClientT", bound="AsyncHttpClient")
T = TypeVar("T")


def import_aiohttp() -> Any:
    """The aiohttp module, or an error that says how to install it."""
    try:
        import aiohttp
    except ImportError as exc:
        raise errors.MissingDependencyError(
            f"symbl.AsyncClient needs aiohttp, which is not installed: {INSTALL_HINT}"
        ) from exc
    return aiohttp


class AsyncHttpClient(ClientSettings):
    """Settings, an aiohttp session and a token for one Symbl account: what every resource of
    ``symbl.AsyncClient`` sends its requests through. The arguments are those of
    :class:`~symbl._transport.settings.ClientSettings`.

    The session is made on first use, in the event loop that uses it; the client belongs to
    that loop from then on. Close it with ``await client.close()`` or ``async with``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> AsyncHttpClient:
        import_aiohttp()  # the missing extra is named before anything else is looked at
        return super().__new__(cls)

    def _prepare_io(self) -> None:
        self._aiohttp = import_aiohttp()
        import yarl  # a dependency of aiohttp: there whenever aiohttp is

        self._url_type = yarl.URL
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._token_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closer: asyncio.Task[None] | None = None
        self._proxy = _proxy_for(self.base_url)
        self._ssl = _ssl_context()

    async def __aenter__(self: ClientT) -> ClientT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Cancel the client's background work (jobs followed after ``wait=False``, the
        readers of live connections, which stop their stream or call first), then close the
        pooled connections (of this client and the ones it made for other credentials). The
        client must not be used afterwards.

        From a callback, which runs in one of those tasks, the closing starts and this returns
        at once: the task it runs in must end first, once the callback has returned.
        """
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self._close())
        if asyncio.current_task() not in self._tasks:
            await asyncio.shield(self._closer)

    async def _close(self) -> None:
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._closed = True
        for derived in list(self._derived.values()):
            if isinstance(derived, AsyncHttpClient):
                await derived.close()
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    def session(self, live: bool = False) -> aiohttp.ClientSession:
        """The client's aiohttp session, made on first use in the running event loop: the
        REST one, whose pool holds ``max_connections``, or (``live``) the one websockets use,
        which holds each socket as long as it is open and so has no limit.

        Raises:
            SymblError: the client was closed, or is open in another event loop that still
                runs.
        """
        loop = asyncio.get_running_loop()
        if self._closed:
            raise errors.SymblError("this AsyncClient was closed; make a new one to go on")
        if self._sessions and self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed():
                raise errors.SymblError(
                    "this AsyncClient belongs to another event loop; make one client per loop, "
                    "or close it (await client.close()) in its own loop first"
                )
            self._sessions = {}  # their loop has ended, and their connections with it
        self._loop = loop
        session = self._sessions.get(live)
        if session is None or session.closed:
            if not self._sessions:
                self._token_lock = None  # the old one belonged to the old loop
            aiohttp = self._aiohttp
            user_agent = (
                f"symbl-python/{__version__} (Python {platform.python_version()}; "
                f"aiohttp {aiohttp.__version__})"
            )
            connector = aiohttp.TCPConnector(
                limit=0 if live else self.max_connections, ssl=self._ssl
            )
            session = self._sessions[live] = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": user_agent, "Accept": "application/json"},
                trust_env=False,
            )
        return session

    def background(self, work: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        """Run ``work`` as a task of the running loop that the client owns: :meth:`close`
        cancels it if it is still running (a live connection's reader then stops it)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- authentication -------------------------------------------------------------------------

    async def access_token(self) -> str:
        """Return a valid access token, generating or refreshing it if needed; when many tasks
        need one at once, one of them generates it and the others wait for it."""
        cached = self._tokens.cached()
        if cached is not None:
            return cached
        self.session()  # the loop check, and a lock of this loop
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            cached = self._tokens.cached()
            if cached is not None:
                return cached
            started = time.monotonic()
            request = auth.token_request(self.credentials.app_id, self.credentials.app_secret)
            answer = await self.send(request)
            return self._tokens.store(generated_token(answer, self.base_url), started)

    # -- websockets -----------------------------------------------------------------------------

    async def open_websocket(self, path: str) -> aiohttp.ClientWebSocketResponse[bool]:
        """Open a websocket to the service: the one way every asyncio live connection connects.

        The URL is the client's ``websocket_url`` + ``path``; the token goes in the
        ``x-api-key`` header, never in the URL; the handshake may take ``connect_timeout``
        seconds. Pings are left to the caller (``autoping`` is off, so pongs reach it). A
        handshake refused with 401 drops the token and is tried once more with a fresh one.

        Raises:
            StreamingError: the handshake failed or was refused (``status_code`` is set).
            APIStatusError: a token could not be generated.
        """
        aiohttp = self._aiohttp
        url = self.websocket_url + path
        for refreshed in (False, True):
            token = await self.access_token()
            try:
                handshake = self.session(live=True).ws_connect(
                    url,
                    headers={auth.TOKEN_HEADER: token},
                    autoping=False,
                    proxy=self._proxy,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self.timeout),
                    max_msg_size=0,
                    heartbeat=None,
                    ssl=self._ssl,
                )
                return await asyncio.wait_for(handshake, self.connect_timeout)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401 and not refreshed:
                    self.invalidate_token(token)
                    continue
                raise errors.StreamingError(
                    f"the service refused the websocket to {path.split('?')[0]} "
                    f"(HTTP {exc.status}: {exc.message})",
                    status_code=exc.status,
                ) from exc
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                raise errors.StreamingError(
                    f"could not open the websocket to {path.split('?')[0]}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        raise AssertionError("unreachable: the second refusal is raised above")

    # -- the request loop -----------------------------------------------------------------------

    async def request(self, method: str, path: str, **options: Any) -> Any:
        """Send a request to an endpoint the SDK has no method for; the arguments are those
        of :meth:`symbl.Client.request` (``params``, ``json``, ``body``, ``headers``,
        ``timeout``, ``idempotent``)."""
        return await HttpClient.request(self, method, path, **options)  # type: ignore[arg-type]

    async def send(
        self, request: Request, *, body: Body = None, timeout: float | None = None
    ) -> Any:
        """Send one API request built by the protocol core and return its decoded JSON answer;
        everything as :meth:`symbl._transport.http.HttpClient.send`.

        Raises:
            APIStatusError: a non-2xx answer, as the subclass for its status.
            APITimeoutError: no answer within the timeout.
            APIConnectionError: the service could not be reached.
        """
        aiohttp = self._aiohttp
        url = url_for(self.base_url, request.path, request.query)
        headers = dict(request.headers)
        data: bytes | None = None
        if request.json is not None:
            data = json_bytes(request.json)
            headers.setdefault("Content-Type", "application/json")
            body = None  # as requests does: the JSON is the body
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        file = None if body is None or isinstance(body, (bytes, bytearray)) else body
        file_start = stream_position(file)
        if file is not None and file_start is not None:
            # As requests sends a file: with its length, not in chunks.
            headers["Content-Length"] = str(_length(file) - file_start)
        attempts = Attempts(
            self._retries,
            request.method,
            url,
            is_idempotent(request.method, request.idempotent),
            file_start is not None,
            self.invalidate_token,
            sent=request.json,
        )
        read_timeout = self.timeout if timeout is None else timeout
        limits = aiohttp.ClientTimeout(sock_connect=self.connect_timeout, sock_read=read_timeout)
        while True:
            token = await self.access_token() if request.authenticated else None
            if token is not None:
                headers.update(auth.auth_headers(token))
            rewind(file, file_start)
            attempts.started()
            unread: list[Exception] = []  # why reading the body failed, if it did
            try:
                async with self.session().request(
                    request.method,
                    # As built, byte for byte: a str would be requoted by yarl (%2C -> ",").
                    self._url_type(url, encoded=True),
                    data=data if file is None else _blocks(file, unread),
                    headers=headers,
                    timeout=limits,
                    allow_redirects=False,
                    proxy=self._proxy,
                    # No Content-Type of aiohttp's own: a body without one goes without one.
                    skip_auto_headers=() if "Content-Type" in headers else ("Content-Type",),
                ) as response:
                    content = await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if unread:  # not the network: the caller's file or progress callback raised
                    raise unread[0] from None
                connecting = isinstance(exc, aiohttp.ConnectionTimeoutError)
                delay = attempts.failed(
                    exc,
                    timed_out=isinstance(exc, asyncio.TimeoutError),
                    connecting=connecting,
                    unacted=connecting or isinstance(exc, aiohttp.ClientConnectorError),
                )
            else:
                done, outcome = attempts.answered(
                    response.status, response.reason, response.headers, content, token
                )
                if done:
                    return outcome
                delay = outcome
            await asyncio.sleep(delay)


def _length(body: Readable) -> int:
    """The size of a file body (or of anything with a length, such as a progress reader)."""
    if isinstance(body, Sized):
        return len(body)
    try:
        return os.fstat(body.fileno()).st_size  # type: ignore[attr-defined]
    except (AttributeError, OSError):  # io.BytesIO and other file-likes with no descriptor
        position = body.tell()
        end = body.seek(0, os.SEEK_END)
        body.seek(position)
        return end


async def _blocks(body: Readable, failures: list[Exception]) -> AsyncIterator[bytes]:
    """A file body in blocks, read on the event loop as aiohttp sends them (a disk read of a
    block is short; a thread per upload is what this client avoids). What a read raises is
    added to ``failures`` (aiohttp reports it as a lost connection), so the request raises it
    as the synchronous client does."""
    while True:
        try:
            block = body.read(_UPLOAD_BLOCK)
        except Exception as exc:
            failures.append(exc)
            raise
        if not block:
            return
        yield block


def _proxy_for(base_url: str) -> str | None:
    """The proxy for the service's host from the environment (``HTTPS_PROXY``, ``NO_PROXY``,
    ...), read once, as the synchronous client does."""
    parts = urlsplit(base_url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _ssl_context() -> ssl.SSLContext | bool:
    """The CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (as the
    synchronous client honours them), else the default verification."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return ssl.create_default_context(cafile=bundle) if bundle else True
