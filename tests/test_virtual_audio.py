"""The virtual microphones work through the real sounddevice -> PortAudio -> ALSA path.

Every recording runs in a child process, because PortAudio reads the ALSA configuration
once per process.
"""

from __future__ import annotations

import ctypes.util
import glob
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import virtual_audio
from virtual_audio import (
    FILE_DEVICE,
    PULSE_DEVICE,
    SAMPLERATE,
    PulseSink,
    VirtualDevice,
    capture,
    capturing,
    chirp,
    list_devices,
    write_wav,
)

pytest_plugins = ("virtual_audio",)

MakeMic = Callable[[np.ndarray], VirtualDevice]


def sweep_and_counter() -> np.ndarray:
    """2 s of a loud sweep, then every 8th int16 value from -32768 up, then 32767."""
    counter = np.arange(-32768, 32768, 8)
    return np.concatenate([chirp(2.0, level=0.9), counter, [32767]]).astype(np.int16)


def find(signal: np.ndarray, recording: np.ndarray) -> tuple[int, float]:
    """Where ``signal`` best matches ``recording``, and the normalised correlation there."""
    signal, recording = signal.astype(float), recording.astype(float)
    scores = np.correlate(recording, signal, "valid")
    start = int(np.argmax(scores))
    window = recording[start : start + len(signal)]
    energy = np.sqrt(np.sum(window**2) * np.sum(signal**2))
    return start, float(scores[start] / energy) if energy else 0.0


@pytest.mark.parametrize(
    ("package", "why"),
    [
        ("libportaudio2", "no libportaudio.so.2 found"),
        ("libasound2-plugins", "no ALSA plugin libasound_module_pcm_pulse.so found"),
        ("pulseaudio", "no pulseaudio on PATH"),
        ("pulseaudio-utils", "no paplay on PATH"),
    ],
)
def test_a_missing_package_is_named(
    monkeypatch: pytest.MonkeyPatch, package: str, why: str
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)

    assert virtual_audio.missing_package(package) == (
        f"virtual audio needs the Debian package {package} ({why}); "
        f"install it with: apt-get install {package}"
    )


def test_fixtures_skip_when_a_package_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)

    with pytest.raises(pytest.skip.Exception, match="apt-get install libportaudio2"):
        virtual_audio.alsa_file_device(Path("unused"), np.zeros(1, np.int16))
    sink = virtual_audio.pulse_null_sink(Path("unused"))
    with pytest.raises(pytest.skip.Exception, match="apt-get install libportaudio2"), sink:
        pass
    assert not Path("unused").exists()


def test_everything_is_installed_here() -> None:
    """The machines this suite runs on (dev and CI) install all of it: nothing may skip."""
    packages = ("libportaudio2", "libasound2-plugins", "pulseaudio", "pulseaudio-utils")
    assert virtual_audio.missing_package(*packages) is None


def test_file_device_is_listed_as_an_input(alsa_file_mic: MakeMic) -> None:
    mic = alsa_file_mic(sweep_and_counter())

    devices = {device["name"]: device for device in list_devices(mic.env)}

    assert set(devices) == {FILE_DEVICE, "default"}
    assert devices[FILE_DEVICE]["max_input_channels"] >= 1
    assert devices[FILE_DEVICE]["max_output_channels"] == 0
    assert devices["default"]["default_input"]


@pytest.mark.parametrize(
    ("mode", "blocksize"), [("read", 0), ("read", 1024), ("callback", 0), ("callback", 160)]
)
def test_file_device_capture_is_bit_exact(
    alsa_file_mic: MakeMic, mode: str, blocksize: int
) -> None:
    mic = alsa_file_mic(sweep_and_counter())

    result = capture(mic, len(mic.samples), mode=mode, blocksize=blocksize)

    assert len(mic.samples) / SAMPLERATE > 2.5
    # No leading offset: the first captured sample is the file's first sample.
    np.testing.assert_array_equal(result.samples, mic.samples)
    assert result.statuses == []
    # Not paced: 2.5 s of audio arrives in a small fraction of that.
    assert result.seconds < 0.5


def test_file_device_starts_again_when_reopened(alsa_file_mic: MakeMic) -> None:
    mic = alsa_file_mic(sweep_and_counter())

    first = capture(mic, SAMPLERATE)
    second = capture(mic, SAMPLERATE, mode="callback")

    np.testing.assert_array_equal(first.samples, mic.samples[:SAMPLERATE])
    np.testing.assert_array_equal(second.samples, mic.samples[:SAMPLERATE])


def test_file_device_by_default_device(alsa_file_mic: MakeMic) -> None:
    """Code that records from the default input device gets the virtual microphone."""
    mic = alsa_file_mic(sweep_and_counter())
    default = VirtualDevice(env=mic.env, device="default", samples=mic.samples, config=mic.config)

    result = capture(default, 4000)

    np.testing.assert_array_equal(result.samples, mic.samples[:4000])


def test_pulse_monitor_is_listed_as_an_input(pulse_sink: PulseSink) -> None:
    devices = {device["name"]: device for device in list_devices(pulse_sink.env)}

    assert set(devices) == {PULSE_DEVICE, "default"}
    assert devices[PULSE_DEVICE]["max_input_channels"] >= 1
    assert devices[PULSE_DEVICE]["max_output_channels"] == 0


def test_pulse_sink_records_what_is_played_in_real_time(
    pulse_sink: PulseSink, tmp_path: Path
) -> None:
    tone = chirp(0.5)
    wav = write_wav(tmp_path / "chirp.wav", tone)
    frames = int(1.5 * SAMPLERATE)

    with capturing(pulse_sink, frames) as recorder:
        recorder.wait_until_recording()
        played_at = time.monotonic()
        pulse_sink.play(wav)
        result = recorder.result(timeout=10)

    # First audio soon after opening (norewinds=1; an idle null sink otherwise delays it ~2 s).
    assert result.first_block - result.started < 0.5
    start, score = find(tone, result.samples)
    assert score > 0.95, f"chirp not found (best correlation {score:.3f} at {start})"
    # Silence (digital zero from the null sink) before and after the chirp.
    assert np.abs(result.samples[:start]).max(initial=0) < 100
    assert np.abs(result.samples[start + len(tone) :]).max(initial=0) < 100
    # The first block arrived at first_block; later samples arrive in real time.
    heard_at = result.first_block + (start - result.first_frames) / SAMPLERATE
    assert -0.1 < heard_at - played_at < 0.5
    # Recording 1.5 s takes about 1.5 s.
    real_time = (frames - result.first_frames) / SAMPLERATE
    assert real_time - 0.2 < result.finished - result.first_block < real_time + 0.5
    assert result.statuses == []
