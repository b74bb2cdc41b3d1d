"""Fault injection: make chosen requests slow, fail, or lose their connection, and break live
websockets at a chosen moment (no HTTP here).

A rule matches by method and a glob over the path (``/v1/job/*``). There are two kinds, told
apart by ``websocket``:

- A *request* rule (``websocket`` None) applies to requests, websocket handshakes included: it
  can add latency, answer with a status, body and headers of its choosing (``429`` with
  ``Retry-After``, ``503``, ...), or drop the connection without answering.
- A *socket* rule (``websocket`` one of :data:`SOCKET_ACTIONS`) applies to websockets: those
  open when it is added and those that open later, each armed with at most one rule at a time.
  It ``cut``\\ s the connection (no close frame), ``freeze``\\ s it (the
  connection stays open but nothing is read or sent, for ``freeze_seconds`` or until
  unfrozen) or ``close``\\ s it with ``code`` and ``reason``. It strikes at once, or when the
  socket's traffic reaches its trigger: ``after_bytes`` (binary bytes read from the client),
  ``after_frames`` (frames read from the client), ``after_frames_sent`` (frames sent to the
  client) or ``after_seconds``, all counted from when the rule was armed on the socket (when
  it opened, or when the rule was added for a socket already open). :class:`SocketTraffic`
  counts.

``times`` limits how many requests (or sockets) a rule affects and ``probability`` makes it hit
only a share of them, drawn from a seeded generator so runs repeat.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import dataclass, field, fields
from typing import Any

from symbl._protocol.frames import (
    CLOSE_INTERNAL_ERROR,
    check_close_reason,
    is_sendable_close_code,
)
from symbl._protocol.names import camel_case

_rule_ids = itertools.count(1)

#: What a socket rule does to a websocket.
SOCKET_ACTIONS = ("cut", "freeze", "close")
#: The moments a socket rule can wait for (at most one per rule; none: at once).
SOCKET_TRIGGERS = ("after_bytes", "after_frames", "after_frames_sent", "after_seconds")
_REQUEST_ONLY: dict[str, Any] = {
    "status": None,
    "body": None,
    "headers": {},
    "delay": 0.0,
    "drop": False,
}
_SOCKET_ONLY: dict[str, Any] = {
    "after_bytes": None,
    "after_frames": None,
    "after_frames_sent": None,
    "after_seconds": None,
    "code": CLOSE_INTERNAL_ERROR,
    "reason": "",
    "freeze_seconds": None,
}


@dataclass
class SocketTraffic:
    """What one websocket has carried so far, for socket rules' triggers."""

    bytes_received: int = 0
    frames_received: int = 0
    frames_sent: int = 0


@dataclass
class FaultRule:
    """One fault. A request rule with neither ``status`` nor ``drop`` only adds ``delay``; a
    socket rule (``websocket`` set) takes none of ``status``, ``body``, ``headers``, ``delay``
    and ``drop``."""

    path: str = "*"
    method: str = "*"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    probability: float = 1.0
    websocket: str | None = None
    after_bytes: int | None = None
    after_frames: int | None = None
    after_frames_sent: int | None = None
    after_seconds: float | None = None
    code: int = CLOSE_INTERNAL_ERROR
    reason: str = ""
    freeze_seconds: float | None = None
    id: int = field(default_factory=lambda: next(_rule_ids))

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.delay < 0 or not 0.0 <= self.probability <= 1.0:
            raise ValueError("delay must be >= 0 and probability between 0 and 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        self.method = self.method.upper()
        if self.websocket is None:
            _only_defaults(self, _SOCKET_ONLY, "only socket rules (with websocket=...) take")
        else:
            self._check_socket_rule()

    def _check_socket_rule(self) -> None:
        if self.websocket not in SOCKET_ACTIONS:
            raise ValueError(f"websocket must be one of {', '.join(SOCKET_ACTIONS)}")
        _only_defaults(self, _REQUEST_ONLY, "a socket rule takes none of")
        given = [name for name in SOCKET_TRIGGERS if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of {', '.join(SOCKET_TRIGGERS)}, not {given}")
        for name in ("after_bytes", "after_frames", "after_frames_sent"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a whole number from 1")
        for name in ("after_seconds", "freeze_seconds"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
            ):
                raise ValueError(f"{name} must be a number of seconds, at least 0")
        if self.websocket != "close" and (self.code, self.reason) != (CLOSE_INTERNAL_ERROR, ""):
            raise ValueError('code and reason belong to websocket="close"')
        if self.websocket != "freeze" and self.freeze_seconds is not None:
            raise ValueError('freeze_seconds belongs to websocket="freeze"')
        if not is_sendable_close_code(self.code):
            raise ValueError(
                f"{self.code!r} is not a close code a server may send (1000-4999, not 1004, "
                "1005, 1006 or 1015)"
            )
        check_close_reason(self.reason)

    @property
    def for_sockets(self) -> bool:
        """Whether this is a socket rule."""
        return self.websocket is not None

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def due(self, traffic: SocketTraffic) -> bool:
        """Whether a socket rule's moment has come, given the socket's traffic
        (``after_seconds`` is timed by the caller)."""
        if self.after_seconds is not None:
            return False
        pairs = (
            (self.after_bytes, traffic.bytes_received),
            (self.after_frames, traffic.frames_received),
            (self.after_frames_sent, traffic.frames_sent),
        )
        return all(limit is None or count >= limit for limit, count in pairs)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the admin API (camelCase names; a request rule without the
        socket fields and the other way round)."""
        left_out = _SOCKET_ONLY if self.websocket is None else _REQUEST_ONLY
        return {
            camel_case(item.name): getattr(self, item.name)
            for item in fields(self)
            if item.name not in left_out and (item.name != "websocket" or self.websocket)
        }


def _only_defaults(rule: FaultRule, defaults: dict[str, Any], what: str) -> None:
    changed = [name for name, default in defaults.items() if getattr(rule, name) != default]
    if changed:
        raise ValueError(f"{what} {', '.join(changed)}")


class FaultPlan:
    """The active rules, consulted in the order they were added."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        """Activate a rule."""
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        """The rules still active."""
        return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def take(self, method: str, path: str, *, socket: bool = False) -> FaultRule | None:
        """Return the first rule that hits this request (with ``socket``: this websocket,
        just opened), using up one of its ``times``."""
        for rule in list(self._rules):
            if rule.for_sockets == socket and self.claim(rule, method, path):
                return rule
        return None

    def claim(self, rule: FaultRule, method: str, path: str) -> bool:
        """Whether an active ``rule`` hits this request or socket (its ``probability``
        drawn), using up one of its ``times`` if so."""
        if rule not in self._rules or not rule.matches(method, path):
            return False
        if rule.probability < 1.0 and self._random.random() >= rule.probability:
            return False
        if rule.times is not None:
            rule.times -= 1
            if rule.times == 0:
                self._rules.remove(rule)
        return True
