"""``async for event in connection``: the consumer of the asyncio client's live events.

An :class:`EventStream` subscribes to every event of its connection but ``error``, through the
connection's dispatcher, so the backlog rule holds for it as for a subscription: the first
consumer also gets what came before it. The reader task queues each event for it; when the
connection ends for good, the stream ends after what is queued, raising the connection's error
if it broke. A consumer that stops iterating is forgotten: its subscription removes itself.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from symbl._live.events import ERROR_EVENT, Callback, EventDispatcher
from symbl.errors import StreamingError

__all__ = ["EventStream"]


class EventStream:
    """``async for event in connection``: a consumer of every event but ``error``."""

    def __init__(self, dispatcher: EventDispatcher) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._ended = False
        self._error: StreamingError | None = None
        forward = _Forward(weakref.ref(self), dispatcher)
        names = [name for name in dispatcher.events if name != ERROR_EVENT]
        forward.handlers = dict.fromkeys(names, forward)
        #: What to subscribe to the dispatcher for this stream.
        self.handlers: dict[str, Callback] = forward.handlers

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Any:
        if self._queue.empty() and self._ended:
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            return await self.__anext__()
        return item

    def put(self, event: Any) -> None:
        """Queue an event for the consumer (from the reader task)."""
        if not self._ended:
            self._queue.put_nowait(event)

    def end(self, error: StreamingError | None) -> None:
        """The connection ended for good: the consumer gets what is queued, then the end."""
        if not self._ended:
            self._ended, self._error = True, error
            self._queue.put_nowait(_END)


class _Forward:
    """The subscription of an :class:`EventStream`; once the stream is gone (a consumer
    that stopped iterating), it unsubscribes itself."""

    def __init__(self, stream: weakref.ref[EventStream], dispatcher: EventDispatcher) -> None:
        self._stream = stream
        self._dispatcher = dispatcher
        self.handlers: dict[str, Callback] = {}

    def __call__(self, event: Any) -> None:
        stream = self._stream()
        if stream is None:
            self._dispatcher.unsubscribe(self.handlers)
        else:
            stream.put(event)


_END = object()
