"""Running the emulator: in-process on a background thread, or in the foreground.

Test controls for the live APIs (each also under ``/_emulator/``, see :mod:`.http.admin`):

- :meth:`Emulator.set_live_transcript`: the words that new streaming sessions hear (as their
  audio arrives) and new calls play (in time scaled by the ``telephony_speed`` setting).
- :meth:`Emulator.streams`, :meth:`Emulator.stream_audio`: what streaming clients sent.
- :meth:`Emulator.calls`, :meth:`Emulator.outbox`, :meth:`Emulator.end_call`: telephony calls,
  the summary emails they would have sent, and the remote party hanging up.
- :meth:`Emulator.drop_websockets`: cut live sockets without a close frame.
- :meth:`Emulator.close_websockets`: close live sockets with a chosen close code (1011, ...).
- :meth:`Emulator.freeze_websockets`, :meth:`Emulator.unfreeze_websockets`: keep live sockets
  open but read and send nothing (no pongs either), for a while or until unfrozen.
- :meth:`Emulator.add_fault` with ``websocket="cut" | "freeze" | "close"``: the same to
  sockets open now or later, at a chosen moment (``after_bytes``, ``after_frames``,
  ``after_frames_sent``, ``after_seconds``).
- Settings ``stream_idle_seconds`` (1800), ``telephony_speed`` (1.0),
  ``telephony_answer_seconds`` (0.5) and ``stop_order`` (``"recognition_stopped_first"``).

Its doors (:mod:`.http.doors`): the admin API needs :attr:`Emulator.admin_token` (generated at
start) in the ``X-Emulator-Admin-Token`` header; requests must name it by a loopback ``Host``
(or one of ``allowed_hosts``); bodies are limited as they stream in (``max_media_bytes`` for
media); media URLs are downloaded only from ``allowed_media_hosts``.

Example:
    >>> from symbl.emulator import Emulator
    >>> with Emulator() as emu:
    ...     client = symbl.Client(emu.credentials, base_url=emu.base_url)
    ...     ...
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from aiohttp import web

from symbl._protocol.frames import CLOSE_INTERNAL_ERROR, is_sendable_close_code

from .http.common import JSON_LIMIT, MIDDLEWARES, STATE
from .http.doors import DOORS, Doors, RequestLogger, doors_middleware
from .http.jobs import start_webhooks, stop_jobs
from .http.routes import ROUTES
from .http.streaming import end_live_sessions
from .media import parse_transcript
from .stores.faults import FaultRule
from .stores.hosts import HostList
from .stores.processing import RegisteredMedia, import_text
from .stores.requestlog import ADMIN_TOKEN_HEADER, RecordedRequest
from .stores.settings import DEFAULT_APP_ID, DEFAULT_APP_SECRET, Settings
from .stores.state import EmulatorState

T = TypeVar("T")
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")
#: Where :class:`Emulator` writes one line per request when ``log_requests`` is on.
REQUEST_LOGGER = logging.getLogger("symbl.emulator.requests")


def create_app(
    state: EmulatorState, admin_token: str | None, allowed_hosts: Iterable[str] = ()
) -> web.Application:
    """Build the aiohttp application serving the whole API over ``state``.

    Args:
        state: what the emulator knows.
        admin_token: the token the admin API needs (``X-Emulator-Admin-Token``); None leaves
            the admin API open to anyone who can reach the port (unsafe).
        allowed_hosts: ``Host`` names (``name`` or ``name:port``; ``"*"`` for any) accepted
            besides the loopback names.

    Raises:
        ValueError: a malformed host.
    """
    app = web.Application(middlewares=[doors_middleware, *MIDDLEWARES], client_max_size=JSON_LIMIT)
    app[STATE] = state
    app[DOORS] = Doors(admin_token, HostList(allowed_hosts))
    app.add_routes(ROUTES)
    app.on_startup.append(start_webhooks)
    app.on_shutdown.append(stop_jobs)
    app.on_shutdown.append(end_live_sessions)
    return app


class Emulator:
    """A local Symbl API (REST and websockets) on one port.

    Args:
        host: interface to listen on.
        port: TCP port; 0 picks a free one (see :attr:`base_url`).
        apps: ``{app_id: app_secret}`` allowed to generate tokens; by default one app,
            ``emulator-app-id`` / ``emulator-app-secret``.
        admin_token: the token the admin API needs in the ``X-Emulator-Admin-Token`` header;
            by default a random one (see :attr:`admin_token`).
        open_admin: serve the admin API to anyone who can reach the port, without the token
            (unsafe: any local program, or a web page, could then change the emulator).
        allowed_hosts: ``Host`` names accepted besides ``localhost``, ``127.0.0.1``, ``[::1]``
            and ``host``: ``name`` or ``name:port``, ``"*"`` for any.
        log_requests: write one line per request (tokens fingerprinted) to the
            ``symbl.emulator.requests`` logger, at INFO.
        **settings: initial :class:`~symbl.emulator.stores.settings.Settings`, e.g.
            ``token_lifetime=1.0``, ``max_media_bytes=1 << 30``,
            ``allowed_media_hosts=["media.example.com"]``.

    Raises:
        ValueError: an invalid setting, admin token or host.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        apps: Mapping[str, str] | None = None,
        admin_token: str | None = None,
        open_admin: bool = False,
        allowed_hosts: Iterable[str] = (),
        log_requests: bool = False,
        **settings: Any,
    ) -> None:
        initial = Settings()
        initial.update(settings)
        if admin_token is not None and not (isinstance(admin_token, str) and admin_token.strip()):
            raise ValueError("admin_token must be a non-empty string")
        self._apps = dict(apps) if apps else {DEFAULT_APP_ID: DEFAULT_APP_SECRET}
        self.state = EmulatorState(self._apps, initial)
        self.host = host
        self.port = port
        #: The token the admin API needs, in the ``X-Emulator-Admin-Token`` header.
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        self.open_admin = open_admin
        self.allowed_hosts = list(allowed_hosts)
        if host not in _WILDCARD_ADDRESSES:
            self.allowed_hosts.append(host)
        HostList(self.allowed_hosts)  # check them now rather than at start()
        self.log_requests = log_requests
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        status = "running" if self.running else "stopped"
        return f"<symbl Emulator {status} at {self.base_url}>"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Emulator:
        """Start serving on a background thread; returns once the port is accepting."""
        if self.running:
            return self
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        started: Future[None] = Future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._serve, args=(loop, sock, started), name="symbl-emulator", daemon=True
        )
        self._thread.start()
        started.result(timeout=_START_TIMEOUT)
        return self

    def stop(self) -> None:
        """Close every connection and stop the server thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            if self._runner is not None:
                cleanup = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
                cleanup.result(_STOP_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT)
        self._loop = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (Ctrl+C)."""
        self.start()
        try:
            assert self._thread is not None
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def _serve(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, started: Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        # Named workers (media probing runs there), so tests can tell them from SDK threads.
        workers = ThreadPoolExecutor(thread_name_prefix="symbl-emulator-worker")
        loop.set_default_executor(workers)
        try:
            app = create_app(
                self.state, None if self.open_admin else self.admin_token, self.allowed_hosts
            )
            self._runner = web.AppRunner(
                app,
                access_log=REQUEST_LOGGER if self.log_requests else None,
                access_log_class=RequestLogger,
                shutdown_timeout=1.0,
            )
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.SockSite(self._runner, sock).start())
        except BaseException as exc:  # hand start-up failures to the caller of start()
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.close()
            workers.shutdown(wait=True)

    # -- addresses and credentials -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The REST base URL, e.g. ``http://127.0.0.1:53117``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def app_id(self) -> str:
        """The first configured app id."""
        return next(iter(self._apps))

    @property
    def app_secret(self) -> str:
        """The secret of :attr:`app_id`."""
        return self._apps[self.app_id]

    @property
    def credentials(self) -> dict[str, str]:
        """``{'app_id': ..., 'app_secret': ...}`` for the first app, ready for ``credentials=``."""
        return {"app_id": self.app_id, "app_secret": self.app_secret}

    @property
    def admin_headers(self) -> dict[str, str]:
        """``{"X-Emulator-Admin-Token": ...}``: the headers of a request to the admin API."""
        return {ADMIN_TOKEN_HEADER: self.admin_token}

    def environ(self) -> dict[str, str]:
        """Environment variables that point the SDK (or a subprocess) at this emulator."""
        return {
            "SYMBL_BASE_URL": self.base_url,
            "SYMBL_APP_ID": self.app_id,
            "SYMBL_APP_SECRET": self.app_secret,
        }

    # -- test controls (the admin API, from Python) --------------------------------------------

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the server's thread and return its result.

        Every change to the state goes through here, so it never races a request in flight.
        """
        if self._loop is None or not self.running:
            return function(*args)

        async def run() -> T:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_STOP_TIMEOUT)

    def reset(self) -> None:
        """Forget everything (tokens, requests, faults, changed settings, the live transcript),
        end every stream and call, and close every websocket (code 1001)."""
        self.call(self.state.reset)

    def requests(self, path: str = "", method: str = "") -> list[RecordedRequest]:
        """Requests received so far (the latest 10,000; secrets replaced by their
        :func:`~symbl.emulator.fingerprint`), optionally those whose path starts with ``path``."""
        return self.state.requests.entries(path, method)

    def configure(self, **settings: Any) -> None:
        """Change behaviour settings, e.g. ``configure(token_lifetime=1.0)``."""
        self.call(self.state.settings.update, settings)

    def add_app(self, app_id: str, app_secret: str) -> None:
        """Allow another app id / secret pair to generate tokens."""
        self.call(self.state.tokens.add_app, app_id, app_secret)

    def jobs_in_progress(self, app_id: str | None = None) -> tuple[int, int]:
        """How many async jobs of ``app_id`` (default: the first app) have not ended, now and
        at the most since the last reset."""
        return self.call(self.state.jobs.in_progress, app_id or self.app_id)

    def revoke_tokens(self) -> int:
        """Invalidate every issued token (clients then get 401); returns how many were valid."""
        return self.call(self.state.tokens.revoke_all)

    def tokens_generated(self, app_id: str | None = None) -> int:
        """How many distinct tokens were generated for ``app_id`` (default: the first app)."""
        return self.call(lambda: self.state.tokens.generated.get(app_id or self.app_id, 0))

    def add_fault(self, **rule: Any) -> FaultRule:
        """Inject a fault: a request rule, e.g. ``add_fault(path="/v1/job/*", status=503,
        times=2)``, or a socket rule for the websockets open now and those that open later,
        e.g. ``add_fault(path="/v1/streaming/*", websocket="cut", after_bytes=65536,
        times=1)``: its moment is counted from now for a socket already open (see
        :class:`~symbl.emulator.stores.faults.FaultRule`).

        Raises:
            ValueError: an invalid rule.
            TypeError: an unknown field.
        """
        return self.call(self.state.add_fault, FaultRule(**rule))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.call(self.state.faults.clear)

    def register_media(
        self,
        transcript: Any,
        *,
        url: str | None = None,
        sha256: str | None = None,
        duration: float | None = None,
    ) -> None:
        """Give media a transcript: the media at ``url``, or any upload with this SHA-256.

        ``transcript`` is a list of ``{"speaker": {"name", "userId"}, "text", "start", "end"}``
        (or ``{"transcript": [...]}``), as embedded transcripts are.
        """
        if (url is None) == (sha256 is None):
            raise ValueError("give exactly one of url= or sha256=")
        lines = parse_transcript(
            transcript if isinstance(transcript, dict) else {"transcript": transcript}
        )
        library = self.state.media_library
        target, key = (library.by_url, url) if url is not None else (library.by_sha256, sha256)
        self.call(target.__setitem__, key, RegisteredMedia(lines, duration))

    def add_conversation(
        self,
        messages: list[dict[str, Any]],
        *,
        conversation_id: str | None = None,
        name: str | None = None,
        app_id: str | None = None,
    ) -> str:
        """Add a finished conversation from Text API messages; returns its id."""
        store = self.state.conversations
        owner = app_id or self.app_id
        return self.call(lambda: import_text(store, owner, messages, conversation_id, name).id)

    def webhooks(self) -> list[dict[str, Any]]:
        """Job-status callbacks sent so far."""
        return self.call(lambda: list(self.state.webhook_deliveries))

    # -- live APIs (streaming and telephony) -----------------------------------------------------

    def set_live_transcript(self, transcript: Any) -> None:
        """Script what new streaming sessions hear and new calls play; None clears it.

        Args:
            transcript: a list of ``{"speaker": {"name", "userId"}, "text", "start", "end"}``
                (seconds; ``speaker`` optional), or ``{"transcript": [...]}``, or None.

        Raises:
            ValueError: the transcript is malformed.

        Example:
            >>> emu.set_live_transcript(
            ...     [{"speaker": {"name": "Ann"}, "text": "Hi there.", "start": 0.2, "end": 1.0}]
            ... )
        """
        lines: tuple[Any, ...] = ()
        if transcript is not None:
            lines = parse_transcript(
                transcript if isinstance(transcript, dict) else {"transcript": transcript}
            )
        self.call(setattr, self.state, "live_transcript", lines)

    def streams(self) -> list[dict[str, Any]]:
        """Every streaming session so far: ``connectionId``, ``conversationId``, ``state``,
        ``start_request`` (as received), ``audio_bytes``, ``audio_frames``, ``audio_seconds``,
        ``largest_frame``, ``audio_before_start``, ``oversize_frames``, ``stop_requests`` (the
        raw texts), ``modify_requests`` (as received), ``sockets`` (open now), ``reconnects``
        and ``senders``: every sender socket of the session in the order they opened, each
        ``path``, ``open``, ``frozen``, ``reconnect``, ``start_requests``, ``bytes_received``
        (binary bytes handled, accepted or not), ``audio_bytes`` and ``audio_frames`` (those
        accepted as audio)."""
        return self.call(lambda: [s.to_json() for s in self.state.streams.sessions()])

    def stream_audio(self, connection_id: str) -> bytes:
        """The audio bytes the latest session on ``connection_id`` accepted, in order (up to
        256 MiB; ``audio_bytes`` counts beyond), when the emulator keeps streamed audio: the
        ``keep_stream_audio`` setting (on in the ``symbl_emulator`` pytest fixture, off by
        default, so that a long-running emulator holds no audio).

        Raises:
            KeyError: no such session.
            ValueError: streamed audio is not kept.
        """
        return self.call(self.state.streams.audio, connection_id)

    def calls(self) -> list[dict[str, Any]]:
        """Every telephony call so far: ``connectionId``, ``conversationId``, ``state``
        (``ringing``, ``active`` or ``ended``), ``start`` and ``stop`` (the request bodies,
        ``stop`` None until stopped), ``ended_by``, ``speaker_events`` and ``subscribers``."""
        return self.call(lambda: [c.to_json() for c in self.state.calls.calls()])

    def outbox(self) -> list[dict[str, Any]]:
        """Summary emails the calls would have sent: ``to``, ``subject``, ``conversationId``,
        ``connectionId``, ``summaryUrl``, ``invokeOn``."""
        return self.call(lambda: [dict(mail) for mail in self.state.calls.outbox])

    def end_call(self, connection_id: str) -> None:
        """The remote party of a call hangs up now.

        Raises:
            KeyError: no connected call with this id.
        """
        self.call(self.state.calls.hang_up, connection_id)

    def drop_websockets(self, path_prefix: str = "") -> int:
        """Cut every live websocket whose path starts with ``path_prefix`` (all by default)
        without a close frame, as a broken network would; returns how many."""
        return self.call(self.state.sockets.drop, path_prefix)

    def close_websockets(
        self, path_prefix: str = "", code: int = CLOSE_INTERNAL_ERROR, reason: str = ""
    ) -> int:
        """Close every live websocket whose path starts with ``path_prefix`` (all by default)
        with a close frame carrying ``code`` and ``reason``, as a failing service would (1011:
        internal error), after the frames already on their way; returns how many.

        Raises:
            ValueError: ``code`` may not be sent in a close frame (1000-4999, not 1004, 1005,
                1006 or 1015), or ``reason`` is not a string.

        Example:
            >>> emu.close_websockets("/v1/streaming/", code=1011, reason="recognizer crashed")
        """
        if not is_sendable_close_code(code):
            raise ValueError(f"{code!r} is not a close code a server may send")
        if not isinstance(reason, str):
            raise ValueError("reason must be a string")
        return self.call(self.state.sockets.close, path_prefix, code, reason)

    def freeze_websockets(self, path_prefix: str = "", seconds: float | None = None) -> int:
        """Freeze every live websocket whose path starts with ``path_prefix`` (all by default),
        as a network path that stops carrying anything would: the TCP connection stays open,
        but the emulator reads nothing from it (so it answers no ping, neither protocol-level
        nor ``__PING__``, and does not see the client close) and sends nothing on it, for
        ``seconds`` or until :meth:`unfreeze_websockets`. Returns how many.

        When a freeze ends the socket goes on where it stopped: what the client sent meanwhile
        is read and handled then, and what the emulator had to send goes out, as TCP delivers
        late rather than losing. For a path that never comes back, cut the frozen socket
        (:meth:`drop_websockets`). ``reset()`` and ``stop()`` cut frozen sockets.

        Raises:
            ValueError: ``seconds`` is negative or not a number.
        """
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0
        ):
            raise ValueError("seconds must be a number of seconds, at least 0, or None")
        return self.call(self.state.sockets.freeze, path_prefix, seconds)

    def unfreeze_websockets(self, path_prefix: str = "") -> int:
        """End the freeze of every frozen websocket whose path starts with ``path_prefix``;
        returns how many."""
        return self.call(self.state.sockets.thaw, path_prefix)
