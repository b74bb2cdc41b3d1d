"""Everything the emulator remembers, composed from one store per API area (no HTTP here)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from symbl._protocol.frames import CLOSE_GOING_AWAY, CLOSE_NORMAL
from symbl.emulator.media import TranscriptLine

from .bookmarks import BookmarkStore
from .conversations import ConversationStore
from .faults import FaultPlan, FaultRule
from .groups import GroupStore
from .jobs import JobStore, StoredJob
from .live import SocketRegistry
from .processing import MediaLibrary
from .requestlog import RequestLog
from .settings import Settings
from .streaming import StreamStore
from .telephony import CallStore
from .tokens import TokenStore
from .trackers import TrackerStore


class EmulatorState:
    """The emulator's whole state; :meth:`reset` returns it to how it started.

    ``webhook_sender`` is how job status changes reach ``webhookUrl``s; the HTTP layer installs
    it (this module does no HTTP), and it survives resets.
    """

    def __init__(self, apps: dict[str, str], settings: Settings) -> None:
        self._initial_apps = dict(apps)
        self._initial_settings = dataclasses.replace(settings)
        self.requests = RequestLog(lambda: self.settings.request_log_size)
        self.webhook_sender: Callable[[str, dict[str, str]], None] | None = None
        self._start_fresh()

    def reset(self) -> None:
        """Forget tokens, requests, faults, conversations, jobs and every changed setting;
        end every stream and call and close every websocket."""
        self.jobs.cancel_all()
        # A normal close: a test harness resetting is not a service failing, so clients end
        # their connections instead of reconnecting into the next test.
        self.end_live(CLOSE_NORMAL, "the emulator was reset")
        self._start_fresh()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Activate a fault rule; a socket rule is armed at once on the open sockets it
        matches, as far as its ``times`` allow, and on those that open later."""
        self.faults.add(rule)
        if rule.for_sockets:
            self.sockets.arm(rule, self.faults)
        return rule

    def end_live(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """End every streaming session and call and close every websocket with ``code``
        (closed first, so that no final message goes out)."""
        self.sockets.close_all(code, reason)
        self.streams.shutdown()
        self.calls.shutdown()

    def _start_fresh(self) -> None:
        self.settings = dataclasses.replace(self._initial_settings)
        self.tokens = TokenStore(self._initial_apps, self.settings)
        self.faults = FaultPlan()
        self.requests.clear()
        self.conversations = ConversationStore()
        self.groups = GroupStore()
        self.bookmarks = BookmarkStore(self.conversations)
        self.trackers = TrackerStore()
        self.jobs = JobStore(self.settings, self._job_changed)
        self.media_library = MediaLibrary()
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.live_transcript: tuple[TranscriptLine, ...] = ()
        self.sockets = SocketRegistry()
        self.streams = StreamStore(self.settings, self.conversations, self._script, self.bookmarks)
        self.calls = CallStore(self.settings, self.conversations, self._script)

    def _script(self) -> tuple[TranscriptLine, ...]:
        return self.live_transcript

    def _job_changed(self, job: StoredJob) -> None:
        if job.webhook_url and self.webhook_sender is not None:
            self.webhook_sender(job.webhook_url, {"jobId": job.id, "status": job.status})
