"""``symbl.Batch``: an archive of recordings and texts through the Async API, within the
account's limit on jobs in progress, resumable after any crash without submitting anything twice.

The service limits an account by the number of jobs in progress (50 on paid plans, 2 on trial
ones), answers 429 above it, and has no idempotency key: a file submitted twice is processed
and billed twice. So a batch:

- keeps at most ``max_concurrency`` of its jobs in progress; when the service still answers
  429 (other programs use the account too), it lowers its own limit to what got through, waits
  (as long as the service asks, else until one of its jobs ends), and raises the limit again by
  one after each round of jobs (as many as it allows) has ended. No input ever fails because
  of the limit;
- writes every step to its journal (:mod:`symbl._resources.journal`), committed before each
  submission and as soon as the service answers, so a rerun resumes polling what is in progress,
  skips what is done, and reports as ``uncertain`` what was being submitted when a run stopped;
- gives every input a result, ``completed`` with its conversation id or ``failed`` with a typed
  error: :meth:`Batch.run` never raises because one input failed.

Example:
    >>> batch = symbl.Batch(journal="archive.db", max_concurrency=20)
    >>> batch.add_file("calls/a.wav", parameters={"name": "a"})
    >>> for result in batch.run():
    ...     print(result.input, result.status, result.conversation_id, result.error)
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import queue
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Union

from symbl._protocol.checks import shown
from symbl._protocol.jobs import PAID_PLAN_CONCURRENCY
from symbl._transport.http import HttpClient
from symbl.errors import InvalidArgumentError, SymblError

from .base import EMPTY, CredentialsArgument, Resource, mapping
from .batch_local import LocalRunner, Outcome
from .batch_steps import BatchResult, checked, content_hash, resource, result_of
from .journal import FINAL, Journal

logger = logging.getLogger("symbl")

FilePath = Union[str, "os.PathLike[str]"]

#: Recordings whose name ends so are submitted as video unless ``media`` says otherwise.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov"})
# Seconds between two calls of a run's progress function at most, and between two looks at
# whether its runner still works, while no outcome comes.
_PROGRESS_EVERY = 0.1


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch has got: inputs per status, and the concurrency allowed now."""

    total: int
    pending: int
    in_progress: int
    completed: int
    failed: int
    uncertain: int
    concurrency: int

    @property
    def done(self) -> int:
        """Inputs that have their result."""
        return self.completed + self.failed + self.uncertain


Progress = Callable[[BatchProgress], object]


class Runner(Protocol):
    """What runs a batch's inputs: in this process, or on a Dask cluster."""

    @property
    def concurrency(self) -> int:
        """The jobs allowed in progress at once now."""

    @property
    def expected(self) -> int:
        """How many results the run gives: one per input of its snapshot of the journal,
        less those another run took meanwhile."""

    def alive(self) -> bool:
        """Whether a result may still come (False once everything of the run has ended)."""

    def start(self) -> None:
        """Start submitting and following."""

    def stop(self) -> None:
        """Stop submitting and following (what was submitted stays in the journal); returns
        soon, while submissions under way may still be answered (see :meth:`wait`)."""

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing of the run writes to the journal any more (after :meth:`stop`:
        until the submissions under way are answered and recorded); False when ``timeout``
        seconds ran out first."""


class Batch:
    """Many inputs through the Async API, within the account's limit, resumable.

    Args:
        journal: the SQLite file that records every input and what was done with it (created
            when missing); None keeps it in memory, for a batch that need not survive a crash.
        max_concurrency: the most jobs in progress at once, across the account (default: the
            paid plan's 50; a trial account allows 2).
        credentials: ``{'app_id': ..., 'app_secret': ...}``; the configured ones if omitted.
        client: a :class:`~symbl.Client` to submit and poll with, for its settings.

    Raises:
        InvalidArgumentError: ``max_concurrency`` is not a whole number from 1 up.
        ConfigurationError: no credentials, or the journal cannot be used.
    """

    def __init__(
        self,
        journal: FilePath | None = None,
        max_concurrency: int = PAID_PLAN_CONCURRENCY,
        *,
        credentials: CredentialsArgument = None,
        client: HttpClient | None = None,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidArgumentError(
                f"max_concurrency must be a whole number, not {shown(max_concurrency)}"
            )
        if max_concurrency < 1:
            raise InvalidArgumentError(f"max_concurrency must be at least 1, not {max_concurrency}")
        self.max_concurrency = max_concurrency
        self._client = Resource(client)._client_for(credentials)
        self._journal = Journal(":memory:" if journal is None else journal)
        # The runner of the run under way; and that of a run stopped while submissions were
        # under way, which holds the journal until they are recorded.
        self._runner: Runner | None = None
        self._leftover: Runner | None = None
        self._left_behind = False

    def __repr__(self) -> str:
        return (
            f"<symbl.Batch journal={self._journal.path!r} max_concurrency={self.max_concurrency}>"
        )

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float | None = None) -> None:
        """Stop the run under way, wait for its submissions under way to be answered (so that
        their ids are saved), and close the journal.

        Args:
            timeout: seconds to wait for those submissions at most (no limit when None). Past
                it they are left to finish while the program lives; an input whose answer
                never reached the journal is ``uncertain`` on the next run.
        """
        if self._left_behind:
            return  # an earlier close gave up waiting: the program is ending
        if self._runner is not None:
            self._runner.stop()
            self._leftover, self._runner = self._runner, None
        if self._settle(timeout):
            self._journal.close()
        else:
            self._left_behind = True

    def _settle(self, timeout: float | None = None) -> bool:
        """Wait for the submissions under way of a stopped run, then let the journal go;
        False when ``timeout`` ran out first (the journal stays with them)."""
        if self._leftover is not None:
            if not self._leftover.wait(timeout):
                logger.info("submissions still under way are left to the end of the program")
                return False
            self._leftover = None
            self._journal.release()
        return True

    # -- inputs -------------------------------------------------------------------------------

    def add_file(
        self,
        file_path: FilePath,
        parameters: Mapping[str, Any] = EMPTY,
        media: str | None = None,
    ) -> str:
        """Add a recording from disk.

        Args:
            file_path: the file; read once here for its content hash.
            parameters: Async API options, as for ``symbl.Audio.process_file``.
            media: ``audio`` or ``video``; by default video for .mp4, .m4v and .mov files.

        Returns:
            The input's name in results: the path as given. The same file (path and content)
            with the same media and options is added once; a file changed since it was added
            is a new input.

        Raises:
            InvalidArgumentError: no such file, or a bad option (checked as
                ``process_file`` checks them; nothing is sent).
        """
        chosen = media if media is not None else _media_of(file_path)
        options = dict(mapping(parameters, "parameters"))
        jobs = resource(_media_kind(chosen, ("audio", "video")), "checking", self._client)
        checked(lambda: jobs.process_file(file_path, parameters=options, wait=False))
        path = Path(file_path)
        digest = content_hash(self._journal, path)
        source = str(path.resolve())
        identity = f"file:{chosen}:{source}:{digest}"
        return self._add(identity, "file", chosen, source, str(path), options, digest)

    def add_url(self, url: str, media: str = "audio", parameters: Mapping[str, Any] = EMPTY) -> str:
        """Add a recording at a public URL.

        Args:
            url: where the service downloads it from.
            media: ``audio`` or ``video``.
            parameters: Async API options, as for ``symbl.Audio.process_url``.

        Returns:
            The input's name in results: the URL.

        Raises:
            InvalidArgumentError: not an http(s) URL, or a bad option (nothing is sent).
        """
        options = dict(mapping(parameters, "parameters"))
        jobs = resource(_media_kind(media, ("audio", "video")), "checking", self._client)
        checked(lambda: jobs.process_url(payload={"url": url}, parameters=options, wait=False))
        return self._add(f"url:{media}:{url}", "url", media, url, url, options)

    def add_text(self, payload: Mapping[str, Any], parameters: Mapping[str, Any] = EMPTY) -> str:
        """Add a text conversation (a Text API payload: ``{"messages": [...]}``).

        Returns:
            The input's name in results: the payload's ``name``, else ``text <hash>``.

        Raises:
            InvalidArgumentError: a bad payload or option (nothing is sent).
        """
        options = dict(mapping(parameters, "parameters"))
        given = dict(mapping(payload, "payload"))
        jobs = resource("text", "checking", self._client)
        checked(lambda: jobs.process(payload=given, parameters=options, wait=False))
        text = json.dumps(given, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        name = given.get("name")
        label = name if isinstance(name, str) and name else f"text {digest[:12]}"
        return self._add(f"text:{digest}", "text", "text", text, label, options)

    def _add(
        self,
        identity: str,
        kind: str,
        media: str,
        source: str,
        label: str,
        parameters: dict[str, Any],
        sha256: str | None = None,
    ) -> str:
        options = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
        identity = f"{identity}:{options}"
        row = self._journal.add(identity, kind, media, source, label, parameters, sha256)
        if row.label != label:
            logger.info("%s is the same input as %s: it is not added twice", label, row.label)
        return row.label

    # -- running --------------------------------------------------------------------------------

    def run(
        self, progress: Progress | None = None, *, dask_client: Any = None
    ) -> Iterator[BatchResult]:
        """Submit what is left, follow it, and yield every input's result.

        Results of inputs an earlier run finished come first, then the others as they finish.
        Stopping the iteration (``break``, Ctrl+C) stops submitting: what was submitted stays
        in the journal with its ids, and the next run follows it.

        A job still running the client's ``job_timeout`` after the run began following it gets
        a result with status ``in_progress`` and a :class:`~symbl.WaitTimeoutError`: it stays
        in progress in the journal, and the next run follows it again.

        Args:
            progress: called with a :class:`BatchProgress` when something moved (at most ten
                times a second), on the thread that iterates.
            dask_client: a ``distributed.Client``: uploads and polling run on its workers,
                under one limit shared by all of them (needs ``pip install 'symbl[dask]'``).

        Raises:
            ConfigurationError: (when iterated) another process is running this journal now,
                or another run of this batch is being iterated.
            InvalidArgumentError: ``progress`` is not callable.
        """
        if progress is not None and not callable(progress):
            raise InvalidArgumentError(f"progress must be a function, not {shown(progress)}")
        return self._results(progress, dask_client)

    def _results(self, progress: Progress | None, dask_client: Any) -> Iterator[BatchResult]:
        self._settle()
        journal = self._journal
        journal.claim()
        runner: Runner | None = None
        try:
            journal.interrupted(_UNCERTAIN_NOTE)
            yield from (result_of(row) for row in journal.each(*FINAL))
            runner, outcomes = self._runner_for(dask_client)
            self._runner = runner
            runner.start()
            yield from _outcomes_of(runner, outcomes, _Ticker(progress, journal, runner))
        finally:
            self._runner = None
            if runner is not None:
                runner.stop()
            if runner is None or runner.wait(0):
                journal.release()
            else:
                self._leftover = runner

    def _runner_for(self, dask_client: Any) -> tuple[Runner, queue.Queue[Outcome]]:
        outcomes: queue.Queue[Outcome] = queue.Queue()
        runner: Runner
        if dask_client is None:
            runner = LocalRunner(self._client, self._journal, self.max_concurrency, outcomes)
        else:
            from .batch_dask import DaskRunner

            runner = DaskRunner(
                dask_client, self._client, self._journal, self.max_concurrency, outcomes
            )
        return runner, outcomes

    # -- afterwards ---------------------------------------------------------------------------

    def results(self) -> list[BatchResult]:
        """The result of every finished input, as the journal has it (in the order added)."""
        return list(self._finished())

    def _finished(self) -> Iterator[BatchResult]:
        return (result_of(row) for row in self._journal.each(*FINAL))

    def in_progress(self) -> list[BatchResult]:
        """The inputs submitted whose jobs have not ended yet (status ``in_progress``, with
        their ids): after an interrupted run, the jobs the service is still working on."""
        return [result_of(row) for row in self._journal.rows("in_progress")]

    def retry_uncertain(self, *inputs: int | str) -> int:
        """Submit ``uncertain`` inputs again on the next :meth:`run`: those given by their
        result's ``id`` or ``input``, or all of them; how many.

        Check first that they did not reach the service (``symbl.Conversations.list()``):
        one that did would be processed, and billed, twice.

        Raises:
            InvalidArgumentError: an input that is neither an id nor a name.
        """
        for key in inputs:
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise InvalidArgumentError(
                    "retry_uncertain takes results' ids (numbers) or inputs (names), not "
                    + shown(key)
                )
        return self._journal.retry_uncertain(inputs)

    def export(self, format: str, path: FilePath) -> int:
        """Write the results to ``path`` as JSON Lines (``jsonl``) or CSV (``csv``); how many
        were written.

        Raises:
            InvalidArgumentError: an unknown format.
        """
        if format not in ("jsonl", "csv"):
            raise InvalidArgumentError(f"format must be 'jsonl' or 'csv', not {shown(format)}")
        written = 0
        with open(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=_EXPORT_FIELDS)
            if format == "csv":
                writer.writeheader()
            for result in self._finished():
                row = result.to_dict()
                if format == "jsonl":
                    file.write(json.dumps(row) + "\n")
                else:
                    writer.writerow(row)
                written += 1
        return written


def _outcomes_of(
    runner: Runner, outcomes: queue.Queue[Outcome], ticker: _Ticker
) -> Iterator[BatchResult]:
    """The runner's results, as they come, until it has given all it expects.

    Raises:
        BaseException: what broke one of the runner's threads.
        SymblError: the runner ended without giving every result (it never should).
    """
    given = 0
    while given < runner.expected:
        ticker.tick()
        try:
            outcome = outcomes.get(timeout=_PROGRESS_EVERY)
        except queue.Empty:
            if not runner.alive() and outcomes.empty():
                raise SymblError(
                    f"the batch stopped with {runner.expected - given} inputs left without a "
                    "result; run it again to go on"
                ) from None
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        ticker.moved()
        if outcome is not None:
            given += 1
            yield outcome
    ticker.tick(final=True)


class _Ticker:
    """Calls a run's progress function when something moved, at most every
    ``_PROGRESS_EVERY`` seconds (each call counts the journal's inputs by status)."""

    def __init__(self, progress: Progress | None, journal: Journal, runner: Runner) -> None:
        self._progress = progress
        self._journal = journal
        self._runner = runner
        self._moved = True
        self._last = float("-inf")

    def moved(self) -> None:
        """Something moved since the last call."""
        self._moved = True

    def tick(self, *, final: bool = False) -> None:
        """Call the progress function if it is time (always when ``final``)."""
        now = time.monotonic()
        if self._progress is None or not (final or self._moved):
            return
        if not final and now - self._last < _PROGRESS_EVERY:
            return
        counts = self._journal.counts()
        self._progress(
            BatchProgress(
                total=sum(counts.values()),
                pending=counts["pending"],
                in_progress=counts["in_progress"] + counts["submitting"],
                completed=counts["completed"],
                failed=counts["failed"],
                uncertain=counts["uncertain"],
                concurrency=self._runner.concurrency,
            )
        )
        self._moved = False
        self._last = now


_EXPORT_FIELDS = [
    "id",
    "input",
    "kind",
    "media",
    "status",
    "conversation_id",
    "job_id",
    "error_type",
    "error",
]
_UNCERTAIN_NOTE = (
    "a run stopped while submitting it: it may have reached the service. Look for it with "
    "symbl.Conversations.list(); to submit it again anyway, call batch.retry_uncertain()"
)


def _media_of(file_path: Any) -> str:
    suffix = os.path.splitext(file_path)[1] if isinstance(file_path, (str, os.PathLike)) else ""
    return "video" if str(suffix).lower() in VIDEO_SUFFIXES else "audio"


def _media_kind(media: Any, allowed: tuple[str, ...]) -> str:
    if media not in allowed:
        raise InvalidArgumentError(f"media must be one of {', '.join(allowed)}, not {shown(media)}")
    return str(media)
