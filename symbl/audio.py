"""Audio helpers users call directly: ``symbl.audio.input_devices()`` lists microphones.

The implementation lives in the live-audio layer; this module keeps the public import path
and every public name it always had.
"""

from __future__ import annotations

from ._live.audio import (
    AudioData,
    Microphone,
    frames,
    input_devices,
    read_wav,
    resample,
    to_linear16,
)
from ._protocol.streaming import MAX_FRAME_BYTES

__all__ = [
    "MAX_FRAME_BYTES",
    "AudioData",
    "Microphone",
    "frames",
    "input_devices",
    "read_wav",
    "resample",
    "to_linear16",
]
