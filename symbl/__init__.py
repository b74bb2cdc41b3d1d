"""symbl: the Python SDK for the Symbl.ai conversation-intelligence API."""

from __future__ import annotations

import logging

from ._client import Client
from ._conversations import Conversation
from ._conversations import Conversations as _Conversations
from ._version import __version__
from .async_api import Audio as _Audio
from .async_api import Text as _Text
from .async_api import Video as _Video
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AudioDeviceError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    InvalidArgumentError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamingError,
    SymblError,
    WaitTimeoutError,
)

# A library never configures logging; the NullHandler only keeps "no handler" warnings away.
logging.getLogger("symbl").addHandler(logging.NullHandler())

#: Async API for audio recordings (files and URLs).
Audio = _Audio()
#: Async API for video recordings (files and URLs).
Video = _Video()
#: Async API for text conversations.
Text = _Text()
#: The Conversation API by conversation id.
Conversations = _Conversations()
#: The same object as ``Conversations``: the documentation uses both spellings.
conversations = Conversations

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Audio",
    "AudioDeviceError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "Conversation",
    "Conversations",
    "InternalServerError",
    "InvalidArgumentError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamingError",
    "SymblError",
    "Text",
    "Video",
    "WaitTimeoutError",
    "__version__",
    "conversations",
]
