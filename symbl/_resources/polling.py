"""Async jobs: adaptive polling of ``GET /v1/job/{id}``, waiting, and callbacks that never miss.

The first poll goes out at once (a job the service finishes instantly costs one round trip), then
after ``poll_interval`` seconds, the interval growing by half each time up to
``max_poll_interval``. Nothing waits without a deadline: ``job_timeout`` bounds every wait.

Callbacks registered with :meth:`Job.add_callback` fire exactly once: when the job ends, or at
once if it has already ended. With a background poller they run on its thread; a callback that
raises is logged, never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from symbl import errors
from symbl._protocol import jobs
from symbl._transport.http import HttpClient

logger = logging.getLogger("symbl")

_GROWTH = 1.5
# Failures worth polling through: the service or the network may recover before the deadline.
# But not forever: one that failed every poll for this many longest intervals is taken to be gone.
_TRANSIENT = (errors.APIConnectionError, errors.InternalServerError, errors.RateLimitError)
_FAILING_POLLS_BEFORE_GIVING_UP = 10

Callback = Callable[[Any], object]


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
        self._poller: threading.Thread | None = None
        self._last_failure: errors.SymblError | None = None

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
        answer = self.client.send(jobs.job_status(self.job_id))
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, str) or status not in jobs.JOB_STATUSES:
            raise errors.SymblError(
                f"job {self.job_id} has an unexpected status {status!r}; expected one of "
                + ", ".join(jobs.JOB_STATUSES)
            )
        self._status = status
        if status == "completed":
            self._end("complete")
        elif status == "failed":
            self._end(
                "error",
                errors.JobFailedError(
                    f"job {self.job_id} of conversation {self.conversation_id} failed; the "
                    "service could not process the media or text (check the file and options)",
                    job_id=self.job_id,
                    conversation_id=self.conversation_id,
                    status=status,
                ),
            )
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
            raise errors.WaitTimeoutError(
                f"job {self.job_id} of conversation {self.conversation_id} is still "
                f"{self._status or 'running'} after {limit:g} s; wait again, or pass a longer "
                "timeout (or raise the client's job_timeout)" + self._failure_note()
            )
        if self._error is not None:
            raise self._error

    def start_polling(self) -> None:
        """Follow the job on a background thread, which fires the callbacks when it ends.

        The thread is not a daemon, so a script that registers callbacks and then ends still
        sees them fire; it stops at the latest after the client's ``job_timeout``, or once
        every poll has failed for ten ``max_poll_interval`` (50 s by default: the service
        is gone).
        """
        with self._lock:
            if self._poller is not None or self._ended.is_set():
                return
            self._poller = threading.Thread(
                target=self._poll_in_background, name=f"symbl-job-{self.job_id[:8]}"
            )
        self._poller.start()

    def add_callback(self, kind: str, callback: Callback) -> None:
        """Run ``callback(owner)`` once when the job ends as ``kind`` ("complete" or "error")."""
        if not callable(callback):
            raise errors.InvalidArgumentError(
                f"on_{kind} needs a callable (a function or lambda), not {callback!r}"
            )
        with self._lock:
            if not self._ended.is_set():
                self._callbacks[kind].append(callback)
                return
            outcome = "error" if self._error is not None else "complete"
        if outcome == kind:
            self._run_callback(kind, callback)

    def _poll(self, deadline: float) -> None:
        interval = self.client.poll_interval
        give_up_after = _FAILING_POLLS_BEFORE_GIVING_UP * self.client.max_poll_interval
        failing_since: float | None = None
        while not self._ended.is_set():
            try:
                self.fetch_status()
                failing_since = None
            except _TRANSIENT as exc:
                self._last_failure = exc
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > give_up_after:
                    self._end("error", exc)
                    return
                logger.debug("polling job %s failed (%s); polling on", self.job_id, exc)
            except errors.SymblError as exc:
                self._end("error", exc)
                return
            remaining = deadline - time.monotonic()
            if self._ended.is_set() or remaining <= 0:
                return
            time.sleep(min(interval, remaining))
            interval = min(interval * _GROWTH, self.client.max_poll_interval)

    def _poll_in_background(self) -> None:
        self._poll(time.monotonic() + self.client.job_timeout)
        if not self._ended.is_set():
            self._end(
                "error",
                errors.WaitTimeoutError(
                    f"gave up following job {self.job_id} after {self.client.job_timeout:g} s "
                    f"(still {self._status or 'running'})" + self._failure_note()
                ),
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
        if error is not None and not callbacks and self._poller is threading.current_thread():
            logger.warning("%s (no on_error callback was registered)", error)
        for callback in callbacks:
            self._run_callback(outcome, callback)

    def _run_callback(self, kind: str, callback: Callback) -> None:
        try:
            callback(self._owner)
        except Exception:
            logger.exception("the on_%s callback for job %s raised", kind, self.job_id)
