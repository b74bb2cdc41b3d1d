"""Async jobs followed on the event loop: the asyncio twin of :mod:`symbl._resources.polling`.

An :class:`AsyncJob` is a :class:`~symbl._resources.polling.Job` whose polls are awaited and
whose waits sleep with ``asyncio.sleep``: the same schedule
(:class:`~symbl._resources.polling.PollSchedule`), the same statuses and errors
(:func:`~symbl._resources.polling.job_outcome`), the same exactly-once callbacks. No thread
is started: a background poll (after ``wait=False``, or for ``on_complete``) is a task the
client owns, cancelled by ``await client.close()``. Cancelling a task that awaits
:meth:`AsyncJob.wait` stops the polling it was doing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any

from symbl import errors
from symbl._protocol import jobs
from symbl._transport.async_http import AsyncHttpClient

from .polling import Callback, Job, PollSchedule

logger = logging.getLogger("symbl")


class AsyncJob(Job):
    """One async job of one conversation, followed on the event loop.

    Args:
        client: the asyncio client to poll with.
        job_id: the job to follow.
        conversation_id: the conversation it belongs to (for messages and errors).
        owner: what callbacks receive (the AsyncConversation).
    """

    client: AsyncHttpClient  # type: ignore[assignment]

    async def fetch_status(self) -> str:  # type: ignore[override]
        """Ask the service for the job's status now, and record it."""
        if self._ended.is_set() and self._status in ("completed", "failed"):
            return self._status
        return self._record(await self.client.send(jobs.job_status(self.job_id)))

    async def wait(self, timeout: float | None = None) -> None:  # type: ignore[override]
        """Wait until the job ends (see :meth:`Job.wait`); cancelling the caller stops the
        polling this call does (a background poll goes on)."""
        limit = self.client.job_timeout if timeout is None else timeout
        poller = self._poller
        if poller is not None and not poller.done() and poller is not asyncio.current_task():
            # asyncio.wait: the end of the wait cancels neither side, and the poller being
            # cancelled (by client.close()) is not taken for this task's cancellation.
            await asyncio.wait({poller}, timeout=limit)
            if poller.done() and not self._ended.is_set():
                if poller.cancelled():
                    raise errors.SymblError(
                        f"stopped following job {self.job_id}: its client was closed "
                        "(await client.close() cancels the polls it runs)"
                    )
                poller.result()  # what ended it, raised here too
        else:
            await self._poll(time.monotonic() + limit)
        if not self._ended.is_set():
            raise self._still_running(limit)
        if self._error is not None:
            raise self._error

    def start_polling(self) -> None:
        """Follow the job in a task of the running loop, which fires the callbacks when it
        ends; ``await client.close()`` cancels it."""
        with self._lock:
            if self._poller is not None or self._ended.is_set():
                return
            self._poller = self.client.background(self._poll_in_background())

    async def _poll(self, deadline: float) -> None:  # type: ignore[override]
        schedule = PollSchedule(self.client.poll_interval, self.client.max_poll_interval)
        while (delay := self._after_poll(schedule, deadline, await self._poll_once())) is not None:
            await asyncio.sleep(delay)

    async def _poll_once(self) -> errors.SymblError | None:  # type: ignore[override]
        try:
            await self.fetch_status()
        except errors.SymblError as exc:
            return exc
        return None

    async def _poll_in_background(self) -> None:  # type: ignore[override]
        await self._poll(time.monotonic() + self.client.job_timeout)
        if not self._ended.is_set():
            self._end("error", self._gave_up())

    def _in_poller(self) -> bool:
        return self._poller is not None and self._poller is asyncio.current_task()

    def _run_callback(self, kind: str, callback: Callback) -> None:
        """Run a callback; one that is a coroutine function runs as a task of the client."""
        try:
            result = callback(self._owner)
        except Exception:
            logger.exception("the on_%s callback for job %s raised", kind, self.job_id)
            return
        if inspect.isawaitable(result):
            self.client.background(self._awaited(kind, result))

    async def _awaited(self, kind: str, result: Any) -> None:
        try:
            await result
        except Exception:
            logger.exception("the on_%s callback for job %s raised", kind, self.job_id)
