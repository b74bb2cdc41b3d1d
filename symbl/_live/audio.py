"""Audio for streaming: microphone capture, WAV files, and numpy arrays as LINEAR16.

This is the only module that touches ``sounddevice``, and it imports it only when a microphone
is used, so ``import symbl`` works where PortAudio is missing. Problems with the audio system
raise :class:`~symbl.errors.AudioDeviceError` saying what to install or which device to pick.

LINEAR16 is signed 16-bit little-endian PCM, mono. Float samples (-1.0 .. 1.0) are scaled to
int16; the service takes at most 8192 bytes per websocket frame.
"""

from __future__ import annotations

import logging
import queue
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from symbl._protocol.streaming import MAX_FRAME_BYTES
from symbl.errors import AudioDeviceError, InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger("symbl")


_INSTALL_PORTAUDIO = {
    "linux": "install PortAudio: sudo apt-get install libportaudio2 (Debian/Ubuntu) "
    "or sudo dnf install portaudio (Fedora)",
    "darwin": "install PortAudio: brew install portaudio",
}
AudioData = Union[bytes, bytearray, memoryview, "np.ndarray"]


def to_linear16(data: AudioData) -> bytes:
    """Audio as LINEAR16 bytes.

    Args:
        data: bytes (already LINEAR16 or another encoding's bytes, sent as they are), or a numpy
            array of mono samples: int16 as is, float in -1.0 .. 1.0 scaled to int16. A 2-D
            array must have one channel.

    Raises:
        InvalidArgumentError: an unsupported type, dtype or channel count.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    import numpy as np

    if not isinstance(data, np.ndarray):
        raise InvalidArgumentError(
            f"audio must be bytes or a numpy array, not {type(data).__name__}"
        )
    samples = data
    if samples.ndim == 2 and samples.shape[1] == 1:
        samples = samples[:, 0]
    if samples.ndim != 1:
        raise InvalidArgumentError(
            f"audio must be mono; this array has shape {data.shape}. Pass one channel "
            "(data[:, 0]) or mix them down (data.mean(axis=1))"
        )
    if np.issubdtype(samples.dtype, np.floating):
        samples = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    elif samples.dtype == np.int16:
        samples = samples.astype("<i2", copy=False)
    else:
        raise InvalidArgumentError(
            f"audio arrays must be int16 or float (-1.0 .. 1.0), not {samples.dtype}"
        )
    return samples.tobytes()


def frames(data: bytes, limit: int = MAX_FRAME_BYTES) -> Iterator[bytes]:
    """Split audio into frames of at most ``limit`` bytes (an even number: whole samples)."""
    step = limit - limit % 2
    for start in range(0, len(data), step):
        yield data[start : start + step]


def read_wav(path: str | Path, sample_rate: int) -> bytes:
    """A WAV file's audio as mono LINEAR16 at ``sample_rate`` (mixed down and resampled).

    Raises:
        InvalidArgumentError: the file is missing or not a PCM WAV file.
    """
    import numpy as np

    try:
        with wave.open(str(path), "rb") as reader:
            width, channels, rate = (
                reader.getsampwidth(),
                reader.getnchannels(),
                reader.getframerate(),
            )
            raw = reader.readframes(reader.getnframes())
    except FileNotFoundError:
        raise InvalidArgumentError(f"{path} does not exist") from None
    except (wave.Error, EOFError) as exc:
        raise InvalidArgumentError(f"{path} is not a PCM WAV file: {exc}") from exc
    if (width, channels, rate) == (2, 1, sample_rate):
        return raw  # already LINEAR16 at the right rate: WAV data is little-endian
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        dtype = "<i2" if width == 2 else "<i4"
        samples = np.frombuffer(raw, dtype).astype(np.float32) / float(2 ** (8 * width - 1))
    else:
        raise InvalidArgumentError(f"{path} has {8 * width}-bit samples; use 8, 16 or 32-bit PCM")
    samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != sample_rate:
        samples = resample(samples, rate, sample_rate)
    return to_linear16(samples)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Linear-interpolation resampling: plenty for speech recognition input."""
    import numpy as np

    count = round(len(samples) * to_rate / from_rate)
    positions = np.arange(count) * (from_rate / to_rate)
    resampled: np.ndarray = np.interp(positions, np.arange(len(samples)), samples)
    return resampled.astype(np.float32)


def input_devices() -> list[dict[str, Any]]:
    """The audio input devices PortAudio sees: ``[{"index", "name", "channels", "default"}]``.

    Raises:
        AudioDeviceError: PortAudio is not installed.
    """
    sounddevice = _sounddevice()
    default = sounddevice.default.device[0]
    return [
        {
            "index": index,
            "name": device["name"],
            "channels": device["max_input_channels"],
            "default": index == default,
        }
        for index, device in enumerate(sounddevice.query_devices())
        if device["max_input_channels"] > 0
    ]


class Microphone:
    """Capture mono int16 audio from an input device, block by block.

    The PortAudio callback only copies each block onto a bounded queue; :meth:`read` hands the
    blocks to the sending thread. If the sender falls behind by more than ``queue_seconds``,
    new blocks are dropped (so what is queued stays contiguous) and counted in
    ``dropped_blocks``, with a warning.

    Args:
        sample_rate: frames per second to capture.
        device: a device index or name; the system default input when None.
        block_seconds: seconds per block (each block is one websocket frame).
        queue_seconds: how much audio may wait for the sender.
    """

    def __init__(
        self,
        sample_rate: int,
        device: int | str | None = None,
        block_seconds: float = 0.1,
        queue_seconds: float = 10.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.device = device
        self.blocksize = max(1, min(int(sample_rate * block_seconds), MAX_FRAME_BYTES // 2))
        self._queue: queue.Queue[bytes] = queue.Queue(
            maxsize=max(1, int(queue_seconds / block_seconds))
        )
        self._stream: Any = None
        self.dropped_blocks = 0

    def __enter__(self) -> Microphone:
        sounddevice = _sounddevice()
        try:
            info = sounddevice.query_devices(self.device, kind="input")
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise AudioDeviceError(_no_device(self.device, exc)) from exc
        try:
            self._stream = sounddevice.RawInputStream(
                samplerate=self.sample_rate,
                channels=1,
                dtype="int16",
                blocksize=self.blocksize,
                device=self.device,
                callback=self._on_block,
            )
            self._stream.start()
        except sounddevice.PortAudioError as exc:
            raise AudioDeviceError(
                f"could not record from {info['name']!r} at {self.sample_rate} Hz mono int16: "
                f"{exc}. The device may be busy or not support this rate; pick another with "
                "device=N (see symbl.audio.input_devices()) or another sampleRateHertz"
            ) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def read(self, timeout: float) -> bytes | None:
        """The next block, or None if none came within ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _on_block(self, data: Any, frame_count: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: copy and hand over, nothing else.
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:
            self.dropped_blocks += 1
            if self.dropped_blocks == 1 or self.dropped_blocks % 100 == 0:
                logger.warning(
                    "audio is not sent fast enough: %d blocks dropped", self.dropped_blocks
                )


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is missing
        hint = _INSTALL_PORTAUDIO.get(sys.platform, "install the PortAudio library")
        raise AudioDeviceError(f"cannot use the microphone: {exc}. To fix it, {hint}") from exc
    except ImportError as exc:
        raise AudioDeviceError(
            f"cannot use the microphone: {exc}. Install it with: pip install sounddevice"
        ) from exc
    return sounddevice


def _no_device(device: int | str | None, exc: Exception) -> str:
    try:
        names = [f"{entry['index']}: {entry['name']}" for entry in input_devices()]
    except AudioDeviceError:
        names = []
    which = "no default input device" if device is None else f"no input device {device!r}"
    available = "; ".join(names) if names else "none (connect a microphone)"
    return f"{which} ({exc}). Input devices: {available}. Choose one with device=N"
