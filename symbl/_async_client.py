"""The public :class:`AsyncClient`: the asyncio twin of :class:`symbl.Client`."""

from __future__ import annotations

from ._resources.async_conversations import AsyncConversations
from ._resources.async_jobs import AsyncAudio, AsyncText, AsyncVideo
from ._resources.async_streaming import AsyncStreaming
from ._resources.async_telephony import AsyncTelephony
from ._resources.groups import AsyncGroups
from ._resources.trackers import AsyncTrackers
from ._transport.async_http import AsyncHttpClient


class AsyncClient(AsyncHttpClient):
    """Settings, an aiohttp session and a token for one Symbl account, for asyncio programs.

    It takes the arguments of :class:`symbl.Client` and finds credentials the same way. Its
    attributes ``Audio``, ``Video``, ``Text``, ``Conversations``, ``Trackers``, ``Groups``,
    ``Telephony`` and ``Streaming`` mirror the synchronous ones name for name and argument for
    argument; every method that talks to the network is a coroutine. It needs the ``asyncio`` extra
    (``pip install 'symbl[asyncio]'``), and starts no thread.

    Use it as ``async with symbl.AsyncClient() as client:``, or close it with
    ``await client.close()``; it belongs to the event loop that first uses it.

    Example:
        >>> async with symbl.AsyncClient() as client:
        ...     conversation = await client.Text.process(payload={"messages": [...]})
        ...     print(await conversation.get_topics())
    """

    @property
    def Audio(self) -> AsyncAudio:
        """``symbl.Audio`` for this client, awaited."""
        return AsyncAudio(self)  # type: ignore[arg-type]

    @property
    def Video(self) -> AsyncVideo:
        """``symbl.Video`` for this client, awaited."""
        return AsyncVideo(self)  # type: ignore[arg-type]

    @property
    def Text(self) -> AsyncText:
        """``symbl.Text`` for this client, awaited."""
        return AsyncText(self)  # type: ignore[arg-type]

    @property
    def Conversations(self) -> AsyncConversations:
        """``symbl.Conversations`` for this client, awaited."""
        return AsyncConversations(self)  # type: ignore[arg-type]

    @property
    def Groups(self) -> AsyncGroups:
        """``symbl.Groups`` for this client, awaited."""
        return AsyncGroups(self)  # type: ignore[arg-type]

    @property
    def Telephony(self) -> AsyncTelephony:
        """``symbl.Telephony`` for this client, awaited."""
        return AsyncTelephony(self)  # type: ignore[arg-type]

    @property
    def Streaming(self) -> AsyncStreaming:
        """``symbl.Streaming`` for this client, awaited."""
        return AsyncStreaming(self)  # type: ignore[arg-type]

    @property
    def Trackers(self) -> AsyncTrackers:
        """``symbl.Trackers`` for this client, awaited."""
        return AsyncTrackers(self)  # type: ignore[arg-type]
