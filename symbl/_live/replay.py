"""The audio a stream has accepted but the service has not yet confirmed reading.

A websocket delivers frames in order, so when the service answers a ping, it has read every
frame sent before that ping. The stream therefore numbers a ping now and then
(:meth:`ReplayBuffer.checkpoint`), and each answer (:meth:`ReplayBuffer.confirm`) releases the
frames sent before it. Whatever is still held when a connection breaks is exactly what the
service may not have received: it is sent again, in order, on the next connection, followed by
what was accepted while the stream was down. The buffer is bounded in seconds of audio; a frame
that would not fit is refused with :class:`~symbl.AudioNotDeliveredError`, never dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from symbl.errors import AudioNotDeliveredError

# While waiting for room, how often to ask again for a confirmation.
_ASK_EVERY = 0.25


class ReplayBuffer:
    """Unconfirmed audio frames, oldest first, at most ``limit_bytes`` of them.

    Args:
        limit_bytes: the most audio held at once.
        bytes_per_second: how many bytes make a second of this stream's audio (for messages).
    """

    def __init__(self, limit_bytes: int, bytes_per_second: float) -> None:
        self._limit = limit_bytes
        self._rate = bytes_per_second
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)  # notified when frames are released
        self._frames: deque[bytes] = deque()
        self._held = 0
        self._first = 0  # the number of the oldest frame held
        self._checkpoints: dict[int, int] = {}  # ping number -> frames sent before it
        self._next_ping = 1
        #: Called after a confirmation released frames (the asyncio client's waits use it; the
        #: threads here wait on a condition).
        self.on_release: Callable[[], None] | None = None

    def __len__(self) -> int:
        return self._held

    @property
    def limit(self) -> int:
        """The most bytes held at once."""
        return self._limit

    def seconds(self, size: int) -> float:
        """How long ``size`` bytes of this stream's audio last."""
        return size / self._rate

    def wait_for_room(
        self, size: int, patience: float, ask: Callable[[], None] | None = None
    ) -> None:
        """Wait up to ``patience`` seconds until ``size`` more bytes fit (an empty buffer takes
        any frame), calling ``ask`` now and then to request a confirmation. It returns either
        way: :meth:`add` tells whether the frame fits."""
        deadline = time.monotonic() + patience
        while True:
            with self._lock:
                if self._fits(size):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
            if ask is not None:
                ask()  # outside the lock: the confirmation comes back through it
            with self._lock:
                if not self._fits(size):
                    self._space.wait(min(left, _ASK_EVERY))

    def wait_until_empty(self, patience: float, ask: Callable[[], None]) -> bool:
        """Wait up to ``patience`` seconds for every frame to be confirmed; True if so."""
        deadline = time.monotonic() + patience
        while True:
            with self._lock:
                if not self._frames:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
            ask()
            with self._lock:
                if self._frames:
                    self._space.wait(min(left, _ASK_EVERY))

    def add(self, frame: bytes) -> None:
        """Hold a frame until the service confirms it.

        Raises:
            AudioNotDeliveredError: it does not fit; nothing was added.
        """
        with self._lock:
            if not self._fits(len(frame)):
                raise self._full(len(frame))
            self._frames.append(frame)
            self._held += len(frame)

    def fits(self, size: int) -> bool:
        """Whether ``size`` more bytes fit now (an empty buffer takes any frame)."""
        with self._lock:
            return self._fits(size)

    def change_rate(self, bytes_per_second: float) -> None:
        """The audio format changed (with the buffer empty): measure seconds anew."""
        with self._lock:
            self._limit = int(self._limit / self._rate * bytes_per_second)
            self._rate = bytes_per_second

    def _fits(self, size: int) -> bool:
        return not self._frames or self._held + size <= self._limit

    def _full(self, size: int) -> AudioNotDeliveredError:
        return AudioNotDeliveredError(
            f"{self.seconds(size):.2f} s of audio ({size} bytes) was not accepted: the service "
            f"has not confirmed the {self.seconds(self._held):.1f} s before it, which the "
            "replay buffer holds until it does (the connection is down, or the service is not "
            "reading); raise replay_buffer_seconds, or check the network",
            undelivered_bytes=size,
            undelivered_seconds=self.seconds(size),
        )

    def checkpoint(self) -> int:
        """A number for a ping sent now, after every frame held so far."""
        with self._lock:
            number, self._next_ping = self._next_ping, self._next_ping + 1
            self._checkpoints[number] = self._first + len(self._frames)
            return number

    def confirm(self, number: int) -> None:
        """The service answered ping ``number``: release the frames sent before it."""
        with self._lock:
            upto = self._checkpoints.pop(number, None)
            if upto is None:
                return
            for older in [ping for ping in self._checkpoints if ping < number]:
                del self._checkpoints[older]  # answered out of order: no longer needed
            while self._first < upto and self._frames:
                self._held -= len(self._frames.popleft())
                self._first += 1
            self._space.notify_all()
        if self.on_release is not None:
            self.on_release()

    def pending(self) -> list[bytes]:
        """Every frame held, oldest first (to send again after a reconnection)."""
        with self._lock:
            self._checkpoints.clear()  # pings of the old connection will not be answered
            return list(self._frames)

    def undelivered(self, extra: int = 0) -> AudioNotDeliveredError:
        """The error for giving up with what is held (plus ``extra`` bytes refused)."""
        size = self._held + extra
        return AudioNotDeliveredError(
            f"{self.seconds(size):.1f} s of audio ({size} bytes) could not be delivered: "
            "reconnecting gave up",
            undelivered_bytes=size,
            undelivered_seconds=self.seconds(size),
        )
