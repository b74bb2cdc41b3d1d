"""A record of every request the emulator received (no HTTP here).

Tests read it to check exactly what a client put on the wire. Large bodies (media uploads) are
kept as size and SHA-256 plus their first bytes, so recording a 1 GB upload costs no memory.

Secrets never enter the record: access tokens (in ``Authorization``, ``x-api-key``,
``Sec-WebSocket-Protocol`` and ``access_token`` query parameters), the admin token and app
secrets or passwords in JSON bodies are replaced by their :func:`fingerprint`, which tells
tokens apart (and can be compared with ``fingerprint(token)``) without revealing them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import quote, unquote_plus

# Bodies up to this size are kept whole; larger ones keep only a prefix.
BODY_KEEP_LIMIT = 1 << 20
# How many requests, and how many bytes of their bodies, the log keeps: the oldest go first.
LOG_LIMIT = 10_000
LOG_BODY_BUDGET = 256 << 20
ADMIN_TOKEN_HEADER = "X-Emulator-Admin-Token"
_SECRET_HEADERS = ("x-api-key", "sec-websocket-protocol", ADMIN_TOKEN_HEADER.lower())
_SECRET_QUERY = ("access_token",)
_SECRET_FIELDS = ("appSecret", "password", "accessToken")


def fingerprint(secret: str) -> str:
    """What the request log shows instead of a secret: ``sha256:`` and the first 12 hex
    digits of its SHA-256. Equal secrets give equal fingerprints.

    Example:
        >>> entry.headers["x-api-key"] == fingerprint(token)
    """
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with lower-case names, their secrets fingerprinted (the ``Bearer`` of an
    ``Authorization`` header and every offered subprotocol kept in place)."""
    redacted = {}
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if name == "authorization":
            scheme, _, credentials = value.partition(" ")
            value = f"{scheme} {fingerprint(credentials.strip())}" if credentials else "***"
        elif name == "sec-websocket-protocol":
            value = ", ".join(fingerprint(part.strip()) for part in value.split(","))
        elif name in _SECRET_HEADERS:
            value = fingerprint(value.strip())
        redacted[name] = value
    return redacted


def redact_query(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Decoded query pairs with the values of token parameters fingerprinted."""
    return [(name, fingerprint(value) if name in _SECRET_QUERY else value) for name, value in pairs]


def redact_query_string(query_string: str) -> str:
    """A raw query string with the values of token parameters fingerprinted, the rest as is."""
    parts = []
    for part in query_string.split("&"):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name) in _SECRET_QUERY:
            part = f"{name}={quote(fingerprint(unquote_plus(value)), safe=':')}"
        parts.append(part)
    return "&".join(parts)


def redact_json(value: Any) -> tuple[Any, bool]:
    """A decoded JSON body with every string under a secret key (``appSecret``, ``password``,
    ``accessToken``, at any depth) fingerprinted; and whether anything was."""
    if isinstance(value, dict):
        changed = False
        result = {}
        for key, item in value.items():
            if key in _SECRET_FIELDS and isinstance(item, str):
                result[key], found = fingerprint(item), True
            else:
                result[key], found = redact_json(item)
            changed = changed or found
        return result, changed
    if isinstance(value, list):
        items = [redact_json(item) for item in value]
        return [item for item, _ in items], any(found for _, found in items)
    return value, False


@dataclass
class RecordedRequest:
    """One request as received, its secrets fingerprinted (see :func:`fingerprint`).

    ``headers`` keys are lower-case. ``query`` keeps repeated keys in order. ``json`` is the
    decoded body when it is valid JSON, else None. ``status`` is the answer's status (101 for an
    accepted websocket upgrade). A JSON body that held a secret is recorded re-encoded with the
    secret fingerprinted: ``body``, ``body_size`` and ``body_sha256`` then describe that form.
    """

    method: str
    path: str
    query_string: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""
    body_size: int = 0
    body_sha256: str = ""
    json: Any = None
    status: int | None = None
    app_id: str | None = None
    websocket: bool = False
    received_at: float = field(default_factory=time.time)

    def query_dict(self) -> dict[str, str]:
        """The query as a dict (the last value wins for a repeated key)."""
        return dict(self.query)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the admin API (the body as text where it is text)."""
        data = asdict(self)
        data["body"] = self.body.decode("utf-8", errors="replace")
        data["query"] = [list(pair) for pair in self.query]
        return data

    def set_body(self, body: bytes, size: int, sha256: str) -> None:
        """Store the body (or its prefix) and decode it if it is JSON, fingerprinting the
        secrets it holds."""
        self.body = body
        self.body_size = size
        self.body_sha256 = sha256
        self.json = None
        if body and size == len(body):
            try:
                decoded = json.loads(body)
            except (ValueError, RecursionError):
                return
            self.json, redacted = redact_json(decoded)
            if redacted:
                self.body = json.dumps(self.json).encode()
                self.body_size = len(self.body)
                self.body_sha256 = hashlib.sha256(self.body).hexdigest()


class RequestLog:
    """Requests in arrival order, a ring: the latest ``limit()`` of them (a function, so that
    the size can be a setting that changes), holding at most ``body_budget`` bytes of bodies.
    Safe to read from another thread while the server appends."""

    def __init__(
        self, limit: Callable[[], int] = lambda: LOG_LIMIT, body_budget: int = LOG_BODY_BUDGET
    ) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque()
        self._limit = limit
        self._budget = body_budget
        self._kept = 0

    def append(self, entry: RecordedRequest) -> None:
        """Add a request (forgetting the oldest when the log is full)."""
        with self._lock:
            self._entries.append(entry)
            self._kept += len(entry.body)
            self._trim()

    def set_body(self, entry: RecordedRequest, body: bytes, size: int, sha256: str) -> None:
        """Record the body of a logged request (see :meth:`RecordedRequest.set_body`)."""
        with self._lock:
            kept = len(entry.body)
            entry.set_body(body, size, sha256)
            if any(item is entry for item in reversed(self._entries)):
                self._kept += len(entry.body) - kept
                self._trim()

    def entries(self, path_prefix: str = "", method: str = "") -> list[RecordedRequest]:
        """Requests whose path starts with ``path_prefix`` and, if given, with this method."""
        with self._lock:
            entries = list(self._entries)
        return [
            entry
            for entry in entries
            if entry.path.startswith(path_prefix) and (not method or entry.method == method.upper())
        ]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()
            self._kept = 0

    def _trim(self) -> None:
        limit = self._limit()
        while self._entries and (len(self._entries) > limit or self._kept > self._budget):
            self._kept -= len(self._entries.popleft().body)
