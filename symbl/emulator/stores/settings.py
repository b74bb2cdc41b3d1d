"""The emulator's behaviour knobs and its default app (no HTTP here)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from symbl._protocol.names import camel_case, snake_case

from .hosts import split_host

DEFAULT_APP_ID = "emulator-app-id"
DEFAULT_APP_SECRET = "emulator-app-secret"
DEFAULT_MAX_MEDIA_BYTES = 2 << 30


@dataclasses.dataclass
class Settings:
    """Behaviour knobs, changeable at run time through the admin API.

    Attributes:
        token_lifetime: seconds a generated access token stays valid.
        job_queue_seconds: how long a new async job stays ``scheduled``.
        job_processing_seconds: how long it then stays ``in_progress``.
        fail_jobs: make every job fail (to test failure handling).
        max_jobs_in_progress: the most async jobs an app may have scheduled or in progress at
            once; one more is refused with 429 (0: no limit; the service allows 50 on paid
            plans, 2 on trial ones).
        max_live_streams: the most streaming connections an app may have open at once; one
            more is refused with 429 (0: no limit; 50 on paid plans, 2 on trial ones).
        request_log_size: how many requests the request log keeps (the latest; a ring).
        keep_stream_audio: keep the audio each streaming session accepted (up to 256 MiB
            each) for :meth:`~symbl.emulator.Emulator.stream_audio`, also after the session
            ends; off (the default), audio is counted, never kept.
        stream_idle_seconds: a streaming session whose audio stays silent (or absent) for this
            long ends by itself (the service's 30 minutes of silence).
        listener_wait_seconds: how long a listener (``/v1/subscribe/{id}``) of an id with no
            stream waits for a stream with that id to start before it is closed with 1000.
        telephony_speed: how much faster than real time a call plays the live transcript.
        telephony_answer_seconds: how long a new call rings before it plays (real seconds).
        stop_order: the order of the two final streaming messages,
            ``"recognition_stopped_first"`` or ``"conversation_completed_first"``.
        max_media_bytes: the largest media file accepted, uploaded or downloaded (bytes).
        media_fetch_seconds: how long downloading a media URL may take in all.
        allowed_media_hosts: the hosts media URLs may be downloaded from, as ``host`` (any
            port) or ``host:port`` (``[::1]:port`` for IPv6); none by default. ``"*"``
            allows every host but loopback, private and link-local ones, which are allowed
            only when named (``127.0.0.1``, ``localhost``).
    """

    token_lifetime: float = 86400.0
    job_queue_seconds: float = 0.1
    job_processing_seconds: float = 0.4
    fail_jobs: bool = False
    max_jobs_in_progress: int = 0
    max_live_streams: int = 0
    request_log_size: int = 10_000
    keep_stream_audio: bool = False
    stream_idle_seconds: float = 1800.0
    listener_wait_seconds: float = 30.0
    telephony_speed: float = 1.0
    telephony_answer_seconds: float = 0.5
    stop_order: str = "recognition_stopped_first"
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    media_fetch_seconds: float = 60.0
    allowed_media_hosts: tuple[str, ...] = ()

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
            elif isinstance(current, tuple):
                valid = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
                value = tuple(value) if valid else value
            else:
                valid = type(value) is type(current)
            if not valid:
                kind = "list of strings" if isinstance(current, tuple) else type(current).__name__
                raise ValueError(f"setting {raw_name!r} takes a {kind}")
            _check_value(raw_name, name, value)
            parsed[name] = value
        for name, value in parsed.items():
            setattr(self, name, value)

    def to_json(self) -> dict[str, Any]:
        """The settings with camelCase names, as the admin API shows them."""
        return {
            camel_case(name): list(value) if isinstance(value, tuple) else value
            for name, value in dataclasses.asdict(self).items()
        }


_CHOICES = {"stop_order": ("recognition_stopped_first", "conversation_completed_first")}
_NOT_NEGATIVE = (
    "stream_idle_seconds",
    "listener_wait_seconds",
    "telephony_answer_seconds",
    "max_media_bytes",
    "max_jobs_in_progress",
    "max_live_streams",
)
_POSITIVE_INTS = ("request_log_size",)
_POSITIVE = ("telephony_speed", "media_fetch_seconds")


def _check_value(raw_name: str, name: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"setting {raw_name!r} must be a finite number")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"setting {raw_name!r} takes one of {', '.join(_CHOICES[name])}")
    if name in _NOT_NEGATIVE and value < 0:
        raise ValueError(f"setting {raw_name!r} cannot be negative")
    if (name in _POSITIVE or name in _POSITIVE_INTS) and value <= 0:
        raise ValueError(f"setting {raw_name!r} must be positive")
    if name == "allowed_media_hosts":
        for host in value:
            split_host(host)
