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
from .coroutines import with_coroutines
from .jobs import Audio, Jobs, Progress, Text, Video, _CountingReader, job_ids

_MEDIA_METHODS = ("process_file", "append_file", "process_url", "append_url")


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


@with_coroutines(Audio, _MEDIA_METHODS)
class AsyncAudio(AsyncJobs, Audio):
    """Audio recordings, files or URLs, for ``symbl.AsyncClient`` (``await client.Audio...``)."""


@with_coroutines(Video, _MEDIA_METHODS)
class AsyncVideo(AsyncJobs, Video):
    """Video recordings, files or URLs, for ``symbl.AsyncClient`` (``await client.Video...``)."""


@with_coroutines(Text, ("process", "append"))
class AsyncText(AsyncJobs, Text):
    """Text conversations, for ``symbl.AsyncClient`` (``await client.Text.process(...)``)."""
