"""symbl: the Python SDK for the Symbl.ai conversation-intelligence API."""

from __future__ import annotations

import logging

from ._client import Client
from ._version import __version__
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

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AudioDeviceError",
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
]
