"""Read-only listeners of a stream someone else sends: the Subscribe API (PROTOCOL.md §6.4,
§11.7).

``symbl.Streaming.subscribe_to_stream(connection_id)`` returns a :class:`StreamListener` whose
socket is open. It receives what the stream's own connection receives (the same events and
payloads, to the callbacks given to ``subscribe``), from the moment it joins: first
``conversation_created`` (then ``listener.conversation`` is set), then live results, and at the
end ``recognition_stopped`` and ``conversation_completed``, after which the service closes it.
A listener of an id with no stream yet waits for one to start. It sends nothing: ``stop()``
closes its own socket and leaves the stream alone.

It lives on the one live-connection core (:mod:`symbl._live.connection`): the same states, one
reader thread for every callback, the same reconnection after an abnormal end (with nothing to
send again), and the same handling of Ctrl+C. Its reader thread is not a daemon, so a script
that ends right after ``subscribe(...)`` goes on receiving until the stream ends; ``wait()``
blocks until then.

Example:
    >>> listener = symbl.Streaming.subscribe_to_stream(connection_id)
    >>> listener.subscribe({symbl.Event.MESSAGE_RESPONSE: print})
    >>> listener.wait()
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Callable

from symbl._live.connection import LiveConnection, LiveConnectionOwner
from symbl._live.events import STREAM_EVENTS, service_error
from symbl._models.objects import SymblObject
from symbl._protocol import streaming
from symbl._protocol.events import Event
from symbl._protocol.frames import conversation_id_of, lifecycle
from symbl._transport.http import HttpClient

from .base import wait_seconds
from .conversations import Conversation

__all__ = ["StreamListener"]

#: Seconds ``stop()`` waits for the socket's close to complete.
CLOSE_TIMEOUT = 5.0


class StreamListener(LiveConnectionOwner):
    """A read-only listener of a stream (made by ``symbl.Streaming.subscribe_to_stream``).

    While it is open, Ctrl+C, SIGTERM and the end of the program close it (it has nothing to
    send first). Set ``handle_signals`` to False to leave that to your program.

    Attributes:
        connectionId: the id of the stream listened to.
        conversation: the :class:`~symbl.Conversation` of the stream, once
            ``conversation_created`` has come (None before).
        summary_url: the Summary UI link, once the conversation is completed.
        error: what ended the listener unexpectedly, if anything did.
        handle_signals: whether Ctrl+C, SIGTERM and the end of the program close it (True).
    """

    def __init__(
        self,
        client: HttpClient,
        connection_id: str,
        *,
        handle_signals: bool = True,
        reconnect: bool = True,
    ) -> None:
        self._client = client
        self.connectionId = connection_id
        self.conversation: Conversation | None = None
        self.summary_url: str | None = None
        self._live = self._live_connection(
            streaming.subscribe_api_path(connection_id),
            events=STREAM_EVENTS,
            kind="stream listener",
            name=f"symbl-listener-{connection_id[:8]}",
            on_event=self._track,
            handle_signals=handle_signals,
            reconnect=reconnect,
        )

    _conversation_class: type[Conversation] = Conversation

    def _live_connection(self, path: str, **options: Any) -> LiveConnection:
        """The live core (the asyncio client's listener makes its own). Not a daemon: the
        listener keeps a script running until the stream ends."""
        return LiveConnection(self._client, path, on_interrupt=self.interrupt, **options)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind} {self.connectionId} conversation={self.conversation_id} {self.state}>"

    @property
    def conversation_id(self) -> str | None:
        """The stream's conversation id, once ``conversation_created`` has come."""
        return self.conversation.get_conversation_id() if self.conversation else None

    def subscribe(self, events: Mapping[str, Callable[[Any], object]]) -> None:
        """Call back on live events of the stream: ``{'message_response': callback, ...}``.

        The events are a streaming connection's (names as strings or :class:`~symbl.Event`
        members): ``message`` (lifecycle messages and live transcription),
        ``message_response``, ``insight_response``, ``topic_response``, ``tracker_response``,
        ``bookmark_response``, and the SDK's own ``reconnecting``, ``reconnected``,
        ``conversation_changed`` and ``error``. Callbacks run one at a time on the listener's
        thread and get the event as a dict; events that came before the first ``subscribe``
        are delivered to it first.

        Raises:
            InvalidArgumentError: an unknown event name or a callback that is not callable.
        """
        self._live.subscribe(events)

    def stop(self) -> StreamListener:
        """Close this listener's socket; the stream and its other listeners go on.

        Sends nothing to the service. Safe to call more than once and from any thread; from a
        callback it starts the close and returns.
        """
        self._live.begin_stop()  # from now on the end of the socket is expected
        self._live.close(CLOSE_TIMEOUT)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the listener has ended for good: the stream ended (the service closed
        the socket), ``stop()``, or a drop that could not be recovered.

        Args:
            timeout: seconds to wait at most; no limit when None or ``float('inf')``.

        Returns:
            True if it ended, False if the timeout passed first.

        Raises:
            InvalidArgumentError: ``timeout`` is negative, NaN or not a number.
            SymblError: called from a callback (the reader thread would wait for itself).
        """
        return self._live.wait(wait_seconds("timeout", timeout))

    def interrupt(self, deadline: float) -> None:
        """Close before ``deadline`` (a ``time.monotonic()`` value); used on Ctrl+C."""
        self._live.begin_stop()
        self._live.close(max(0.1, deadline - time.monotonic()))

    # -- internals -------------------------------------------------------------------------------

    def _open(self) -> None:
        self._live.open()

    def _track(self, event: SymblObject) -> None:
        """Follow the stream's lifecycle messages (reader thread)."""
        kind, message = lifecycle(event)
        if kind == "conversation_created":
            self._joined(conversation_id_of(message))
        elif kind == "conversation_completed":
            self.summary_url = message.get("summaryUrl")
        elif kind == "error":
            self._live.report(service_error(message))

    def _joined(self, conversation_id: str | None) -> None:
        """A (re)joined socket names the stream's conversation: follow it, and say so when a
        reconnection found another one."""
        before = self.conversation_id
        if conversation_id is None or conversation_id == before:
            return
        self.conversation = self._conversation_class(conversation_id, client=self._client)
        if before is not None:
            self._live.notify(
                Event.CONVERSATION_CHANGED.value, previous=before, conversationId=conversation_id
            )
