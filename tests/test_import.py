"""What ``import symbl`` does, and does not do."""

from __future__ import annotations

import subprocess
import textwrap

import symbl

from helpers import PYTHON

# The documented entry points (the SDK reference page and DESIGN.md) and the error tree.
PUBLIC_NAMES = {
    "AsyncClient",
    "AsyncConnection",
    "AsyncConversation",
    "AsyncStreamingConnection",
    "AsyncStreamListener",
    "StreamListener",
    "Event",
    "MissingDependencyError",
    "Batch",
    "BatchProgress",
    "BatchResult",
    "Audio",
    "Video",
    "Text",
    "Conversations",
    "conversations",
    "Conversation",
    "Groups",
    "Telephony",
    "Trackers",
    "Connection",
    "Streaming",
    "StreamingConnection",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AudioDeviceError",
    "AudioNotDeliveredError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "InternalServerError",
    "InvalidArgumentError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamingError",
    "SymblError",
    "WaitTimeoutError",
    "__version__",
}


def test_public_names_are_exactly_the_documented_ones() -> None:
    assert set(symbl.__all__) == PUBLIC_NAMES
    assert len(symbl.__all__) == len(PUBLIC_NAMES), "a name is listed twice"
    for name in symbl.__all__:
        assert hasattr(symbl, name), name


def test_version() -> None:
    assert symbl.__version__ == "3.0.0.dev0"


def test_error_tree() -> None:
    assert issubclass(symbl.APITimeoutError, symbl.APIConnectionError)
    for error in (
        symbl.BadRequestError,
        symbl.AuthenticationError,
        symbl.PermissionDeniedError,
        symbl.NotFoundError,
        symbl.RateLimitError,
        symbl.InternalServerError,
    ):
        assert issubclass(error, symbl.APIStatusError)
    for error in (
        symbl.ConfigurationError,
        symbl.APIConnectionError,
        symbl.APIStatusError,
        symbl.JobFailedError,
        symbl.StreamingError,
        symbl.AudioDeviceError,
        symbl.WaitTimeoutError,
        symbl.InvalidArgumentError,
    ):
        assert issubclass(error, symbl.SymblError)
    assert issubclass(symbl.InvalidArgumentError, ValueError)
    assert issubclass(symbl.InvalidArgumentError, TypeError)


IMPORT_PROBE = textwrap.dedent(
    """
    import builtins, json, logging, os, sys, threading

    class NoSoundDevice:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice" or name.startswith("_sounddevice"):
                raise ImportError("PortAudio library not found")
            return None

    sys.meta_path.insert(0, NoSoundDevice())
    opened = []

    def audit(event, args):
        if event == "open" and isinstance(args[0], str):
            if not args[0].endswith((".py", ".pyc", ".so")) and "__pycache__" not in args[0]:
                opened.append(args[0])

    sys.addaudithook(audit)
    root_handlers = list(logging.getLogger().handlers)
    import symbl
    report = {
        "threads": [t.name for t in threading.enumerate()],
        "sounddevice": "sounddevice" in sys.modules,
        "aiohttp": "aiohttp" in sys.modules,
        "root_handlers_changed": logging.getLogger().handlers != root_handlers,
        "symbl_handlers": [type(h).__name__ for h in logging.getLogger("symbl").handlers],
        "opened": [p for p in opened if os.path.isfile(p)],
        "names": sorted(symbl.__all__),
    }
    print(json.dumps(report))
    """
)


def test_import_needs_no_portaudio_and_has_no_side_effects(tmp_path) -> None:
    (tmp_path / "symbl.conf").write_text("[credentials]\napp_id=x\napp_secret=y\n")
    result = subprocess.run(
        [PYTHON, "-c", IMPORT_PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["threads"] == ["MainThread"]
    assert report["sounddevice"] is False
    assert report["aiohttp"] is False
    assert report["root_handlers_changed"] is False
    assert report["symbl_handlers"] == ["NullHandler"]
    assert report["opened"] == []
    assert set(report["names"]) >= PUBLIC_NAMES
