"""The Conversation API for the asyncio client: :class:`AsyncConversations` by id, and the
:class:`AsyncConversation` that async jobs and live connections of ``symbl.AsyncClient``
return.

Both are their synchronous namesakes with every method that talks to the network turned into
a coroutine (:mod:`symbl._resources.coroutines`): the same arguments, checks, requests and
answers, awaited.

Example:
    >>> async with symbl.AsyncClient() as client:
    ...     messages = await client.Conversations.get_messages(conversation_id)
    ...     conversation = symbl.AsyncConversation(conversation_id, client=client)
    ...     topics = await conversation.get_topics({"sentiment": True})
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, cast, overload

from symbl._models.exports import check_format
from symbl._transport.async_http import AsyncHttpClient
from symbl.errors import InvalidArgumentError

from .answers import async_listing
from .async_polling import AsyncJob
from .base import wait_seconds
from .conversations import (
    API_METHODS,
    Conversation,
    Conversations,
    ExportPath,
    delivered_export,
    export_target,
)
from .coroutines import with_coroutines

#: The methods that send one request and return its (shaped) answer, beyond API_METHODS.
_ONE_REQUEST = ("update_conversation", "create_summary_ui")
_AWAITED = (*API_METHODS, *_ONE_REQUEST)


@with_coroutines(Conversations, _AWAITED)
class AsyncConversations(Conversations):
    """The Conversation API by conversation id, for ``symbl.AsyncClient`` (its
    ``Conversations`` attribute): every method of ``symbl.Conversations``, awaited, and
    ``list`` as an async iterator (``async for conversation in client.Conversations.list()``).
    """

    # The same method: its client pages asynchronously (only the type differs).
    list = async_listing(Conversations.list)  # type: ignore[assignment]


@with_coroutines(Conversation, tuple(name for name in _AWAITED if hasattr(Conversation, name)))
class AsyncConversation(Conversation):
    """One conversation, and the async job that produced it if there is one, for the asyncio
    client: every method of :class:`~symbl.Conversation` that talks to the network is a
    coroutine (``await conversation.get_messages()``, ``await conversation.wait()``).

    Args:
        conversation_id: the conversation.
        job_id: the async job to follow, if any.
        client: the :class:`~symbl.AsyncClient` to use.

    ``on_complete`` and ``on_error`` take functions or coroutine functions; they start
    following the job in a task of the running loop, which ``await client.close()`` cancels.
    """

    _api_class = AsyncConversations
    _job_class = AsyncJob

    def __init__(
        self, conversation_id: str, job_id: str | None = None, *, client: AsyncHttpClient
    ) -> None:
        if not isinstance(client, AsyncHttpClient):
            raise InvalidArgumentError(
                f"client must be a symbl.AsyncClient, not {type(client).__name__}; for the "
                "synchronous client use symbl.Conversation"
            )
        super().__init__(conversation_id, job_id, client=client)  # type: ignore[arg-type]

    async def get_job_status(self) -> str | None:  # type: ignore[override]
        """The job's status now: ``scheduled``, ``in_progress``, ``completed`` or ``failed``
        (None when there is no job). Asks the service unless the job has already ended."""
        job = self._async_job()
        return await job.fetch_status() if job is not None else None

    async def wait(self, timeout: float | None = None) -> AsyncConversation:  # type: ignore[override]
        """Wait until the job ends; return this conversation (at once when there is no job).

        Cancelling the task that waits stops the polling this call does. ``timeout`` is as
        for :meth:`symbl.Conversation.wait`: the client's ``job_timeout`` when None, no limit
        when ``float('inf')``.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
            JobFailedError: the job failed.
            WaitTimeoutError: the job did not end within ``timeout`` seconds; call ``wait``
                again to keep waiting.
        """
        limit = wait_seconds("timeout", timeout)
        job = self._async_job()
        if job is not None:
            await job.wait(limit)
        return self

    @overload  # type: ignore[override]
    async def export(self, format: str, path: None = None) -> str: ...

    @overload
    async def export(self, format: str, path: ExportPath) -> None: ...

    async def export(self, format: str, path: ExportPath | None = None) -> str | None:
        """The transcript as a file's text, made here from the messages: as
        :meth:`symbl.Conversation.export` (``srt``, ``vtt``, ``txt``, ``markdown`` or
        ``jsonl``), awaited. Formatting and writing ``path`` run in a worker thread, off the
        event loop.

        Example:
            >>> await conversation.export("srt", "meeting.srt")
        """
        chosen, target = check_format(format), export_target(path)
        answer = await self.get_messages()
        return await asyncio.to_thread(delivered_export, answer, chosen, target)

    def _async_job(self) -> AsyncJob | None:
        return cast("AsyncJob | None", self._job)

    def on_complete(self, callback: Callable[[Any], object]) -> AsyncConversation:
        """Call ``callback(conversation)`` once when the job completes (at once if it has); a
        coroutine function is awaited in a task. Starts following the job in the background."""
        super().on_complete(callback)
        return self

    def on_error(self, callback: Callable[[Any], object]) -> AsyncConversation:
        """Call ``callback(conversation)`` once if the job fails (at once if it has), a
        coroutine function in a task; ``conversation.error`` then says why."""
        super().on_error(callback)
        return self
