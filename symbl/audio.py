"""Audio helpers users call directly: ``symbl.audio.input_devices()`` lists microphones.

The implementation lives in the live-audio layer; this module keeps the documented import path.
"""

from __future__ import annotations

from ._live.audio import AudioData, Microphone, input_devices
from ._protocol.streaming import MAX_FRAME_BYTES

__all__ = ["MAX_FRAME_BYTES", "AudioData", "Microphone", "input_devices"]
