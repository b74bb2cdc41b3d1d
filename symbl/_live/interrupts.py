"""The end of a program while live connections are open: stop them cleanly.

Two ways a program ends with connections still open are covered.

**Ctrl+C.**
The documented snippets end right after ``subscribe(...)``: the script's main thread is done and
the interpreter waits for the connection's reader thread. Python then has no user code to
raise ``KeyboardInterrupt`` in, so without help a Ctrl+C would leave the call running and the
process alive. So, while a connection is open, a SIGINT handler is installed that first stops
every live connection (sending the protocol stop, within a short deadline) and then calls the
previous handler, which by default raises ``KeyboardInterrupt``: nothing is swallowed. (When
the main thread has already finished the script and Python is only waiting for the readers,
there is no code left to interrupt: the handler stops the connections and lets the program end
normally, instead of raising into the interpreter's shutdown.)

The handler is installed only from the main thread and only over Python's default handler; a
program with its own SIGINT handling keeps it. Stopping runs on helper threads, so a signal that
lands while the main thread holds a connection's lock cannot deadlock: the handler waits for
them at most ``STOP_BUDGET`` seconds and then lets the interrupt proceed.

**The script simply ends.** Connections whose reader is a daemon thread (streaming: its
snippets block in ``send_audio_from_mic()`` instead) would be cut without a word when the
interpreter exits; an exit hook stops them first, within the same budget.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
import weakref
from types import FrameType
from typing import Any, Callable, Protocol

logger = logging.getLogger("symbl")

#: Seconds the handler gives live connections to stop before the interrupt goes on.
STOP_BUDGET = 1.5


class Interruptible(Protocol):
    """A live connection that can stop itself by a deadline (a ``time.monotonic()`` value)."""

    def interrupt(self, deadline: float) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_previous: Callable[[int, FrameType | None], Any] | None = None
_exit_hooked = False


def register(connection: Interruptible) -> None:
    """Follow a live connection; install the handler when possible."""
    global _previous, _exit_hooked
    with _lock:
        _live.add(connection)
        if not _exit_hooked:
            atexit.register(_stop_all)
            _exit_hooked = True
        if _previous is not None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # the program handles SIGINT itself
        _previous = signal.default_int_handler
        signal.signal(signal.SIGINT, _on_interrupt)


def unregister(connection: Interruptible) -> None:
    """Stop following a connection; restore the previous handler when none is left.

    The handler can only be changed from the main thread; when the last connection ends on
    another thread, ours stays but only passes interrupts on until it is next replaced.
    """
    global _previous
    with _lock:
        _live.discard(connection)
        if _live or _previous is None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is _on_interrupt:
            signal.signal(signal.SIGINT, _previous)
        _previous = None


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    with _lock:
        previous = _previous or signal.default_int_handler
    _stop_all()
    if _waiting_for_threads_at_exit(frame):
        # The program's own code has finished and Python only waits for the reader threads,
        # which have just ended: an interrupt now would only print "Exception ignored".
        return
    previous(signum, frame)


def _waiting_for_threads_at_exit(frame: FrameType | None) -> bool:
    """Whether the main thread is in ``threading._shutdown`` (the end of the program)."""
    shutdown = getattr(threading, "_shutdown", None)
    code = getattr(shutdown, "__code__", None)
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _stop_all() -> None:
    """Stop every live connection on helper threads, giving them ``STOP_BUDGET`` seconds."""
    with _lock:
        connections = list(_live)
    deadline = time.monotonic() + STOP_BUDGET
    stoppers = [
        threading.Thread(target=_stop, args=(connection, deadline), name="symbl-interrupt")
        for connection in connections
    ]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join(max(0.0, deadline - time.monotonic()))


def _stop(connection: Interruptible, deadline: float) -> None:
    try:
        connection.interrupt(deadline)
    except Exception:
        logger.exception("stopping %r on Ctrl+C failed", connection)
