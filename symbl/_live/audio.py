"""Audio for streaming: microphone capture, WAV files, and numpy arrays as LINEAR16.

This is the only module that touches ``sounddevice``, and it imports it only when a microphone
is used, so ``import symbl`` works where PortAudio is missing. Problems with the audio system
raise :class:`~symbl.errors.AudioDeviceError` saying what to install or which device to pick.

LINEAR16 is signed 16-bit little-endian PCM, mono. Float samples (-1.0 .. 1.0) are scaled to
int16; the service takes at most 8192 bytes per websocket frame.

WAV files are read, mixed down and resampled block by block (:class:`WavFile`, with a
:class:`Resampler` that carries its state across blocks), so a file of any length streams in
flat memory and gives exactly the audio that converting it whole would.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from symbl._protocol.checks import shown
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
        if not np.isfinite(samples).all():
            raise InvalidArgumentError(
                "audio samples must be finite numbers; this array has NaN or inf"
            )
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

    The whole file is returned at once; :class:`WavFile` reads it block by block instead.

    Raises:
        InvalidArgumentError: the file is missing, a directory, unreadable, or not a PCM WAV file.
    """
    with WavFile(path, sample_rate) as wav:
        return b"".join(wav.blocks())


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Linear-interpolation resampling: plenty for speech recognition input.

    :class:`Resampler` gives the same samples for audio that comes in blocks.
    """
    import numpy as np

    count = round(len(samples) * to_rate / from_rate)
    positions = np.arange(count) * (from_rate / to_rate)
    resampled: np.ndarray = np.interp(positions, np.arange(len(samples)), samples)
    return resampled.astype(np.float32)


class Resampler:
    """:func:`resample` for audio that comes in blocks, with the same result.

    Output sample ``k`` sits at input position ``k * from_rate / to_rate`` and interpolates the
    two input samples around it, exactly as :func:`resample` does for the whole signal. Each
    :meth:`push` returns the output samples whose inputs have arrived, and keeps the few input
    samples the next ones still need; :meth:`flush` returns the last ones (those past the final
    input sample repeat it, as :func:`resample` does). The concatenated output is identical to
    resampling everything at once: no seams at block boundaries, no drift.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        import numpy as np

        if from_rate <= 0 or to_rate <= 0:
            raise InvalidArgumentError(
                f"sample rates must be positive, not {from_rate} and {to_rate}"
            )
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._step = from_rate / to_rate
        self._received = 0  # input samples so far
        self._emitted = 0  # output samples so far
        self._tail: np.ndarray = np.zeros(0, np.float32)  # inputs still needed, ending the input

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Take the next input samples (mono); return the output samples now complete."""
        import numpy as np

        if not len(samples):
            return np.zeros(0, np.float32)
        known = np.concatenate((self._tail, np.asarray(samples, np.float32)))
        self._received += len(samples)
        # However long the input turns out to be, it gives at least this many output samples.
        limit = round(self._received * self.to_rate / self.from_rate)
        positions = np.arange(self._emitted, max(limit, self._emitted)) * self._step
        ready = int(np.searchsorted(positions, self._received - 1, side="right"))
        return self._interpolate(positions[:ready], known)

    def flush(self) -> np.ndarray:
        """The output samples left once the input has ended."""
        import numpy as np

        count = round(self._received * self.to_rate / self.from_rate)
        positions = np.arange(self._emitted, max(count, self._emitted)) * self._step
        return self._interpolate(positions, self._tail)

    def _interpolate(self, positions: np.ndarray, known: np.ndarray) -> np.ndarray:
        import numpy as np

        if not len(known):
            return np.zeros(0, np.float32)
        first = self._received - len(known)  # the input index of known[0]
        # np.interp's arithmetic (in float64, from absolute positions), without its search:
        # the two samples around each position are known by index. Positions past the last
        # sample take its value, as np.interp does.
        left = np.floor(positions)
        index = (left - first).astype(np.intp)
        last = len(known) - 1
        before = known[np.minimum(index, last)].astype(np.float64)
        after = known[np.minimum(index + 1, last)].astype(np.float64)
        resampled: np.ndarray = (after - before) * (positions - left) + before
        self._emitted += len(positions)
        # Keep the input from the one before the next output's position (at least the last).
        keep_from = min(int(self._emitted * self._step), self._received - 1)
        self._tail = known[max(keep_from, first) - first :].copy()
        return resampled.astype(np.float32)


class WavFile:
    """A PCM WAV file read block by block as mono LINEAR16 at ``sample_rate``.

    Opening checks the file (it exists, is a PCM WAV with 8, 16 or 32-bit samples), so a bad
    file is refused before anything is sent. :meth:`blocks` then reads ``block_seconds`` of the
    file at a time, mixes it down to mono and resamples it with a :class:`Resampler`: memory
    stays flat whatever the file's length, and the audio equals :func:`read_wav`'s.

    Args:
        path: the WAV file.
        sample_rate: the rate to deliver, in frames per second.
        block_seconds: how much of the file to read at a time.

    Raises:
        InvalidArgumentError: the file is missing, a directory, unreadable, or not a PCM WAV file.
    """

    def __init__(self, path: str | Path, sample_rate: int, block_seconds: float = 0.5) -> None:
        given = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(given, str) or not given:
            raise InvalidArgumentError(f"path must be the path of a WAV file, not {shown(path)}")
        self.path = path
        self.sample_rate = sample_rate
        try:
            self._reader = wave.open(given, "rb")  # noqa: SIM115 (closed by close())
        except FileNotFoundError:
            raise InvalidArgumentError(f"{given} does not exist") from None
        except IsADirectoryError:
            raise InvalidArgumentError(f"{given} is a directory, not a WAV file") from None
        except (wave.Error, EOFError, RuntimeError) as exc:
            # wave raises a bare RuntimeError for a chunk whose size points past the file.
            raise InvalidArgumentError(
                f"{given} is not a PCM WAV file: {exc or 'a chunk runs past the end'}"
            ) from exc
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read {given}: {exc.strerror or exc}") from exc
        except ValueError as exc:  # a NUL character in the path
            raise InvalidArgumentError(f"{shown(given)} is not a usable path: {exc}") from None
        self.width = self._reader.getsampwidth()
        self.channels = self._reader.getnchannels()
        self.rate = self._reader.getframerate()
        if self.width not in (1, 2, 4):
            self.close()
            raise InvalidArgumentError(
                f"{path} has {8 * self.width}-bit samples; use 8, 16 or 32-bit PCM"
            )
        if self.rate <= 0:
            self.close()
            raise InvalidArgumentError(f"{path} is not a PCM WAV file: its sample rate is 0")
        self._block_frames = max(1, int(self.rate * block_seconds))

    def __enter__(self) -> WavFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._reader.close()

    def blocks(self) -> Iterator[bytes]:
        """The audio, block by block, as mono LINEAR16 at ``sample_rate``."""
        if (self.width, self.channels, self.rate) == (2, 1, self.sample_rate):
            # Already LINEAR16 at the right rate: WAV data is little-endian.
            while raw := self._read():
                yield raw
            return
        resampler = (
            Resampler(self.rate, self.sample_rate) if self.rate != self.sample_rate else None
        )
        while raw := self._read():
            samples = self._mono(raw)
            if resampler is not None:
                samples = resampler.push(samples)
            if len(samples):
                yield to_linear16(samples)
        if resampler is not None:
            tail = resampler.flush()
            if len(tail):
                yield to_linear16(tail)

    def frames(self, limit: int = MAX_FRAME_BYTES) -> Iterator[bytes]:
        """The audio in frames of ``limit`` bytes (an even number), the last one shorter: the
        frames :func:`frames` would cut from :func:`read_wav`'s audio."""
        step = limit - limit % 2
        pending = bytearray()
        for block in self.blocks():
            if not pending and len(block) % step == 0:
                yield from frames(block, step)  # no copy when the block holds whole frames
                continue
            pending += block
            whole = len(pending) - len(pending) % step
            for start in range(0, whole, step):
                yield bytes(pending[start : start + step])
            del pending[:whole]
        if pending:
            yield bytes(pending)

    def _read(self) -> bytes:
        """The next block of whole frames (empty at the end of the file)."""
        raw = self._reader.readframes(self._block_frames)
        size = self.width * self.channels
        return raw[: len(raw) - len(raw) % size]  # a file cut mid-frame: drop the partial frame

    def _mono(self, raw: bytes) -> np.ndarray:
        """Samples as float32 in -1.0 .. 1.0, channels mixed down (their mean)."""
        import numpy as np

        if self.width == 1:
            data = np.frombuffer(raw, np.uint8)  # unsigned, centred on 128
            offset, scale = 128.0, 128.0
        else:
            data = np.frombuffer(raw, "<i2" if self.width == 2 else "<i4")
            offset, scale = 0.0, float(2 ** (8 * self.width - 1))
        # Sum the channels' integers, then scale once: for 8 and 16-bit stereo the sum is exact
        # and the scale a power of two, so this is exactly the mean of the scaled channels.
        mixed: np.ndarray = data[0 :: self.channels].astype(np.float32)
        for channel in range(1, self.channels):
            mixed += data[channel :: self.channels]
        if offset:
            mixed -= np.float32(offset * self.channels)
        mixed /= np.float32(scale * self.channels)
        return mixed


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

    Raises:
        InvalidArgumentError: ``device`` is not None, an index from 0 up or a name.
    """

    def __init__(
        self,
        sample_rate: int,
        device: int | str | None = None,
        block_seconds: float = 0.1,
        queue_seconds: float = 10.0,
    ) -> None:
        index = isinstance(device, int) and not isinstance(device, bool) and 0 <= device < 2**31
        if not (device is None or index or (isinstance(device, str) and device.strip())):
            raise InvalidArgumentError(
                "device must be an input device's index or name (see "
                f"symbl.audio.input_devices()), or None for the default, not {shown(device)}"
            )
        self.sample_rate = sample_rate
        self.device = device
        self.blocksize = max(1, min(int(sample_rate * block_seconds), MAX_FRAME_BYTES // 2))
        self._queue: queue.Queue[bytes] = queue.Queue(
            maxsize=max(1, int(queue_seconds / block_seconds))
        )
        self._stream: Any = None
        self.dropped_blocks = 0
        self._reported_drops = 0

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
            self._close()
            raise AudioDeviceError(
                f"could not record from {info['name']!r} at {self.sample_rate} Hz mono int16: "
                f"{exc}. The device may be busy or not support this rate; pick another with "
                "device=N (see symbl.audio.input_devices()) or another sampleRateHertz"
            ) from exc
        except BaseException:  # Ctrl+C while the device opens: leave no stream running
            self._close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def read(self, timeout: float) -> bytes | None:
        """The next block, or None if none came within ``timeout`` seconds."""
        dropped = self.dropped_blocks
        if dropped != self._reported_drops and (
            self._reported_drops == 0 or dropped // 100 > self._reported_drops // 100
        ):
            self._reported_drops = dropped
            logger.warning("audio is not sent fast enough: %d blocks dropped", dropped)
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _close(self) -> None:
        """Stop and close the stream; it is closed even if stopping is interrupted."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
        finally:
            stream.close()

    def _on_block(self, data: Any, frame_count: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: copy and hand over, nothing else (read() reports the drops).
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:
            self.dropped_blocks += 1


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
    which = "no default input device" if device is None else f"no input device {shown(device)}"
    available = "; ".join(names) if names else "none (connect a microphone)"
    return f"{which} ({exc}). Input devices: {available}. Choose one with device=N"
