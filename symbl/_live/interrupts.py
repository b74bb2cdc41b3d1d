"""The end of a program while live connections are open: stop them cleanly.

**Signals.** While a connection is registered (see :func:`register`), SIGINT (Ctrl+C) and
SIGTERM (``kill``, ``timeout``, a container or service manager stopping the program) are
handled in the main thread: every registered connection is stopped first, on helper threads,
within ``STOP_BUDGET`` seconds of the signal (a stream gets its ``stop_request`` and a chance to
complete, a telephony call its ``operation: stop``). Then the signal has its usual effect:

- SIGINT raises ``KeyboardInterrupt`` in the main thread, as Python's default handler does, so
  the program's own code gets it: nothing is swallowed. If the program leaves it uncaught,
  Python reports it and exits killed by SIGINT (status 130); the report shows only the
  program's own frames, down to its line that was running (an ``excepthook`` cuts the SDK's
  frames off; it is installed only over Python's own hook and only touches the interrupts
  raised here). When the program's code has already finished and Python only waits for the
  telephony reader threads (the documented snippets end right after ``subscribe(...)``), there
  is no code to raise into: the program ends as Python ends after an uncaught
  ``KeyboardInterrupt`` (exit hooks run, output is flushed, killed by SIGINT), instead of
  printing Python's "Exception ignored" report.
- SIGTERM takes its default action: output is flushed and the process is killed by SIGTERM
  (status 143). As with Python's default, no ``finally`` block or exit hook runs.

More signals while the connections are being stopped do not cut the stop short (it is bounded
anyway); a SIGTERM among them makes the end a SIGTERM one. A signal that comes while the exit
hooks run (the program is ending anyway) ends the process by that signal at once.

The handlers are installed only from the main thread and only over the defaults
(``signal.default_int_handler`` for SIGINT, ``SIG_DFL`` for SIGTERM): a program with its own
handling, or one started with a signal ignored, keeps it. They are restored when the last
connection ends on the main thread (or when the handler itself finds none left).

**Locks.** The stoppers need the connections' locks, and a signal is handled in the main thread
between two bytecodes, possibly while that thread holds one of them (halfway through writing an
audio frame, say). Waiting for the stoppers there would wait for nothing, and an interrupt there
could cut a frame short on the wire. So when the signal finds the main thread inside the SDK's
connection or socket code, the stoppers start at once, and the main thread goes on until it
returns from that code: a profile hook (``sys.setprofile``, only when no profiler is set) sees
the return, and the signal takes its effect right there. Should that code not return within the
budget (a stalled socket), a watchdog delivers the signal again and it takes effect wherever
the main thread is.

**The script simply ends.** Connections whose reader is a daemon thread (streaming: its
snippets block in ``send_audio_from_mic()`` instead) would be cut without a word when the
interpreter exits; an exit hook stops them first, within the same budget.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import weakref
from types import FrameType, TracebackType
from typing import Any, Callable, NoReturn, Protocol

logger = logging.getLogger("symbl")

#: Seconds from a signal within which live connections are to be stopped.
STOP_BUDGET = 1.5
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Marks the KeyboardInterrupts raised here, whose uncaught report leaves out the SDK's frames.
_MARK = "_symbl_interrupt"
# Code that may hold a lock stopping a connection needs: the websocket library's and the live
# and transport layers' ...
_LOCKING_MODULES = ("websocket.", "symbl._live.", "symbl._transport.")
# ... except these functions (None: all of the module's), which hold none.
_LOCK_FREE = {"symbl._live.audio": None, "symbl._live.connection": {"wait"}}
# Modules where only these functions hold such a lock (a stream's send lock).
_LOCKING_ONLY = {"symbl._resources.streaming": {"_send", "stop", "modify", "_reopened"}}


class Interruptible(Protocol):
    """A live connection that can stop itself by a deadline (a ``time.monotonic()`` value)."""

    def interrupt(self, deadline: float) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
# Reentrant: the handler runs in the main thread, which may hold it (register, unregister).
_lock = threading.RLock()
# Signal number -> the handler ours replaced, while ours is installed.
_installed: dict[int, Any] = {}
_exit_hooked = False
# From a signal's arrival until it takes effect: the strongest signal that came, the threads
# stopping the connections and their deadline, and the frame whose return the main thread waits
# for (with the event that ends the watchdog).
_pending: int | None = None
_stoppers: list[threading.Thread] = []
_deadline = 0.0
_watching: FrameType | None = None
_settled = threading.Event()
_watchdog: threading.Thread | None = None
# The main thread is handling a signal (or running the exit hook); signals that come meanwhile
# are only noted (the strongest one).
_busy = False
_held: int | None = None
# The exit hook has run: the interpreter is running the exit hooks.
_exiting = False
_replaced_excepthook: Callable[..., Any] | None = None


def register(connection: Interruptible) -> None:
    """Follow a live connection; install the handlers when possible."""
    global _exit_hooked
    with _lock:
        _live.add(connection)
        if not _exit_hooked:
            atexit.register(_at_exit)
            _exit_hooked = True
        if threading.current_thread() is threading.main_thread():
            _install()


def unregister(connection: Interruptible) -> None:
    """Stop following a connection; restore the previous handlers when none is left.

    Handlers can only be changed from the main thread; when the last connection ends on another
    thread, ours stay, and the next signal finds nothing to stop and restores them.
    """
    with _lock:
        _live.discard(connection)
        if not _live and threading.current_thread() is threading.main_thread():
            _restore()


def _default(signum: int) -> Any:
    return signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL


def _install() -> None:
    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is _on_signal:
            continue
        _installed.pop(signum, None)  # ours was replaced: the program's handler stays
        if current is not _default(signum):
            continue  # the program handles (or ignores) this signal itself
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # not the main interpreter, or not on this platform
            continue
        _installed[signum] = current


def _restore() -> None:
    if _busy or _pending is not None:
        return  # a signal is being handled: its handling restores them when done
    for signum, previous in list(_installed.items()):
        if signal.getsignal(signum) is _on_signal:
            signal.signal(signum, previous)
        del _installed[signum]


# -- handling a signal (always in the main thread) ----------------------------------------------


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _busy, _held, _pending
    if _busy:
        _held = _stronger(_held, signum)
        return
    with _lock:
        _pending = _stronger(_pending, signum)
        if _watching is not None and time.monotonic() < _deadline:
            return  # the main thread is on its way out of connection code: see _returned
    _handle(frame)


def _handle(frame: FrameType | None) -> None:
    """Stop the connections, then let the pending signal take effect at ``frame`` (the main
    thread's), or arrange for that once the main thread has left connection code."""
    global _busy, _held, _pending, _stoppers, _deadline, _watching
    _busy = True
    try:
        with _lock:
            if not _stoppers and _watching is None:  # the first arrival: start stopping
                _deadline = time.monotonic() + STOP_BUDGET
                _stoppers = _start_stoppers(_deadline)
                _settled.clear()
                if _stoppers:
                    _start_watchdog()
            if _watching is not None and sys.getprofile() is _returned:
                sys.setprofile(None)  # the watchdog's call: the budget is spent
            _watching = None
            stopping = time.monotonic() < _deadline and any(s.is_alive() for s in _stoppers)
            holder = _lock_holder(frame) if stopping else None
            if holder is not None and sys.getprofile() is None:
                _watching = holder
                sys.setprofile(_returned)
                return
            stoppers, _stoppers = _stoppers, []
        _join(stoppers, _deadline)
    finally:
        with _lock:
            _pending = _stronger(_pending, _held) if _held is not None else _pending
            _busy, _held = False, None
            signum = _pending if _watching is None else None
            if signum is not None:
                _pending = None
                _settled.set()
                if not _live:
                    _restore()
    if signum is None:
        return
    _end_watchdog()
    if signum == signal.SIGINT and not _exiting and not _program_finished(frame):
        _raise_interrupt(signum, frame)
    if signum == signal.SIGINT and not _exiting:
        end_interrupted()  # nothing left to interrupt
    die(signum)


def _returned(frame: FrameType, event: str, arg: Any) -> None:
    """The profile hook: once the watched frame returns, the pending signal takes effect."""
    if event == "return" and frame is _watching:
        sys.setprofile(None)
        _handle(frame.f_back)


def _start_watchdog() -> None:
    """Deliver the signal again at the deadline if it is still pending then."""
    global _watchdog
    if not hasattr(signal, "pthread_kill"):
        return
    main = threading.main_thread().ident

    def watch() -> None:
        if _settled.wait(max(0.0, _deadline - time.monotonic()) + 0.01):
            return
        signum = _pending
        if signum is not None and main is not None:
            with contextlib.suppress(OSError, ValueError):  # the main thread has gone
                signal.pthread_kill(main, signum)

    _watchdog = threading.Thread(target=watch, name="symbl-interrupt", daemon=True)
    _watchdog.start()


def _end_watchdog() -> None:
    """Wait for the watchdog, told by ``_settled`` that it is not needed, to end."""
    global _watchdog
    watchdog, _watchdog = _watchdog, None
    if watchdog is not None and watchdog is not threading.current_thread():
        watchdog.join(1.0)


def _stronger(first: int | None, second: int) -> int:
    return signal.SIGTERM if signal.SIGTERM in (first, second) else second


def _lock_holder(frame: FrameType | None) -> FrameType | None:
    """The outermost frame of code that may hold a lock stopping needs, if the main thread is
    in any."""
    holder = None
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module in _LOCKING_ONLY:
            if frame.f_code.co_name in _LOCKING_ONLY[module]:
                holder = frame
        elif f"{module}.".startswith(_LOCKING_MODULES):
            lock_free = _LOCK_FREE.get(module, ())
            if lock_free is not None and frame.f_code.co_name not in lock_free:
                holder = frame
        frame = frame.f_back
    return holder


def _program_finished(frame: FrameType | None) -> bool:
    """Whether the main thread is in ``threading._shutdown``: its program has finished and it
    waits for the non-daemon threads."""
    shutdown = getattr(threading, "_shutdown", None)
    code = getattr(shutdown, "__code__", None)
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's default SIGINT handling: ``KeyboardInterrupt``, marked as raised here."""
    global _replaced_excepthook
    if sys.excepthook is sys.__excepthook__:
        _replaced_excepthook = sys.excepthook
        sys.excepthook = _excepthook
    try:
        signal.default_int_handler(signum, frame)
    except KeyboardInterrupt as interrupt:
        setattr(interrupt, _MARK, True)
        raise


def end_interrupted() -> NoReturn:
    """End the program as Python ends it after an uncaught ``KeyboardInterrupt``: the exit hooks
    run, output is flushed, and the process is killed by SIGINT (status 130 in a shell).

    For a Ctrl+C that comes once the program's code has finished, while Python waits for
    threads before it exits: there is no code left to raise the interrupt into.
    """
    atexit._run_exitfuncs()
    die(signal.SIGINT)


def die(signum: int) -> NoReturn:
    """End the process the way the signal's default action does, output flushed first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed or broken stream: nothing more can be shown anyway
            pass
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
    os._exit(128 + signum)  # where the default action did not end the process


def _excepthook(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    """Report an uncaught interrupt raised here with the program's frames only."""
    if isinstance(value, KeyboardInterrupt) and getattr(value, _MARK, False):
        kept = _program_frames(traceback)
        if kept is not traceback:
            # Python shows the exception's own traceback, so it is the one to cut; and what
            # the SDK was handling when the interrupt came is no concern of the program's.
            value.__suppress_context__ = True
            traceback = kept
            value.with_traceback(kept)
    (_replaced_excepthook or sys.__excepthook__)(kind, value, traceback)


def _program_frames(traceback: TracebackType | None) -> TracebackType | None:
    """The traceback down to the program's call into the SDK (the same object when whole)."""
    entries: list[TracebackType] = []
    entry = traceback
    while entry is not None and not _in_sdk(entry.tb_frame):
        entries.append(entry)
        entry = entry.tb_next
    if entry is None:
        return traceback
    kept: TracebackType | None = None
    for entry in reversed(entries):
        kept = TracebackType(kept, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return kept


def _in_sdk(frame: FrameType) -> bool:
    module = str(frame.f_globals.get("__name__", ""))
    return module == "symbl" or module.startswith("symbl.")


# -- stopping -----------------------------------------------------------------------------------


def _at_exit() -> None:
    """The exit hook: stop the connections still open (the streams' readers are daemons).

    A signal still pending ends the program as the signal does, once the stop is done.
    """
    global _busy, _held, _pending, _stoppers, _watching, _exiting
    _exiting = True
    on_main = threading.current_thread() is threading.main_thread()
    with _lock:
        pending, stoppers, _pending, _stoppers = _pending, _stoppers, None, []
        if on_main and sys.getprofile() is _returned:
            sys.setprofile(None)
        _watching = None
        _settled.set()
    _end_watchdog()
    if on_main:
        _busy = True
    try:
        deadline = _deadline if pending is not None else time.monotonic() + STOP_BUDGET
        _join(stoppers + _start_stoppers(deadline), deadline)
    finally:
        if on_main:
            with _lock:
                held, _busy, _held = _held, False, None
            if held is not None:
                pending = _stronger(pending, held)
            if pending is not None:
                die(pending)


def _start_stoppers(deadline: float) -> list[threading.Thread]:
    """Start stopping every live connection, each on its own thread."""
    with _lock:
        connections = list(_live)
    stoppers = [
        threading.Thread(target=_stop, args=(connection, deadline), name="symbl-interrupt")
        for connection in connections
    ]
    for stopper in stoppers:
        stopper.start()
    return stoppers


def _join(stoppers: list[threading.Thread], deadline: float) -> None:
    for stopper in stoppers:
        stopper.join(max(0.0, deadline - time.monotonic()))


def _stop(connection: Interruptible, deadline: float) -> None:
    try:
        connection.interrupt(deadline)
    except Exception as exc:  # the program is ending: say so in one line, not a traceback
        logger.warning("could not stop %r: %s", connection, exc)
        logger.debug("stopping %r failed", connection, exc_info=True)
