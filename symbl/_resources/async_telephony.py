"""The Telephony API for the asyncio client: ``client.Telephony`` of ``symbl.AsyncClient``.

``await client.Telephony.start_pstn(...)`` / ``start_sip(...)`` / ``stop(connection_id)`` take
the arguments of ``symbl.Telephony``'s methods, with the same checks and requests, and return an
:class:`AsyncConnection`. ``connection.subscribe({...})`` (plain, not awaited) opens the call's
live results socket in a task of the running loop; ``async for event in connection`` does too.
``await connection.stop()`` ends the call on the service (sent again after a 5xx, as a stop is
safe to repeat) and closes the socket; ``await connection.wait()`` waits for the live events to
end.

Signals belong to the event loop: when ``asyncio.run`` ends (after Ctrl+C, or when the main
coroutine returns), it cancels the connection's reader task, which then stops the call unless
it was started with ``handle_signals=False``. A program that should follow a call to its end
awaits ``connection.wait()``.

Example:
    >>> async with symbl.AsyncClient() as client:
    ...     connection = await client.Telephony.start_pstn(phone_number="+14155550100")
    ...     connection.subscribe({"transcript_response": print})
    ...     await connection.wait()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NoReturn

from symbl._live.async_connection import INTERRUPT_GRACE, AsyncLiveConnection
from symbl._protocol.request import Request
from symbl._transport.async_http import AsyncHttpClient
from symbl.errors import NotFoundError, SymblError

from .async_conversations import AsyncConversation
from .base import wait_seconds
from .coroutines import awaited, name_coroutines
from .telephony import Connection, Telephony

__all__ = ["AsyncConnection", "AsyncTelephony"]


class AsyncConnection(Connection):
    """A telephony connection of ``symbl.AsyncClient``: :class:`~symbl.Connection` on the
    event loop.

    ``subscribe`` is plain (callbacks may be coroutine functions, awaited one at a time by the
    connection's reader task) and opens the live socket in that task; ``async for event in
    connection`` opens it too, and yields every event (a dict with its ``type``) but
    ``error`` until the call's live events end, then raises the connection's error if the
    socket broke. ``stop``, ``wait`` and ``push_speaker_event`` are coroutines.

    Attributes:
        connectionId: identifies the call while it lasts.
        conversationId: the conversation it feeds.
        conversation: an :class:`~symbl.AsyncConversation` for ``conversationId``.
        summaryInfo: after ``stop()``, the Summary UI links.
        error: what ended the live socket unexpectedly, if anything did.
    """

    _conversation_class = AsyncConversation
    _live: AsyncLiveConnection  # type: ignore[assignment]
    _client: AsyncHttpClient  # type: ignore[assignment]

    def _live_connection(self, path: str, **options: Any) -> AsyncLiveConnection:  # type: ignore[override]
        return AsyncLiveConnection(self._client, path, on_interrupt=self._interrupted, **options)

    def interrupt(self, deadline: float) -> NoReturn:
        """Not for asyncio: the event loop's cancellation stops the call (see the module)."""
        raise TypeError("cancel the task instead, or await stop(): the event loop owns signals")

    def subscribe(self, events: Mapping[str, Callable[[Any], object]]) -> None:
        """Call back on live events of the call: ``{'transcript_response': callback, ...}``
        (the events of :meth:`symbl.Connection.subscribe`); callbacks may be coroutine
        functions. The first call opens the live socket in a task of the running loop; if
        that fails, the ``error`` subscribers are told and ``error`` says why.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
            StreamingError: the call was stopped.
        """
        self._live.subscribe(events)
        # A socket that ended by itself is replaced: subscribing again resumes the live events.
        self._live.open_in_background()

    def __aiter__(self) -> Any:
        events = self._live.events()
        self._live.open_in_background()
        return events

    async def stop(self, **params: Any) -> AsyncConnection:  # type: ignore[override]
        """End the call on the service (``operation: stop``) and close the live socket.

        Safe to call more than once, from several tasks and from a callback. After
        ``client.Telephony.stop`` of the same call, it only closes the live socket. If the stop
        request fails, the error is raised and the connection stays as it was, so ``stop()``
        can be retried.

        Args:
            **params: more fields of the stop request, e.g. ``actions``.

        Returns:
            This connection, updated with ``summaryInfo``.
        """
        if not self._live.begin_stop():
            return self
        answer = self._stopped_elsewhere()
        try:
            if answer is None:
                answer = await self._client.send(self._stop_request(params))
        except NotFoundError:
            self._ended_already()
            answer = None
        except BaseException:
            self._live.abandon_stop()  # the call may still run: let stop() be retried
            raise
        self._stopped(answer)
        await self._live.close()
        return self

    async def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait until the call's live events end for good (the call ended, ``stop()``, or a
        drop that could not be recovered).

        Args:
            timeout: seconds to wait at most; no limit when None or ``float('inf')``.

        Returns:
            True if they ended, False if the timeout passed first (or never subscribed).

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
            SymblError: awaited from a callback (the reader task would wait for itself).
        """
        return await self._live.wait(wait_seconds("timeout", timeout))

    async def push_speaker_event(  # type: ignore[override]
        self, event_type: str, user: Mapping[str, str], timestamp: str | None = None
    ) -> None:
        """Tell the service who is speaking now (``POST`` to ``eventUrl``); the arguments are
        those of :meth:`symbl.Connection.push_speaker_event`."""
        await self._client.send(self._speaker_event(event_type, user, timestamp))

    async def _interrupted(self) -> None:
        """The event loop cancelled the reader (Ctrl+C, the end of ``asyncio.run``): end the
        call, within the grace the reader gives it."""
        if not self._live.begin_stop():
            return
        answer = self._stopped_elsewhere()
        try:
            if answer is None:
                answer = await self._client.send(self._stop_request({}), timeout=INTERRUPT_GRACE)
        except SymblError:
            self._live.abandon_stop()
            raise
        self._stopped(answer)


@name_coroutines
class AsyncTelephony(Telephony):
    """The Telephony API for ``symbl.AsyncClient`` (``await client.Telephony.start_pstn(...)``).

    The methods take the arguments of ``symbl.Telephony``'s. With asyncio, ``handle_signals``
    says whether the cancellation of the connection's reader task by the event loop (as
    ``asyncio.run`` does on Ctrl+C and when it ends) stops the call (True), or only closes the
    live socket (False).
    """

    start_pstn = awaited(Telephony.start_pstn, AsyncConnection)  # type: ignore[assignment]
    start_sip = awaited(Telephony.start_sip, AsyncConnection)  # type: ignore[assignment]
    stop = awaited(Telephony.stop, AsyncConnection)  # type: ignore[assignment,arg-type]

    async def _call(  # type: ignore[override]
        self, client: AsyncHttpClient, request: Request, **options: bool
    ) -> AsyncConnection:
        answer = await client.send(request)
        return AsyncConnection(client, answer, **options)  # type: ignore[arg-type]
