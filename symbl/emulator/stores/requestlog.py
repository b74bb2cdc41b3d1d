"""A record of every request the emulator received (no HTTP here).

Tests read it to check exactly what a client put on the wire. Large bodies (media uploads) are
kept as size and SHA-256 plus their first bytes, so recording a 1 GB upload costs no memory.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

# Bodies up to this size are kept whole; larger ones keep only a prefix.
BODY_KEEP_LIMIT = 1 << 20


@dataclass
class RecordedRequest:
    """One request as received.

    ``headers`` keys are lower-case. ``query`` keeps repeated keys in order. ``json`` is the
    decoded body when it is valid JSON, else None. ``status`` is the answer's status (101 for an
    accepted websocket upgrade).
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
        """Store the body (or its prefix) and decode it if it is JSON."""
        self.body = body
        self.body_size = size
        self.body_sha256 = sha256
        if body and size == len(body):
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None


class RequestLog:
    """Requests in arrival order; safe to read from another thread while the server appends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def append(self, entry: RecordedRequest) -> None:
        """Add a request."""
        with self._lock:
            self._entries.append(entry)

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
