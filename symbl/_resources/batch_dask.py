"""A :class:`~symbl.Batch` run on a Dask cluster: ``batch.run(dask_client=client)``.

Each input is one task. A task takes a lease of a ``distributed.Semaphore`` before it submits
and holds it until its job has ended. The semaphore is named after the account and
``max_concurrency`` (its number of leases is fixed when it is first used): the batches of one
account on a cluster that use the same ``max_concurrency`` share it, and the cluster never has
more of their jobs in progress than that, however many workers it has. A task whose submission
the service refuses for the account's limit (other programs use the account too) keeps its
lease and tries again after a backoff with jitter (``Retry-After`` when the service gives one);
the limit itself does not adapt. While it waits, the task leaves its worker thread to others
(``secede``).

The journal stays with the caller, and nothing is submitted that the journal does not show as
``submitting`` first. A task that holds its lease asks before each submission: it reports
"about to submit" through the scheduler's event log and waits for an answer (a
``distributed.Event`` per attempt, and a second one set first when the answer is "no"). The
caller commits ``submitting`` and then answers "go", or answers "no" (the run is stopping, the
input is no longer pending). Without "go" within :data:`_ANSWER_SECONDS`, or once the run stops,
the task does not submit, and returns "not submitted". So:

- a caller that dies before the commit leaves the input ``pending``, and its task never submits;
- a caller that dies after it leaves it ``submitting`` (``uncertain`` on the next run), which is
  the one window where that can happen without a request having gone out;
- the task reports the job id as soon as the service answers (committed ``in_progress``), a
  refusal for the limit (committed back to ``pending`` before it asks again), and its result;
- a task the scheduler runs again (its worker died) is told "no" when its input is no longer
  ``pending``: an input an earlier attempt was cleared for and never reported on becomes
  ``uncertain``, one with a job id is followed;
- a task that fails (an exception, not a refused submission) ends the run with a
  :class:`~symbl.SymblError`; every input stays where the journal has it.

Stopping (``break``, Ctrl+C, an error) sets a per-run ``distributed.Event``: tasks look at it
after they get their lease and while they back off, and return "not submitted" (the input stays
``pending``). Tasks not started are cancelled. Submissions already cleared get a few seconds to
report their job ids. The flag stays set on the scheduler (one small entry per stopped run), so
that a task still waiting for a lease returns as soon as it has one, without asking.

Reports and finished tasks reach one hand-over thread through a queue; it alone writes the
journal (never the Dask client's event loop). At most twice ``max_concurrency`` tasks are handed
over at a time, which bounds the scheduler's load.

Credentials reach the workers as plain settings with each task (the app id and secret, the base
URL and the client's timeouts), never as a pickled client, socket or session; each worker
process builds its own client from them, once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from symbl import errors
from symbl._transport.http import HttpClient
from symbl._transport.settings import SETTINGS
from symbl.errors import InvalidArgumentError, MissingDependencyError, SymblError

from .batch_local import Outcome
from .batch_steps import (
    LATER,
    after_refusal,
    error_fields,
    result_of,
    submit,
    submitting_client,
)
from .conversations import Conversation
from .journal import FINAL, Journal, Row

logger = logging.getLogger("symbl")

_WINDOW = 2  # tasks handed over at a time, per job allowed in progress
_ANSWER_SECONDS = 30.0  # how long a task waits for leave to submit
_ANSWER_SLICE = 0.5  # how often, meanwhile, it looks whether the run stopped
_GRACE_SECONDS = 5.0  # how long a stopping run waits for the submissions it cleared
_FIRST_BACKOFF = 1.0
_LONGEST_BACKOFF = 30.0
#: What a task returns when it did not submit (it was stopped, or not cleared to).
NOT_SUBMITTED = "not submitted"
_UNCERTAIN_NOTE = (
    "its Dask worker stopped while submitting it: it may have reached the service. Look for "
    "it with symbl.Conversations.list(); to submit it again anyway, call batch.retry_uncertain()"
)

# What the worker processes built, by their settings or names (tokens, connections and
# semaphore lease refreshers reused).
_worker_clients: dict[str, HttpClient] = {}
_worker_semaphores: dict[str, Any] = {}
_worker_lock = threading.Lock()


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "batch.run(dask_client=...) needs Dask's distributed scheduler: "
            "pip install 'symbl[dask]'"
        ) from None
    return distributed


@dataclass(frozen=True)
class RunNames:
    """The cluster-wide names one run uses: the account's semaphore, the topic of the tasks'
    reports, the stop flag, and the prefix of the answers to "about to submit"."""

    semaphore: str
    most: int
    run: str

    @property
    def topic(self) -> str:
        """The event-log topic the tasks report on."""
        return f"{self.run}-reports"

    @property
    def stop_flag(self) -> str:
        """The ``distributed.Event`` set when the run stops."""
        return f"{self.run}-stop"

    def answer(self, row_id: int, attempt: str) -> tuple[str, str]:
        """The ``distributed.Event`` set when one "about to submit" report is answered, and
        the one set before it when the answer is "no"."""
        name = f"{self.run}-answer-{row_id}-{attempt}"
        return name, f"{name}-no"


class DaskRunner:
    """Hands the journal's inputs to a Dask cluster, under one limit for the account.

    Args:
        dask_client: a ``distributed.Client``.
        client: the batch's client, whose credentials and settings the workers use.
        journal: the batch's journal.
        most: the most jobs of the account in progress at once, across the cluster.
        outcomes: where results (and progress ticks) go, for the iterating thread.
    """

    def __init__(
        self,
        dask_client: Any,
        client: HttpClient,
        journal: Journal,
        most: int,
        outcomes: queue.Queue[Outcome],
    ) -> None:
        distributed = _distributed()
        if not isinstance(dask_client, distributed.Client):
            raise InvalidArgumentError(
                f"dask_client must be a distributed.Client, not {type(dask_client).__name__}"
            )
        self._dask = dask_client
        self._journal = journal
        self._most = most
        self._outcomes = outcomes
        self._settings = _worker_settings(client)
        account = hashlib.sha256(f"{client.base_url} {client.credentials.app_id}".encode())
        self._names = RunNames(
            semaphore=f"symbl-batch-{account.hexdigest()[:16]}-{most}",
            most=most,
            run=f"symbl-batch-run-{uuid.uuid4().hex}",
        )
        self._waiting: deque[tuple[str, Row]] = deque(
            ("follow", row) for row in journal.rows("in_progress")
        )
        self._waiting.extend(("submit", row) for row in journal.rows("pending"))
        self._expected = len(self._waiting)
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._running: dict[int, Any] = {}  # journal row -> its task's future
        self._cleared: dict[int, str] = {}  # journal row -> the attempt told "go", not answered
        self._answers: dict[int, list[str]] = {}  # journal row -> the answer events set
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def concurrency(self) -> int:
        """The jobs allowed in progress at once (the cluster-wide semaphore's leases)."""
        return self._most

    @property
    def expected(self) -> int:
        """How many results this run gives: one per input it found pending or in progress."""
        return self._expected

    def alive(self) -> bool:
        """Whether a result may still come (the hand-over thread runs)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Subscribe to the tasks' reports and start handing inputs over."""
        self._dask.subscribe_topic(self._names.topic, self._reported)
        self._thread = threading.Thread(
            target=self._hand_over, name="symbl-batch-dask", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop handing inputs over, at once: tasks not yet submitting return without
        submitting, and the submissions under way get a few seconds to report their job ids
        (see :meth:`wait`). What was submitted stays in the journal; the next run follows it."""
        self._stopping.set()
        self._inbox.put(("stop", None))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing of the run writes to the journal any more (after :meth:`stop`,
        at most a few seconds); False when ``timeout`` seconds ran out first."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
            _quietly(
                "unsubscribe from the tasks' reports",
                self._dask.unsubscribe_topic,
                self._names.topic,
            )
        return True

    def _reported(self, event: tuple[float, dict[str, Any]]) -> None:
        """A task's report, on the Dask client's event loop: handed to the hand-over thread."""
        self._inbox.put(("report", event[1]))

    # -- the hand-over thread -----------------------------------------------------------------

    def _hand_over(self) -> None:
        try:
            self._fill()
            while self._running and not self._stopping.is_set():
                self._handle(*self._inbox.get())
                self._fill()
        except BaseException as exc:
            if self._stopping.is_set():  # nobody reads the outcomes any more
                logger.exception("a Dask batch failed after its run stopped")
            else:
                self._outcomes.put(exc)  # raised by the iterating thread
        finally:
            if self._running:
                self._wind_down()
            self._forget_answers()

    def _fill(self) -> None:
        while (
            self._waiting
            and len(self._running) < _WINDOW * self._most
            and not self._stopping.is_set()
        ):
            action, row = self._waiting.popleft()
            key = f"symbl-batch-{action}-{row.id}-{uuid.uuid4().hex[:8]}"
            future = self._dask.submit(
                run_input, action, row, self._settings, self._names, key, key=key, pure=False
            )
            self._running[row.id] = future
            future.add_done_callback(lambda _, row_id=row.id: self._inbox.put(("done", row_id)))

    def _handle(self, kind: str, item: Any) -> None:
        if kind == "report":
            self._report(item)
        elif kind == "done":
            self._finished(item)

    def _report(self, message: dict[str, Any]) -> None:
        row_id, attempt, what = message["row"], message["attempt"], message["what"]
        if what == "about":
            running = self._running.get(row_id)
            go = (
                not self._stopping.is_set()
                and running is not None
                and running.key == message["key"]
                and self._journal.mark(row_id, "submitting", expect="pending")
            )
            if go:
                self._cleared[row_id] = attempt
                self._outcomes.put(None)
            answered, refused = self._names.answer(row_id, attempt)
            for name in (answered,) if go else (refused, answered):
                self._answers.setdefault(row_id, []).append(name)
                _distributed().Event(name, client=self._dask).set()
        elif self._cleared.get(row_id) == attempt:
            del self._cleared[row_id]
            if what == "refused":  # the service refused it for the limit: not sent
                self._journal.mark(row_id, "pending", expect="submitting")
            else:
                self._journal.mark(
                    row_id,
                    "in_progress",
                    expect="submitting",
                    job_id=message["job_id"],
                    conversation_id=message["conversation_id"],
                )
            self._outcomes.put(None)

    def _finished(self, row_id: int) -> None:
        future = self._running.pop(row_id)
        cleared = self._cleared.pop(row_id, None)
        self._forget_answers(row_id)
        if future.cancelled():
            return
        try:
            status, fields, attempt = future.result()
        except Exception as exc:  # the task broke (a worker died, symbl missing there, ...)
            row = self._journal.row(row_id)
            failure = SymblError(
                f"the Dask task of {row.label!r} failed ({type(exc).__name__}: {exc}); the "
                "journal keeps every input where it stands, and the next run resumes"
            )
            raise failure from exc
        if status == "in_progress":
            self._gave_up(row_id, fields)
            return
        if status != NOT_SUBMITTED:
            self._journal.mark(row_id, status, **fields)
            self._outcomes.put(result_of(self._journal.row(row_id)))
            return
        if cleared is not None and cleared == attempt:
            self._journal.mark(row_id, "pending", expect="submitting")
        row = self._journal.row(row_id)
        if row.status == "submitting":  # another attempt was cleared, and never answered
            self._journal.mark(row_id, "uncertain", error_type="SymblError", error=_UNCERTAIN_NOTE)
            self._outcomes.put(result_of(self._journal.row(row_id)))
        elif row.status in FINAL:
            self._outcomes.put(result_of(row))
        elif not self._stopping.is_set():
            self._waiting.appendleft(("follow" if row.status == "in_progress" else "submit", row))

    def _gave_up(self, row_id: int, ids: dict[str, Any]) -> None:
        """The job did not end within ``job_timeout``: it stays ``in_progress`` in the journal,
        for the next run to follow; its result says so."""
        self._journal.mark(row_id, "in_progress", **ids)
        row = self._journal.row(row_id)
        timeout = errors.WaitTimeoutError(
            f"job {row.job_id} of conversation {row.conversation_id} is still running after "
            f"{self._settings['job_timeout']:g} s (the client's job_timeout); it stays in "
            "progress in the journal, and the next run follows it"
        )
        self._outcomes.put(dataclasses.replace(result_of(row), error=timeout))

    def _wind_down(self) -> None:
        """Stop the tasks: set the run's stop flag, cancel what has not started, and let the
        submissions already cleared report their job ids, for a few seconds."""
        self._stopping.set()
        flag = _distributed().Event(self._names.stop_flag, client=self._dask)
        _quietly("tell the tasks to stop", flag.set)
        idle = [task for row, task in self._running.items() if row not in self._cleared]
        _quietly("cancel the tasks", self._dask.cancel, idle)
        deadline = time.monotonic() + _GRACE_SECONDS
        try:
            while self._cleared and (left := deadline - time.monotonic()) > 0:
                try:
                    self._handle(*self._inbox.get(timeout=left))
                except queue.Empty:
                    break
        except Exception:
            logger.exception("a Dask batch failed to record a report while stopping")
        if self._cleared:
            logger.warning(
                "%d submissions on the Dask cluster did not report back in time: the next run "
                "shows them as uncertain",
                len(self._cleared),
            )

    def _forget_answers(self, *row_ids: int) -> None:
        """Clear the answers given to these rows' tasks (all, without rows) from the
        scheduler."""
        for row_id in row_ids or list(self._answers):
            for name in self._answers.pop(row_id, []):
                answer = _distributed().Event(name, client=self._dask)
                _quietly("clear an answer", answer.clear)


def _quietly(what: str, action: Callable[..., object], *args: Any) -> None:
    """Run a clean-up step that must not mask the error being handled (the Dask client may be
    gone): a failure is logged."""
    try:
        action(*args)
    except Exception as exc:
        logger.warning("could not %s on the Dask cluster: %s", what, exc)


def _worker_settings(client: HttpClient) -> dict[str, Any]:
    settings: dict[str, Any] = {name: getattr(client, name) for name in SETTINGS}
    settings["credentials"] = {
        "app_id": client.credentials.app_id,
        "app_secret": client.credentials.app_secret,
    }
    settings["base_url"] = client.base_url
    return settings


def _clients_on_worker(settings: dict[str, Any]) -> tuple[HttpClient, HttpClient]:
    """The worker's clients for these settings: one that follows jobs, and one that submits
    without sending a refused submission again itself (the task does, after its backoff)."""
    key = repr(sorted(settings.items()))
    with _worker_lock:
        client = _worker_clients.get(key)
        if client is None:
            client = _worker_clients[key] = HttpClient(**settings)
            _worker_clients[f"{key} submitting"] = submitting_client(client)
        return client, _worker_clients[f"{key} submitting"]


def _semaphore_on_worker(names: RunNames) -> Any:
    with _worker_lock:
        semaphore = _worker_semaphores.get(names.semaphore)
        if semaphore is None:
            semaphore = _distributed().Semaphore(max_leases=names.most, name=names.semaphore)
            _worker_semaphores[names.semaphore] = semaphore
        return semaphore


# -- on a worker ------------------------------------------------------------------------------

Finished = tuple[str, dict[str, Any], str]


def run_input(
    action: str, row: Row, settings: dict[str, Any], names: RunNames, key: str
) -> Finished:
    """On a worker: submit the input (``action`` "submit") or follow its job ("follow") while
    holding one of the account's leases; the final status (or :data:`NOT_SUBMITTED`), the
    journal fields to set, and the last attempt to submit ("" when none)."""
    distributed = _distributed()
    client, submitting = _clients_on_worker(settings)
    distributed.secede()  # this task waits on the service: its thread is not the worker's
    try:
        with _semaphore_on_worker(names):
            if action == "follow":
                job = Conversation(row.conversation_id or "", row.job_id, client=client)
                return (*_followed(job), "")
            return _Submission(client, submitting, row, names, key).run()
    finally:
        distributed.rejoin()


class _Submission:
    """One input's submission from a worker: cleared by the caller before each attempt; its
    job is then followed with ``client``, and submitted with ``submitting``."""

    def __init__(
        self, client: HttpClient, submitting: HttpClient, row: Row, names: RunNames, key: str
    ) -> None:
        distributed = _distributed()
        self._client = client
        self._submitting = submitting
        self._row = row
        self._names = names
        self._key = key
        self._worker = distributed.get_worker()
        self._stop = distributed.Event(names.stop_flag)

    def run(self) -> Finished:
        attempt = ""
        refusals = 0
        while not self._stop.is_set():
            attempt = uuid.uuid4().hex[:12]
            self._report("about", attempt)
            if not self._cleared(attempt):
                break
            try:
                submitted = submit(self._submitting, self._row)
            except SymblError as error:
                verdict = after_refusal(error)
                if verdict != LATER:
                    return verdict, error_fields(error), attempt
                self._report("refused", attempt)
                refusals += 1
                if self._stop.wait(backoff(error, refusals)):
                    break
                continue
            job_id, conversation_id = submitted.get_job_id(), submitted.get_conversation_id()
            self._report("submitted", attempt, job_id=job_id, conversation_id=conversation_id)
            return (*_followed(Conversation(conversation_id, job_id, client=self._client)), attempt)
        return NOT_SUBMITTED, {}, attempt

    def _report(self, what: str, attempt: str, **fields: Any) -> None:
        message = {"what": what, "row": self._row.id, "attempt": attempt, "key": self._key}
        self._worker.log_event(self._names.topic, {**message, **fields})

    def _cleared(self, attempt: str) -> bool:
        """Whether the caller answered "go"; False after "no", after :data:`_ANSWER_SECONDS`
        without an answer, or once the run stops (a report sent as it stopped is never read)."""
        answered, refused = (
            _distributed().Event(name) for name in self._names.answer(self._row.id, attempt)
        )
        deadline = time.monotonic() + _ANSWER_SECONDS
        while (left := deadline - time.monotonic()) > 0 and not self._stop.is_set():
            if answered.wait(min(left, _ANSWER_SLICE)):
                return not refused.is_set()
        return False


def backoff(error: SymblError, refusals: int) -> float:
    """Seconds to wait before submitting again after the ``refusals``-th refusal in a row: the
    service's ``Retry-After`` when it gave one, else doubling from 1 s up to 30 s; with jitter,
    so that tasks refused together do not all come back together."""
    asked = error.retry_after if isinstance(error, errors.RateLimitError) else None
    if asked is not None:
        return asked * random.uniform(1.0, 1.25)
    doubled = _FIRST_BACKOFF * 2.0 ** min(refusals - 1, 5)
    return min(_LONGEST_BACKOFF, doubled) * random.uniform(0.5, 1.0)


def _followed(conversation: Conversation) -> tuple[str, dict[str, Any]]:
    """Wait for the job's end, at most the client's ``job_timeout``; its final status (still
    ``in_progress`` after that) and the journal fields to set (the ids, whatever happens)."""
    try:
        conversation.wait()
    except errors.WaitTimeoutError:
        return "in_progress", {
            "job_id": conversation.get_job_id(),
            "conversation_id": conversation.get_conversation_id(),
        }
    except SymblError as error:
        fields = error_fields(error)
    else:
        fields = {}
    ids = {
        "job_id": conversation.get_job_id(),
        "conversation_id": conversation.get_conversation_id(),
    }
    return "completed" if not fields else "failed", {**ids, **fields}
