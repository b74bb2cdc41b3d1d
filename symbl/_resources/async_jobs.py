"""The Async API for the asyncio client: ``client.Audio``, ``client.Video`` and ``client.Text``
of ``symbl.AsyncClient``.

Each is its synchronous namesake (:mod:`symbl._resources.jobs`) with the same arguments and
checks; only the submission is awaited, and ``wait=True`` awaits the job's end on the event
loop. A file is uploaded from disk in blocks, never read whole, with no thread.

Example:
    >>> async with symbl.AsyncClient() as client:
    ...     conversation = await client.Audio.process_file(file_path="meeting.wav")
    ...     print(await conversation.get_messages())
"""

from __future__ import annotations

from pathlib import Path

from symbl._protocol.request import Request
from symbl._transport.async_http import AsyncHttpClient

from .async_conversations import AsyncConversation
from .coroutines import awaited, name_coroutines
from .jobs import Audio, Jobs, Progress, Text, Video, _CountingReader, _MediaJobs, job_ids


class AsyncJobs(Jobs):
    """The I/O of a submission, awaited: the upload or request, then the conversation."""

    async def _submitted(  # type: ignore[override]
        self,
        client: AsyncHttpClient,
        request: Request,
        wait: bool,
        upload: Path | None = None,
        progress: Progress | None = None,
    ) -> AsyncConversation:
        if upload is None:
            answer = await client.send(request)
        else:
            with upload.open("rb") as file:
                body = file if progress is None else _CountingReader(file, progress)
                answer = await client.send(request, body=body)
        conversation = AsyncConversation(*job_ids(answer), client=client)
        if wait:
            await conversation.wait()
        else:
            conversation._poll_in_background()
        return conversation


@name_coroutines
class AsyncMediaJobs(AsyncJobs):
    """Files and URLs of one media kind, awaited: what AsyncAudio and AsyncVideo share."""

    process_file = awaited(_MediaJobs.process_file, AsyncConversation)
    append_file = awaited(_MediaJobs.append_file, AsyncConversation)
    process_url = awaited(_MediaJobs.process_url, AsyncConversation)
    append_url = awaited(_MediaJobs.append_url, AsyncConversation)


class AsyncAudio(AsyncMediaJobs, Audio):  # type: ignore[misc]
    """Audio recordings, files or URLs, for ``symbl.AsyncClient`` (``await client.Audio...``)."""


class AsyncVideo(AsyncMediaJobs, Video):  # type: ignore[misc]
    """Video recordings, files or URLs, for ``symbl.AsyncClient`` (``await client.Video...``)."""


@name_coroutines
class AsyncText(AsyncJobs, Text):
    """Text conversations, for ``symbl.AsyncClient`` (``await client.Text.process(...)``)."""

    process = awaited(Text.process, AsyncConversation)  # type: ignore[assignment]
    append = awaited(Text.append, AsyncConversation)  # type: ignore[assignment]
