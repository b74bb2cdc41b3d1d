"""What the command line checks before it opens anything, and how it words the SDK's errors.

Files, URLs, insight types and the microphone are checked before a request is sent or a stream
opened, and their errors name the command's options (``--device``, ``--insights``, ``--param``)
rather than the SDK's arguments. Every bad input is an :class:`~symbl.errors.InvalidArgumentError`,
which the command reports with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from symbl import errors
from symbl._live.audio import Microphone, WavFile, input_devices
from symbl._protocol.streaming import DEFAULT_SAMPLE_RATE, INSIGHT_TYPES
from symbl._transport.credentials import DEFAULT_BASE_URL

#: The URL schemes the service downloads from.
WEB_SCHEMES = ("http", "https")
#: Where the emulator's documentation explains the live transcript.
LIVE_TRANSCRIPT_DOCS = 'docs/emulator.md, "Streams and calls: the live transcript"'


def require_file(source: str) -> Path:
    """``source`` as a path, once it is known to be a readable file."""
    path = Path(source)
    if not path.exists():
        raise errors.InvalidArgumentError(f"{source} does not exist")
    if not path.is_file():
        raise errors.InvalidArgumentError(f"{source} is not a file")
    if not os.access(path, os.R_OK):
        raise errors.InvalidArgumentError(f"cannot read {source} (check its permissions)")
    return path


def web_url(source: str) -> bool:
    """Whether ``source`` is an http(s) URL; a URL of another scheme is refused as given."""
    if "://" not in source:
        return False
    scheme = urlsplit(source).scheme.lower()
    if scheme not in WEB_SCHEMES:
        raise errors.InvalidArgumentError(
            f"{source}: the service downloads only http:// and https:// URLs, not {scheme}://"
        )
    return True


def insight_types(text: str) -> list[str]:
    """The ``--insights`` value: a comma-separated list of insight types."""
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in INSIGHT_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown insight type {', '.join(unknown)}; choose from {', '.join(INSIGHT_TYPES)}"
        )
    return kinds


def check_wav(source: Path) -> None:
    """Refuse a file that cannot be streamed: missing, unreadable, or not a PCM WAV file."""
    require_file(str(source))
    WavFile(source, DEFAULT_SAMPLE_RATE).close()


def device(text: str) -> int | str:
    """The ``--device`` value: an input device's index, or its name (or part of it)."""
    name = text.strip()
    if not name:
        raise argparse.ArgumentTypeError("give an input device's index or name (symbl devices)")
    return int(name) if name.isascii() and name.isdigit() else name


def check_microphone(chosen: int | str | None) -> None:
    """Open the input device (the default when None) and close it again: a missing, unknown
    or busy microphone is refused before the stream opens."""
    try:
        with Microphone(DEFAULT_SAMPLE_RATE, chosen):
            pass
    except errors.InvalidArgumentError as exc:  # an index past any there can be
        raise errors.InvalidArgumentError(
            f"there is no input device {chosen!r} (see: symbl devices)"
        ) from exc
    except errors.AudioDeviceError as exc:
        if isinstance(exc.__cause__, (OSError, ImportError)):
            raise  # no PortAudio: the message says what to install
        which = "the default input device" if chosen is None else f"input device {chosen!r}"
        found = [f"{entry['index']}: {entry['name']}" for entry in input_devices()]
        advice = (
            f"input devices: {'; '.join(found)}. Choose one with --device N (see: symbl devices)"
            if found
            else "there is no microphone. Connect one, or stream a file with --file x.wav"
        )
        raise errors.InvalidArgumentError(
            f"cannot record from {which} ({exc.__cause__}); {advice}"
        ) from exc


@contextmanager
def option_terms(names: Mapping[str, str]) -> Iterator[None]:
    """Reword the SDK's argument errors raised in the block in the command's terms.

    Args:
        names: regular expressions of what the SDK's messages start with (an argument, such
            as ``phone_number``; a whole word), and what the command calls it instead.
    """
    try:
        yield
    except errors.InvalidArgumentError as exc:
        message = str(exc)
        for pattern, option in names.items():
            reworded, found = re.subn(rf"^(?:{pattern})(?!\w)", option, message, count=1)
            if found:
                raise errors.InvalidArgumentError(reworded) from exc
        raise


def param_terms(parameters: Mapping[str, object]) -> dict[str, str]:
    """For :func:`option_terms`: the SDK's names for what ``--param`` gave."""
    names = {r"\w+\.\w+ parameters": "--param"}
    names.update({re.escape(key): f"--param {key}" for key in parameters})
    return names


def nothing_heard(base_url: str | None, source: str) -> str:
    """Why a stream may have brought no transcript, for a warning; away from the service,
    how to give the emulator words to recognise."""
    if base_url is None or base_url.rstrip("/") == DEFAULT_BASE_URL:
        return f"nothing was recognised in {source}"
    return (
        f"nothing was recognised in {source}. If {base_url} is the emulator: streams hear only "
        "its live transcript, so set one before streaming, e.g. "
        f"curl -X PUT {base_url.rstrip('/')}/_emulator/live-transcript "
        "-H 'X-Emulator-Admin-Token: <the admin token it printed at start>' "
        "-H 'Content-Type: application/json' -d "
        """'{"transcript": [{"text": "Hello there.", "start": 0.5, "end": 2.0}]}' """
        f"(see {LIVE_TRANSCRIPT_DOCS})"
    )
