"""Routing live events to the callbacks a user subscribed, on the connection's reader thread.

Rules (DESIGN.md §6):
- ``subscribe({event: callback})`` checks event names (strings or :class:`~symbl.Event`
  members) against the documented list for the connection type and that each callback is
  callable; anything else is refused at once, naming the valid events.
- Each callback gets the parsed event (a dict, with attribute access too). Callbacks run one
  after another on the reader thread. One that raises is logged and reported to the ``error``
  subscribers (with the exception); it never stops the reader.
- For the asyncio client (``awaits=True``) a callback may also be a coroutine function: the
  reader task delivers through the ``*_async`` methods, which await each result in turn, with
  the same isolation. The threaded client refuses coroutine functions, which it could never
  await.
- Events that arrive before the first ``subscribe`` call are kept (the latest
  ``BACKLOG_LIMIT``, in order) and replayed to the first subscription; after that, an event
  nobody subscribed to is dropped (logged at DEBUG). Reaching the limit is never silent: the
  first event dropped is logged (WARNING), and the replay starts with one ``StreamingError``
  for the ``error`` subscribers saying how many were dropped (logged at ERROR when nobody
  subscribed to ``error``).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any, Callable, cast

from symbl._models.objects import SymblObject
from symbl._protocol import frames
from symbl._protocol.checks import shown
from symbl._protocol.errors import ProtocolError
from symbl._protocol.events import STREAMING_EVENTS, Event
from symbl.errors import InvalidArgumentError, StreamingError, SymblError

logger = logging.getLogger("symbl")

#: Events kept for the first subscription; beyond it the oldest are dropped, and reported.
BACKLOG_LIMIT = 10_000
#: The SDK's own event: a callback raised, or the connection failed.
ERROR_EVENT = Event.ERROR.value
#: What a streaming connection and a listener of a stream deliver, besides the reconnection
#: events and ``error``: the service's frames, and a conversation change after reconnecting.
STREAM_EVENTS = (*STREAMING_EVENTS, Event.CONVERSATION_CHANGED.value)

Callback = Callable[[Any], object]


def parse_event(frame: str | bytes) -> SymblObject | None:
    """A received frame as an event with a ``type``; None for the keep-alive answer.

    Raises:
        SymblError: the frame is not a JSON object with a ``type``, for the caller to report.
    """
    try:
        event = frames.parse_event(frame, SymblObject.from_json)
    except ProtocolError as exc:
        raise SymblError(f"protocol error: {exc}") from exc
    return cast("SymblObject | None", event)


def service_error(message: Mapping[str, Any]) -> StreamingError:
    """The error a lifecycle ``error`` message of the service reports (PROTOCOL.md §6.3)."""
    text = f"{message.get('message') or ''} {message.get('details') or ''}".strip()
    return StreamingError(f"the service reported an error: {text}".rstrip())


class EventDispatcher:
    """Subscriptions and delivery for one connection.

    Args:
        events: the event names this connection type emits (the documented list).
        kind: a name for messages, e.g. "streaming connection".
        awaits: whether callbacks may be coroutine functions (delivered by the asyncio
            client's reader task through the ``*_async`` methods).
    """

    def __init__(self, events: tuple[str, ...], kind: str, *, awaits: bool = False) -> None:
        self.events = (*events, ERROR_EVENT)
        self._kind = kind
        self._awaits = awaits
        self._lock = threading.Lock()
        self._callbacks: dict[str, list[Callback]] = {}
        self._backlog: deque[tuple[str, Any]] = deque()
        self._backlog_dropped = 0  # events dropped from the backlog, reported at the replay
        self._subscribed = False
        self._replay_due = False

    def subscribe(self, events: Mapping[str, Callback]) -> bool:
        """Add callbacks; returns True when buffered events now wait to be replayed.

        Raises:
            InvalidArgumentError: not a dict, an unknown event name, or a non-callable.
        """
        events = self._checked(events)
        with self._lock:
            for name, callback in events.items():
                self._callbacks.setdefault(name, []).append(callback)
            first = not self._subscribed
            self._subscribed = True
            # A later subscription before the replay ran must not cancel it.
            self._replay_due = self._replay_due or (first and bool(self._backlog))
            return self._replay_due

    def _checked(self, events: Mapping[str, Callback]) -> dict[str, Callback]:
        """``subscribe``'s argument, checked, keyed by the plain names (a :class:`~symbl.Event`
        member is equal to its name, but is not the same dict key)."""
        if not isinstance(events, Mapping) or not events:
            raise InvalidArgumentError(
                "subscribe takes a dict of {event name: callback}, e.g. "
                "{'message_response': lambda response: print(response)}"
            )
        checked: dict[str, Callback] = {}
        for key, callback in events.items():
            name = self._listed(key)
            if name is None:
                given = key.value if isinstance(key, Event) else key
                raise InvalidArgumentError(
                    f"{self._kind}s do not emit {shown(given)}; subscribe to one of: "
                    + ", ".join(self.events)
                )
            if not callable(callback):
                raise InvalidArgumentError(
                    f"the callback for {name!r} must be callable (a function or lambda), "
                    f"not {shown(callback)}"
                )
            if not self._awaits and inspect.iscoroutinefunction(callback):
                raise InvalidArgumentError(
                    f"the callback for {name!r} is a coroutine function, which this "
                    "connection's thread cannot await; use a plain function, or "
                    "symbl.AsyncClient, whose connections await coroutine callbacks"
                )
            checked[name] = callback
        return checked

    def _listed(self, name: object) -> str | None:
        """The event name in the list that ``name`` (a string or an Event) is equal to."""
        return next((listed for listed in self.events if listed == name), None)

    def unsubscribe(self, events: Mapping[str, Callback]) -> None:
        """Remove callbacks added by :meth:`subscribe` (those not subscribed are ignored)."""
        with self._lock:
            for name, callback in events.items():
                callbacks = self._callbacks.get(self._listed(name) or "", [])
                if callback in callbacks:
                    callbacks.remove(callback)

    def deliver(self, name: str, event: Any) -> None:
        """Hand an event to its subscribers, or keep it until the first subscription."""
        for callback in self._route(name, event):
            self._call(name, callback, event)

    async def deliver_async(self, name: str, event: Any) -> None:
        """:meth:`deliver`, awaiting each callback's result when it is awaitable."""
        for callback in self._route(name, event):
            await self._call_async(name, callback, event)

    def _route(self, name: str, event: Any) -> list[Callback]:
        """The callbacks to run for an event now; none while it joins the backlog."""
        with self._lock:
            # Until the backlog is replayed, newer events queue behind it, so order holds.
            if not self._subscribed or self._replay_due:
                if len(self._backlog) >= BACKLOG_LIMIT:
                    self._backlog.popleft()
                    self._backlog_dropped += 1
                    if self._backlog_dropped == 1:
                        logger.warning(
                            "%s: %d events came before the first subscribe; dropping the oldest "
                            "(subscribe earlier to receive them all)",
                            self._kind,
                            BACKLOG_LIMIT + 1,
                        )
                self._backlog.append((name, event))
                return []
            callbacks = list(self._callbacks.get(name, ()))
        if not callbacks:
            logger.debug("no subscriber for %r; dropped", name)
        return callbacks

    def replay(self) -> None:
        """Deliver what arrived before the first subscription (on the reader thread)."""
        dropped, backlog = self._take_backlog()
        if dropped is not None:
            self.report(dropped)
        for name, event in backlog:
            self.deliver(name, event)

    async def replay_async(self) -> None:
        """:meth:`replay`, awaiting each callback's result when it is awaitable."""
        dropped, backlog = self._take_backlog()
        if dropped is not None:
            await self.report_async(dropped)
        for name, event in backlog:
            await self.deliver_async(name, event)

    def _take_backlog(self) -> tuple[StreamingError | None, list[tuple[str, Any]]]:
        """The backlog to replay now (empty unless a replay is due), and the error that
        reports the events dropped from it, if any."""
        with self._lock:
            if not self._replay_due:
                return None, []
            self._replay_due = False
            backlog, self._backlog = self._backlog, deque()
            dropped, self._backlog_dropped = self._backlog_dropped, 0
        if not dropped:
            return None, list(backlog)
        # Once: only events before the first subscription are kept, so only they drop.
        return (
            StreamingError(
                f"{dropped} event{'s' if dropped > 1 else ''} of this {self._kind} "
                f"arrived before the first subscribe and {'were' if dropped > 1 else 'was'} "
                f"dropped: at most {BACKLOG_LIMIT} are kept for it (the latest, in order). "
                "Subscribe earlier (right after opening the connection, before sending "
                "audio) to receive every event"
            ),
            list(backlog),
        )

    def report(self, error: SymblError) -> None:
        """Tell the ``error`` subscribers about a failure; log it when nobody listens."""
        if not self._notify(error):
            logger.error("%s: %s", self._kind, error)

    async def report_async(self, error: SymblError) -> None:
        """:meth:`report`, awaiting each callback's result when it is awaitable."""
        if not await self._notify_async(error):
            logger.error("%s: %s", self._kind, error)

    def _error_callbacks(self) -> list[Callback]:
        with self._lock:
            return list(self._callbacks.get(ERROR_EVENT, ()))

    def _notify(self, error: SymblError) -> bool:
        callbacks = self._error_callbacks()
        for callback in callbacks:
            try:
                callback(error)
            except Exception:
                logger.exception("the %r callback of a %s raised", ERROR_EVENT, self._kind)
        return bool(callbacks)

    async def _notify_async(self, error: SymblError) -> bool:
        callbacks = self._error_callbacks()
        for callback in callbacks:
            try:
                result = callback(error)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("the %r callback of a %s raised", ERROR_EVENT, self._kind)
        return bool(callbacks)

    def _call(self, name: str, callback: Callback, event: Any) -> None:
        try:
            callback(event)
        except Exception as exc:
            self._notify(self._failure(name, exc))

    async def _call_async(self, name: str, callback: Callback, event: Any) -> None:
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            await self._notify_async(self._failure(name, exc))

    def _failure(self, name: str, exc: Exception) -> SymblError:
        """Log a callback that raised; the error for the ``error`` subscribers."""
        logger.exception("the %r callback of a %s raised", name, self._kind)
        error = SymblError(f"the {name!r} callback raised {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error
