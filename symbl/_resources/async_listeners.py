"""Read-only listeners of a stream for the asyncio client: what
``await client.Streaming.subscribe_to_stream(connection_id)`` returns.

An :class:`AsyncStreamListener` is :class:`~symbl._resources.listeners.StreamListener` on the
event loop: ``subscribe`` is plain (callbacks may be coroutine functions, awaited one at a time
by the listener's reader task), ``async for event in listener`` yields its events, and
``stop`` and ``wait`` are coroutines. When the event loop cancels the reader task (as
``asyncio.run`` does on Ctrl+C and when it ends), the socket is closed; there is nothing to send
first.

Example:
    >>> async with symbl.AsyncClient() as client:
    ...     listener = await client.Streaming.subscribe_to_stream(connection_id)
    ...     listener.subscribe({"message_response": print})
    ...     await listener.wait()
"""

from __future__ import annotations

from typing import Any, NoReturn

from symbl._live.async_connection import AsyncLiveConnection
from symbl._transport.async_http import AsyncHttpClient

from .async_conversations import AsyncConversation
from .base import wait_seconds
from .listeners import CLOSE_TIMEOUT, StreamListener

__all__ = ["AsyncStreamListener"]


class AsyncStreamListener(StreamListener):
    """A read-only listener of a stream for ``symbl.AsyncClient`` (made by
    ``await client.Streaming.subscribe_to_stream(connection_id)``).

    ``async for event in listener`` yields every event (a dict with its ``type``) but
    ``error``, from the first consumer on (events before it are kept, as for a first
    subscription), until the listener ends; then it raises the listener's error if it broke.

    Attributes:
        connectionId: the id of the stream listened to.
        conversation: the :class:`~symbl.AsyncConversation` of the stream, once
            ``conversation_created`` has come (None before).
        summary_url: the Summary UI link, once the conversation is completed.
        error: what ended the listener unexpectedly, if anything did.
        state: ``new``, ``connecting``, ``open``, ``reconnecting``, ``closing`` or ``closed``.
    """

    _conversation_class = AsyncConversation
    _live: AsyncLiveConnection  # type: ignore[assignment]
    _client: AsyncHttpClient  # type: ignore[assignment]

    def _live_connection(self, path: str, **options: Any) -> AsyncLiveConnection:  # type: ignore[override]
        # No on_interrupt: a cancelled reader only closes the socket, a listener's whole stop.
        return AsyncLiveConnection(self._client, path, **options)

    def __enter__(self) -> NoReturn:
        raise TypeError("an AsyncStreamListener is used with 'async with', not 'with'")

    def interrupt(self, deadline: float) -> NoReturn:
        """Not for asyncio: a cancellation closes the listener (see the module's docstring)."""
        raise TypeError("cancel the task instead, or await stop(): the event loop owns signals")

    async def __aenter__(self) -> AsyncStreamListener:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def __aiter__(self) -> Any:
        return self._live.events()

    async def stop(self) -> AsyncStreamListener:  # type: ignore[override]
        """Close this listener's socket; the stream and its other listeners go on. Sends
        nothing; safe to call more than once, from several tasks and from a callback."""
        self._live.begin_stop()
        await self._live.close(CLOSE_TIMEOUT)
        return self

    async def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait until the listener has ended for good (the stream ended, ``stop()``, or a drop
        that could not be recovered).

        Args:
            timeout: seconds to wait at most; no limit when None or ``float('inf')``.

        Returns:
            True if it ended, False if the timeout passed first.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
            SymblError: awaited from a callback (the reader task would wait for itself).
        """
        return await self._live.wait(wait_seconds("timeout", timeout))

    async def _open(self) -> None:  # type: ignore[override]
        await self._live.open()
