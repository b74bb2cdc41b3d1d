"""Async jobs: ``scheduled`` → ``in_progress`` → ``completed`` | ``failed`` (no HTTP here).

A job waits ``job_queue_seconds`` as ``scheduled``, then runs as ``in_progress`` for
``job_processing_seconds`` before its work is applied. Jobs of one conversation run one after
another, as on the service. A job fails when its work raises (undecodable media, a URL that
cannot be downloaded) or when the ``fail_jobs`` switch is on. Every status change is reported
to ``on_change`` (the webhook sender).

The service limits each account to a number of jobs that have not ended (scheduled or in
progress): ``max_jobs_in_progress`` (0: no limit). A submission past it is refused, and the
most jobs an app ever had at once is kept, for tests that check a client stayed within it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Callable, Union

from .settings import Settings

logger = logging.getLogger("symbl.emulator")

Work = Callable[[], Union[Awaitable[None], None]]


class JobNotFoundError(Exception):
    """No such job for this app."""


class JobLimitError(Exception):
    """The app has as many jobs in progress as its limit allows."""


@dataclass
class StoredJob:
    """One job, as ``GET /v1/job/{id}`` reports it."""

    id: str
    app_id: str
    conversation_id: str
    status: str = "scheduled"
    webhook_url: str | None = None
    failure: str | None = None
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, str]:
        """The service's job resource."""
        return {"id": self.id, "status": self.status}


class JobStore:
    """Every job, and the tasks that move them along."""

    def __init__(self, settings: Settings, on_change: Callable[[StoredJob], None]) -> None:
        self._settings = settings
        self._jobs: dict[str, StoredJob] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_change = on_change
        # Jobs not ended yet, per app and per conversation; the most per app ever seen.
        self._running_by_app: Counter[str] = Counter()
        self._running_by_conversation: Counter[str] = Counter()
        self._peak_by_app: Counter[str] = Counter()

    def get(self, app_id: str, job_id: str) -> StoredJob:
        """The job, if it belongs to ``app_id``."""
        job = self._jobs.get(job_id)
        if job is None or job.app_id != app_id:
            raise JobNotFoundError(job_id)
        return job

    def all(self) -> list[StoredJob]:
        """Every job, oldest first."""
        return list(self._jobs.values())

    def check_room(self, app_id: str) -> None:
        """Refuse when ``app_id`` has as many jobs in progress as it may.

        Raises:
            JobLimitError: it has.
        """
        limit = self._settings.max_jobs_in_progress
        if limit and self._running_by_app[app_id] >= limit:
            raise JobLimitError(app_id)

    def in_progress(self, app_id: str) -> tuple[int, int]:
        """The jobs of ``app_id`` that have not ended, now and at the most ever."""
        return self._running_by_app[app_id], self._peak_by_app[app_id]

    def submit(
        self, app_id: str, conversation_id: str, work: Work, webhook_url: str | None = None
    ) -> StoredJob:
        """Create a job and start moving it along; must be called on the event loop.

        Raises:
            JobLimitError: the app has as many jobs in progress as it may.
        """
        self.check_room(app_id)
        job = StoredJob(str(uuid.uuid4()), app_id, conversation_id, webhook_url=webhook_url)
        self._jobs[job.id] = job
        self._running_by_app[app_id] += 1
        self._running_by_conversation[conversation_id] += 1
        self._peak_by_app[app_id] = max(self._peak_by_app[app_id], self._running_by_app[app_id])
        task = asyncio.get_running_loop().create_task(self._run(job, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def busy(self, conversation_id: str) -> bool:
        """Whether a job of this conversation has not ended yet."""
        return self._running_by_conversation[conversation_id] > 0

    def cancel_all(self) -> None:
        """Stop every job in flight (on reset)."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    async def _run(self, job: StoredJob, work: Work) -> None:
        await _pause(self._settings.job_queue_seconds)
        lock = self._locks.setdefault(job.conversation_id, asyncio.Lock())
        async with lock:
            self._set(job, "in_progress")
            await _pause(self._settings.job_processing_seconds)
            try:
                if self._settings.fail_jobs:
                    raise RuntimeError("the fail_jobs switch is on")
                outcome = work()
                if outcome is not None:
                    await outcome
            except Exception as exc:
                job.failure = str(exc) or type(exc).__name__
                logger.info("job %s failed: %s", job.id, job.failure)
                self._set(job, "failed")
            else:
                self._set(job, "completed")

    def _set(self, job: StoredJob, status: str) -> None:
        job.status = status
        if status in ("completed", "failed"):
            self._running_by_app[job.app_id] -= 1
            self._running_by_conversation[job.conversation_id] -= 1
        self._on_change(job)


async def _pause(seconds: float) -> None:
    # No await at all for zero: an instant job then ends in the same loop turn it starts.
    if seconds > 0:
        await asyncio.sleep(seconds)
