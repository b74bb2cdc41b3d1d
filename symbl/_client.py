"""The public :class:`Client`: one account and its settings, with every resource bound to it."""

from __future__ import annotations

from ._resources.conversations import Conversations
from ._resources.groups import Groups
from ._resources.jobs import Audio, Text, Video
from ._resources.streaming import Streaming
from ._resources.telephony import Telephony
from ._resources.trackers import Trackers
from ._transport.http import HttpClient, make_shared_clients


class Client(HttpClient):
    """Settings, an HTTP session and a token for one Symbl account.

    Most code never builds one: ``symbl.Audio``, ``symbl.Conversations`` and the other resources
    use a shared client for the credentials they find. Build one to change settings or to pin
    an account; its attributes ``Audio``, ``Video``, ``Text``, ``Conversations``, ``Trackers``,
    ``Groups``, ``Telephony`` and ``Streaming`` are the same resources bound to it. The
    arguments are those of :class:`~symbl._transport.http.HttpClient`: ``credentials``,
    ``base_url``, ``timeout``, ``connect_timeout``, ``max_retries``, ``retry_backoff``,
    ``max_retry_wait``, ``poll_interval``, ``max_poll_interval`` and ``job_timeout``.

    Example:
        >>> client = symbl.Client(credentials={"app_id": "...", "app_secret": "..."}, timeout=10)
        >>> conversation = client.Text.process(payload={"messages": [...]})
    """

    @property
    def Audio(self) -> Audio:
        """``symbl.Audio`` bound to this client."""
        return Audio(self)

    @property
    def Video(self) -> Video:
        """``symbl.Video`` bound to this client."""
        return Video(self)

    @property
    def Text(self) -> Text:
        """``symbl.Text`` bound to this client."""
        return Text(self)

    @property
    def Conversations(self) -> Conversations:
        """``symbl.Conversations`` bound to this client."""
        return Conversations(self)

    @property
    def Groups(self) -> Groups:
        """``symbl.Groups`` bound to this client."""
        return Groups(self)

    @property
    def Telephony(self) -> Telephony:
        """``symbl.Telephony`` bound to this client."""
        return Telephony(self)

    @property
    def Streaming(self) -> Streaming:
        """``symbl.Streaming`` bound to this client."""
        return Streaming(self)

    @property
    def Trackers(self) -> Trackers:
        """``symbl.Trackers`` bound to this client."""
        return Trackers(self)


make_shared_clients(Client)
