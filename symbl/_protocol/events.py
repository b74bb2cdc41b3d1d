"""The names of the events live connections deliver (PROTOCOL.md §5.4, §6.3, §11.4, §11.7),
stated once: the service's frame types, and the SDK's own events besides them.

:class:`Event` is public (``symbl.Event``). The tuples say which of the service's frame types
each connection type receives; :mod:`symbl._live` adds the SDK's own events to them.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["STREAMING_EVENTS", "TELEPHONY_EVENTS", "Event"]


class Event(str, Enum):
    """The event names ``subscribe`` takes, for streaming connections, their listeners and
    telephony connections. Each member is its name as a string, so
    ``{symbl.Event.MESSAGE_RESPONSE: callback}`` and ``{"message_response": callback}`` are
    the same subscription.

    Example:
        >>> connection.subscribe({symbl.Event.MESSAGE_RESPONSE: print})
    """

    #: Lifecycle messages (``conversation_created``, ``recognition_result`` ...), streaming
    #: and telephony.
    MESSAGE = "message"
    #: Finished sentences.
    MESSAGE_RESPONSE = "message_response"
    #: Questions, action items, follow-ups.
    INSIGHT_RESPONSE = "insight_response"
    #: Topics, each the first time it comes up.
    TOPIC_RESPONSE = "topic_response"
    #: Tracker matches.
    TRACKER_RESPONSE = "tracker_response"
    #: Live text of the current utterance (telephony only).
    TRANSCRIPT_RESPONSE = "transcript_response"
    #: The answer to a bookmark made, changed or deleted on a stream (streaming only).
    BOOKMARK_RESPONSE = "bookmark_response"
    #: The SDK's own: a dropped socket is being reconnected.
    RECONNECTING = "reconnecting"
    #: The SDK's own: the reconnection succeeded; events resume.
    RECONNECTED = "reconnected"
    #: The SDK's own: after a reconnection, the service goes on in another conversation.
    CONVERSATION_CHANGED = "conversation_changed"
    #: The SDK's own: a callback raised, or the connection failed (the callback gets the
    #: exception).
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: What a streaming socket, and a listener of it, receives from the service (§6.3, §11.7).
STREAMING_EVENTS: tuple[str, ...] = tuple(
    event.value
    for event in (
        Event.MESSAGE_RESPONSE,
        Event.INSIGHT_RESPONSE,
        Event.TRACKER_RESPONSE,
        Event.TOPIC_RESPONSE,
        Event.MESSAGE,
        Event.BOOKMARK_RESPONSE,
    )
)
#: What the live results socket of a call receives from the service (§5.4).
TELEPHONY_EVENTS: tuple[str, ...] = tuple(
    event.value
    for event in (
        Event.TRANSCRIPT_RESPONSE,
        Event.MESSAGE_RESPONSE,
        Event.INSIGHT_RESPONSE,
        Event.TOPIC_RESPONSE,
        Event.TRACKER_RESPONSE,
        Event.MESSAGE,
    )
)
