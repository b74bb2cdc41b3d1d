"""symbl: the Python SDK for the Symbl.ai conversation-intelligence API.

The documented entry points are ready-to-use objects: ``symbl.Audio``, ``symbl.Video`` and
``symbl.Text`` (async jobs), ``symbl.Conversations`` (alias ``symbl.conversations``),
``symbl.Telephony`` and ``symbl.Streaming``. They find credentials in a ``credentials=``
argument, the ``SYMBL_APP_ID`` / ``SYMBL_APP_SECRET`` environment variables, or a symbl.conf
file (working directory, then home). ``symbl.Client`` pins an account and settings.

Example:
    >>> import symbl
    >>> conversation = symbl.Audio.process_file(file_path="meeting.wav")
    >>> print(conversation.get_messages())
"""

from __future__ import annotations

import logging

from ._async_client import AsyncClient
from ._client import Client
from ._protocol.events import Event
from ._resources.async_conversations import AsyncConversation
from ._resources.async_listeners import AsyncStreamListener
from ._resources.async_streaming import AsyncStreamingConnection
from ._resources.async_telephony import AsyncConnection
from ._resources.batch import Batch, BatchProgress
from ._resources.batch_steps import BatchResult
from ._resources.conversations import Conversation
from ._resources.conversations import Conversations as _Conversations
from ._resources.groups import Groups as _Groups
from ._resources.jobs import Audio as _Audio
from ._resources.jobs import Text as _Text
from ._resources.jobs import Video as _Video
from ._resources.listeners import StreamListener
from ._resources.streaming import Streaming as _Streaming
from ._resources.streaming import StreamingConnection
from ._resources.telephony import Connection
from ._resources.telephony import Telephony as _Telephony
from ._resources.trackers import Trackers as _Trackers
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AudioDeviceError,
    AudioNotDeliveredError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    InvalidArgumentError,
    JobFailedError,
    MissingDependencyError,
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
#: Conversation groups: conversations selected by their metadata.
Groups = _Groups()
#: The Telephony API: have Symbl dial into a call (PSTN or SIP).
Telephony = _Telephony()
#: The Streaming API: send live audio over a websocket.
Streaming = _Streaming()
#: The trackers Management API: trackers kept by the account.
Trackers = _Trackers()

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncConnection",
    "AsyncConversation",
    "AsyncStreamListener",
    "AsyncStreamingConnection",
    "Audio",
    "AudioDeviceError",
    "AudioNotDeliveredError",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchProgress",
    "BatchResult",
    "Client",
    "ConfigurationError",
    "Connection",
    "Conversation",
    "Conversations",
    "Event",
    "Groups",
    "InternalServerError",
    "InvalidArgumentError",
    "JobFailedError",
    "MissingDependencyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamListener",
    "Streaming",
    "StreamingConnection",
    "StreamingError",
    "SymblError",
    "Telephony",
    "Text",
    "Trackers",
    "Video",
    "WaitTimeoutError",
    "__version__",
    "conversations",
]
