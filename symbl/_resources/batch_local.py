"""A :class:`~symbl.Batch` run in this process: a few submitter threads under one adaptive
limit, and one poller thread that follows every job in progress.

Threads, not one per job: a batch of thousands keeps at most ``max_concurrency`` jobs in
progress, polls them from one thread in the order their next poll falls due, and uploads with
at most eight threads at once (uploads are bound by the network, not by their number). Inputs
waiting for their turn are held as journal ids only; each is read from the journal when its
turn comes.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import queue
import random
import sqlite3
import threading
import time
from collections import deque
from typing import Any, Callable, Union

from symbl import errors
from symbl._transport.http import HttpClient
from symbl.errors import SymblError

from .batch_steps import (
    LATER,
    BatchResult,
    error_fields,
    result_of,
    submitted,
    submitting_client,
)
from .conversations import Conversation
from .journal import Journal, Row
from .polling import PollSchedule

logger = logging.getLogger("symbl")

#: What the runner tells the iterating thread: a result, that something moved (None), or
#: that one of its threads broke (the exception, raised there).
Outcome = Union[BatchResult, BaseException, None]

_MOST_SUBMITTERS = 8
_FIRST_BACKOFF = 1.0
_LONGEST_BACKOFF = 30.0
# Tries of one input while the service is unavailable (503) or cannot be reached, before the
# input fails (some two minutes of backoff): a wrong base URL must not make a run endless.
_MOST_UNAVAILABLE = 8
# Seconds given to the threads to end when a run stops (a submission under way goes on).
_STOP_WAIT = 1.0


class Limit:
    """How many jobs may be in progress at once.

    At most ``most``. When the service refuses a submission for the account's limit, the limit
    drops to the jobs of this batch that got through; it grows again by one each time a round
    of jobs (as many as it allows) has ended since, back up to ``most``: other programs may
    have left the account meanwhile, and each try above the account's limit costs a 429. A
    service that is unavailable (503) does not lower it: the submission waits, and goes again.
    """

    def __init__(self, most: int) -> None:
        self.most = most
        self.allowed = most
        self._taken = 0
        self._ended_since_change = 0
        self._refusals_in_a_row = 0
        self._changed = threading.Condition()
        self._stopped = False

    def take(self) -> bool:
        """Wait for room for one more job; False once :meth:`stop` was called."""
        with self._changed:
            while self._taken >= self.allowed and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return False
            self._taken += 1
            return True

    def hold(self, jobs: int) -> None:
        """Count ``jobs`` already in progress (an earlier run's), even past the limit."""
        with self._changed:
            self._taken += jobs

    def give_back(self) -> None:
        """A job taken with :meth:`take` was not submitted, or is no longer followed."""
        with self._changed:
            self._taken -= 1
            self._changed.notify_all()

    def ended(self) -> None:
        """A job of this batch ended (or was submitted and failed at once)."""
        with self._changed:
            self._taken -= 1
            self._refusals_in_a_row = 0
            self._ended_since_change += 1
            if self.allowed < self.most and self._ended_since_change >= self.allowed:
                self.allowed += 1
                self._ended_since_change = 0
            self._changed.notify_all()

    def refused(self, retry_after: float | None) -> float:
        """The service refused a submission for the account's limit: lower the limit; the
        seconds to wait before trying again (``retry_after`` when the service said)."""
        with self._changed:
            self._taken -= 1
            self.allowed = max(1, self._taken)
            self._ended_since_change = 0
            self._refusals_in_a_row += 1
            logger.info("the account is at its limit of jobs; at most %d at once", self.allowed)
            if retry_after is not None:
                return retry_after
            return _backoff(self._refusals_in_a_row)

    def pause(self, seconds: float, *, until_a_job_ends: bool) -> None:
        """Wait ``seconds`` (or until :meth:`stop`; or, ``until_a_job_ends``, until a job of
        this batch ends)."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not self._stopped and (left := deadline - time.monotonic()) > 0:
                if self._changed.wait(left) and until_a_job_ends:
                    return

    def stop(self) -> None:
        """Wake every waiter: nothing more is taken."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


def _backoff(tries: int) -> float:
    """Seconds to wait after ``tries`` refusals in a row: doubling, capped, with jitter."""
    ceiling = min(_LONGEST_BACKOFF, _FIRST_BACKOFF * 2 ** min(tries - 1, 5))
    return float(ceiling * random.uniform(0.5, 1.0))


@dataclasses.dataclass(order=True)
class _Poll:
    """A job followed: when its next poll is due, and until when it is followed."""

    due: float
    order: int
    row: Row = dataclasses.field(compare=False)
    conversation: Conversation = dataclasses.field(compare=False)
    schedule: PollSchedule = dataclasses.field(compare=False)
    deadline: float = dataclasses.field(compare=False)


class LocalRunner:
    """Submits the journal's pending inputs and follows its jobs in progress, in this process.

    Args:
        client: the client to submit and poll with.
        journal: the batch's journal, the one record of what was done.
        most: the most jobs in progress at once.
        outcomes: where results (and progress ticks) go, for the iterating thread.
    """

    def __init__(
        self, client: HttpClient, journal: Journal, most: int, outcomes: queue.Queue[Outcome]
    ) -> None:
        self._client = client
        self._submitting = submitting_client(client)
        self._journal = journal
        self._limit = Limit(most)
        self._outcomes = outcomes
        self._pending = deque(journal.ids("pending"))
        self._lock = threading.Lock()  # guards _pending, _expected, _followed, _unavailable
        self._unavailable: dict[int, int] = {}  # row id -> tries the service was unavailable
        self._stopping = threading.Event()
        self._polls: list[_Poll] = []
        self._polls_changed = threading.Condition()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._submitters: list[threading.Thread] = []
        resumed = journal.rows("in_progress")
        self._followed = 0
        self._expected = len(self._pending) + len(resumed)
        self._limit.hold(len(resumed))
        for row in resumed:
            self._follow(row, Conversation(row.conversation_id or "", row.job_id, client=client))

    @property
    def concurrency(self) -> int:
        """The jobs allowed in progress at once now."""
        return self._limit.allowed

    @property
    def expected(self) -> int:
        """How many results this run gives (one less for each input another run took)."""
        with self._lock:
            return self._expected

    def alive(self) -> bool:
        """Whether a result may still come: an input is still to submit, or a job followed."""
        with self._lock:
            following = self._followed > 0
        return following or any(thread.is_alive() for thread in self._submitters)

    def start(self) -> None:
        """Start the poller and the submitters."""
        submitters = min(_MOST_SUBMITTERS, self._limit.most, len(self._pending))
        self._launch(self._poll_jobs, "symbl-batch-poller")
        for number in range(1, submitters + 1):
            self._submitters.append(
                self._launch(self._submit_inputs, f"symbl-batch-submitter-{number}")
            )

    def _launch(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=self._guarded, args=(target,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop submitting and polling, waiting a moment for the threads. A submission under
        way goes on, so that its ids reach the journal (see :meth:`wait`); the threads are
        daemons and never hold up the exit."""
        self._stopping.set()
        self._limit.stop()
        with self._polls_changed:
            self._polls_changed.notify_all()
        deadline = time.monotonic() + _STOP_WAIT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing of the run writes to the journal any more: after :meth:`stop`,
        until the submissions under way are answered and recorded; False when ``timeout``
        seconds ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if deadline is None and thread.is_alive():
                logger.info("waiting for a submission under way, so that its ids are saved")
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            return False
        self._submitting.close()
        return True

    def _guarded(self, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            if self._stopping.is_set():  # nobody reads the outcomes any more
                logger.exception("a batch thread failed after the run stopped")
                return
            self._stopping.set()
            self._limit.stop()
            self._outcomes.put(exc)  # raised by the iterating thread

    # -- submitting ---------------------------------------------------------------------------

    def _submit_inputs(self) -> None:
        while not self._stopping.is_set() and self._limit.take():
            with self._lock:
                row_id = self._pending.popleft() if self._pending else None
            if row_id is None:
                self._limit.give_back()
                return
            if not self._journal.mark(row_id, "submitting", expect="pending"):
                self._skipped(row_id)
                continue
            row = self._journal.row(row_id)
            outcome = submitted(self._submitting, self._journal, row)
            if isinstance(outcome, Conversation):
                self._accepted(row, outcome)
            else:
                self._refused(row, *outcome)

    def _skipped(self, row_id: int) -> None:
        """Another run took the input first: not ours to submit, nor to report."""
        logger.warning("input %d is no longer pending: another run took it", row_id)
        self._limit.give_back()
        with self._lock:
            self._expected -= 1
        self._outcomes.put(None)

    def _accepted(self, row: Row, conversation: Conversation) -> None:
        with self._lock:
            self._unavailable.pop(row.id, None)
        ids: dict[str, Any] = {
            "job_id": conversation.get_job_id(),
            "conversation_id": conversation.get_conversation_id(),
        }
        self._record(row, "in_progress", expect="submitting", **ids)
        if not self._stopping.is_set():
            self._outcomes.put(None)
            self._follow(dataclasses.replace(row, status="in_progress", **ids), conversation)

    def _refused(self, row: Row, verdict: str, error: SymblError) -> None:
        if verdict == LATER and self._again(row, error):
            self._journal.mark(row.id, "pending", expect="submitting")
            with self._lock:
                self._pending.appendleft(row.id)
            return
        self._limit.ended()
        self._finished(row, "failed" if verdict == LATER else verdict, error_fields(error))

    def _again(self, row: Row, error: SymblError) -> bool:
        """Whether to submit ``row`` again after ``error``, having waited as it asks."""
        if isinstance(error, errors.RateLimitError):
            wait = self._limit.refused(error.retry_after)
            # The wait the service asked for is kept; else a job's end makes room at once.
            self._limit.pause(wait, until_a_job_ends=error.retry_after is None)
            return True
        with self._lock:
            tries = self._unavailable[row.id] = self._unavailable.get(row.id, 0) + 1
        if tries >= _MOST_UNAVAILABLE:
            return False
        self._limit.give_back()
        logger.info("the service is unavailable (%s); %s waits", error, row.label)
        self._limit.pause(_backoff(tries), until_a_job_ends=False)
        return True

    # -- following ----------------------------------------------------------------------------

    def _follow(self, row: Row, conversation: Conversation) -> None:
        with self._lock:
            self._followed += 1
        schedule = PollSchedule(self._client.poll_interval, self._client.max_poll_interval)
        now = time.monotonic()
        deadline = now + self._client.job_timeout
        self._schedule(_Poll(now, next(self._order), row, conversation, schedule, deadline))

    def _schedule(self, poll: _Poll) -> None:
        with self._polls_changed:
            heapq.heappush(self._polls, poll)
            self._polls_changed.notify()

    def _poll_jobs(self) -> None:
        while (poll := self._next_due()) is not None:
            try:
                status = poll.conversation.get_job_status()
            except Exception as exc:
                error = exc if isinstance(exc, SymblError) else _unexpected(poll.row, exc)
                if poll.schedule.failed(error):
                    self._poll_again(poll)
                else:
                    self._job_ended(poll, "failed", error_fields(error))
                continue
            poll.schedule.succeeded()
            if status in ("completed", "failed"):
                failure = poll.conversation.error
                fields = error_fields(failure) if isinstance(failure, SymblError) else {}
                self._job_ended(poll, status, fields)
            else:
                self._poll_again(poll)

    def _poll_again(self, poll: _Poll) -> None:
        """Schedule the next poll of a job not ended, unless its time is up."""
        due = time.monotonic() + poll.schedule.next_delay()
        if due > poll.deadline:
            self._gave_up(poll)
            return
        poll.due, poll.order = due, next(self._order)
        self._schedule(poll)

    def _job_ended(self, poll: _Poll, status: str, fields: dict[str, Any]) -> None:
        self._limit.ended()
        self._finished(poll.row, status, fields)
        self._unfollow()

    def _gave_up(self, poll: _Poll) -> None:
        """The job did not end within ``job_timeout``: it stays ``in_progress`` in the journal,
        for the next run to follow; its result says so."""
        self._limit.give_back()
        timeout = errors.WaitTimeoutError(
            f"job {poll.row.job_id} of conversation {poll.row.conversation_id} is still running "
            f"after {self._client.job_timeout:g} s (the client's job_timeout); it stays in "
            "progress in the journal, and the next run follows it"
        )
        self._outcomes.put(dataclasses.replace(result_of(poll.row), error=timeout))
        self._unfollow()

    def _unfollow(self) -> None:
        with self._lock:
            self._followed -= 1

    def _next_due(self) -> _Poll | None:
        """The next poll when it falls due; None once stopping."""
        with self._polls_changed:
            while not self._stopping.is_set():
                if self._polls:
                    wait = self._polls[0].due - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._polls)
                    self._polls_changed.wait(wait)
                else:
                    self._polls_changed.wait()
            return None

    # -- recording ----------------------------------------------------------------------------

    def _finished(self, row: Row, status: str, fields: dict[str, Any]) -> None:
        self._record(row, status, **fields)
        self._outcomes.put(result_of(dataclasses.replace(row, status=status, **fields)))

    def _record(self, row: Row, status: str, expect: str | None = None, **fields: Any) -> None:
        """Commit ``row``'s new status; when the journal cannot take it, say so at ERROR
        with the ids (the next run would not know them)."""
        try:
            if not self._journal.mark(row.id, status, expect=expect, **fields):
                logger.warning("input %s was not %s any more; left as it is", row.label, expect)
        except (SymblError, sqlite3.Error) as exc:
            logger.error(
                "could not save in the batch journal that %s is %s (%s): %s",
                row.label,
                status,
                ", ".join(f"{name}={value}" for name, value in fields.items() if value),
                exc,
            )


def _unexpected(row: Row, exc: Exception) -> SymblError:
    logger.exception("polling the job of %s failed unexpectedly", row.label)
    return SymblError(f"polling its job failed unexpectedly ({type(exc).__name__}: {exc})")
