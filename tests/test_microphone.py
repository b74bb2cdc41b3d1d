"""The microphone through the real sounddevice → PortAudio → ALSA path, from virtual devices.

PortAudio reads the ALSA configuration when sounddevice is imported, so every capture runs in
a child process started with the virtual device's environment (see tests/virtual_audio.py).
"""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np

from symbl.emulator import Emulator

from helpers import PYTHON, wait_until
from virtual_audio import VirtualDevice, chirp

pytest_plugins = ("virtual_audio",)

STREAM_FROM_MIC = textwrap.dedent(
    """
    import sys, threading, symbl
    connection = symbl.Streaming.start_connection()
    print("connected", connection.connectionId, flush=True)
    threading.Timer(float(sys.argv[2]), connection.stop).start()
    connection.send_audio_from_mic(device=sys.argv[1])
    print("returned", connection.state, flush=True)
    """
)


def child_env(emu: Emulator, device_env: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in device_env.items() if not key.startswith("SYMBL_")}
    return {**env, **emu.environ(), "PYTHONUNBUFFERED": "1"}


def test_microphone_audio_reaches_the_emulator_sample_for_sample(
    emu: Emulator, alsa_file_mic
) -> None:
    signal = chirp(2.0)
    signal[::97] = np.arange(len(signal[::97]), dtype=np.int16)  # a counter: order is checked too
    mic: VirtualDevice = alsa_file_mic(signal)
    result = subprocess.run(
        [PYTHON, "-c", STREAM_FROM_MIC, mic.device, "1.0"],
        env=child_env(emu, mic.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    connection_id = result.stdout.split()[1]
    assert result.stdout.splitlines()[-1] == "returned closed"
    received = emu.stream_audio(connection_id)
    expected = signal.astype("<i2").tobytes()
    assert len(received) >= len(expected)
    assert received[: len(expected)] == expected
    (stream,) = emu.streams()
    assert stream["largest_frame"] <= 8192
    assert stream["start_request"]["config"]["speechRecognition"]["sampleRateHertz"] == 16000
    assert len(stream["stop_requests"]) == 1


def test_real_time_microphone_drives_live_recognition(
    emu: Emulator, pulse_sink, tmp_path: Path
) -> None:
    emu.set_live_transcript(
        [
            {
                "speaker": {"name": "Ann"},
                "text": "Hello from the microphone.",
                "start": 0.2,
                "end": 1.2,
            }
        ]
    )
    wav = tmp_path / "hello.wav"
    times = np.arange(int(1.5 * 16000)) / 16000
    from virtual_audio import write_wav

    write_wav(wav, (0.4 * 32767 * np.sin(2 * np.pi * 440 * times)).astype(np.int16))
    script = STREAM_FROM_MIC.replace(
        "connection = symbl.Streaming.start_connection()",
        "connection = symbl.Streaming.start_connection()\n"
        "connection.subscribe({'message_response': lambda e: print(\n"
        "    'final:', e['messages'][0]['payload']['content'], flush=True)})",
    )
    child = subprocess.Popen(
        [PYTHON, "-c", script, pulse_sink.device, "4.0"],
        env=child_env(emu, pulse_sink.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: emu.streams() and emu.streams()[0]["audio_bytes"] > 0, timeout=20)
        started = time.monotonic()
        pulse_sink.play(wav)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "final: Hello from the microphone." in out
    (stream,) = emu.streams()
    # Real time: about 4 s of capture arrived in about 4 s, not all at once.
    assert 2.5 * 32000 < stream["audio_bytes"] < 6 * 32000, stream["audio_bytes"]
    assert time.monotonic() - started < 20


NO_PORTAUDIO = textwrap.dedent(
    """
    import sys

    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    sys.meta_path.insert(0, NoPortAudio())
    import symbl
    connection = symbl.Streaming.start_connection()
    try:
        connection.send_audio_from_mic()
    except symbl.AudioDeviceError as error:
        print("AudioDeviceError:", error)
    finally:
        connection.stop()
    """
)


def test_without_portaudio_the_error_says_what_to_install(emu: Emulator) -> None:
    result = subprocess.run(
        [PYTHON, "-c", NO_PORTAUDIO],
        env=child_env(emu, {"PATH": "/usr/bin:/bin"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "AudioDeviceError: cannot use the microphone: PortAudio library not found" in result.stdout
    )
    assert "apt-get install libportaudio2" in result.stdout


UNKNOWN_DEVICE = textwrap.dedent(
    """
    import symbl
    connection = symbl.Streaming.start_connection()
    try:
        connection.send_audio_from_mic(device="no such microphone")
    except symbl.AudioDeviceError as error:
        print("AudioDeviceError:", error)
    finally:
        connection.stop()
    """
)


def test_an_unknown_device_lists_the_ones_there_are(emu: Emulator, alsa_file_mic) -> None:
    mic = alsa_file_mic(chirp(0.5))
    result = subprocess.run(
        [PYTHON, "-c", UNKNOWN_DEVICE],
        env=child_env(emu, mic.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no input device 'no such microphone'" in result.stdout
    assert "symbl_virtual_mic" in result.stdout
    assert "Choose one with device=N" in result.stdout
