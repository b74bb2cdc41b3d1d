"""The microphone for the asyncio client: :class:`~symbl._live.audio.Microphone`, with its
blocks handed to the event loop.

PortAudio calls back on its own thread, the only thread an asyncio stream involves: the
callback copies the block and schedules it onto the loop with ``loop.call_soon_threadsafe``,
where it joins a bounded :class:`asyncio.Queue`. A sender that falls behind by more than the
queue holds loses the newest blocks, counted in ``dropped_blocks`` and reported, as the
threaded microphone does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Callable

from symbl._live.audio import Microphone

__all__ = ["AsyncMicrophone"]


class AsyncMicrophone(Microphone):
    """Capture mono int16 audio into the running event loop, block by block.

    The arguments are those of :class:`~symbl._live.audio.Microphone`. Open it with ``with``
    in a coroutine (it belongs to the running loop), then ``async for block in
    microphone.blocks(...)`` or ``await microphone.read(...)``.
    """

    def __enter__(self) -> AsyncMicrophone:
        # Before the stream starts: blocks go to the queue of the loop running now.
        self._loop = asyncio.get_running_loop()
        self._blocks: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self._queue.maxsize)
        self._arrived = asyncio.Event()
        super().__enter__()
        return self

    async def blocks(self, go_on: Callable[[], bool], poll: float = 0.2) -> AsyncIterator[bytes]:
        """The blocks as they come, while ``go_on()`` (asked at least every ``poll`` s)."""
        while go_on():
            block = await self.read(poll)
            if block:
                yield block

    async def read(self, timeout: float) -> bytes | None:  # type: ignore[override]
        """The next block, or None if none came within ``timeout`` seconds."""
        super().read(timeout=0)  # reports dropped blocks; its own queue stays empty
        if self._blocks.empty():
            self._arrived.clear()
            # Waiting on an event, not on the queue: a timeout can never lose a block.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        try:
            return self._blocks.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def _on_block(self, data: Any, frame_count: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: copy and hand over to the loop, nothing else.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading
            self._loop.call_soon_threadsafe(self._keep, bytes(data))

    def _keep(self, block: bytes) -> None:
        try:
            self._blocks.put_nowait(block)
        except asyncio.QueueFull:
            self.dropped_blocks += 1
        self._arrived.set()
