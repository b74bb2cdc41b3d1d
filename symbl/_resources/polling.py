"""Async jobs: adaptive polling of ``GET /v1/job/{id}``, waiting, and callbacks that never miss.

The first poll goes out at once (a job the service finishes instantly costs one round trip), then
after ``poll_interval`` seconds, the interval growing by half each time up to
``max_poll_interval``. Nothing waits without a deadline: ``job_timeout`` bounds every wait.

Callbacks registered with :meth:`Job.add_callback` fire exactly once: when the job ends, or at
once if it has already ended. With a background poller they run on its thread; a callback that
raises is logged, never fatal.

**The end of the program.** Background pollers are daemon threads: a job nobody registered a
callback for never keeps the program alive, and is let go when it ends (the job goes on on the
service). A job with callbacks is waited for before Python exits, so that a script that
registers them and then ends still sees them run; the wait lasts until the job ends, at the
latest the client's ``job_timeout`` after polling started (when ``on_error`` runs with the
``WaitTimeoutError``). Ctrl+C during that wait stops it: the callbacks do not run, and the
program ends as after an uncaught ``KeyboardInterrupt`` (exit hooks run, status 130), without
Python's "Exception ignored" report. After an uncaught ``KeyboardInterrupt`` in the program
itself, nothing is waited for.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import sys
import threading
import time
from typing import Any, Callable

from symbl import errors
from symbl._live import interrupts
from symbl._protocol import jobs
from symbl._protocol.checks import shown
from symbl._transport.http import HttpClient

logger = logging.getLogger("symbl")

_GROWTH = 1.5
# Failures worth polling through: the service or the network may recover before the deadline.
# But not forever: one that failed every poll for this many longest intervals is taken to be gone.
_TRANSIENT = (errors.APIConnectionError, errors.InternalServerError, errors.RateLimitError)
_FAILING_POLLS_BEFORE_GIVING_UP = 10
# At exit, seconds given to the pollers let go to end (one may be in the middle of a poll).
_LET_GO_BUDGET = 1.0

Callback = Callable[[Any], object]

# The jobs followed on a background thread, while it runs (see "The end of the program"), and
# the condition that guards the set and tells when a job leaves it.
_followed: set[Job] = set()
_followed_changed = threading.Condition()
_exit_hooked = False
# Set at exit: the pollers still running stop, and run no callback.
_letting_go = threading.Event()


def job_outcome(
    answer: Any, job_id: str, conversation_id: str
) -> tuple[str, errors.JobFailedError | None]:
    """The status in the service's answer to a job poll, and the error when it failed.

    Raises:
        SymblError: the answer has no known status.
    """
    status = answer.get("status") if isinstance(answer, dict) else None
    if not isinstance(status, str) or status not in jobs.JOB_STATUSES:
        raise errors.SymblError(
            f"job {job_id} has an unexpected status {status!r}; expected one of "
            + ", ".join(jobs.JOB_STATUSES)
        )
    if status != "failed":
        return status, None
    return status, errors.JobFailedError(
        f"job {job_id} of conversation {conversation_id} failed; the service could not "
        "process the media or text (check the file and options)",
        job_id=job_id,
        conversation_id=conversation_id,
        status=status,
    )


class PollSchedule:
    """When to poll next, and when failing polls mean the service is gone.

    The interval starts at ``first`` and grows by half up to ``longest``. Transient failures
    (the network, a 5xx, a 429) are polled through, until they have lasted ten ``longest``
    intervals; any other failure ends the polling at once.
    """

    def __init__(self, first: float, longest: float) -> None:
        self._interval = first
        self._longest = longest
        self._failing_since: float | None = None

    def next_delay(self) -> float:
        """Seconds until the next poll (each call moves the schedule on)."""
        delay = self._interval
        self._interval = min(self._interval * _GROWTH, self._longest)
        return delay

    def succeeded(self) -> None:
        """A poll was answered."""
        self._failing_since = None

    def failed(self, error: errors.SymblError) -> bool:
        """A poll failed with ``error``; True to poll on, False to give up with it."""
        if not isinstance(error, _TRANSIENT):
            return False
        now = time.monotonic()
        self._failing_since = self._failing_since or now
        return now - self._failing_since <= _FAILING_POLLS_BEFORE_GIVING_UP * self._longest


class Job:
    """One async job of one conversation.

    Args:
        client: the client to poll with.
        job_id: the job to follow.
        conversation_id: the conversation it belongs to (for messages and errors).
        owner: what callbacks receive (the Conversation object).
    """

    def __init__(self, client: HttpClient, job_id: str, conversation_id: str, owner: Any) -> None:
        self.client = client
        self.job_id = job_id
        self.conversation_id = conversation_id
        self._owner = owner
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._status: str | None = None
        self._error: errors.SymblError | None = None
        self._callbacks: dict[str, list[Callback]] = {"complete": [], "error": []}
        self._poller: Any = None  # the thread (or, for the asyncio client, task) that polls
        self._last_failure: errors.SymblError | None = None
        self._has_callbacks = False  # registered before the end: waited for at exit

    def __repr__(self) -> str:
        return f"<Job {self.job_id} status={self._status or 'unknown'}>"

    @property
    def status(self) -> str | None:
        """The last status seen, without asking the service (None before the first poll)."""
        return self._status

    @property
    def error(self) -> errors.SymblError | None:
        """Why the job ended badly (failed, or polling gave up), else None."""
        return self._error

    def done(self) -> bool:
        """Whether the job has ended (completed, failed, or could not be followed)."""
        return self._ended.is_set()

    def fetch_status(self) -> str:
        """Ask the service for the job's status now, and record it."""
        if self._ended.is_set() and self._status in ("completed", "failed"):
            return self._status
        return self._record(self.client.send(jobs.job_status(self.job_id)))

    def _record(self, answer: Any) -> str:
        status, failure = job_outcome(answer, self.job_id, self.conversation_id)
        self._status = status
        if status in ("completed", "failed"):
            self._end("complete" if failure is None else "error", failure)
        return status

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job ends.

        Args:
            timeout: seconds to wait at most; the client's ``job_timeout`` when None.

        Raises:
            JobFailedError: the job failed.
            WaitTimeoutError: it did not end within ``timeout`` (it may still end later).
            APIStatusError: the job cannot be followed (e.g. unknown job id).
        """
        limit = self.client.job_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        poller = self._poller
        if poller is not None and poller.is_alive() and poller is not threading.current_thread():
            self._ended.wait(max(0.0, deadline - time.monotonic()))
        else:
            self._poll(deadline)
        if not self._ended.is_set():
            raise self._still_running(limit)
        if self._error is not None:
            raise self._error

    def start_polling(self) -> None:
        """Follow the job on a background thread, which fires the callbacks when it ends.

        The thread stops at the latest after the client's ``job_timeout``, or once every poll
        has failed for ten ``max_poll_interval`` (50 s by default: the service is gone). It is
        a daemon: at exit only a job with callbacks is waited for (see the module's notes).
        """
        with self._lock:
            if self._poller is not None or self._ended.is_set():
                return
            self._poller = threading.Thread(
                target=self._poll_in_background, name=f"symbl-job-{self.job_id[:8]}", daemon=True
            )
        _follow(self)
        self._poller.start()

    def add_callback(self, kind: str, callback: Callback) -> None:
        """Run ``callback(owner)`` once when the job ends as ``kind`` ("complete" or "error")."""
        if not callable(callback):
            raise errors.InvalidArgumentError(
                f"on_{kind} needs a callable (a function or lambda), not {shown(callback)}"
            )
        with self._lock:
            if not self._ended.is_set():
                self._callbacks[kind].append(callback)
                self._has_callbacks = True
                return
            outcome = "error" if self._error is not None else "complete"
        if outcome == kind:
            self._run_callback(kind, callback)

    def _poll(self, deadline: float) -> None:
        schedule = PollSchedule(self.client.poll_interval, self.client.max_poll_interval)
        while (delay := self._after_poll(schedule, deadline, self._poll_once())) is not None:
            if not self._pause(delay):
                return

    def _pause(self, delay: float) -> bool:
        """Sleep until the next poll; False when the background poller is let go (at exit)."""
        if self._in_poller():
            return not _letting_go.wait(delay)
        time.sleep(delay)
        return True

    def _poll_once(self) -> errors.SymblError | None:
        try:
            self.fetch_status()
        except errors.SymblError as exc:
            return exc
        return None

    def _after_poll(
        self, schedule: PollSchedule, deadline: float, failure: errors.SymblError | None
    ) -> float | None:
        """Seconds until the next poll after one that raised ``failure`` (or None: it was
        answered), or None to stop: the job ended, polling gave up, or the deadline came."""
        if failure is None:
            schedule.succeeded()
        elif schedule.failed(failure):
            self._last_failure = failure
            logger.debug("polling job %s failed (%s); polling on", self.job_id, failure)
        else:
            self._end("error", failure)
        remaining = deadline - time.monotonic()
        if self._ended.is_set() or remaining <= 0:
            return None
        return min(schedule.next_delay(), remaining)

    def _poll_in_background(self) -> None:
        try:
            self._poll(time.monotonic() + self.client.job_timeout)
            if not self._ended.is_set() and not _letting_go.is_set():
                self._end("error", self._gave_up())
        finally:
            with _followed_changed:
                _followed.discard(self)
                _followed_changed.notify_all()

    def _gave_up(self) -> errors.WaitTimeoutError:
        return errors.WaitTimeoutError(
            f"gave up following job {self.job_id} after {self.client.job_timeout:g} s "
            f"(still {self._status or 'running'})" + self._failure_note()
        )

    def _still_running(self, limit: float) -> errors.WaitTimeoutError:
        return errors.WaitTimeoutError(
            f"job {self.job_id} of conversation {self.conversation_id} is still "
            f"{self._status or 'running'} after {limit:g} s; wait again, or pass a longer "
            "timeout (or raise the client's job_timeout)" + self._failure_note()
        )

    def _failure_note(self) -> str:
        failure = self._last_failure
        return f"; the last poll failed with: {failure}" if failure is not None else ""

    def _end(self, outcome: str, error: errors.SymblError | None = None) -> None:
        with self._lock:
            if self._ended.is_set():
                return
            self._error = error
            callbacks = self._callbacks[outcome]
            self._callbacks = {"complete": [], "error": []}
            self._ended.set()
        if self._in_poller() and _letting_go.is_set():
            return  # the program is ending without waiting for this job
        if error is not None and not callbacks and self._in_poller():
            logger.warning("%s (no on_error callback was registered)", error)
        for callback in callbacks:
            self._run_callback(outcome, callback)

    def _in_poller(self) -> bool:
        return self._poller is threading.current_thread()

    def _run_callback(self, kind: str, callback: Callback) -> None:
        try:
            callback(self._owner)
        except Exception:
            logger.exception("the on_%s callback for job %s raised", kind, self.job_id)


# -- the end of the program ---------------------------------------------------------------------


def _follow(job: Job) -> None:
    """Keep ``job`` in view until its background poller ends; hook the program's end once."""
    global _exit_hooked
    with _followed_changed:
        _followed.add(job)
        if _exit_hooked:
            return
        _exit_hooked = True
    atexit.register(_let_go)
    # Before Python joins its threads (the exit hooks run after that, so that Ctrl+C can still
    # end the program as after an uncaught KeyboardInterrupt, exit hooks included). CPython's
    # hook for that, which concurrent.futures uses too; absent from typeshed.
    with contextlib.suppress(RuntimeError):  # Python is already exiting: no more waiting
        threading._register_atexit(_wait_for_callbacks)  # type: ignore[attr-defined]


def _wait_for_callbacks() -> None:
    """At exit, wait for the jobs with callbacks to end and their callbacks to have run; Ctrl+C
    stops the wait and ends the program as an uncaught KeyboardInterrupt does."""
    if isinstance(getattr(sys, "last_value", None), KeyboardInterrupt):
        return  # the program was interrupted: it waits for nothing more
    try:
        _wait_for_pollers(lambda job: job._has_callbacks, None)
    except KeyboardInterrupt:
        logger.debug("interrupted while waiting for jobs with callbacks: they are let go")
        interrupts.end_interrupted()


def _let_go() -> None:
    """The exit hook: stop the pollers still running, giving them a moment to end (one may be
    in the middle of a poll) so that no thread is cut short."""
    _letting_go.set()
    try:
        _wait_for_pollers(lambda job: True, _LET_GO_BUDGET)
    except KeyboardInterrupt:  # a second Ctrl+C: the program ends at once
        interrupts.die(signal.SIGINT)


def _wait_for_pollers(which: Callable[[Job], bool], timeout: float | None) -> None:
    """Wait until the background pollers of the jobs ``which`` picks have ended (at most
    ``timeout`` seconds, when given).

    The waiting is on a condition rather than in ``Thread.join``, which an interrupt leaves
    taking the thread for ended; each poller is joined only once it has left ``_followed``.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: set[threading.Thread] = set()
    with _followed_changed:
        while pollers := {job._poller for job in _followed if which(job)}:
            seen |= pollers
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            _followed_changed.wait(remaining)
    finish = deadline or time.monotonic() + _LET_GO_BUDGET
    for poller in seen:
        poller.join(max(0.0, finish - time.monotonic()))
