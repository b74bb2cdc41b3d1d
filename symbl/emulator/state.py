"""Everything the emulator remembers, composed from one store per API area (no HTTP here)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from symbl._models import camel_case, snake_case

from .conversations import ConversationStore
from .faults import FaultPlan
from .jobs import JobStore, StoredJob
from .live import CLOSE_GOING_AWAY, SocketRegistry
from .media import TranscriptLine
from .processing import MediaLibrary
from .requestlog import RequestLog
from .streaming import StreamStore
from .telephony import CallStore
from .tokens import TokenStore

DEFAULT_APP_ID = "emulator-app-id"
DEFAULT_APP_SECRET = "emulator-app-secret"


@dataclasses.dataclass
class Settings:
    """Behaviour knobs, changeable at run time through the admin API.

    Attributes:
        token_lifetime: seconds a generated access token stays valid.
        job_queue_seconds: how long a new async job stays ``scheduled``.
        job_processing_seconds: how long it then stays ``in_progress``.
        fail_jobs: make every job fail (to test failure handling).
        stream_idle_seconds: a streaming session whose audio stays silent (or absent) for this
            long ends by itself (the service's 30 minutes of silence).
        telephony_speed: how much faster than real time a call plays the live transcript.
        telephony_answer_seconds: how long a new call rings before it plays (real seconds).
        stop_order: the order of the two final streaming messages,
            ``"recognition_stopped_first"`` or ``"conversation_completed_first"``.
    """

    token_lifetime: float = 86400.0
    job_queue_seconds: float = 0.1
    job_processing_seconds: float = 0.4
    fail_jobs: bool = False
    stream_idle_seconds: float = 1800.0
    telephony_speed: float = 1.0
    telephony_answer_seconds: float = 0.5
    stop_order: str = "recognition_stopped_first"

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``{name: value}`` changes (snake_case or camelCase names), checking types.

        Raises:
            ValueError: an unknown setting or a value of the wrong type.
        """
        names = {field.name: field for field in dataclasses.fields(self)}
        parsed: dict[str, Any] = {}
        for raw_name, value in changes.items():
            name = snake_case(raw_name)
            if name not in names:
                raise ValueError(f"unknown setting {raw_name!r}; known: {', '.join(names)}")
            current = getattr(self, name)
            if isinstance(current, float):
                valid = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if valid else value
            else:
                valid = type(value) is type(current)
            if not valid:
                raise ValueError(f"setting {raw_name!r} takes a {type(current).__name__}")
            _check_value(raw_name, name, value)
            parsed[name] = value
        for name, value in parsed.items():
            setattr(self, name, value)

    def to_json(self) -> dict[str, Any]:
        """The settings with camelCase names, as the admin API shows them."""
        return {camel_case(name): value for name, value in dataclasses.asdict(self).items()}


_CHOICES = {"stop_order": ("recognition_stopped_first", "conversation_completed_first")}
_NOT_NEGATIVE = ("stream_idle_seconds", "telephony_answer_seconds")


def _check_value(raw_name: str, name: str, value: Any) -> None:
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"setting {raw_name!r} takes one of {', '.join(_CHOICES[name])}")
    if name in _NOT_NEGATIVE and value < 0:
        raise ValueError(f"setting {raw_name!r} cannot be negative")
    if name == "telephony_speed" and value <= 0:
        raise ValueError(f"setting {raw_name!r} must be positive")


class EmulatorState:
    """The emulator's whole state; :meth:`reset` returns it to how it started.

    ``webhook_sender`` is how job status changes reach ``webhookUrl``s; the HTTP layer installs
    it (this module does no HTTP), and it survives resets.
    """

    def __init__(self, apps: dict[str, str], settings: Settings) -> None:
        self._initial_apps = dict(apps)
        self._initial_settings = dataclasses.replace(settings)
        self.requests = RequestLog()
        self.webhook_sender: Callable[[str, dict[str, str]], None] | None = None
        self._start_fresh()

    def reset(self) -> None:
        """Forget tokens, requests, faults, conversations, jobs and every changed setting;
        end every stream and call and close every websocket."""
        self.jobs.cancel_all()
        self.end_live(CLOSE_GOING_AWAY, "the emulator was reset")
        self._start_fresh()

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
        self.jobs = JobStore(self.settings, self._job_changed)
        self.media_library = MediaLibrary()
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.live_transcript: tuple[TranscriptLine, ...] = ()
        self.sockets = SocketRegistry()
        self.streams = StreamStore(self.settings, self.conversations, self._script)
        self.calls = CallStore(self.settings, self.conversations, self._script)

    def _script(self) -> tuple[TranscriptLine, ...]:
        return self.live_transcript

    def _job_changed(self, job: StoredJob) -> None:
        if job.webhook_url and self.webhook_sender is not None:
            self.webhook_sender(job.webhook_url, {"jobId": job.id, "status": job.status})
